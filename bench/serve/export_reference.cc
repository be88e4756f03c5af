// Exports an ESMM bundle for the Python reference server (bench/serve/python_server.py,
// docs/serving_benchmark.md):
//
//   export_reference --bundle RUN/model.bundle --csv ROWS.csv --out DIR
//
// DIR/weights.f32   every tensor below, float32, little-endian, one after the other
// DIR/manifest.json {"model", "version" (the bundle checksum, as the server answers it),
//                    "events", "parents", "score_names", "input_dim", "activation",
//                    "tensors": [{"name", "shape", "offset" (in floats)}],
//                    "sparse": [{"name", "table", "offset", "dim"}]   (columns of the input row),
//                    "dense": [{"name", "mean", "std", "offset"}],
//                    "towers": [[{"weight", "bias"}, ...]]           (per event, hidden + head),
//                    "fields": [{"name", "kind", "multi", "weighted"}]}  (GET /v1/models')
// DIR/vocab.json    {field: {raw value: id}} for every value string that occurs in ROWS.csv
//
// Tensors: every embedding table ("embedding/<field>", [rows, dim]) and every dense parameter
// of the model under its torch name. The vocabularies of a bundle store 64-bit hashes, not
// strings, so the strings come from the benchmark's rows: each one through data::value_key
// and Vocabulary::id, exactly as the server maps a request's value (an unseen value maps to
// 0, as in the server). The CSV is split as the load client splits it (commas, no quoting).

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>

#include "bench/common/split.h"
#include "core/file.h"
#include "data/row_encoder.h"
#include "model/bundle.h"
#include "model/esmm.h"
#include "serve/scores.h"

namespace {

using namespace funnel;
using nlohmann::json;
using funnel::bench::split;

class TensorWriter {
 public:
  explicit TensorWriter(const std::string& path) : out_(path, std::ios::binary), path_(path) {
    if (!out_) throw std::runtime_error(path + ": cannot write");
  }
  void add(const std::string& name, const std::vector<int64_t>& shape, const float* data) {
    size_t n = 1;
    for (int64_t s : shape) n *= static_cast<size_t>(s);
    out_.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n * 4));
    manifest_.push_back({{"name", name}, {"shape", shape}, {"offset", offset_}});
    offset_ += n;
  }
  json finish() {
    out_.close();
    if (!out_) throw std::runtime_error(path_ + ": write failed");
    return manifest_;
  }

 private:
  std::ofstream out_;
  std::string path_;
  json manifest_ = json::array();
  size_t offset_ = 0;
};

/// The torch name of `t` among the model's parameters.
std::string name_of(const torch::nn::Module& net, const torch::Tensor& t) {
  for (const auto& p : net.named_parameters()) {
    if (p.value().is_same(t)) return p.key();
  }
  throw std::runtime_error("a tower parameter is not among the model's parameters");
}

