#pragma once
// Process-wide allocator tuning for training executables (the CLI, benchmarks). Not called by
// library code: it changes global state.

namespace funnel {

/// Training allocates and frees the same [batch x input] tensors every step. glibc's default
/// hands blocks above its (dynamic) mmap threshold back to the kernel at free, so each step
/// paid ~1,800 first-touch page faults at batch 2000 (docs/training_benchmark.md, bottleneck
/// 2); keeping them in the heap made a small-tower ESMM step 2-7x faster. No-op off glibc.
void tune_allocator_for_training();

}  // namespace funnel
