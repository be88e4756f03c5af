#include "model/bundle.h"

#include <torch/nn/module.h>

#include <cstring>
#include <sstream>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"
#include "core/json_fields.h"

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

FeatureEmbeddingOptions parse_feature_embedding_options(const nlohmann::json& j, uint64_t seed) {
  FeatureEmbeddingOptions o;
  o.table.seed = seed;
  embed::AdamOptions adam;
  adam.lr = 0.005;
  o.table.optimizer = adam;
  if (j.is_null()) return o;
  JsonFields f(j, "embedding");
  o.embedding_dim = f.get<uint32_t>("dim", o.embedding_dim);
  FUNNEL_CHECK(o.embedding_dim > 0, "embedding.dim: must be > 0");
  const std::string opt = f.get<std::string>("optimizer", "adam");
  const double lr = f.get<double>("lr", 0.005);
  const double wd = f.get<double>("weight_decay", 0.0);
  FUNNEL_CHECK(lr > 0, "embedding.lr: must be > 0");
  if (opt == "adam") {
    embed::AdamOptions a;
    a.lr = lr;
    a.weight_decay = wd;
    o.table.optimizer = a;
  } else if (opt == "adagrad") {
    embed::AdagradOptions a;
    a.lr = lr;
    a.weight_decay = wd;
    o.table.optimizer = a;
  } else if (opt == "sgd") {
    embed::SgdOptions a;
    a.lr = lr;
    a.weight_decay = wd;
    o.table.optimizer = a;
  } else {
    throw Error("embedding.optimizer: expected adam, adagrad or sgd, got '" + opt + "'");
  }
  const std::string pooling = f.get<std::string>("pooling", "sum");
  FUNNEL_CHECK(pooling == "sum" || pooling == "mean",
               "embedding.pooling: expected sum or mean, got '" << pooling << "'");
  o.table.pooling = pooling == "sum" ? embed::Pooling::kSum : embed::Pooling::kMean;
  o.table.init_scale = f.get<double>("init_scale", o.table.init_scale);
  f.finish();
  return o;
}

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

BundleContents make_bundle(const std::string& model_name, const nlohmann::json& model_options,
                           const nlohmann::json& embedding_section,
                           const nlohmann::json& data_section, const data::Layout& layout,
                           const std::vector<data::Vocabulary>& vocabs,
                           const std::vector<float>& dense_mean,
                           const std::vector<float>& dense_std, FunnelModel& net,
                           const FeatureEmbedding& embedding) {
  BundleContents c;
  nlohmann::json sizes = nlohmann::json::array();
  for (const auto& v : vocabs) sizes.push_back(v.size());
  c.header = {{"model", model_name},
              {"model_options", model_options},
              {"embedding", embedding_section},
              {"data", data_section},
              {"vocab_sizes", sizes},
              {"dense_mean", dense_mean},
              {"dense_std", dense_std},
              {"events", layout.events}};
  for (const auto& v : vocabs) c.vocabs.push_back(v.serialize());
  torch::serialize::OutputArchive archive;
  net.save(archive);
  std::ostringstream dense;
  archive.save_to(dense);
  c.dense = dense.str();
  std::ostringstream sparse;
  embedding.save(sparse, /*with_optimizer_state=*/false);
  c.sparse = sparse.str();
  return c;
}

LoadedBundle load_bundle(const std::string& path) {
  BundleContents c = read_bundle(path);
  LoadedBundle b;
  b.header = c.header;
  try {
    b.schema = data::parse_schema(c.header.at("data"));
    b.layout = data::Layout::from_schema(b.schema);
    b.dense_mean = c.header.at("dense_mean").get<std::vector<float>>();
    b.dense_std = c.header.at("dense_std").get<std::vector<float>>();
    const auto sizes = c.header.at("vocab_sizes").get<std::vector<uint64_t>>();
    FUNNEL_CHECK(sizes.size() == b.layout.sparse.size() && c.vocabs.size() == sizes.size(),
                 path << ": vocabularies do not match the schema");
    for (size_t i = 0; i < c.vocabs.size(); ++i) {
      b.vocabs.push_back(
          data::Vocabulary::deserialize(c.vocabs[i], path + " [vocab/" + std::to_string(i) + "]"));
    }
    b.funnel = {b.layout.events, b.layout.event_parent};
    b.embedding = std::make_shared<FeatureEmbedding>(
        b.layout, sizes, parse_feature_embedding_options(c.header.at("embedding"), 0));
    b.net = make_model(c.header.at("model").get<std::string>(), b.funnel,
                       b.embedding->input_dim(), c.header.at("model_options"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": malformed bundle header: " + e.what());
  }
  std::istringstream sparse(c.sparse);
  b.embedding->load(sparse);
  std::istringstream dense(c.dense);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(dense);
    b.net->load(archive);
  } catch (const c10::Error& e) {
    throw Error(path + ": the dense weights do not load into the model: " + e.what_without_backtrace());
  }
  b.net->eval();
  return b;
}

}  // namespace funnel::model
