#include "embed/grad_accumulator.h"

#include <algorithm>

#include "embed/kernels.h"

namespace funnel::embed {

namespace {

// Fibonacci hashing: consecutive and Zipf-heavy ids spread over the table.
inline size_t slot_of(uint32_t id, int shift) {
  return static_cast<size_t>((uint64_t{id} * 0x9E3779B97F4A7C15ULL) >> shift);
}

}  // namespace

void GradAccumulator::accumulate(const SparseInput& input, bool mean_pooling, const float* grad,
                                 size_t row_stride, uint32_t dim) {
  rows_.clear();
  const size_t first = input.batch_size == 0 ? 0 : input.begin(0);
  const size_t last = input.batch_size == 0 ? 0 : input.end(input.batch_size - 1);
  const size_t max_unique = last - first;
  if (max_unique == 0) return;

  // Load factor <= 1/2.
  int bits = 4;
  while ((size_t{1} << bits) < 2 * max_unique) ++bits;
  const size_t capacity = size_t{1} << bits;
  const int shift = 64 - bits;
  const size_t mask = capacity - 1;
  if (table_.size() < capacity) table_.resize(capacity);
  std::fill(table_.begin(), table_.begin() + capacity, Slot{kEmpty, 0});
  if (grads_.size() < max_unique * dim) grads_.resize(max_unique * dim);
  rows_.reserve(max_unique);

  Slot* table = table_.data();
  float* grads = grads_.data();
  detail::dispatch_dim(dim, [&](auto k) {
    constexpr int kDim = decltype(k)::value;
    const size_t d = detail::width<kDim>(dim);
    for (size_t b = 0; b < input.batch_size; ++b) {
      const size_t begin = input.begin(b);
      const size_t end = input.end(b);
      if (begin == end) continue;
      const float* __restrict g = grad + b * row_stride;
      const float scale = mean_pooling ? 1.0f / static_cast<float>(end - begin) : 1.0f;
      for (size_t pos = begin; pos < end; ++pos) {
        const uint32_t id = input.ids[pos];
        const float c = scale * input.weight(pos);
        size_t h = slot_of(id, shift);
        while (table[h].id != kEmpty && table[h].id != id) h = (h + 1) & mask;
        if (table[h].id == kEmpty) {
          const auto index = static_cast<uint32_t>(rows_.size());
          table[h] = Slot{id, index};
          rows_.push_back(id);
          float* __restrict out = grads + size_t{index} * d;
          for (size_t j = 0; j < d; ++j) out[j] = c * g[j];
        } else {
          float* __restrict out = grads + size_t{table[h].index} * d;
          for (size_t j = 0; j < d; ++j) out[j] += c * g[j];
        }
      }
    }
  });
}

}  // namespace funnel::embed
