#pragma once
// Groups the rows of one split by list and orders them, with bounded memory: the external
// sort behind DataConfig::group_lists. Rows come in input order (add()); each is serialised
// into an in-memory run, a full run is sorted and spilled to a file, and finish() merges the
// runs (k-way, in passes of at most max_fan_in) and hands the rows to `emit` in list order.
//
// List order: lists by the input ordinal of their first row, the rows of a list by (position,
// timestamp, input ordinal). Input already grouped and ordered is therefore handed back
// unchanged (same rows, same order). While the input is in that order (checked row by row),
// nothing is sorted or spilled: a full run hands its complete lists to `emit` at once
// (streaming; only the last list, which may go on, stays). A whole run in order is strong
// evidence (an interleaved log breaks the order within a few rows), but should a row of a
// list already handed on come later, the order can no longer be mended: add() throws
// ListOrderRestart, and the caller starts again with `stream` off (the converter converts
// again).
//
// Memory: the run (records plus 40 bytes a row of sort entry) and the table of list ids
// (first row and row count per list, ~48-96 bytes a list) stay under memory_bytes; when the
// table grows past three quarters of it, runs keep a quarter.

#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "data/key_map.h"
#include "data/layout.h"
#include "data/row_encoder.h"
#include "data/schema.h"

namespace funnel::data {

struct ListSorterOptions {
  /// Memory for the in-memory run and the list table, in bytes.
  size_t memory_bytes = size_t{64} << 20;
  /// Most runs merged at once; more runs are merged in passes first.
  size_t max_fan_in = 64;
  /// 0: keep every row; else keep at most this many rows of each list (`keep`).
  uint64_t max_list_length = 0;
  ListKeep keep = ListKeep::kFirst;
  /// Hand complete lists on while the input is in list order (above).
  bool stream = true;
  /// Progress of the merge on stderr, labelled `label`.
  bool progress = false;
  std::string label = "sort";
};

struct ListSortStats {
  uint64_t rows_in = 0, rows_out = 0, lists = 0;
  /// The input was not already in list order (rows were moved).
  bool reordered = false;
  /// Runs spilled to disk (0: everything fitted in memory or was streamed).
  uint64_t runs = 0;
  /// Rows handed on while streaming (the input was in list order up to there).
  uint64_t rows_streamed = 0;
  /// Lists longer than max_list_length, and the rows dropped from them.
  uint64_t lists_truncated = 0, rows_dropped = 0;
};

/// Thrown by ListSorter::add() when streaming went wrong (see above): the row with input
/// ordinal `row` belongs to a list already handed on.
class ListOrderRestart : public std::exception {
 public:
  explicit ListOrderRestart(uint64_t row) : row_(row) {}
  uint64_t row() const { return row_; }
  const char* what() const noexcept override { return "list rows out of order after streaming"; }

 private:
  uint64_t row_;
};

class ListSorter {
 public:
  using Emit = std::function<void(const EncodedRow&)>;
  /// Run files go to `temp_dir` (named sort_run_<n>.tmp) and are removed as soon as merged,
  /// and by the destructor on failure. `emit` takes the rows in list order (from add() while
  /// streaming, else from finish()).
  ListSorter(std::string temp_dir, const Layout& layout, ListSorterOptions options, Emit emit);
  ~ListSorter();
  ListSorter(const ListSorter&) = delete;
  ListSorter& operator=(const ListSorter&) = delete;

  /// One row, in input order (its ordinal is the number of rows added before it).
  void add(const EncodedRow& row);
  /// Hands the remaining kept rows to `emit`, in list order; call once, after the last add().
  ListSortStats finish();

 private:
  struct Key {
    uint64_t rank;  // input ordinal of the list's first row
    int64_t timestamp;
    uint64_t ordinal;
    int32_t position;
  };
  struct Entry {
    Key key;
    uint32_t length;  // payload bytes
    uint64_t offset;  // into records_
  };
  struct ListInfo {
    uint64_t first;  // ordinal of the first row
    uint64_t rows;
  };
  static bool less(const Key& a, const Key& b) {
    if (a.rank != b.rank) return a.rank < b.rank;
    if (a.position != b.position) return a.position < b.position;
    if (a.timestamp != b.timestamp) return a.timestamp < b.timestamp;
    return a.ordinal < b.ordinal;
  }
  class RunReader;

  size_t payload_bytes(const EncodedRow& row) const;
  void encode(const EncodedRow& row, char* out) const;
  void decode(const char* payload, uint32_t length, EncodedRow& out) const;
  size_t run_limit() const;
  bool fits(size_t length) const;
  /// Room for a record: streams the complete lists, or spills the run.
  void make_room();
  void spill();
  std::string run_path(uint64_t n) const;
  /// Merges `runs` (paths) in key order, calling out(key, payload, length); removes them.
  void merge(const std::vector<std::string>& runs,
             const std::function<void(const Key&, const char*, uint32_t)>& out);
  /// The final stage: truncation, decoding, emit.
  void deliver(const Key& key, const char* payload, uint32_t length);

  std::string temp_dir_;
  const Layout& layout_;
  ListSorterOptions options_;
  Emit emit_;
  KeyMap<ListInfo> lists_;
  std::vector<char> records_;
  std::vector<Entry> entries_;
  std::vector<std::string> runs_;  // spilled, not yet merged
  uint64_t next_run_ = 0;
  uint64_t ordinal_ = 0;
  bool in_order_ = true;
  Key last_{0, 0, 0, 0};
  bool streamed_ = false;
  uint64_t streamed_rank_ = 0;  // rank of the last list handed on while streaming
  size_t last_list_start_ = 0;  // first entry of the last list (entries in list order)
  // deliver() state.
  ListSortStats stats_;
  uint64_t current_rank_ = UINT64_MAX, index_in_list_ = 0, current_rows_ = 0;
  EncodedRow row_;
};

}  // namespace funnel::data
