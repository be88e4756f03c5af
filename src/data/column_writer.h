#pragma once
// The final column files of one cache split (names and types in cache_format.h), written in
// row order. Both writers of a cache use them: the text converter (SplitWriter) and the
// simulator's direct writer (sim/cache_writer), so the column formats and the per-field
// statistics live in one place.

#include <cstdint>
#include <memory>
#include <string>

#include "core/file.h"
#include "data/layout.h"

namespace funnel::data {

/// Per sparse field, what a split holds.
struct SparseFieldStats {
  uint64_t values = 0;        // ids written (non-missing values)
  uint64_t oov = 0;           // values mapped to id 0 (rare or unseen)
  uint64_t missing_rows = 0;  // rows without any value
  uint64_t min_len = 0, max_len = 0;
  /// Rows per bag length (multi-valued): index = length, last bucket = 1024 and more.
  std::vector<uint64_t> length_histogram;
};

/// The columns known as soon as a row is read: labels, dense values, group, list, position,
/// timestamp and aux (each file present when the layout has it).
class RowColumnWriter {
 public:
  RowColumnWriter(const std::string& dir, const Layout& layout);
  ~RowColumnWriter();

  /// `labels`: one 0/1 per event; `dense`: one per dense field (NaN = missing); `aux`: one
  /// per aux column. Columns the layout lacks are ignored.
  void append(const uint8_t* labels, const float* dense, uint64_t group, uint64_t list,
              int32_t position, int64_t timestamp, const float* aux) {
    labels_->write(labels, num_events_);
    if (dense_) dense_->write(dense, num_dense_ * sizeof(float));
    if (group_) group_->write_pod(group);
    if (list_) list_->write_pod(list);
    if (position_) position_->write_pod(position);
    if (timestamp_) timestamp_->write_pod(timestamp);
    if (aux_) aux_->write(aux, num_aux_ * sizeof(float));
  }
  void close();

 private:
  size_t num_events_, num_dense_, num_aux_;
  std::unique_ptr<FileWriter> labels_, dense_, group_, list_, position_, timestamp_, aux_;
};

/// The id column of one sparse field (with its offsets when multi-valued and, on request, its
/// weights), and the field's statistics. Single-valued fields take one add() or add_missing()
/// per row; multi-valued ones one add() per value and one add_length() per row, in row order
/// (the two streams need not interleave).
class SparseColumnWriter {
 public:
  /// `with_weights`: this writer also writes the weights file of a weighted field (the text
  /// converter writes it while staging instead).
  SparseColumnWriter(const std::string& dir, const Layout& layout, size_t field,
                     bool with_weights = false);
  ~SparseColumnWriter();

  void add(uint32_t id) {
    ids_->write_pod(id);
    ++stats_.values;
    stats_.oov += id == 0;
  }
  /// Several ids at once (what add(id) does for each).
  void add(const uint32_t* ids, size_t n) {
    ids_->write(ids, n * sizeof(uint32_t));
    stats_.values += n;
    for (size_t i = 0; i < n; ++i) stats_.oov += ids[i] == 0;
  }
  /// A single-valued row without a value (id 0).
  void add_missing() {
    ids_->write_pod(uint32_t{0});
    ++stats_.missing_rows;
  }
  /// Multi-valued: the length of the next row's bag.
  void add_length(uint32_t length) {
    offset_ += length;
    offsets_->write_pod(offset_);
    ++stats_.length_histogram[length < 1024 ? length : 1024];
    if (length < stats_.min_len) stats_.min_len = length;
    if (length > stats_.max_len) stats_.max_len = length;
    stats_.missing_rows += length == 0;
    ++bags_;
  }
  /// Weighted fields (with_weights): one weight per value, in value order.
  void add_weights(const float* weights, size_t n) { weights_->write(weights, n * sizeof(float)); }

  /// Closes the files and returns the field's statistics over `rows` rows (checks that a
  /// multi-valued field got one length per row).
  SparseFieldStats finish(uint64_t rows);

 private:
  std::string dir_;
  size_t field_;
  bool multi_;
  std::unique_ptr<FileWriter> ids_, offsets_, weights_;
  SparseFieldStats stats_;
  uint64_t offset_ = 0, bags_ = 0;
};

}  // namespace funnel::data
