#pragma once
// A sparse embedding table: plain row-major float storage outside autograd, pooled lookups
// into (leaf) tensors, and lazy optimizer steps on the rows a batch touched.
//
// Training step for one field:
//   at::Tensor e = table.lookup(input);        // [batch, dim], leaf, requires_grad
//   ... loss(model(e)).backward();
//   table.apply_gradients(input, e.grad());    // duplicates summed, optimizer per row
// To gather several fields into one [batch, sum(dims)] tensor without copies, call
// lookup_into() on column slices of one buffer, make it the leaf, and pass slices of its
// gradient to the pointer overload of apply_gradients().

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>

#include "core/zeroed_array.h"
#include "embed/grad_accumulator.h"
#include "embed/optimizer.h"
#include "embed/row_shard.h"
#include "embed/sparse_input.h"

namespace at {
class Tensor;
}  // namespace at

namespace funnel::embed {

/// How a multi-valued row combines its ids' vectors.
enum class Pooling : uint32_t {
  /// sum_k w_k * e[id_k].
  kSum = 0,
  /// sum_k w_k * e[id_k] / n, n = number of ids in the row (not the sum of weights).
  kMean = 1,
};

enum class Initializer : uint32_t {
  /// U(-init_scale, init_scale).
  kUniform = 0,
  /// N(0, init_scale^2).
  kNormal = 1,
  kZeros = 2,
};

struct TableOptions {
  /// Pooling of multi-valued fields (irrelevant for single-valued ones).
  Pooling pooling = Pooling::kSum;
  /// Distribution of the initial weights.
  Initializer init = Initializer::kUniform;
  /// Half-width (uniform) or standard deviation (normal) of the initial weights.
  double init_scale = 0.05;
  /// Seed of the initial weights (funnel::Rng): same seed, same table on every platform.
  uint64_t seed = 0;
  /// Optimizer of the table and its hyperparameters (lazy Adam by default).
  OptimizerOptions optimizer = AdamOptions{};
};

/// The pooling of EmbeddingTable::lookup_into over any row-major [*, dim] matrix `rows`
/// whose rows the ids of `input` index (no validation): the sharded lookup pools the rows it
/// received from their owners with it.
void pool_into(const float* rows, uint32_t dim, const SparseInput& input, Pooling pooling,
               float* out, size_t row_stride);

class EmbeddingTable {
 public:
  /// num_rows in [1, 2^32 - 1] (ids are uint32), dim >= 1. With a `shard` of several ranks
  /// the table holds only that shard's rows of the num_rows-row table (local row l = id
  /// shard.global_id(l)), initialised to exactly the values the whole table gives them.
  EmbeddingTable(uint64_t num_rows, uint32_t dim, TableOptions options = TableOptions(),
                 RowShard shard = RowShard());
  ~EmbeddingTable();
  EmbeddingTable(EmbeddingTable&&) noexcept;
  EmbeddingTable& operator=(EmbeddingTable&&) noexcept;
  EmbeddingTable(const EmbeddingTable&) = delete;
  EmbeddingTable& operator=(const EmbeddingTable&) = delete;

  /// Rows held (this shard's; all of them unsharded).
  uint64_t num_rows() const { return num_rows_; }
  /// Rows of the whole table, across every shard.
  uint64_t global_rows() const { return global_rows_; }
  const RowShard& shard() const { return shard_; }
  uint32_t dim() const { return dim_; }
  const TableOptions& options() const { return options_; }

  /// Weights, num_rows x dim row-major.
  float* data() { return weights_.data(); }
  const float* data() const { return weights_.data(); }
  float* row(uint64_t r) { return weights_.data() + r * dim_; }
  const float* row(uint64_t r) const { return weights_.data() + r * dim_; }

  /// Writes the pooled vectors of `input` to out + b * row_stride (dim floats per row).
  /// Thread-safe against other const calls. Throws Error on invalid input.
  void lookup_into(const SparseInput& input, float* out, size_t row_stride) const;
  /// Pooled vectors as a new [batch, dim] float tensor: a leaf that requires grad.
  /// (Callers include <ATen/core/Tensor.h>; this header only declares at::Tensor.)
  at::Tensor lookup(const SparseInput& input) const;

  /// One optimizer step from the gradient of the pooled output (row b at
  /// grad + b * row_stride; any stride, 0 included): per-id gradients are scattered (x weight,
  /// / count for mean), duplicate ids summed, then every distinct id is updated once. Rows not
  /// in `input` and their optimizer state are left untouched. Not thread-safe.
  void apply_gradients(const SparseInput& input, const float* grad, size_t row_stride);
  /// Same for a [batch, dim] float CPU tensor (e.g. lookup(input).grad()). An undefined
  /// tensor (no gradient reached the lookup) is a no-op, as for a dense torch optimizer.
  void apply_gradients(const SparseInput& input, const at::Tensor& grad);

  /// Weights drawn afresh from the table's initialiser with `seed` (as a new table with
  /// options().seed = seed would hold) and the optimizer state reset (moments, step counts):
  /// MEDA's re-initialisation at an epoch boundary (docs/quality.md).
  void reset(uint64_t seed);

  RowOptimizer& optimizer() { return *optimizer_; }
  const RowOptimizer& optimizer() const { return *optimizer_; }

  /// Bytes held: weights plus optimizer state (address space; see docs/embeddings.md).
  size_t memory_bytes() const { return weights_.bytes() + optimizer_->state_bytes(); }

  /// Binary format: magic, version, num_rows, dim, pooling, optimizer kind + options,
  /// weights, optional optimizer state, end marker. Little-endian hosts only.
  void save(std::ostream& os, bool with_optimizer_state = true) const;
  /// Restores weights (and optimizer state, reset when the stream has none) from a stream
  /// written by save() for the same num_rows, dim, pooling and optimizer kind. The table keeps
  /// its own hyperparameters (a resumed run may change lr). Throws Error on mismatch or
  /// truncation; after a truncation error the table's contents are unspecified.
  void load(std::istream& is);
  /// A new table exactly as saved (its optimizer options included).
  static EmbeddingTable read(std::istream& is);

 private:
  void initialize();
  void initialize_shard();
  /// Weights, optimizer state and end marker (what follows the header).
  void read_body(std::istream& is, bool has_state);

  uint64_t num_rows_;
  uint64_t global_rows_;
  RowShard shard_;
  uint32_t dim_;
  TableOptions options_;
  ZeroedArray<float> weights_;
  std::unique_ptr<RowOptimizer> optimizer_;
  GradAccumulator accumulator_;  // scratch of apply_gradients
};

}  // namespace funnel::embed
