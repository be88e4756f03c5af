#pragma once
// The bundle file (model/bundle.h) without the weights' tensors: the container (magic,
// version, sections, checksum) and the header's description of the data and the model. Plain
// C++, so that what reads bundles but scores nothing (the request encoder, the fuzz targets)
// needs no LibTorch headers.
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

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/layout.h"
#include "data/schema.h"
#include "data/vocabulary.h"
#include "model/feature_embedding_options.h"
#include "model/funnel_spec.h"
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
/// read_bundle of bytes already in memory; `path` names them in messages.
BundleContents parse_bundle(std::string_view bytes, const std::string& path);
/// The checksum a bundle stores after its sections (`body`: every byte before it).
uint64_t bundle_checksum(std::string_view body);

/// What a bundle's header and vocabularies say: how raw input becomes a batch, and which
/// model with which options reads it.
struct BundleMeta {
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
  std::vector<uint64_t> vocab_sizes;
  std::vector<float> dense_mean, dense_std;
  FunnelSpec funnel;
};

/// The header and vocabularies of `contents` checked against each other; every problem is
/// a funnel::Error naming `path`.
BundleMeta read_bundle_meta(const BundleContents& contents, const std::string& path);

}  // namespace funnel::model
