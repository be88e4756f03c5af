#include "model/bundle.h"

#include <torch/nn/module.h>
#include <torch/serialize/archive.h>

#include <cstring>
#include <sstream>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"

namespace funnel::model {
namespace {

constexpr char kMagic[8] = {'F', 'N', 'L', 'B', 'U', 'N', 'D', 'L'};
constexpr char kEnd[8] = {'F', 'N', 'L', 'B', 'E', 'N', 'D', '\0'};

void put_section(std::string& out, const std::string& name, const std::string& bytes) {
  const auto n = static_cast<uint32_t>(name.size());
  const uint64_t len = bytes.size();
  out.append(reinterpret_cast<const char*>(&n), 4);
  out += name;
  out.append(reinterpret_cast<const char*>(&len), 8);
  out += bytes;
}

uint64_t checksum(std::string_view bytes) { return hash_bytes(bytes, 0x42554e444c45ULL); }

}  // namespace

void write_bundle(const std::string& path, const BundleContents& c) {
  std::string out(kMagic, 8);
  out.append(reinterpret_cast<const char*>(&kBundleVersion), 4);
  put_section(out, "header", c.header.dump());
  for (size_t i = 0; i < c.vocabs.size(); ++i) {
    put_section(out, "vocab/" + std::to_string(i), c.vocabs[i]);
  }
  put_section(out, "dense", c.dense);
  put_section(out, "sparse", c.sparse);
  const uint64_t sum = checksum(out);
  out.append(reinterpret_cast<const char*>(&sum), 8);
  out.append(kEnd, 8);
  write_text_file_atomic(path, out);
}

BundleContents read_bundle(const std::string& path) {
  const std::string bytes = read_text_file(path);
  if (bytes.size() < 12 || std::memcmp(bytes.data(), kMagic, 8) != 0) {
    throw Error(path + ": not a Funnel model bundle");
  }
  uint32_t version;
  std::memcpy(&version, bytes.data() + 8, 4);
  if (version != kBundleVersion) {
    throw Error(path + ": bundle format version " + std::to_string(version) +
                ", this build reads version " + std::to_string(kBundleVersion) +
                " (retrain or use a matching funnel)");
  }
  if (bytes.size() < 28 || std::memcmp(bytes.data() + bytes.size() - 8, kEnd, 8) != 0) {
    throw Error(path + ": bundle is truncated (no end marker; was the copy interrupted?)");
  }
  const size_t body = bytes.size() - 16;
  uint64_t stored;
  std::memcpy(&stored, bytes.data() + body, 8);
  if (stored != checksum(std::string_view(bytes.data(), body))) {
    throw Error(path + ": bundle checksum mismatch (the file is corrupted)");
  }
  BundleContents c;
  c.checksum = stored;
  size_t pos = 12;
  bool have_header = false, have_dense = false, have_sparse = false;
  while (pos < body) {
    auto need = [&](size_t n) {
      if (body - pos < n) throw Error(path + ": bundle section runs past the end");
    };
    need(4);
    uint32_t name_len;
    std::memcpy(&name_len, bytes.data() + pos, 4);
    pos += 4;
    need(name_len + size_t{8});
    const std::string name = bytes.substr(pos, name_len);
    pos += name_len;
    uint64_t len;
    std::memcpy(&len, bytes.data() + pos, 8);
    pos += 8;
    need(len);
    const std::string_view data(bytes.data() + pos, len);
    pos += len;
    if (name == "header") {
      try {
        c.header = nlohmann::json::parse(data);
      } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": bundle header is not valid JSON: " + e.what());
      }
      have_header = true;
    } else if (name.rfind("vocab/", 0) == 0) {
      FUNNEL_CHECK(name == "vocab/" + std::to_string(c.vocabs.size()),
                   path << ": unexpected section " << name);
      c.vocabs.emplace_back(data);
    } else if (name == "dense") {
      c.dense.assign(data);
      have_dense = true;
    } else if (name == "sparse") {
      c.sparse.assign(data);
      have_sparse = true;
    } else {
      throw Error(path + ": unknown bundle section '" + name + "'");
    }
  }
  FUNNEL_CHECK(have_header && have_dense && have_sparse,
               path << ": bundle lacks a header, dense or sparse section");
  return c;
}

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
  BundleContents c = read_bundle(path);
  LoadedBundle b;
  b.checksum = c.checksum;
  b.header = c.header;
  std::vector<uint64_t> sizes;
  try {
    b.data = data::parse_data_config(c.header.at("data"), "");
    b.schema = b.data.schema;
    b.layout = data::Layout::from_schema(b.schema);
    b.dense_mean = c.header.at("dense_mean").get<std::vector<float>>();
    b.dense_std = c.header.at("dense_std").get<std::vector<float>>();
    sizes = c.header.at("vocab_sizes").get<std::vector<uint64_t>>();
    FUNNEL_CHECK(sizes.size() == b.layout.sparse.size() && c.vocabs.size() == sizes.size(),
                 path << ": vocabularies do not match the schema");
    for (size_t i = 0; i < c.vocabs.size(); ++i) {
      b.vocabs.push_back(
          data::Vocabulary::deserialize(c.vocabs[i], path + " [vocab/" + std::to_string(i) + "]"));
    }
    b.funnel = FunnelSpec::from_layout(b.layout);
    b.model = parse_model_options(c.header.at("model").get<std::string>(),
                                  c.header.at("model_options"), "model_options");
    b.embedding_options = FeatureEmbeddingOptions::from_json(c.header.at("embedding"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": malformed bundle header: " + e.what());
  } catch (const Error& e) {
    throw Error(path + ": bundle header: " + e.what());
  }
  b.embedding = std::make_shared<FeatureEmbedding>(b.layout, sizes, b.embedding_options);
  b.net = make_model(b.model, b.funnel, b.embedding->input_dim());
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
