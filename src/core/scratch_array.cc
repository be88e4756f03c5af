#include "core/scratch_array.h"

#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace funnel::detail {
namespace {
constexpr size_t kHugePage = size_t{2} << 20;
// Below this, a normal allocation: few pages to fault, and no 2 MiB rounding waste.
constexpr size_t kHugeThreshold = size_t{4} << 20;
}  // namespace

void* allocate_scratch(size_t bytes) {
  if (bytes == 0) bytes = 1;
  void* p = nullptr;
  if (bytes >= kHugeThreshold) {
    const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    p = std::aligned_alloc(kHugePage, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p != nullptr) madvise(p, rounded, MADV_HUGEPAGE);  // advisory: failure is harmless
#endif
  } else {
    p = std::malloc(bytes);
  }
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void FreeScratch::operator()(void* p) const { std::free(p); }

}  // namespace funnel::detail
