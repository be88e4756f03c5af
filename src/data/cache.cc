#include "data/cache.h"

#include "core/error.h"
#include "data/cache_format.h"

namespace funnel::data {

CacheSplit::CacheSplit(const std::string& dir, const Layout& layout, uint64_t rows)
    : dir_(dir), rows_(rows) {
  labels_ = map(cache::kLabels, rows * layout.num_events());
  for (size_t f = 0; f < layout.sparse.size(); ++f) {
    const int i = static_cast<int>(f);
    const auto& sf = layout.sparse[f];
    uint64_t num_ids = rows;
    if (sf.multi) {
      offsets_.push_back(map(cache::field_file(i, cache::kOffsets), (rows + 1) * 8));
      num_ids = offsets(f)[rows];
    } else {
      offsets_.push_back(nullptr);
    }
    ids_.push_back(map(cache::field_file(i, cache::kIds), num_ids * 4));
    weights_.push_back(sf.weighted ? map(cache::field_file(i, cache::kWeights), num_ids * 4)
                                   : nullptr);
  }
  if (!layout.dense.empty()) dense_ = map(cache::kDense, rows * layout.dense.size() * 4);
  if (layout.has_group) group_ = map(cache::kGroup, rows * 8);
  if (layout.has_list) list_ = map(cache::kList, rows * 8);
  if (layout.has_position) position_ = map(cache::kPosition, rows * 4);
  if (layout.has_timestamp) timestamp_ = map(cache::kTimestamp, rows * 8);
  if (!layout.aux.empty()) aux_ = map(cache::kAux, rows * layout.aux.size() * 4);
}

std::unique_ptr<MappedFile> CacheSplit::map(const std::string& name, uint64_t expected_bytes) {
  const std::string path = join_path(dir_, name);
  auto f = std::make_unique<MappedFile>(path);
  if (f->size() != expected_bytes) {
    throw Error(path + ": cache column has " + std::to_string(f->size()) + " bytes, expected " +
                std::to_string(expected_bytes) + " (truncated or stale cache: convert again)");
  }
  return f;
}

Cache::Cache(const std::string& dir) : dir_(dir) {
  const std::string meta_path = join_path(dir, "meta.json");
  if (!path_exists(meta_path)) {
    throw Error(dir + ": not a Funnel cache (no meta.json; create one with funnel data convert)");
  }
  try {
    meta_ = nlohmann::json::parse(read_text_file(meta_path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(meta_path + ": invalid JSON: " + e.what());
  }
  if (meta_.value("format", "") != cache::kFormatName) {
    throw Error(meta_path + ": not a Funnel cache");
  }
  if (meta_.value("version", 0) != cache::kFormatVersion) {
    throw Error(meta_path + ": cache format version " + std::to_string(meta_.value("version", 0)) +
                ", this build reads version " + std::to_string(cache::kFormatVersion) +
                " (convert the data again)");
  }
  try {
    schema_ = parse_schema(meta_.at("schema"));
    layout_ = Layout::from_schema(schema_);
    for (const auto& f : meta_.at("sparse")) vocab_sizes_.push_back(f.at("vocab_size"));
    for (const auto& d : meta_.at("dense")) {
      dense_mean_.push_back(d.at("mean"));
      dense_std_.push_back(d.at("std"));
    }
    if (vocab_sizes_.size() != layout_.sparse.size() || dense_mean_.size() != layout_.dense.size()) {
      throw Error("field lists do not match the schema");
    }
    for (const auto& [name, info] : meta_.at("splits").items()) {
      splits_[name] =
          std::make_unique<CacheSplit>(join_path(dir, name), layout_, info.at("rows").get<uint64_t>());
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(meta_path + ": malformed cache metadata: " + e.what());
  }
}

const CacheSplit& Cache::split(const std::string& name) const {
  const auto it = splits_.find(name);
  if (it == splits_.end()) {
    std::string have;
    for (const auto& [n, s] : splits_) have += (have.empty() ? "" : ", ") + n;
    throw Error(dir_ + ": no split '" + name + "' (have: " + have + ")");
  }
  return *it->second;
}

std::vector<std::string> Cache::split_names() const {
  std::vector<std::string> out;
  for (const auto& [n, s] : splits_) out.push_back(n);
  return out;
}

Vocabulary Cache::load_vocab(size_t field) const {
  return Vocabulary::load(join_path(dir_, cache::vocab_file(static_cast<int>(field))));
}

}  // namespace funnel::data
