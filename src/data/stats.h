#pragma once
// Statistics of a conversion: every input line accounted for (header, written, bad, dropped),
// funnel rates per split, per-field vocabulary size, OOV rate and bag lengths.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "data/layout.h"
#include "data/column_writer.h"

namespace funnel::data {

/// One group of input files (the train, validation or test files).
struct InputStats {
  std::vector<std::string> files;
  uint64_t bytes = 0;
  /// Every line read:
  /// lines = header_lines + rows_written + bad_rows + violations_dropped + list_rows_dropped.
  uint64_t lines = 0;
  uint64_t header_lines = 0;
  uint64_t rows_written = 0;
  uint64_t bad_rows = 0;
  /// Physical lines of the bad rows (>= bad_rows: an unterminated quote reads the rest of
  /// the file as one row); max_bad_fraction is checked by these.
  uint64_t bad_lines = 0;
  std::map<std::string, uint64_t> bad_by_kind;
  /// First few bad-row messages (file:line: column: what).
  std::vector<std::string> bad_examples;
  /// Rows with an event but not its parent (e.g. conversion without click), per event.
  std::vector<uint64_t> violations;
  uint64_t violations_dropped = 0;
  /// Rows of lists longer than data.max_list_length that were not kept.
  uint64_t list_rows_dropped = 0;
  /// Token and raw Ali-CCP input: entries of fields the schema does not read, per name.
  std::map<std::string, uint64_t> unread_fields;
  double seconds = 0;

  void init(size_t num_events) { violations.assign(num_events, 0); }
  /// Counts the funnel rule's verdict on a data row (`violation`: Layout::funnel_violation);
  /// false when the rule drops the row.
  bool admit(int violation, bool keep_violations) {
    if (violation < 0) return true;
    ++violations[violation];
    if (keep_violations) return true;
    ++violations_dropped;
    return false;
  }
};

/// One split of the cache.
struct SplitStats {
  uint64_t rows = 0;
  std::vector<uint64_t> positives;        // per event
  std::vector<uint64_t> violations_kept;  // per event (keep_funnel_violations)
  std::vector<SparseFieldStats> fields;   // per sparse field
  /// List data (a list column): the lists (runs of one list id), the longest, lists per
  /// length bucket (ListIndex::length_histogram), and the list ids whose rows are not
  /// consecutive or whose position decreases (list batches refuse such a split).
  bool has_lists = false;
  uint64_t lists = 0, max_list_length = 0, lists_ungrouped = 0, lists_unordered = 0;
  std::vector<std::pair<std::string, uint64_t>> list_lengths;
  /// data.group_lists: the converter moved rows to group the lists (the input was not in list
  /// order), with this many sorted runs spilled to disk; lists longer than
  /// data.max_list_length, cut to it, and the rows that cost (not in `rows`).
  bool lists_sorted = false;
  uint64_t list_sort_runs = 0, lists_truncated = 0, list_rows_dropped = 0;

  void init(size_t num_events) {
    positives.assign(num_events, 0);
    violations_kept.assign(num_events, 0);
  }
  /// Counts a written row: its labels (one per event) and its funnel violation (-1 none).
  void add_row(const uint8_t* labels, int violation) {
    for (size_t e = 0; e < positives.size(); ++e) positives[e] += labels[e];
    if (violation >= 0) ++violations_kept[violation];
    ++rows;
  }
};

struct DatasetStats {
  std::map<std::string, InputStats> inputs;  // "train", "validation", "test"
  std::map<std::string, SplitStats> splits;
  std::vector<uint64_t> vocab_sizes;         // per sparse field, id 0 included
  std::vector<uint64_t> vocab_distinct_seen; // per sparse field (0 where not counted)
  std::vector<float> dense_mean, dense_std;
  double seconds = 0;
  uint64_t peak_rss_bytes = 0;
};

/// Fills the list statistics of `stats` from a written split folder (its list and position
/// columns); nothing when the layout has no list column.
void count_lists(const std::string& split_dir, const Layout& layout, SplitStats& stats);

/// "N entries of K fields not in the schema, ignored: a (n) b (n) ..." for logs and tables.
std::string unread_fields_line(const std::map<std::string, uint64_t>& fields);

nlohmann::json stats_to_json(const DatasetStats& stats, const Layout& layout);
DatasetStats stats_from_json(const nlohmann::json& j, const Layout& layout);
/// Human-readable tables (input accounting, funnel rates, per-field vocabulary/OOV/lengths).
std::string stats_table(const DatasetStats& stats, const Layout& layout);

}  // namespace funnel::data
