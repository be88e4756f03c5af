#pragma once
// The lists of a cache split (HEROES-style data: a list = the items one user saw in one
// request or session, in the order shown). A list's rows are consecutive in the cache, in
// list order: the converter groups and orders them (data.group_lists, data/list_sorter.h) and
// the simulator writes lists that way; with group_lists false the input's order is kept, and
// such input must be grouped by list and ordered by position (docs/data.md, "Lists"). The
// index is built when a split is read by list and checks both rules: a list id that comes
// back after another list, or a position that decreases inside a list, is an error naming
// the rows.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace funnel::data {

struct ListIndex {
  /// lists() + 1 row numbers of the split: list k is rows [offsets[k], offsets[k + 1]).
  std::vector<uint64_t> offsets;
  /// What breaks the rules (scan() counts, build() throws): list ids whose rows come in more
  /// than one run, lists whose position decreases somewhere, and the first such case.
  uint64_t ungrouped = 0;
  uint64_t unordered = 0;
  std::string first_problem;

  size_t lists() const { return offsets.empty() ? 0 : offsets.size() - 1; }
  uint64_t length(size_t k) const { return offsets[k + 1] - offsets[k]; }
  uint64_t max_length() const;
  /// Lists per length bucket: "1", "2-5", "6-10", "11-20", "21-50", "51-100", "101-1000",
  /// "1001+" (every bucket, zeros included).
  std::vector<std::pair<std::string, uint64_t>> length_histogram() const;

  /// The lists of rows [begin, end) of a split: `list` its list column, `position` its
  /// position column (null when it has none); a run of one list id is one list. `what`
  /// names the split in messages. Counts what breaks the rules.
  static ListIndex scan(const uint64_t* list, const int32_t* position, uint64_t begin, uint64_t end,
                        const std::string& what);
  /// scan(), throwing funnel::Error with first_problem when a rule is broken.
  static ListIndex build(const uint64_t* list, const int32_t* position, uint64_t begin,
                         uint64_t end, const std::string& what);
};

}  // namespace funnel::data
