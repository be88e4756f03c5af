#pragma once
// The sparse side of a model: one embedding table per sparse field of a data::Layout, and
// the gather of a whole Batch into ONE dense input row per example,
//
//   x = [ e_field0 | e_field1 | ... | e_fieldF-1 | dense_0 .. dense_D-1 ]   [B, input_dim()]
//
// x is a leaf of the autograd graph (requires_grad). After backward, apply_gradients() hands
// each field's column slice of x.grad() to that field's table, whose lazy optimizer updates
// only the rows of the batch (docs/embeddings.md). The dense (numeric) columns sit in the
// same buffer so that the model sees one tensor; their gradient is ignored.
//
// Sharded (a Communicator of several ranks): each table holds the rows id mod N == rank
// (embed::RowShard), lookup() fetches the batch's rows from their owners and
// apply_gradients() sends their gradients back (model/row_exchange.h). Both are collective
// then: every rank calls them in the same order, and they are not thread-safe.
//
// Sharing (FeatureEmbeddingOptions::sharing): `shared` holds one table set read by every tower;
// `per_task` holds one table set per funnel event (AutoHERI §3.1's x_ctr, x_cvr), laid out
//
//   x = [ set_0 (event 0's fields) | ... | set_K-1 | dense ]           [B, K * W + D]
//
// and model_input() gives tower e the view [ set_e | dense ] ([B, W + D] = tower_input_dim())
// in ModelInput::tasks, so that event e's loss reaches only set e's tables through its tower.
//
// Device: tables live in host memory. lookup() fills the buffer on the CPU; when device() is
// not the CPU the buffer is copied there and the copy is made the leaf, so x.grad() is on the
// device and apply_gradients() copies it back (one [B, input_dim] transfer each way).

#include <torch/types.h>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/layout.h"
#include "dist/communicator.h"
#include "embed/embedding_table.h"
#include "embed/sparse_input.h"
#include "model/feature_embedding_options.h"
#include "model/model_input.h"

namespace funnel::model {

class RowExchange;

class FeatureEmbedding {
 public:
  /// vocab_sizes: rows of each sparse field's table (data::Cache::vocab_sizes()), one per
  /// layout.sparse entry.
  /// With `comm` of several ranks the tables are sharded over them (not owned; must outlive
  /// this).
  FeatureEmbedding(const data::Layout& layout, const std::vector<uint64_t>& vocab_sizes,
                   FeatureEmbeddingOptions options = FeatureEmbeddingOptions(),
                   torch::Device device = torch::kCPU, dist::Communicator* comm = nullptr);
  ~FeatureEmbedding();

  /// [B, input_dim()] float32 leaf on device() that requires grad (see the file comment).
  /// Thread-safe against other lookups unless sharded.
  torch::Tensor lookup(const data::Batch& batch) const;
  /// One lazy optimizer step of every table from the gradient of lookup(batch)'s result
  /// ([B, input_dim()] float32, any device; undefined = no-op). Not thread-safe.
  void apply_gradients(const data::Batch& batch, const torch::Tensor& grad);

  /// lookup()'s result as a model's input: model::model_input(batch, x, feedback), plus with
  /// per_task sharing each tower's view of x in ModelInput::tasks (see the file comment).
  ModelInput model_input(const data::Batch& batch, const torch::Tensor& x,
                         bool feedback = false) const;

  /// Width of lookup()'s rows: every table set's field dimensions plus the dense features.
  int64_t input_dim() const { return input_dim_; }
  /// Width of the rows one tower reads, the `input_dim` to build a model with: input_dim()
  /// when shared, one set's field dimensions plus the dense features when per_task.
  int64_t tower_input_dim() const { return set_width_ + static_cast<int64_t>(num_dense_); }
  EmbeddingSharing sharing() const { return sharing_; }
  /// Sparse fields of the layout, table sets (1 shared, one per event per_task), and tables
  /// (num_sets() x num_fields(); table t = s * num_fields() + f is field f of set s).
  size_t num_fields() const { return num_fields_; }
  size_t num_sets() const { return num_sets_; }
  size_t num_tables() const { return tables_.size(); }
  /// First column of table t in lookup()'s rows (field t of set 0 when t < num_fields()).
  int64_t field_offset(size_t t) const { return offsets_.at(t); }
  int64_t field_dim(size_t t) const { return tables_.at(t).dim(); }
  /// First column of the dense features (= sum of the field dimensions).
  int64_t dense_offset() const { return dense_offset_; }
  size_t num_dense() const { return num_dense_; }

  embed::EmbeddingTable& table(size_t t) { return tables_.at(t); }
  const embed::EmbeddingTable& table(size_t t) const { return tables_.at(t); }
  /// The name of table t in saved streams: the field's, with "@<event>" when per_task.
  const std::string& table_name(size_t t) const { return names_.at(t); }

  /// Every table drawn afresh as a new FeatureEmbedding with options.table.seed = `seed`
  /// would hold it, with its optimizer state reset (EmbeddingTable::reset). MEDA's
  /// re-initialisation (train.embedding_reset).
  void reinitialize(uint64_t seed);
  /// Learning rate of every table = its configured one x `scale` (1 = as configured); 0
  /// freezes the tables (apply_gradients is then a no-op: no step, no state change).
  void set_lr_scale(double scale);
  double lr_scale() const { return lr_scale_; }
  /// options.table.seed of the constructor (the seed the tables were first drawn from).
  uint64_t seed() const { return seed_; }
  const torch::Device& device() const { return device_; }
  void set_device(torch::Device device) { device_ = device; }
  /// Bytes held by all tables (weights and optimizer state); this rank's shards when sharded.
  size_t memory_bytes() const;

  /// The ranks the tables are sharded over; null when they are not.
  dist::Communicator* communicator() const { return comm_; }
  bool sharded() const { return comm_ != nullptr; }
  /// Sharded: the whole tables (every rank's rows) as one unsharded embedding on rank `root`
  /// (null on the others), for the bundle. Collective; costs the whole tables' memory there.
  std::unique_ptr<FeatureEmbedding> gather(int root) const;

  /// Field f of a batch as the input of its tables (a view into `batch`).
  embed::SparseInput field_input(const data::Batch& batch, size_t f) const;

  /// Magic, version, number of fields, then every table (EmbeddingTable::save).
  void save(std::ostream& os, bool with_optimizer_state = true) const;
  /// Restores tables written by save() for the same layout (count, rows, dims); throws
  /// funnel::Error naming the field on a mismatch or truncation.
  void load(std::istream& is);

 private:
  void check_batch(const data::Batch& batch) const;
  std::vector<embed::SparseInput> field_inputs(const data::Batch& batch) const;

  std::vector<std::string> names_;
  std::vector<embed::EmbeddingTable> tables_;
  std::vector<int64_t> offsets_;
  std::vector<double> base_lr_;  // of each table, as configured
  double lr_scale_ = 1.0;
  uint64_t seed_ = 0;
  EmbeddingSharing sharing_ = EmbeddingSharing::kShared;
  size_t num_fields_ = 0;
  size_t num_sets_ = 1;
  int64_t set_width_ = 0;  // columns of one table set
  int64_t dense_offset_ = 0;
  size_t num_dense_ = 0;
  int64_t input_dim_ = 0;
  torch::Device device_;
  data::Layout layout_;
  std::vector<uint64_t> vocab_sizes_;
  FeatureEmbeddingOptions options_;
  dist::Communicator* comm_ = nullptr;
  std::unique_ptr<RowExchange> exchange_;
};

}  // namespace funnel::model
