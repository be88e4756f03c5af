#pragma once
// The "embedding" section of an experiment: dimension, optimizer and pooling of the sparse
// tables (FeatureEmbedding), parsed strictly and written back resolved. No LibTorch here.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "embed/embedding_table.h"

namespace funnel::model {

/// Who reads a table set: every tower the same one, or each task (funnel event) its own.
enum class EmbeddingSharing {
  /// One table set read by every tower (ESMM's shared embeddings).
  kShared,
  /// One table set per funnel event, tower e reading set e only (AutoHERI §3.1's x_ctr,
  /// x_cvr): a later event's tower sees what the earlier towers learned only through
  /// integration edges. Tower models only (model::supports_per_task_embeddings).
  kPerTask,
};

/// "shared", "per_task".
const char* embedding_sharing_name(EmbeddingSharing sharing);

struct FeatureEmbeddingOptions {
  /// Dimension of fields whose schema leaves `dim` at 0.
  uint32_t embedding_dim = 16;
  /// Initialiser, optimizer and pooling of every table (pooling matters for multi-valued
  /// fields only: sum or mean of the weighted id vectors). `table.seed` is mixed with the
  /// field index, so fields start from different random rows; it is the run's seed, not a
  /// config key.
  embed::TableOptions table;
  /// One table set for all towers or one per task; per_task costs K x the tables' memory and
  /// sparse step time for K events (docs/embeddings.md).
  EmbeddingSharing sharing = EmbeddingSharing::kShared;
  /// Frequency-aware L2 on the tables (adam only): a row's t-th update adds lambda / t * w to
  /// its gradient (embed::RowOptimizer::set_frequency_decay), stronger on rare ids; after
  /// DIN's mini-batch aware regularisation (Zhou et al., KDD 2018, §4.2). 0 = off.
  double frequency_weight_decay = 0;

  /// Strict parse of {"dim", "optimizer" (adam, adagrad, sgd), "lr", "weight_decay", "pooling"
  /// (sum, mean), "init_scale", "sharing" (shared, per_task), "frequency_weight_decay"}; null = the
  /// defaults: dim 16, lazy Adam with lr 0.005 (AutoHERI §4.1.2), no weight decay, sum pooling,
  /// init_scale 0.05, shared. table.seed is 0.
  static FeatureEmbeddingOptions from_json(const nlohmann::json& j,
                                           const std::string& path = "embedding");
  /// Every key from_json reads, resolved (not the seed).
  nlohmann::json to_json() const;
};

}  // namespace funnel::model
