#include "data/cache.h"

#include <algorithm>
#include <cstring>

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

void CacheSplit::check_contents(const Layout& layout,
                                const std::vector<uint64_t>& vocab_sizes) const {
  const size_t E = layout.num_events();
  const uint8_t* labels = this->labels();
  for (uint64_t i = 0; i < rows_ * E; ++i) {
    if (labels[i] > 1) {
      throw Error(join_path(dir_, cache::kLabels) + ": row " + std::to_string(i / E + 1) +
                  ", event '" + layout.events[i % E] + "': label " + std::to_string(labels[i]) +
                  ", expected 0 or 1 (a damaged cache: convert again)");
    }
  }
  for (size_t f = 0; f < layout.sparse.size(); ++f) {
    const int fi = static_cast<int>(f);
    uint64_t n = rows_;
    if (layout.sparse[f].multi) {
      const uint64_t* off = offsets(f);
      for (uint64_t r = 0; r < rows_; ++r) {
        if (off[r] > off[r + 1] || (r == 0 && off[0] != 0)) {
          throw Error(join_path(dir_, cache::field_file(fi, cache::kOffsets)) + ": row " +
                      std::to_string(r + 1) +
                      ": offsets out of order (a damaged cache: convert again)");
        }
      }
      n = off[rows_];
    }
    const uint32_t* id = ids(f);
    uint32_t max = 0;
    for (uint64_t k = 0; k < n; ++k) max = std::max(max, id[k]);
    if (n > 0 && max >= vocab_sizes[f]) {
      uint64_t k = 0;
      while (id[k] < vocab_sizes[f]) ++k;
      throw Error(join_path(dir_, cache::field_file(fi, cache::kIds)) + ": value " +
                  std::to_string(k + 1) + " of field '" + layout.sparse[f].name + "': id " +
                  std::to_string(id[k]) + ", not below the vocabulary's size " +
                  std::to_string(vocab_sizes[f]) + " (a damaged cache: convert again)");
    }
  }
}

namespace {

/// A vocabulary file's declared size (its header), checked against the file's length: the
/// file is there, whole, and of the size meta.json gives. Cheap: the header and a stat.
void check_vocab_file(const std::string& path, uint64_t meta_size) {
  if (!path_exists(path)) {
    throw Error(path + ": vocabulary file missing (a damaged cache: convert again)");
  }
  MappedFile f(path);
  // magic 8, version 4, kind 4, size 8, 4 counters of 8, n 8; then n keys and n counts of 8.
  constexpr uint64_t kHeader = 64;
  if (f.size() < kHeader) throw Error(path + ": vocabulary is truncated");
  uint32_t kind;
  uint64_t size, n;
  std::memcpy(&kind, f.data() + 12, 4);
  std::memcpy(&size, f.data() + 16, 8);
  std::memcpy(&n, f.data() + 56, 8);
  if (n > (f.size() - kHeader) / 16 || f.size() != kHeader + 16 * n) {
    throw Error(path + ": vocabulary is truncated or has trailing bytes (" +
                std::to_string(f.size()) + " bytes for " + std::to_string(n) + " values)");
  }
  if (size != meta_size) {
    throw Error(path + ": vocabulary of " + std::to_string(size) + " ids, meta.json says " +
                std::to_string(meta_size) + " (a damaged cache: convert again)");
  }
  // Ids are 32-bit; a counted vocabulary has one id per stored value (+ the OOV id 0).
  constexpr uint32_t kCounted = 1;
  if (size > (uint64_t{1} << 32) || (kind == kCounted && size != n + 1)) {
    throw Error(path + ": vocabulary size " + std::to_string(size) +
                " is not consistent with its file (" + std::to_string(n) + " values)");
  }
}

}  // namespace

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
  // Read without json::value(), which throws on a document that is not an object (fuzz
  // finding: meta.json holding "" was an internal error) or on a field of another type.
  const auto format = meta_.is_object() ? meta_.find("format") : meta_.end();
  if (!meta_.is_object() || format == meta_.end() || !format->is_string() ||
      format->get<std::string>() != cache::kFormatName) {
    throw Error(meta_path + ": not a Funnel cache");
  }
  const auto version_it = meta_.find("version");
  const int64_t version = version_it != meta_.end() && version_it->is_number_integer()
                              ? version_it->get<int64_t>()
                              : -1;
  if (version != cache::kFormatVersion) {
    throw Error(meta_path + ": cache format version " + std::to_string(version) +
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
      splits_[name] = std::make_unique<CacheSplit>(join_path(dir, name), layout_,
                                                   info.at("rows").get<uint64_t>());
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(meta_path + ": malformed cache metadata: " + e.what());
  }
  for (size_t f = 0; f < vocab_sizes_.size(); ++f) {
    check_vocab_file(join_path(dir, cache::vocab_file(static_cast<int>(f))), vocab_sizes_[f]);
  }
  for (const auto& [name, s] : splits_) s->check_contents(layout_, vocab_sizes_);
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
