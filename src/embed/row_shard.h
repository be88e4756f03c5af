#pragma once
// Row-wise sharding of an embedding table over `count` ranks: id i lives on rank i mod count
// at local row i / count (TorchRec's row-wise plan with a modulo placement, HugeCTR's and
// SOK's `key % n`). Modulo spreads hot ids, which frequency-ordered vocabularies put at the
// low ids, evenly over the ranks. No LibTorch.

#include <cstdint>

namespace funnel::embed {

struct RowShard {
  uint32_t index = 0;  ///< this rank
  uint32_t count = 1;  ///< ranks

  uint32_t owner(uint64_t id) const { return static_cast<uint32_t>(id % count); }
  uint64_t local_row(uint64_t id) const { return id / count; }
  uint64_t global_id(uint64_t local) const { return local * count + index; }
  /// Rows of a `global_rows`-row table held by this shard: ids index, index + count, ...
  uint64_t local_rows(uint64_t global_rows) const {
    return global_rows > index ? (global_rows - index + count - 1) / count : 0;
  }
  bool sharded() const { return count > 1; }
};

}  // namespace funnel::embed
