// CSV / TSV with a header (or named columns), RFC 4180 quoting, CRLF line ends and a UTF-8
// byte order mark tolerated. Unquoted lines take a memchr fast path; quoted ones (possibly
// spanning lines) a slow path that unescapes "" into a scratch buffer.

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/file.h"
#include "data/readers.h"

namespace funnel::data {
namespace {

class DelimitedReader : public Reader {
 public:
  DelimitedReader(const DataConfig& config, const InputFile& file)
      : format_(config.format), lines_(file.path), total_(file_size(file.path)) {
    if (file.header >= 0) format_.header = file.header == 1;
    if (!format_.header && format_.columns.empty()) {
      throw DataError(file.path, 0, "", "header",
                      "file has no header line and data.format.columns does not name its columns");
    }
    if (total_ == 0) {
      throw DataError(file.path, 0, "", "empty_file", "file is empty (expected a header and rows)");
    }
    std::vector<std::string> names;
    if (format_.header) {
      std::string_view header;
      if (!read_record(header)) {
        throw DataError(file.path, 1, "", "empty_file", "file has no header line");
      }
      header_lines_ = lines_.line_number();
      if (header.size() >= 3 && std::memcmp(header.data(), "\xEF\xBB\xBF", 3) == 0) {
        header.remove_prefix(3);  // UTF-8 byte order mark
      }
      std::vector<std::string_view> cells;
      split(header, cells);
      for (auto c : cells) names.emplace_back(c);
    } else {
      names = format_.columns;
    }
    num_columns_ = names.size();
    const std::vector<Slot> slots = config.schema.slots();
    num_slots_ = slots.size();
    column_to_slot_.assign(num_columns_, -1);
    column_names_ = names;
    std::unordered_map<std::string, size_t> index;
    for (size_t i = 0; i < names.size(); ++i) {
      if (!index.emplace(names[i], i).second && format_.header) {
        throw DataError(file.path, 1, names[i], "header", "column name appears twice in the header");
      }
    }
    for (size_t s = 0; s < slots.size(); ++s) {
      const auto it = index.find(slots[s].column);
      if (it == index.end()) {
        std::string have;
        for (size_t i = 0; i < names.size() && i < 40; ++i) have += (i ? "," : "") + names[i];
        if (names.size() > 40) have += ",...";
        throw DataError(file.path, format_.header ? 1 : 0, slots[s].column, "missing_column",
                        std::string("the schema's ") + slot_kind_name(slots[s].kind) +
                            " column is not among the file's columns (" + have + ")");
      }
      // Several slots may read the same column (rare, e.g. group = a feature): last wins here,
      // so keep a list.
      extra_slots_.push_back({it->second, s});
    }
    // Primary mapping for the common case of one slot per column.
    for (const auto& [col, slot] : extra_slots_) {
      if (column_to_slot_[col] < 0) column_to_slot_[col] = static_cast<int>(slot);
    }
    shared_columns_ = false;
    for (size_t i = 0; i < extra_slots_.size() && !shared_columns_; ++i) {
      for (size_t j = i + 1; j < extra_slots_.size(); ++j) {
        if (extra_slots_[i].first == extra_slots_[j].first) shared_columns_ = true;
      }
    }
  }

  bool next(RawRow& row) override {
    std::string_view record;
    if (!read_record(record)) return false;
    row.reset(num_slots_);
    row.line = record_first_line_;
    split(record, cells_);
    if (cells_.size() != num_columns_) {
      std::string msg = "expected " + std::to_string(num_columns_) + " columns, found " +
                        std::to_string(cells_.size());
      if (lines_.last_line_unterminated()) msg += " (last line has no newline: file truncated?)";
      if (record.empty()) msg = "empty line";
      throw DataError(lines_.path(), row.line, "", "column_count", msg);
    }
    if (!shared_columns_) {
      for (size_t c = 0; c < num_columns_; ++c) {
        const int s = column_to_slot_[c];
        if (s >= 0) {
          row.cell[s] = cells_[c];
          row.present[s] = 1;
        }
      }
    } else {
      for (const auto& [col, slot] : extra_slots_) {
        row.cell[slot] = cells_[col];
        row.present[slot] = 1;
      }
    }
    return true;
  }

  uint64_t non_data_lines() const override { return header_lines_; }
  uint64_t bytes_read() const override { return lines_.bytes_consumed(); }
  uint64_t bytes_total() const override { return total_; }
  const std::string& path() const override { return lines_.path(); }
  uint64_t lines_consumed() const override { return lines_.line_number(); }

