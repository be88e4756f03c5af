#include "model/bundle.h"

#include <torch/nn/module.h>
#include <torch/serialize/archive.h>

#include <sstream>

#include "core/error.h"

namespace funnel::model {

BundleSpec BundleSpec::of_cache(const data::Cache& cache, const data::DataConfig& data,
                                ModelConfig model, FeatureEmbeddingOptions embedding) {
  BundleSpec spec;
  spec.model = std::move(model);
  spec.embedding = std::move(embedding);
  spec.data = data;
  spec.data.schema = cache.schema();  // what the model was trained on
  for (size_t f = 0; f < cache.layout().sparse.size(); ++f) {
    spec.vocabs.push_back(cache.load_vocab(f));
  }
  spec.dense_mean = cache.dense_mean();
  spec.dense_std = cache.dense_std();
  return spec;
}

BundleContents make_bundle(const BundleSpec& spec, FunnelModel& net,
                           const FeatureEmbedding& embedding) {
  BundleContents c;
  nlohmann::json sizes = nlohmann::json::array();
  for (const auto& v : spec.vocabs) sizes.push_back(v.size());
  data::DataConfig read = spec.data;
  read.train.clear();
  read.validation.clear();
  read.test.clear();
  read.cache.clear();
  const data::Layout layout = data::Layout::from_schema(read.schema);
  c.header = {{"model", spec.model.name},
              {"model_options", spec.model.options.to_json()},
              {"embedding", spec.embedding.to_json()},
              {"data", data::data_config_to_json(read)},
              {"vocab_sizes", sizes},
              {"dense_mean", spec.dense_mean},
              {"dense_std", spec.dense_std},
              {"events", layout.events},
              {"config", spec.config}};
  for (const auto& v : spec.vocabs) c.vocabs.push_back(v.serialize());
  // Archives through a write function and a byte array (not iostreams): the forms that behave
  // the same on LibTorch 1.13 and 2.x.
  torch::serialize::OutputArchive archive;
  net.save(archive);
  archive.save_to([&c](const void* data, size_t n) {
    c.dense.append(static_cast<const char*>(data), n);
    return n;
  });
  std::ostringstream sparse;
  embedding.save(sparse, /*with_optimizer_state=*/false);
  c.sparse = sparse.str();
  return c;
}

LoadedBundle load_bundle(const std::string& path) {
  const BundleContents c = read_bundle(path);
  LoadedBundle b;
  static_cast<BundleMeta&>(b) = read_bundle_meta(c, path);
  b.embedding = std::make_shared<FeatureEmbedding>(b.layout, b.vocab_sizes, b.embedding_options);
  b.net = make_model(b.model, b.funnel, b.embedding->tower_input_dim());
  std::istringstream sparse(c.sparse);
  b.embedding->load(sparse);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(c.dense.data(), c.dense.size());
    b.net->load(archive);
  } catch (const c10::Error& e) {
    throw Error(path + ": the dense weights do not load into the model: " +
                e.what_without_backtrace());
  }
  b.net->eval();
  return b;
}

}  // namespace funnel::model
