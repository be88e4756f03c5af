#pragma once
// The model bundle: everything needed to score raw input the way training saw it, in one
// self-describing file (DESIGN.md, "Artifacts describe themselves"). The file format and its
// header are in model/bundle_file.h (no LibTorch); this adds the model and its weights.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/cache.h"
#include "model/bundle_file.h"
#include "model/feature_embedding.h"
#include "model/model.h"
#include "model/model_config.h"

namespace funnel::model {

/// What a bundle records besides the weights.
struct BundleSpec {
  ModelConfig model;
  FeatureEmbeddingOptions embedding;
  /// How raw input is read: the training schema (labels included), format and row policies;
  /// the files are not stored.
  data::DataConfig data;
  std::vector<data::Vocabulary> vocabs;
  std::vector<float> dense_mean, dense_std;
  /// The resolved experiment that trained the model (informational; null = none).
  nlohmann::json config;

  /// The spec of a model trained on `cache` (its schema, vocabularies and dense statistics)
  /// from data read as `data` says.
  static BundleSpec of_cache(const data::Cache& cache, const data::DataConfig& data,
                             ModelConfig model, FeatureEmbeddingOptions embedding);
};

/// Bundles a trained model.
BundleContents make_bundle(const BundleSpec& spec, FunnelModel& net,
                           const FeatureEmbedding& embedding);

/// A bundle loaded for scoring: its description and the model with its weights.
struct LoadedBundle : BundleMeta {
  std::shared_ptr<FunnelModel> net;
  std::shared_ptr<FeatureEmbedding> embedding;
};

LoadedBundle load_bundle(const std::string& path);

}  // namespace funnel::model
