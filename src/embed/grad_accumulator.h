#pragma once
// Turns a pooled gradient [batch, dim] into one gradient row per distinct id: each id
// occurrence contributes weight (/ bag size for mean pooling) x its bag's gradient, and
// duplicates (within a bag or across bags) are summed before any optimizer sees them, so the
// optimizer runs once per touched row exactly as a dense optimizer would.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "embed/sparse_input.h"

namespace funnel::embed {

/// Reusable scratch (open-addressing hash map id -> slot); not thread-safe.
class GradAccumulator {
 public:
  /// Replaces the contents with the per-id gradients of `input`. `grad` row b starts at
  /// grad + b * row_stride and holds `dim` floats. `input` must be valid (see validate()).
  void accumulate(const SparseInput& input, bool mean_pooling, const float* grad, size_t row_stride,
                  uint32_t dim);

  /// Distinct ids, in order of first occurrence.
  const uint32_t* rows() const { return rows_.data(); }
  size_t size() const { return rows_.size(); }
  /// size() x dim accumulated gradients, row i for rows()[i].
  const float* grads() const { return grads_.data(); }

 private:
  struct Slot {
    uint32_t id;
    uint32_t index;
  };
  static constexpr uint32_t kEmpty = 0xFFFFFFFFu;

  std::vector<Slot> table_;
  std::vector<uint32_t> rows_;
  std::vector<float> grads_;  // capacity only grows; rows are written on first occurrence
};

}  // namespace funnel::embed
