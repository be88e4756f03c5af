// The allocator tuning must really reach glibc: a 64 MB block, above the largest mmap
// threshold glibc picks by itself (32 MB), comes from the heap afterwards, not from mmap.

#include "core/allocator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace funnel {
namespace {

#if defined(__GLIBC__)
/// Number of mmap-ed blocks while a `bytes` block is alive.
size_t mmapped_blocks_holding(size_t bytes) {
  char* volatile p = static_cast<char*>(std::malloc(bytes));
  EXPECT_NE(p, nullptr);
  p[0] = 1;
  p[bytes - 1] = 1;
  const size_t blocks = mallinfo2().hblks;
  std::free(p);
  return blocks;
}

TEST(Allocator, LargeBlocksComeFromTheHeapAfterTuning) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer replaces glibc's malloc (make test-sanitize)";
#endif
  const size_t bytes = size_t{64} << 20;
  const size_t before = mmapped_blocks_holding(bytes);
  tune_allocator_for_training();
  const size_t after = mmapped_blocks_holding(bytes);
  EXPECT_EQ(after + 1, before) << "the 64 MB block should no longer be mmap-ed";
}
#else
TEST(Allocator, LargeBlocksComeFromTheHeapAfterTuning) { GTEST_SKIP() << "not glibc"; }
#endif

}  // namespace
}  // namespace funnel
