#include "core/zeroed_array.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <new>

namespace funnel::detail {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;
// Below this, calloc (a huge page would mostly hold other data or nothing).
constexpr size_t kMapThreshold = 4 * kHugePage;

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

}  // namespace

void* allocate_zeroed(size_t bytes) {
  if (bytes == 0) return nullptr;
  if (bytes < kMapThreshold) {
    void* p = std::calloc(bytes, 1);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  // Over-map by one huge page, then trim head and tail so the block is 2 MB aligned.
  const size_t size = round_up(bytes, kHugePage);
  void* raw = mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = round_up(start, kHugePage);
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = start + size + kHugePage;
  if (end > aligned + size) munmap(reinterpret_cast<void*>(aligned + size), end - aligned - size);
#ifdef MADV_HUGEPAGE
  madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);  // a hint; failure is fine
#endif
  return reinterpret_cast<void*>(aligned);
}

void free_zeroed(void* p, size_t bytes) {
  if (p == nullptr) return;
  if (bytes < kMapThreshold) {
    std::free(p);
  } else {
    munmap(p, round_up(bytes, kHugePage));
  }
}

}  // namespace funnel::detail