int run(const std::string& bundle_path, const std::string& csv, const std::string& dir) {
  const model::LoadedBundle b = model::load_bundle(bundle_path);
  auto* esmm = dynamic_cast<model::EsmmModel*>(b.net.get());
  if (esmm == nullptr) {
    throw std::runtime_error(bundle_path + ": model '" + b.model.name +
                             "', the Python reference implements ESMM only");
  }
  make_dirs(dir);
  const data::Layout& layout = b.layout;
  const model::FeatureEmbedding& emb = *b.embedding;

  TensorWriter w(join_path(dir, "weights.f32"));
  json sparse = json::array();
  for (size_t f = 0; f < layout.sparse.size(); ++f) {
    const data::SparseField& sf = layout.sparse[f];
    if (sf.multi || sf.bucketized) {
      throw std::runtime_error("field " + sf.name +
                               ": multi-valued and bucketised fields are not in the reference");
    }
    const embed::EmbeddingTable& t = emb.table(f);
    const std::string name = "embedding/" + sf.name;
    w.add(name, {static_cast<int64_t>(t.num_rows()), static_cast<int64_t>(t.dim())}, t.data());
    sparse.push_back({{"name", sf.name},
                      {"table", name},
                      {"offset", emb.field_offset(f)},
                      {"dim", emb.field_dim(f)}});
  }
  json dense = json::array();
  for (size_t d = 0; d < layout.dense.size(); ++d) {
    dense.push_back({{"name", layout.dense[d]},
                     {"mean", b.dense_mean[d]},
                     {"std", b.dense_std[d]},
                     {"offset", emb.dense_offset() + static_cast<int64_t>(d)}});
  }
  for (const auto& p : b.net->named_parameters()) {
    const torch::Tensor t = p.value().detach().to(torch::kCPU, torch::kFloat32).contiguous();
    w.add(p.key(), t.sizes().vec(), t.data_ptr<float>());
  }
  json towers = json::array();
  for (size_t e = 0; e < esmm->num_events(); ++e) {
    model::Tower& tower = esmm->tower(e);
    json layers = json::array();
    for (size_t l = 0; l < tower->mlp()->num_layers(); ++l) {
      torch::nn::Linear& lin = tower->mlp()->linear(l);
      layers.push_back(
          {{"weight", name_of(*b.net, lin->weight)}, {"bias", name_of(*b.net, lin->bias)}});
    }
    torch::nn::Linear& head = tower->head_linear();
    layers.push_back(
        {{"weight", name_of(*b.net, head->weight)}, {"bias", name_of(*b.net, head->bias)}});
    towers.push_back(layers);
  }
  char version[17];
  std::snprintf(version, sizeof version, "%016llx", static_cast<unsigned long long>(b.checksum));
  // The fields a request gives (as GET /v1/models lists them): the schema's features.
  json fields = json::array();
  for (const auto& c : b.schema.categorical) {
    fields.push_back({{"name", c.name}, {"kind", "categorical"}, {"multi", c.multi},
                      {"weighted", c.weighted}});
  }
  for (const auto& n : b.schema.numeric) {
    fields.push_back({{"name", n.name}, {"kind", "numeric"}, {"multi", false}, {"weighted", false}});
  }
  const json manifest = {{"model", b.model.name},
                         {"version", version},
                         {"events", b.funnel.events},
                         {"parents", b.funnel.parents},
                         {"score_names", serve::score_names(b.funnel)},
                         {"input_dim", emb.input_dim()},
                         {"activation", esmm->options().to_json()["activation"]},
                         {"tensors", w.finish()},
                         {"sparse", sparse},
                         {"dense", dense},
                         {"towers", towers},
                         {"fields", fields}};
  write_text_file_atomic(join_path(dir, "manifest.json"), manifest.dump(1));

  // Vocabularies of the values the benchmark sends.
  std::ifstream in(csv);
  if (!in) throw std::runtime_error(csv + ": cannot open");
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(csv + ": empty");
  const std::vector<std::string> header = split(line, ',');
  std::vector<int> column(layout.sparse.size(), -1);
  for (size_t f = 0; f < layout.sparse.size(); ++f) {
    for (size_t c = 0; c < header.size(); ++c) {
      if (header[c] == layout.sparse[f].name) column[f] = static_cast<int>(c);
    }
    if (column[f] < 0) throw std::runtime_error(csv + ": no column " + layout.sparse[f].name);
  }
  std::vector<std::unordered_map<std::string, uint32_t>> maps(layout.sparse.size());
  uint64_t rows = 0, oov = 0;
  while (std::getline(in, line)) {
    const std::vector<std::string> cells = split(line, ',');
    if (cells.size() != header.size()) throw std::runtime_error(csv + ": ragged row");
    ++rows;
    for (size_t f = 0; f < layout.sparse.size(); ++f) {
      const std::string& v = cells[column[f]];
      if (v.empty() || maps[f].count(v)) continue;
      const uint32_t id = b.vocabs[f].id(data::value_key(v));
      oov += id == 0;
      maps[f].emplace(v, id);
    }
  }
  json vocab = json::object();
  size_t values = 0;
  for (size_t f = 0; f < layout.sparse.size(); ++f) {
    json m = json::object();
    for (const auto& [v, id] : maps[f]) m[v] = id;
    values += maps[f].size();
    vocab[layout.sparse[f].name] = std::move(m);
  }
  write_text_file_atomic(join_path(dir, "vocab.json"), vocab.dump());
  std::printf("%s\n", json({{"model", b.model.name},
                            {"version", version},
                            {"rows", rows},
                            {"distinct_values", values},
                            {"distinct_values_out_of_vocabulary", oov},
                            {"tensors", manifest["tensors"].size()}})
                          .dump()
                          .c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bundle, csv, out;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--bundle") {
      bundle = argv[i + 1];
    } else if (k == "--csv") {
      csv = argv[i + 1];
    } else if (k == "--out") {
      out = argv[i + 1];
    } else {
      std::fprintf(stderr, "export_reference: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (bundle.empty() || csv.empty() || out.empty()) {
    std::fprintf(stderr, "usage: export_reference --bundle B --csv ROWS.csv --out DIR\n");
    return 2;
  }
  try {
    return run(bundle, csv, out);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "export_reference: %s\n", e.what());
    return 1;
  }
}
