#pragma once
// The "embedding" section of an experiment: dimension, optimizer and pooling of the sparse
// tables (FeatureEmbedding), parsed strictly and written back resolved. No LibTorch here.

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "embed/embedding_table.h"

namespace funnel::model {

struct FeatureEmbeddingOptions {
  /// Dimension of fields whose schema leaves `dim` at 0.
  uint32_t embedding_dim = 16;
  /// Initialiser, optimizer and pooling of every table (pooling matters for multi-valued
  /// fields only: sum or mean of the weighted id vectors). `table.seed` is mixed with the
  /// field index, so fields start from different random rows; it is the run's seed, not a
  /// config key.
  embed::TableOptions table;

  /// Strict parse of {"dim", "optimizer" (adam, adagrad, sgd), "lr", "weight_decay", "pooling"
  /// (sum, mean), "init_scale"}; null = the defaults: dim 16, lazy Adam with lr 0.005 (AutoHERI
  /// §4.1.2), no weight decay, sum pooling, init_scale 0.05. table.seed is 0.
  static FeatureEmbeddingOptions from_json(const nlohmann::json& j,
                                           const std::string& path = "embedding");
  /// Every key from_json reads, resolved (not the seed).
  nlohmann::json to_json() const;
};

}  // namespace funnel::model
