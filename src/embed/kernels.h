#pragma once
// Internal helpers for the hot loops: compile-time row widths for the common embedding
// sizes (the compiler then fully unrolls and vectorises the per-row loops) and prefetching
// of rows that are a few iterations ahead (table rows are random-access and miss cache).

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace funnel::embed::detail {

/// Rows handled ahead of the one being processed when prefetching.
constexpr size_t kPrefetchDistance = 16;

/// Calls f(std::integral_constant<int, D>) with D == dim for the common widths, D == 0
/// ("use the runtime width") otherwise.
template <typename F>
void dispatch_dim(uint32_t dim, F&& f) {
  switch (dim) {
    case 4:
      f(std::integral_constant<int, 4>{});
      break;
    case 8:
      f(std::integral_constant<int, 8>{});
      break;
    case 16:
      f(std::integral_constant<int, 16>{});
      break;
    case 32:
      f(std::integral_constant<int, 32>{});
      break;
    case 64:
      f(std::integral_constant<int, 64>{});
      break;
    default:
      f(std::integral_constant<int, 0>{});
      break;
  }
}

/// Width to loop over: the compile-time one when known.
template <int kDim>
inline size_t width(uint32_t dim) {
  return kDim > 0 ? static_cast<size_t>(kDim) : dim;
}

inline void prefetch_write(const void* p) { __builtin_prefetch(p, 1, 3); }
inline void prefetch_read(const void* p) { __builtin_prefetch(p, 0, 3); }

}  // namespace funnel::embed::detail
