#pragma once
// Rows bucketed by a uint64 key (user id for GAUC, list id for NDCG). Rows of one group
// need not be adjacent in the input; groups are numbered in order of first appearance, so
// the result does not depend on hash order.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/scratch_array.h"

namespace funnel::metric {

struct Grouping {
  explicit Grouping(size_t rows) : group_of_row(rows) {}

  /// Dense group id of each input row.
  ScratchArray<uint32_t> group_of_row;
  /// Size num_groups() + 1: group g owns positions [offsets[g], offsets[g+1]) of order().
  std::vector<size_t> offsets;
  /// The key of each dense group id.
  std::vector<uint64_t> keys;

  size_t num_groups() const { return keys.size(); }
  size_t size(size_t g) const { return offsets[g + 1] - offsets[g]; }
  /// Row indices grouped by group id (ascending row index within a group).
  std::vector<uint32_t> order() const;
};

/// Groups n rows by key. Throws funnel::Error if n >= 2^32.
Grouping group_rows(const uint64_t* keys, size_t n);

}  // namespace funnel::metric
