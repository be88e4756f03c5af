#pragma once
// Sorting scores as integer keys. Ranking metrics (AUC, GAUC) need scores in order and
// nothing else, so a float score is mapped to an order-preserving uint32 key, packed with a
// 32-bit payload (a label bit or a row index) into one uint64, and radix-sorted: 3 passes of
// 11 bits instead of ~23 comparison levels of std::sort on 10M rows.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace funnel::metric {

/// Order-preserving map float -> uint32: a < b <=> score_key(a) < score_key(b), and
/// a == b <=> equal keys (so -0.0 and +0.0 share one key and count as a tie).
/// NaN has no place in the order; callers reject it before calling.
inline uint32_t score_key(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if (u == 0x80000000u) u = 0;  // -0.0 == +0.0
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/// One sortable element: the score key in the high 32 bits, a payload in the low 32.
inline uint64_t pack(uint32_t key, uint32_t payload) {
  return (static_cast<uint64_t>(key) << 32) | payload;
}
inline uint32_t packed_key(uint64_t x) { return static_cast<uint32_t>(x >> 32); }
inline uint32_t packed_payload(uint64_t x) { return static_cast<uint32_t>(x); }

/// Sorts data[0, n) ascending by key (the high 32 bits). Elements with equal keys end up
/// adjacent in an unspecified order. `scratch` must hold n elements; the sorted result is in
/// whichever of `data` / `scratch` the return value points to. Small inputs use std::sort,
/// large ones an LSD radix sort that skips digits shared by every key.
uint64_t* sort_packed(uint64_t* data, uint64_t* scratch, size_t n);

/// Vector form: sorts `data` in place (by key), using `scratch` as working space.
void sort_packed(std::vector<uint64_t>& data, std::vector<uint64_t>& scratch);

}  // namespace funnel::metric
