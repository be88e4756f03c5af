#pragma once
// Readers turn one input file into RawRows. One implementation per format:
// delimited_reader (CSV/TSV), token_reader (PaddleRec), aliccp_raw_reader (two-file raw),
// criteo_attribution_reader (the Criteo attribution TSV with derived list and label columns).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/raw_row.h"
#include "data/schema.h"

namespace funnel::data {

/// A field name met in the input that the schema does not read (token and raw Ali-CCP
/// formats, whose rows name their fields): its entries are ignored, and counted here.
struct UnreadField {
  uint64_t entries = 0;
  std::string first_seen;  // "file:line"
};

class Reader {
 public:
  virtual ~Reader() = default;

  /// Reads the next row into `row` (reset to the schema's slot count). Returns false at end of
  /// input. A malformed row throws funnel::DataError (file, line, column, kind); the reader
  /// stays usable, so the caller may count the row and go on (policy --on-bad-row skip).
  virtual bool next(RawRow& row) = 0;

  /// Lines consumed that are not data rows (header), so stats account for every line.
  virtual uint64_t non_data_lines() const = 0;
  /// Input bytes consumed so far and in total (progress, MB/s).
  virtual uint64_t bytes_read() const = 0;
  virtual uint64_t bytes_total() const = 0;
  /// The file being read (for messages).
  virtual const std::string& path() const = 0;
  /// Physical lines consumed so far, the header included: a bad record that spans lines (an
  /// unterminated quote) is counted by the lines it took.
  virtual uint64_t lines_consumed() const = 0;
  /// Field names the schema does not read, with their entries so far; nullptr for formats
  /// whose columns are named once in a header. At most DataConfig::max_unread_fields names:
  /// one more throws funnel::Error (corrupted field names, not fields left out on purpose).
  virtual const std::map<std::string, UnreadField>* unread_fields() const { return nullptr; }
};

/// Registers a field name the schema does not read in `fields`, first seen at `file`:`line`;
/// throws funnel::Error when it is the (max_names + 1)-th. Returns its entry (`name` must not
/// be in `fields` yet).
std::pair<const std::string, UnreadField>& add_unread_field(
    std::map<std::string, UnreadField>& fields, std::string_view name, size_t max_names,
    const std::string& file, uint64_t line);

/// Opens the reader for `file` in `config.format`. Header problems (empty file, a schema
/// column missing from the header) throw funnel::DataError at once.
std::unique_ptr<Reader> open_reader(const DataConfig& config, const InputFile& file);

}  // namespace funnel::data
