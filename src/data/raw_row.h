#pragma once
// The boundary between a file format and the schema: one input row as views into the
// reader's buffers, addressed by schema slot. Readers fill it; the RowEncoder validates it.

#include <cstdint>
#include <string_view>
#include <vector>

namespace funnel::data {

/// One categorical value with its weight (1 unless the format carries one).
struct Token {
  std::string_view text;
  float weight = 1.0f;
};

struct RawRow {
  /// 1-based line number in the file being read (for error messages).
  uint64_t line = 0;
  /// Per slot: the cell text (delimited files; scalar slots of every format).
  std::vector<std::string_view> cell;
  /// Per slot: true when the column was present in this row.
  std::vector<uint8_t> present;
  /// Per slot: values of categorical slots in formats that list them one by one
  /// (tokens, raw Ali-CCP). Empty for delimited files, where `cell` is split instead.
  std::vector<std::vector<Token>> tokens;

  void reset(size_t num_slots) {
    if (cell.size() != num_slots) {
      cell.assign(num_slots, {});
      present.assign(num_slots, 0);
      tokens.resize(num_slots);
    }
    for (size_t i = 0; i < num_slots; ++i) {
      cell[i] = {};
      present[i] = 0;
      tokens[i].clear();
    }
  }
};

}  // namespace funnel::data
