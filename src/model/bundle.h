#pragma once
// The model bundle: everything needed to score raw input the way training saw it, in one
// self-describing file (DESIGN.md, "Artifacts describe themselves").
//
//   "FNLBUNDL" | u32 format version | sections | u64 checksum | "FNLBEND\0"
//   section = u32 name length | name | u64 byte length | bytes
//   sections: "header" (JSON: model name and options, embedding options, the data section
//             with schema and format, layout, vocabulary sizes, dense statistics),
//             "vocab/<i>" (data::Vocabulary::serialize), "dense" (torch archive of the model),
//             "sparse" (FeatureEmbedding::save without optimizer state)
// The checksum (hash of every byte before it) catches corruption; the file is written to a
// temporary name and renamed, so a reader never sees half a bundle. Reading checks, in this
// order: magic, version, truncation, checksum, sections; each failure is a clear Error.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/layout.h"
#include "data/schema.h"
#include "data/vocabulary.h"
#include "model/feature_embedding.h"
#include "model/model.h"

namespace funnel::model {

constexpr uint32_t kBundleVersion = 1;

/// Parses the "embedding" section of an experiment config (dim, optimizer, lr,
/// weight_decay, pooling, init_scale); defaults: dim 16, lazy Adam lr 0.005 (AutoHERI §4.1.2).
FeatureEmbeddingOptions parse_feature_embedding_options(const nlohmann::json& embedding,
                                                        uint64_t seed);

struct BundleContents {
  nlohmann::json header;
  std::vector<std::string> vocabs;  // data::Vocabulary::serialize() of each sparse field
  std::string dense;
  std::string sparse;
};

void write_bundle(const std::string& path, const BundleContents& contents);
BundleContents read_bundle(const std::string& path);

/// Bundles a trained model: `data_section` is the experiment's "data" object (schema and
/// format for reading raw input), `model_options` without the "name" key.
BundleContents make_bundle(const std::string& model_name, const nlohmann::json& model_options,
                           const nlohmann::json& embedding_section,
                           const nlohmann::json& data_section, const data::Layout& layout,
                           const std::vector<data::Vocabulary>& vocabs,
                           const std::vector<float>& dense_mean,
                           const std::vector<float>& dense_std, FunnelModel& net,
                           const FeatureEmbedding& embedding);

/// A bundle loaded for scoring.
struct LoadedBundle {
  nlohmann::json header;
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
