// PaddleRec token lines: `sample_id,click,buy,field:feat_id,field:feat_id,...` (no header).
// The leading plain columns are named by FormatSpec::leading_columns; a field that repeats
// becomes a multi-valued feature. Tokens of fields the schema does not read are skipped and
// counted per field name (Reader::unread_fields).

#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "data/readers.h"

namespace funnel::data {
namespace {

class TokenReader : public Reader {
 public:
  TokenReader(const DataConfig& config, const InputFile& file)
      : lines_(file.path), total_(file_size(file.path)), max_unread_(config.max_unread_fields) {
    if (total_ == 0) throw DataError(file.path, 0, "", "empty_file", "file is empty");
    const auto& lead = config.format.leading_columns;
    const std::vector<Slot> slots = config.schema.slots();
    num_slots_ = slots.size();
    leading_slot_.assign(lead.size(), -1);
    categorical_.assign(num_slots_, 0);
    multi_.assign(num_slots_, 0);
    for (size_t s = 0; s < slots.size(); ++s) {
      bool found = false;
      for (size_t i = 0; i < lead.size(); ++i) {
        if (lead[i] == slots[s].column) {
          leading_slot_[i] = static_cast<int>(s);
          found = true;
        }
      }
      if (!found) {
        if (slots[s].kind == SlotKind::kLabel) {
          throw DataError(file.path, 0, slots[s].column, "missing_column",
                          "label column is not among the leading columns of the token format");
        }
        field_slots_[slots[s].column].push_back(static_cast<int>(s));
        if (slots[s].kind == SlotKind::kCategorical) {
          categorical_[s] = 1;
          multi_[s] = config.schema.categorical[slots[s].index].multi;
        }
      }
    }
    for (const auto& [name, list] : field_slots_) keys_.emplace(name, Key{&list, nullptr});
  }

  bool next(RawRow& row) override {
    std::string_view line;
    if (!lines_.next(line)) return false;
    row.reset(num_slots_);
    row.line = lines_.line_number();
    const char* p = line.data();
    const char* end = p + line.size();
    if (line.empty()) throw DataError(path(), row.line, "", "column_count", "empty line");
    // Leading plain columns.
    for (size_t i = 0; i < leading_slot_.size(); ++i) {
      const char* q = static_cast<const char*>(std::memchr(p, ',', static_cast<size_t>(end - p)));
      if (q == nullptr && i + 1 < leading_slot_.size()) {
        std::string msg = "expected " + std::to_string(leading_slot_.size()) +
                          " leading columns before the field:id tokens, found " +
                          std::to_string(i + 1);
        if (lines_.last_line_unterminated()) msg += " (last line has no newline: file truncated?)";
        throw DataError(path(), row.line, "", "column_count", msg);
      }
      const char* cell_end = q == nullptr ? end : q;
      if (leading_slot_[i] >= 0) {
        row.cell[leading_slot_[i]] = std::string_view(p, static_cast<size_t>(cell_end - p));
        row.present[leading_slot_[i]] = 1;
      }
      p = q == nullptr ? end : q + 1;
    }
    // field:feat_id tokens.
    while (p < end) {
      const char* q = static_cast<const char*>(std::memchr(p, ',', static_cast<size_t>(end - p)));
      const char* tok_end = q == nullptr ? end : q;
      const char* colon =
          static_cast<const char*>(std::memchr(p, ':', static_cast<size_t>(tok_end - p)));
      if (colon == nullptr) {
        std::string msg = "token '" +
                          printable(std::string_view(p, static_cast<size_t>(tok_end - p)), 80) +
                          "' is not field:id";
        if (q == nullptr && lines_.last_line_unterminated()) {
          msg += " (last line has no newline: file truncated?)";
        }
        throw DataError(path(), row.line, "", "token", msg);
      }
      const std::string_view field(p, static_cast<size_t>(colon - p));
      const std::string_view value(colon + 1, static_cast<size_t>(tok_end - colon - 1));
      // "101::12" is no field:id (it was read as the value ":12").
      if (value.find(':') != std::string_view::npos) {
        throw DataError(path(), row.line, std::string(field), "token",
                        "token '" + printable(std::string_view(p, tok_end - p), 80) +
                            "' has more than one ':' (expected field:id)");
      }
      auto it = keys_.find(field);
      if (it == keys_.end()) {
        // A field the schema does not read: remembered, so that its next tokens are one
        // lookup too (the map's key views the name held by unread_).
        auto& u = add_unread_field(unread_, field, max_unread_, path(), row.line);
        it = keys_.emplace(std::string_view(u.first), Key{&kNoSlots, &u.second}).first;
      }
      if (it->second.unread != nullptr) {
        ++it->second.unread->entries;
      } else {
        for (const int s : *it->second.slots) {
          if (categorical_[s]) {
            if (!row.tokens[s].empty() && !multi_[s]) {
              throw DataError(path(), row.line, std::string(field), "multiple_values",
                              "field is declared single-valued but occurs more than once "
                              "(declare it with \"multi\": true)");
            }
            row.tokens[s].push_back({value, 1.0f});
          } else {
            if (row.present[s]) {
              throw DataError(path(), row.line, std::string(field), "multiple_values",
                              "field occurs more than once");
            }
            row.cell[s] = value;
          }
          row.present[s] = 1;
        }
      }
      p = q == nullptr ? end : q + 1;
    }
    return true;
  }

  uint64_t non_data_lines() const override { return 0; }
  uint64_t bytes_read() const override { return lines_.bytes_consumed(); }
  uint64_t bytes_total() const override { return total_; }
  const std::string& path() const override { return lines_.path(); }
  uint64_t lines_consumed() const override { return lines_.line_number(); }
  const std::map<std::string, UnreadField>* unread_fields() const override { return &unread_; }

 private:
  struct Key {
    const std::vector<int>* slots;
    UnreadField* unread;  // fields the schema does not read
  };
  static inline const std::vector<int> kNoSlots;

  LineReader lines_;
  uint64_t total_;
  size_t max_unread_;
  size_t num_slots_ = 0;
  std::vector<int> leading_slot_;
  // A field may feed several slots (e.g. user id as a feature and as the GAUC group).
  std::unordered_map<std::string, std::vector<int>> field_slots_;
  std::unordered_map<std::string_view, Key> keys_;  // views into field_slots_ and unread_
  std::map<std::string, UnreadField> unread_;
  std::vector<uint8_t> categorical_;                                    // per slot
  std::vector<uint8_t> multi_;                                          // per slot
};

}  // namespace

std::unique_ptr<Reader> make_token_reader(const DataConfig& config, const InputFile& file) {
  return std::make_unique<TokenReader>(config, file);
}

}  // namespace funnel::data
