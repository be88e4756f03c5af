// The Criteo attribution file (data/criteo_attribution.h): a tab-separated file with a fixed
// header, read as its own columns plus two derived ones, the list key `list_id` (uid and
// conversion_id) and the item-level label `post_click_conversion`. The columns that encode
// the conversion outcome are refused as features here, where the format is known.

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/file.h"
#include "core/utf8.h"
#include "data/criteo_attribution.h"
#include "data/parse_number.h"
#include "data/readers.h"

namespace funnel::data {
namespace {

using criteo::kNumColumns;

// Where a schema slot's cell comes from: a file column (>= 0) or a derived column.
constexpr int kFromListId = -1;
constexpr int kFromItemConversion = -2;

std::string all_columns() {
  std::string out;
  for (int c = 0; c < kNumColumns; ++c) out += (c ? "," : "") + std::string(criteo::kColumns[c]);
  return out;
}

bool is_outcome_column(int column) {
  for (int c : criteo::kOutcomeColumns) {
    if (c == column) return true;
  }
  return false;
}

/// True when the file starts with the gzip magic bytes.
bool gzip_compressed(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;  // LineReader reports the missing file
  unsigned char magic[2] = {0, 0};
  const size_t n = std::fread(magic, 1, 2, f);
  std::fclose(f);
  return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

class CriteoAttributionReader : public Reader {
 public:
  CriteoAttributionReader(const DataConfig& config, const InputFile& file)
      : mode_(config.format.criteo_conversion), lines_(file.path), total_(file_size(file.path)) {
    const std::string& path = file.path;
    if (gzip_compressed(path)) {
      throw DataError(path, 0, "", "header",
                      "file is gzip-compressed; decompress it first (zcat " + path + " > " +
                          "criteo_attribution_dataset.tsv) and name the .tsv file");
    }
    if (file.header == 0) {
      throw DataError(path, 0, "", "header",
                      "criteo_attribution files have a header line (header: false given)");
    }
    if (total_ == 0) throw DataError(path, 0, "", "empty_file", "file is empty");
    read_header(path);
    map_slots(config, path);
  }

  bool next(RawRow& row) override {
    std::string_view line;
    if (!lines_.next(line)) return false;
    row.reset(slot_source_.size());
    row.line = lines_.line_number();
    split(line);
    if (num_cells_ != kNumColumns) {
      std::string msg = line.empty()
                            ? std::string("empty line")
                            : "expected " + std::to_string(kNumColumns) +
                                  " tab-separated columns, found " + std::to_string(num_cells_);
      if (lines_.last_line_unterminated()) msg += " (last line has no newline: file truncated?)";
      throw DataError(path(), row.line, "", "column_count", msg);
    }
    // The columns every derived value and list rests on are checked on every row, read or not.
    int64_t timestamp, uid, conversion_id, click_pos, click_nb;
    int_cell(criteo::kTimestamp, row.line, "timestamp_value", timestamp);
    if (timestamp < 0) bad(criteo::kTimestamp, row.line, "timestamp_value", "expected >= 0");
    int_cell(criteo::kUid, row.line, "criteo_value", uid);
    int_cell(criteo::kConversionId, row.line, "criteo_value", conversion_id);
    int_cell(criteo::kClickPos, row.line, "criteo_value", click_pos);
    int_cell(criteo::kClickNb, row.line, "criteo_value", click_nb);
    const int click = flag_cell(criteo::kClick, row.line);
    const int conversion = flag_cell(criteo::kConversion, row.line);
    const int attribution = flag_cell(criteo::kAttribution, row.line);
    if ((conversion == 1) != (conversion_id >= 0) || conversion_id < -1) {
      bad(criteo::kConversionId, row.line, "criteo_value",
          "conversion is " + std::to_string(conversion) + " but conversion_id is " +
              std::to_string(conversion_id) +
              " (expected an id >= 0 with a conversion, -1 without)");
    }
    if (attribution > conversion) {
      bad(criteo::kAttribution, row.line, "criteo_value",
          "attribution is 1 but conversion is 0 (only a conversion can be attributed)");
    }
    if (wants_list_id_) {
      char* p = list_id_;
      p = std::to_chars(p, list_id_ + sizeof list_id_, uid).ptr;
      *p++ = '/';
      p = std::to_chars(p, list_id_ + sizeof list_id_, conversion_id).ptr;
      list_id_len_ = static_cast<size_t>(p - list_id_);
    }
    const bool converted =
        criteo::item_conversion(mode_, click, conversion, attribution, click_pos, click_nb);
    for (size_t s = 0; s < slot_source_.size(); ++s) {
      const int src = slot_source_[s];
      if (src >= 0) {
        row.cell[s] = cells_[src];
      } else if (src == kFromListId) {
        row.cell[s] = std::string_view(list_id_, list_id_len_);
      } else {
        row.cell[s] = converted ? "1" : "0";
      }
      row.present[s] = 1;
    }
    return true;
  }

  uint64_t non_data_lines() const override { return 1; }
  uint64_t bytes_read() const override { return lines_.bytes_consumed(); }
  uint64_t bytes_total() const override { return total_; }
  const std::string& path() const override { return lines_.path(); }
  uint64_t lines_consumed() const override { return lines_.line_number(); }

 private:
  void read_header(const std::string& path) {
    std::string_view header;
    if (!lines_.next(header)) throw DataError(path, 1, "", "empty_file", "file has no header line");
    if (header.size() >= 3 && std::memcmp(header.data(), "\xEF\xBB\xBF", 3) == 0) {
      header.remove_prefix(3);
    }
    std::vector<std::string_view> names;
    for (size_t start = 0;;) {
      const size_t tab = header.find('\t', start);
      names.push_back(header.substr(start, tab == std::string_view::npos ? tab : tab - start));
      if (tab == std::string_view::npos) break;
      start = tab + 1;
    }
    std::unordered_map<std::string_view, int> index;
    for (size_t i = 0; i < names.size(); ++i) {
      if (!index.emplace(names[i], static_cast<int>(i)).second) {
        throw DataError(path, 1, std::string(names[i]), "header",
                        "column name appears twice in the header");
      }
    }
    for (int c = 0; c < kNumColumns; ++c) {
      if (index.count(criteo::kColumns[c]) == 0) {
        throw DataError(path, 1, criteo::kColumns[c], "missing_column",
                        "the header lacks this Criteo attribution column (expected the " +
                            std::to_string(kNumColumns) + " columns " + all_columns() + ")");
      }
    }
    for (const std::string_view name : names) {
      bool known = false;
      for (int c = 0; c < kNumColumns; ++c) known |= name == criteo::kColumns[c];
      if (!known) {
        throw DataError(
            path, 1, std::string(name), "header",
            "not a column of the Criteo attribution format (expected " + all_columns() + ")");
      }
    }
    // All 22 present, none twice and none other: the order is the file's, whatever it is.
    for (int c = 0; c < kNumColumns; ++c) file_column_[c] = index.at(criteo::kColumns[c]);
  }

  void map_slots(const DataConfig& config, const std::string& path) {
    for (const Slot& slot : config.schema.slots()) {
      int src;
      if (slot.column == criteo::kListIdColumn) {
        src = kFromListId;
        wants_list_id_ = true;
      } else if (slot.column == criteo::kItemConversionColumn) {
        src = kFromItemConversion;
      } else {
        int c = 0;
        while (c < kNumColumns && slot.column != criteo::kColumns[c]) ++c;
        if (c == kNumColumns) {
          throw DataError(path, 1, slot.column, "missing_column",
                          std::string("the schema's ") + slot_kind_name(slot.kind) +
                              " column is neither a Criteo attribution column (" + all_columns() +
                              ") nor a derived one (" + criteo::kListIdColumn + ", " +
                              criteo::kItemConversionColumn + ")");
        }
        const bool feature = slot.kind == SlotKind::kCategorical || slot.kind == SlotKind::kNumeric;
        if (feature && is_outcome_column(c)) {
          throw Error(path + ": column '" + slot.column +
                      "' encodes the conversion outcome and cannot be a feature (label "
                      "leakage); the criteo_attribution format refuses conversion, "
                      "conversion_timestamp, conversion_id, attribution, click_pos, click_nb "
                      "and cpo as features");
        }
        if (slot.kind == SlotKind::kLabel && c == criteo::kConversion) {
          throw Error(path +
                      ": the file's 'conversion' is 1 on every impression of a converting "
                      "sequence, clicked or not; the item-level label is the derived column '" +
                      criteo::kItemConversionColumn +
                      "' (data.format.conversion: last_click, attributed or any_click)");
        }
        src = file_column_[c];
      }
      slot_source_.push_back(src);
    }
  }

  /// Splits a line on tabs into cells_ (at most kNumColumns + 1 kept; num_cells_ counts all).
  void split(std::string_view line) {
    const char* p = line.data();
    const char* end = p + line.size();
    num_cells_ = 0;
    for (;;) {
      const char* q = static_cast<const char*>(std::memchr(p, '\t', static_cast<size_t>(end - p)));
      const char* stop = q ? q : end;
      if (num_cells_ < static_cast<int>(sizeof cells_ / sizeof cells_[0])) {
        cells_[num_cells_] = std::string_view(p, static_cast<size_t>(stop - p));
      }
      ++num_cells_;
      if (q == nullptr) break;
      p = q + 1;
    }
    if (line.empty()) num_cells_ = 0;
  }

  [[noreturn]] void bad(int column, uint64_t line, const char* kind, const std::string& msg) {
    throw DataError(path(), line, criteo::kColumns[column], kind, msg);
  }

  void int_cell(int column, uint64_t line, const char* kind, int64_t& out) {
    const std::string_view v = cells_[file_column_[column]];
    if (!parse_int(v, out)) {
      bad(column, line, kind, "expected an integer, got '" + printable(v, 40) + "'");
    }
  }

  int flag_cell(int column, uint64_t line) {
    const std::string_view v = cells_[file_column_[column]];
    if (v == "0") return 0;
    if (v == "1") return 1;
    bad(column, line, "label_value", "expected 0 or 1, got '" + printable(v, 40) + "'");
  }

  criteo::Conversion mode_;
  LineReader lines_;
  uint64_t total_;
  int file_column_[kNumColumns] = {};
  std::vector<int> slot_source_;  // per schema slot: file column index or kFrom*
  bool wants_list_id_ = false;
  std::string_view cells_[kNumColumns + 1];
  int num_cells_ = 0;
  char list_id_[48] = {};
  size_t list_id_len_ = 0;
};

}  // namespace

std::unique_ptr<Reader> make_criteo_attribution_reader(const DataConfig& config,
                                                       const InputFile& file) {
  return std::make_unique<CriteoAttributionReader>(config, file);
}

}  // namespace funnel::data
