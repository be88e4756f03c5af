#pragma once
// Writes one split of the cache, row by row, in two phases: append() streams every column to
// disk with sparse values as 64-bit keys (the vocabulary does not exist yet while the training
// split is read); finalize() maps keys to ids with the finished vocabularies.
// Memory stays bounded: only file buffers are held.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/file.h"
#include "data/layout.h"
#include "data/row_encoder.h"
#include "data/vocabulary.h"

namespace funnel::data {

/// Per sparse field, what finalize() saw in this split.
struct SparseFieldStats {
  uint64_t values = 0;        // ids written (non-missing values)
  uint64_t oov = 0;           // values mapped to id 0 (rare or unseen)
  uint64_t missing_rows = 0;  // rows without any value
  uint64_t min_len = 0, max_len = 0;
  /// Rows per bag length (multi-valued): index = length, last bucket = 1024 and more.
  std::vector<uint64_t> length_histogram;
};

class SplitWriter {
 public:
  SplitWriter(std::string dir, const Layout& layout);
  ~SplitWriter();

  void append(const EncodedRow& row);
  /// Closes the staging files (call before finalize()).
  void close();
  /// Maps staged keys to ids and writes the final sparse columns; removes staging files.
  std::vector<SparseFieldStats> finalize(const std::vector<Vocabulary>& vocabs);

  uint64_t rows() const { return rows_; }
  const std::string& dir() const { return dir_; }

 private:
  std::unique_ptr<FileWriter> open(const std::string& name);

  std::string dir_;
  const Layout& layout_;
  uint64_t rows_ = 0;
  std::unique_ptr<FileWriter> labels_, dense_, group_, list_, position_, timestamp_, aux_;
  std::vector<std::unique_ptr<FileWriter>> keys_, lengths_, weights_;
};

}  // namespace funnel::data
