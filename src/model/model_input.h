#pragma once
// What a model reads of a batch (DESIGN.md): the dense row tensor, plus for list data the
// list structure. Per-row models read only x; a model over ranked lists (HEROES-style data,
// docs/simulator.md) also reads the offsets, positions and time stamps, and adding one changes
// no other model's signature.

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "data/batch.h"
#include "model/blocks/uniform.h"

namespace funnel::model {

struct ModelInput {
  /// [B, input_dim] float rows (FeatureEmbedding::lookup).
  torch::Tensor x;
  /// List data: CSR offsets of the batch's lists into its rows, [num_lists + 1] int64 on x's
  /// device (like data::SparseBatch::offsets); undefined for row data.
  torch::Tensor list_offsets;
  /// [B] int64 position of each row in its list; undefined when the data has none.
  torch::Tensor positions;
  /// [B] int64 time stamp of each row; undefined when the data has none.
  torch::Tensor timestamps;
  /// [B, events] float: the rows' labels, filled only for a model that reads_feedback() (a
  /// list model with `feedback: observed`, which reads those of item j for the items after j
  /// in its list only); undefined otherwise, so no other model can read a label.
  torch::Tensor feedback;
  /// Per-task embeddings (embedding.sharing = per_task): tower e's rows, [B, tower width]
  /// (FeatureEmbedding::model_input); empty when the towers share x.
  std::vector<torch::Tensor> tasks;
  /// Columns of x (and of every tasks[e], laid out alike: fields, then dense) whose values
  /// every row shares: a scoring request's user and context (data::Batch::uniform_sparse,
  /// FeatureEmbedding::model_input). A model may compute their part once (uniform_linear)
  /// or ignore it; undefined for training and file batches.
  UniformColumns uniform;

  ModelInput() = default;
  /// Rows without list structure. Implicit: a bare row tensor is a valid input of every model.
  ModelInput(torch::Tensor rows) : x(std::move(rows)) {}  // NOLINT(google-explicit-constructor)

  /// The rows tower / event e reads: tasks[e] with per-task embeddings, else x.
  const torch::Tensor& task(size_t e) const { return tasks.empty() ? x : tasks.at(e); }
  /// x.size(0).
  int64_t rows() const { return x.size(0); }
  /// list_offsets.defined().
  bool has_lists() const { return list_offsets.defined(); }
};

/// The input of a batch: its rows `x` and, when the batch carries them, the rows' positions and
/// time stamps ([B] int64 on x's device), and the list offsets of a batch of whole lists
/// (data::Batch::list_offsets, LoaderOptions::lists). `feedback`: also the batch's labels
/// (FunnelModel::reads_feedback()).
ModelInput model_input(const data::Batch& batch, const torch::Tensor& x, bool feedback = false);

}  // namespace funnel::model
