#pragma once
// The model bundle: everything needed to score raw input the way training saw it, in one
// self-describing file (DESIGN.md, "Artifacts describe themselves").
//
//   "FNLBUNDL" | u32 format version | sections | u64 checksum | "FNLBEND\0"
//   section = u32 name length | name | u64 byte length | bytes
//   sections: "header" (JSON: model name and resolved options, resolved embedding options,
//             the resolved data section without files (schema, format, how bad rows are
//             handled), vocabulary sizes, dense statistics, the resolved experiment),
//             "vocab/<i>" (data::Vocabulary::serialize), "dense" (torch archive of the model),
//             "sparse" (FeatureEmbedding::save without optimizer state)
// The checksum (hash of every byte before it) catches corruption; the file is written to a
// temporary name and renamed, so a reader never sees half a bundle. Reading checks, in this
// order: magic, version, truncation, checksum, sections; each failure is a clear Error.
// Version 2 (this build) stores the typed data section; a version 1 bundle (the raw one) is
// refused with "bundle format version 1, this build reads version 2": retrain it
// (docs/models.md, "Bundles").

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/cache.h"
#include "data/layout.h"
#include "data/schema.h"
#include "data/vocabulary.h"
#include "model/feature_embedding.h"
#include "model/model.h"
#include "model/model_config.h"

namespace funnel::model {

constexpr uint32_t kBundleVersion = 2;

struct BundleContents {
  /// The checksum stored in the file (set by read_bundle): identifies the bundle's version.
  uint64_t checksum = 0;
  nlohmann::json header;
  std::vector<std::string> vocabs;  // data::Vocabulary::serialize() of each sparse field
  std::string dense;
  std::string sparse;
};

void write_bundle(const std::string& path, const BundleContents& contents);
BundleContents read_bundle(const std::string& path);

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

/// A bundle loaded for scoring.
struct LoadedBundle {
  /// The file's checksum: the bundle's version (a retrained bundle has another).
  uint64_t checksum = 0;
  nlohmann::json header;
  ModelConfig model;
  FeatureEmbeddingOptions embedding_options;
  /// The training data section without files: schema, format, row policies.
  data::DataConfig data;
  data::Schema schema;
  data::Layout layout;
  std::vector<data::Vocabulary> vocabs;
  std::vector<float> dense_mean, dense_std;
  std::shared_ptr<FunnelModel> net;
  std::shared_ptr<FeatureEmbedding> embedding;
  FunnelSpec funnel;
};

LoadedBundle load_bundle(const std::string& path);

}  // namespace funnel::model
