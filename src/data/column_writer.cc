#include "data/column_writer.h"

#include <cstdint>

#include "core/error.h"
#include "data/cache_format.h"

namespace funnel::data {
namespace {

std::unique_ptr<FileWriter> open_column(const std::string& dir, const std::string& name,
                                        size_t buffer_bytes) {
  return std::make_unique<FileWriter>(join_path(dir, name), buffer_bytes);
}

}  // namespace

RowColumnWriter::RowColumnWriter(const std::string& dir, const Layout& layout)
    : num_events_(layout.num_events()), num_dense_(layout.dense.size()),
      num_aux_(layout.aux.size()) {
  constexpr size_t kBuffer = size_t{256} << 10;  // a split keeps a dozen of these open
  labels_ = open_column(dir, cache::kLabels, kBuffer);
  if (num_dense_ > 0) dense_ = open_column(dir, cache::kDense, kBuffer);
  if (layout.has_group) group_ = open_column(dir, cache::kGroup, kBuffer);
  if (layout.has_list) list_ = open_column(dir, cache::kList, kBuffer);
  if (layout.has_position) position_ = open_column(dir, cache::kPosition, kBuffer);
  if (layout.has_timestamp) timestamp_ = open_column(dir, cache::kTimestamp, kBuffer);
  if (num_aux_ > 0) aux_ = open_column(dir, cache::kAux, kBuffer);
}

RowColumnWriter::~RowColumnWriter() = default;

void RowColumnWriter::close() {
  for (auto* w : {&labels_, &dense_, &group_, &list_, &position_, &timestamp_, &aux_}) {
    if (*w) (*w)->close();
  }
}

SparseColumnWriter::SparseColumnWriter(const std::string& dir, const Layout& layout, size_t field,
                                       bool with_weights)
    : dir_(dir), field_(field), multi_(layout.sparse.at(field).multi) {
  const int f = static_cast<int>(field);
  // Writes of a whole buffer or more bypass it (bulk add()), so its pages are touched only
  // by per-value writes.
  constexpr size_t kBuffer = size_t{256} << 10;
  ids_ = open_column(dir, cache::field_file(f, cache::kIds), kBuffer);
  if (multi_) {
    offsets_ = open_column(dir, cache::field_file(f, cache::kOffsets), kBuffer);
    offsets_->write_pod(offset_);
    stats_.length_histogram.assign(1025, 0);
    stats_.min_len = UINT64_MAX;
  }
  if (with_weights) {
    FUNNEL_CHECK(layout.sparse[field].weighted,
                 "field " << layout.sparse[field].name << " is not weighted");
    weights_ = open_column(dir, cache::field_file(f, cache::kWeights), kBuffer);
  }
}

SparseColumnWriter::~SparseColumnWriter() = default;

SparseFieldStats SparseColumnWriter::finish(uint64_t rows) {
  ids_->close();
  if (weights_) weights_->close();
  if (multi_) {
    offsets_->close();
    FUNNEL_CHECK(bags_ == rows, dir_ << ": field " << field_ << " has " << bags_
                                     << " bag lengths, expected one per row (" << rows << ")");
    if (rows == 0) stats_.min_len = 0;
  } else {
    stats_.min_len = stats_.missing_rows > 0 ? 0 : (rows > 0 ? 1 : 0);
    stats_.max_len = stats_.values > 0 ? 1 : 0;
  }
  return stats_;
}

}  // namespace funnel::data
