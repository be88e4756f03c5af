#pragma once
// Validates a RawRow against the schema and turns it into numbers: event labels, value keys
// (64-bit hashes, mapped to ids later by the vocabulary), weights, raw numeric values.

#include <cstdint>
#include <string>
#include <vector>

#include "core/hash.h"
#include "data/layout.h"
#include "data/raw_row.h"
#include "data/schema.h"

namespace funnel::data {

struct EncodedRow {
  std::vector<uint8_t> labels;               // per event (OR of its columns)
  /// Single-valued sparse fields: the value's key, 0 when missing.
  std::vector<uint64_t> single;              // per sparse field (unused for multi-valued)
  /// Multi-valued sparse fields: the values' keys (nonzero) and weights (weighted fields).
  std::vector<std::vector<uint64_t>> keys;   // per sparse field (empty for single-valued)
  std::vector<std::vector<float>> weights;   // per sparse field (weighted fields only)
  std::vector<float> dense;                  // per dense field; NaN = missing
  uint64_t group = 0;
  uint64_t list = 0;
  int32_t position = 0;
  int64_t timestamp = 0;
  std::vector<float> aux;                    // NaN = missing
  /// First event that is 1 while its parent event is 0 (e.g. conversion without click); -1 none.
  int violation = -1;
};

/// Key of a categorical value: its hash, never 0 (0 marks empty slots in KeyMap).
inline uint64_t value_key(std::string_view text) {
  const uint64_t h = hash_bytes(text);
  return h == 0 ? 1 : h;
}

class RowEncoder {
 public:
  explicit RowEncoder(const DataConfig& config);

  /// Throws funnel::DataError(file, row.line, column, kind, ...) on a bad value.
  void encode(const RawRow& row, const std::string& file, EncodedRow& out) const;

  const Layout& layout() const { return layout_; }

 private:
  void encode_categorical(const RawRow& row, int slot, const std::string& file, size_t field,
                          EncodedRow& out) const;
  uint64_t checked_key(std::string_view text, const RawRow& row, int slot,
                       const std::string& file) const;
  [[noreturn]] __attribute__((noinline)) void bad_value(std::string_view text, const RawRow& row,
                                                         int slot, const std::string& file) const;

  DataConfig config_;  // a copy: encoders outlive temporaries
  Layout layout_;
  std::vector<Slot> slots_;
  std::vector<std::vector<int>> event_columns_;  // event -> label slot indices
  std::vector<int> sparse_slot_;                 // sparse field -> slot
  std::vector<int> dense_slot_;                  // dense field -> slot
  std::vector<int> aux_slot_;
  int group_slot_ = -1, list_slot_ = -1, position_slot_ = -1, timestamp_slot_ = -1;
};

}  // namespace funnel::data
