#include "metric/score_sort.h"

#include <algorithm>
#include <array>

namespace funnel::metric {
namespace {

// Below this size a comparison sort beats clearing and scanning three 2048-bucket histograms.
constexpr size_t kRadixThreshold = 1024;

constexpr int kDigitBits = 11;
constexpr int kNumDigits = 3;  // 11 + 11 + 10 bits cover the 32-bit key
constexpr size_t kBuckets = size_t{1} << kDigitBits;

inline uint32_t digit(uint64_t x, int d) {
  return static_cast<uint32_t>(x >> (32 + d * kDigitBits)) & (kBuckets - 1);
}

}  // namespace

uint64_t* sort_packed(uint64_t* data, uint64_t* scratch, size_t n) {
  if (n < kRadixThreshold) {
    std::sort(data, data + n);  // full-value order is also key order
    return data;
  }
  // One read pass builds all three histograms.
  std::array<std::array<size_t, kBuckets>, kNumDigits> count{};
  for (size_t i = 0; i < n; ++i) {
    const uint64_t x = data[i];
    for (int d = 0; d < kNumDigits; ++d) ++count[d][digit(x, d)];
  }
  uint64_t* src = data;
  uint64_t* dst = scratch;
  for (int d = 0; d < kNumDigits; ++d) {
    auto& c = count[d];
    // A digit every key shares (common for probabilities: sign and high exponent bits)
    // would only copy the array.
    if (c[digit(src[0], d)] == n) continue;
    size_t sum = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
      const size_t k = c[b];
      c[b] = sum;
      sum += k;
    }
    for (size_t i = 0; i < n; ++i) {
      const uint64_t x = src[i];
      dst[c[digit(x, d)]++] = x;
    }
    std::swap(src, dst);
  }
  return src;
}

void sort_packed(std::vector<uint64_t>& data, std::vector<uint64_t>& scratch) {
  scratch.resize(data.size());
  if (sort_packed(data.data(), scratch.data(), data.size()) != data.data()) data.swap(scratch);
}

}  // namespace funnel::metric
