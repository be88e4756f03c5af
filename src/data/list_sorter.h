#pragma once
// Groups the rows of one split by list and orders them, with bounded memory: the external
// sort behind DataConfig::group_lists. Rows come in input order (add()); each is serialised
// into an in-memory run, a full run is sorted and spilled to a file, and finish() merges the
// runs (k-way, in passes of at most max_fan_in) and hands the rows back in list order.
//
// List order: lists by the input ordinal of their first row, the rows of a list by (position,
// timestamp, input ordinal). Input already grouped and ordered is therefore handed back
// unchanged (same rows, same order), and is detected while adding: it is never sorted, and
// spilled runs are then only concatenated.
//
// Memory: the run (records plus 40 bytes a row of sort entry) and the table of list ids
// (first row and row count per list, ~24-96 bytes a list) stay under memory_bytes; when the
// table grows past three quarters of it, runs keep a quarter.

#include <cstdint>
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
  size_t memory_bytes = size_t{256} << 20;
  /// Most runs merged at once; more runs are merged in passes first.
  size_t max_fan_in = 64;
  /// 0: keep every row; else keep at most this many rows of each list (`keep`).
  uint64_t max_list_length = 0;
  ListKeep keep = ListKeep::kFirst;
  /// Progress of the merge on stderr, labelled `label`.
  bool progress = false;
  std::string label = "sort";
};

struct ListSortStats {
  uint64_t rows_in = 0, rows_out = 0, lists = 0;
  /// The input was not already in list order (rows were moved).
  bool reordered = false;
  /// Runs spilled to disk (0: everything fitted in memory).
  uint64_t runs = 0;
  /// Lists longer than max_list_length, and the rows dropped from them.
  uint64_t lists_truncated = 0, rows_dropped = 0;
};

class ListSorter {
 public:
  /// Run files go to `temp_dir` (named sort_run_<n>.tmp) and are removed as soon as merged,
  /// and by the destructor on failure.
  ListSorter(std::string temp_dir, const Layout& layout, ListSorterOptions options);
  ~ListSorter();
  ListSorter(const ListSorter&) = delete;
  ListSorter& operator=(const ListSorter&) = delete;

  /// One row, in input order (its ordinal is the number of rows added before it).
  void add(const EncodedRow& row);
  /// Hands every kept row to `emit`, in list order; call once, after the last add().
  ListSortStats finish(const std::function<void(const EncodedRow&)>& emit);

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
  void spill();
  std::string run_path(uint64_t n) const;
  /// Merges `runs` (paths) in key order, calling out(key, payload, length); removes them.
  void merge(const std::vector<std::string>& runs,
             const std::function<void(const Key&, const char*, uint32_t)>& out);
  /// The final stage: truncation, decoding, emit.
  void deliver(const Key& key, const char* payload, uint32_t length,
               const std::function<void(const EncodedRow&)>& emit);

  std::string temp_dir_;
  const Layout& layout_;
  ListSorterOptions options_;
  KeyMap<ListInfo> lists_;
  std::vector<char> records_;
  std::vector<Entry> entries_;
  std::vector<std::string> runs_;  // spilled, not yet merged
  uint64_t next_run_ = 0;
  uint64_t ordinal_ = 0;
  bool in_order_ = true;
  Key last_{0, 0, 0, 0};
  // deliver() state.
  ListSortStats stats_;
  uint64_t current_rank_ = UINT64_MAX, index_in_list_ = 0, current_rows_ = 0;
  EncodedRow row_;
};

}  // namespace funnel::data
