#pragma once
// The sparse side of a data-parallel step over row-sharded tables (docs/distributed.md):
// every rank holds rows id mod N == rank of every table (embed::RowShard) and, per step,
//
//   lookup:   the distinct ids of its batch, per field, go to their owners (all-to-all 1:
//             counts per rank and field, 2: the ids); the owners send the rows back (3);
//             the rank pools them into its model input exactly as an unsharded table would.
//   backward: the gradient of each distinct row (duplicates summed on the rank first) goes
//             back to the owner (all-to-all 4), which sums what every rank sent for the row
//             and applies its lazy optimizer once, as one process with the global batch would.
//
// Four collective calls per step whatever the number of fields. Not thread-safe: the plan of
// the last lookup is kept for apply_gradients.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "dist/communicator.h"
#include "embed/embedding_table.h"
#include "embed/grad_accumulator.h"
#include "embed/sparse_input.h"

namespace funnel::model {

class RowExchange {
 public:
  explicit RowExchange(dist::Communicator& comm) : comm_(comm) {}

  /// Pools field f of the batch (inputs[f], ids global) into out + offsets[f] (row stride
  /// `stride`) with rows fetched from their owners. Collective.
  void lookup(const std::vector<embed::EmbeddingTable>& tables,
              const std::vector<embed::SparseInput>& inputs, const std::vector<int64_t>& offsets,
              float* out, size_t stride);
  /// Applies the gradient of the last lookup's output (row b of field f at
  /// grad + b * stride + offsets[f]) on the owners. `inputs` must be the last lookup's.
  /// Collective.
  void apply_gradients(std::vector<embed::EmbeddingTable>& tables,
                       const std::vector<embed::SparseInput>& inputs,
                       const std::vector<int64_t>& offsets, const float* grad, size_t stride);

  dist::Communicator& communicator() const { return comm_; }

 private:
  struct FieldPlan {
    std::vector<uint32_t> unique;   // distinct global ids, in order of first occurrence
    std::vector<uint32_t> inverse;  // per id occurrence: its index in `unique`
    std::vector<std::vector<uint32_t>> by_owner;  // per owner: indices into `unique`, in order
  };
  /// Fills plans_ from the inputs; returns the ids to send, grouped by owner then field.
  void plan(const std::vector<embed::SparseInput>& inputs);

  dist::Communicator& comm_;
  std::vector<FieldPlan> plans_;
  std::vector<int64_t> send_counts_, recv_counts_;  // [rank * fields + field]
  std::vector<uint32_t> received_ids_;  // local rows asked of this rank, grouped by rank, field
  size_t planned_rows_ = 0;
  // Scratch.
  std::vector<uint32_t> slot_of_;  // open addressing: global id -> unique index + 1
  std::vector<uint32_t> slot_key_;
  std::vector<std::vector<float>> unique_rows_;  // per field: the rows of `unique`
  embed::GradAccumulator accumulator_;
};

}  // namespace funnel::model
