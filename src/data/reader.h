#pragma once
// Readers turn one input file into RawRows. One implementation per format:
// delimited_reader (CSV/TSV), token_reader (PaddleRec), aliccp_raw_reader (two-file raw).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/raw_row.h"
#include "data/schema.h"

namespace funnel::data {

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
};

/// Opens the reader for `file` in `config.format`. Header problems (empty file, a schema
/// column missing from the header) throw funnel::DataError at once.
std::unique_ptr<Reader> open_reader(const DataConfig& config, const InputFile& file);

}  // namespace funnel::data
