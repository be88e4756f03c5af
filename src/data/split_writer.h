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
#include "data/column_writer.h"
#include "data/layout.h"
#include "data/row_encoder.h"
#include "data/vocabulary.h"

namespace funnel::data {

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
  std::unique_ptr<RowColumnWriter> columns_;
  std::vector<std::unique_ptr<FileWriter>> keys_, lengths_, weights_;
};

}  // namespace funnel::data