 private:
  /// Reads one logical record (several physical lines when a quoted field holds newlines).
  bool read_record(std::string_view& out) {
    std::string_view line;
    if (!lines_.next(line)) return false;
    record_first_line_ = lines_.line_number();
    if (std::memchr(line.data(), format_.quote, line.size()) == nullptr) {
      out = line;
      return true;
    }
    joined_.assign(line.data(), line.size());
    while (quote_open(joined_)) {
      if (!lines_.next(line)) {
        const uint64_t taken = lines_.line_number() - record_first_line_ + 1;
        throw DataError(lines_.path(), record_first_line_, "", "quote",
                        "quoted field is not closed before the end of the file (the " +
                            std::to_string(taken) + (taken == 1 ? " line" : " lines") +
                            " from here on were read as one row)");
      }
      joined_.push_back('\n');
      joined_.append(line.data(), line.size());
    }
    out = joined_;
    return true;
  }

  bool quote_open(std::string_view s) const {
    bool open = false;
    for (char ch : s) open ^= (ch == format_.quote);
    return open;
  }

  /// Splits a record into cells. Unquoted: views into the record. Quoted: unescaped copies in
  /// `unescaped_` (reserved to the record size first, so the views stay valid).
  void split(std::string_view rec, std::vector<std::string_view>& cells) {
    cells.clear();
    const char d = format_.delimiter;
    if (std::memchr(rec.data(), format_.quote, rec.size()) == nullptr) {
      // Cells are short (ids of a few bytes): a byte loop beats a memchr call per cell.
      // Writes into preallocated storage; grows only for rows wider than any seen before.
      const char* p = rec.data();
      const char* end = p + rec.size();
      const char* start = p;
      cells.resize(std::max<size_t>(cells.capacity(), num_columns_ + 1));
      size_t n = 0;
      for (; p != end; ++p) {
        if (*p == d) {
          if (n + 1 == cells.size()) cells.resize(2 * cells.size());
          cells[n++] = std::string_view(start, static_cast<size_t>(p - start));
          start = p + 1;
        }
      }
      cells[n++] = std::string_view(start, static_cast<size_t>(end - start));
      cells.resize(n);
      return;
    }
    unescaped_.clear();
    unescaped_.reserve(rec.size());
    size_t i = 0;
    const size_t n = rec.size();
    for (;;) {
      if (i < n && rec[i] == format_.quote) {
        const size_t start = unescaped_.size();
        ++i;
        for (;;) {
          if (i >= n) {
            throw DataError(lines_.path(), record_first_line_, "", "quote", "unterminated quote");
          }
          if (rec[i] == format_.quote) {
            if (i + 1 < n && rec[i + 1] == format_.quote) {
              unescaped_.push_back(format_.quote);
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          unescaped_.push_back(rec[i++]);
        }
        cells.emplace_back(unescaped_.data() + start, unescaped_.size() - start);
        if (i < n && rec[i] != d) {
          throw DataError(lines_.path(), record_first_line_, "", "quote",
                          "unexpected character after a closing quote in column " +
                              std::to_string(cells.size()));
        }
      } else {
        const size_t start = i;
        while (i < n && rec[i] != d) {
          if (rec[i] == format_.quote) {
            throw DataError(lines_.path(), record_first_line_, "", "quote",
                            "quote inside an unquoted field in column " +
                                std::to_string(cells.size() + 1));
          }
          ++i;
        }
        cells.emplace_back(rec.data() + start, i - start);
      }
      if (i >= n) return;
      ++i;  // delimiter
      if (i == n) {
        cells.emplace_back(rec.data() + n, 0);  // trailing empty field
        return;
      }
    }
  }

  FormatSpec format_;
  LineReader lines_;
  uint64_t total_;
  uint64_t header_lines_ = 0;
  uint64_t record_first_line_ = 0;
  size_t num_columns_ = 0;
  size_t num_slots_ = 0;
  std::vector<std::string> column_names_;
  std::vector<int> column_to_slot_;
  std::vector<std::pair<size_t, size_t>> extra_slots_;  // (column, slot)
  bool shared_columns_ = false;
  std::vector<std::string_view> cells_;
  std::string joined_;
  std::string unescaped_;
};

}  // namespace

std::unique_ptr<Reader> make_delimited_reader(const DataConfig& config, const InputFile& file) {
  return std::make_unique<DelimitedReader>(config, file);
}

}  // namespace funnel::data
