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
// Device: tables live in host memory. lookup() fills the buffer on the CPU; when device() is
// not the CPU the buffer is copied there and the copy is made the leaf, so x.grad() is on the
// device and apply_gradients() copies it back (one [B, input_dim] transfer each way).

#include <torch/types.h>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/layout.h"
#include "embed/embedding_table.h"
#include "embed/sparse_input.h"
#include "model/feature_embedding_options.h"

namespace funnel::model {

class FeatureEmbedding {
 public:
  /// vocab_sizes: rows of each sparse field's table (data::Cache::vocab_sizes()), one per
  /// layout.sparse entry.
  FeatureEmbedding(const data::Layout& layout, const std::vector<uint64_t>& vocab_sizes,
                   FeatureEmbeddingOptions options = FeatureEmbeddingOptions(),
                   torch::Device device = torch::kCPU);

  /// [B, input_dim()] float32 leaf on device() that requires grad (see the file comment).
  /// Thread-safe against other lookups.
  torch::Tensor lookup(const data::Batch& batch) const;
  /// One lazy optimizer step of every table from the gradient of lookup(batch)'s result
  /// ([B, input_dim()] float32, any device; undefined = no-op). Not thread-safe.
  void apply_gradients(const data::Batch& batch, const torch::Tensor& grad);

  /// Width of the model input: sum of the field dimensions plus the number of dense features.
  int64_t input_dim() const { return input_dim_; }
  size_t num_fields() const { return tables_.size(); }
  /// First column of field f in the model input, and its width.
  int64_t field_offset(size_t f) const { return offsets_.at(f); }
  int64_t field_dim(size_t f) const { return tables_.at(f).dim(); }
  /// First column of the dense features (= sum of the field dimensions).
  int64_t dense_offset() const { return dense_offset_; }
  size_t num_dense() const { return num_dense_; }

  embed::EmbeddingTable& table(size_t f) { return tables_.at(f); }
  const embed::EmbeddingTable& table(size_t f) const { return tables_.at(f); }
  const torch::Device& device() const { return device_; }
  void set_device(torch::Device device) { device_ = device; }
  /// Bytes held by all tables (weights and optimizer state).
  size_t memory_bytes() const;

  /// Field f of a batch as the table's input (a view into `batch`).
  embed::SparseInput field_input(const data::Batch& batch, size_t f) const;

  /// Magic, version, number of fields, then every table (EmbeddingTable::save).
  void save(std::ostream& os, bool with_optimizer_state = true) const;
  /// Restores tables written by save() for the same layout (count, rows, dims); throws
  /// funnel::Error naming the field on a mismatch or truncation.
  void load(std::istream& is);

 private:
  void check_batch(const data::Batch& batch) const;

  std::vector<std::string> names_;
  std::vector<embed::EmbeddingTable> tables_;
  std::vector<int64_t> offsets_;
  int64_t dense_offset_ = 0;
  size_t num_dense_ = 0;
  int64_t input_dim_ = 0;
  torch::Device device_;
};

}  // namespace funnel::model
