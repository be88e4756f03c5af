#include "core/allocator.h"

// Any C library header defines __GLIBC__ (through <features.h>); without one the test below
// is always false and the tuning silently does nothing (it did, until 2026-11-23).
#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace funnel {

void tune_allocator_for_training() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 256 << 20);  // blocks up to 256 MB come from the heap
  mallopt(M_TRIM_THRESHOLD, 1 << 30);    // and the heap is not trimmed below 1 GB of slack
#endif
}

}  // namespace funnel
