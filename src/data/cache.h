#pragma once
// Read side of the binary cache: memory-mapped columns of each split, the layout, numeric
// statistics and vocabularies. Opening validates the format name, version and file sizes.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/file.h"
#include "data/layout.h"
#include "data/schema.h"
#include "data/vocabulary.h"

namespace funnel::data {

class CacheSplit {
 public:
  CacheSplit(const std::string& dir, const Layout& layout, uint64_t rows);

  uint64_t rows() const { return rows_; }
  const std::string& dir() const { return dir_; }
  /// rows x events, row-major.
  const uint8_t* labels() const { return ptr<uint8_t>(labels_); }
  const uint32_t* ids(size_t field) const { return ptr<uint32_t>(ids_[field]); }
  /// nullptr for single-valued fields.
  const uint64_t* offsets(size_t field) const { return ptr<uint64_t>(offsets_[field]); }
  /// nullptr for unweighted fields.
  const float* weights(size_t field) const { return ptr<float>(weights_[field]); }
  const float* dense() const { return ptr<float>(dense_); }
  const uint64_t* group() const { return ptr<uint64_t>(group_); }
  const uint64_t* list() const { return ptr<uint64_t>(list_); }
  const int32_t* position() const { return ptr<int32_t>(position_); }
  const int64_t* timestamp() const { return ptr<int64_t>(timestamp_); }
  const float* aux() const { return ptr<float>(aux_); }

 private:
  template <typename T>
  static const T* ptr(const std::unique_ptr<MappedFile>& f) {
    return f ? reinterpret_cast<const T*>(f->data()) : nullptr;
  }
  std::unique_ptr<MappedFile> map(const std::string& name, uint64_t expected_bytes);
  friend class Cache;
  /// Labels in {0, 1}, multi-valued offsets non-decreasing from 0, ids below their table's
  /// size: what would otherwise train silently on garbage or index past a table.
  void check_contents(const Layout& layout, const std::vector<uint64_t>& vocab_sizes) const;

  std::string dir_;
  uint64_t rows_;
  std::unique_ptr<MappedFile> labels_, dense_, group_, list_, position_, timestamp_, aux_;
  std::vector<std::unique_ptr<MappedFile>> ids_, offsets_, weights_;
};

class Cache {
 public:
  /// Opens CACHE_DIR; throws funnel::Error naming the file on anything missing or
  /// inconsistent: column sizes against the row counts, every vocabulary file present and of
  /// the size meta.json declares, and (one pass over the columns, before any training) labels
  /// in {0, 1}, ids below their table's size, offsets in order.
  explicit Cache(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const nlohmann::json& meta() const { return meta_; }
  const Schema& schema() const { return schema_; }
  const Layout& layout() const { return layout_; }
  bool has_split(const std::string& name) const { return splits_.count(name) > 0; }
  /// Throws when the split does not exist (naming the ones that do).
  const CacheSplit& split(const std::string& name) const;
  std::vector<std::string> split_names() const;
  /// Rows of each sparse field's embedding table (vocabulary size, id 0 included).
  const std::vector<uint64_t>& vocab_sizes() const { return vocab_sizes_; }
  /// Mean and standard deviation of each dense field over the training split.
  const std::vector<float>& dense_mean() const { return dense_mean_; }
  const std::vector<float>& dense_std() const { return dense_std_; }
  /// Loads the vocabulary of a sparse field (for prediction input).
  Vocabulary load_vocab(size_t field) const;

 private:
  std::string dir_;
  nlohmann::json meta_;
  Schema schema_;
  Layout layout_;
  std::vector<uint64_t> vocab_sizes_;
  std::vector<float> dense_mean_, dense_std_;
  std::map<std::string, std::unique_ptr<CacheSplit>> splits_;
};

}  // namespace funnel::data
