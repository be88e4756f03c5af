#include "data/list_index.h"

#include <algorithm>

#include "core/error.h"

namespace funnel::data {

uint64_t ListIndex::max_length() const {
  uint64_t m = 0;
  for (size_t k = 0; k < lists(); ++k) m = std::max(m, length(k));
  return m;
}

std::vector<std::pair<std::string, uint64_t>> ListIndex::length_histogram() const {
  static const std::pair<const char*, uint64_t> kBuckets[] = {
      {"1", 1},      {"2-5", 5},      {"6-10", 10},       {"11-20", 20},
      {"21-50", 50}, {"51-100", 100}, {"101-1000", 1000}, {"1001+", UINT64_MAX}};
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const auto& [name, hi] : kBuckets) out.emplace_back(name, 0);
  for (size_t k = 0; k < lists(); ++k) {
    const uint64_t n = length(k);
    size_t b = 0;
    while (n > kBuckets[b].second) ++b;
    ++out[b].second;
  }
  return out;
}

ListIndex ListIndex::scan(const uint64_t* list, const int32_t* position, uint64_t begin,
                          uint64_t end, const std::string& what) {
  FUNNEL_CHECK(list != nullptr, what << ": no list column (data.list names it)");
  ListIndex index;
  std::vector<std::pair<uint64_t, uint64_t>> ids;  // (list id, first row) of every run
  bool unordered_here = false;
  for (uint64_t r = begin; r < end; ++r) {
    if (r == begin || list[r] != list[r - 1]) {
      index.offsets.push_back(r);
      ids.emplace_back(list[r], r);
      unordered_here = false;
    } else if (position != nullptr && position[r] < position[r - 1] && !unordered_here) {
      unordered_here = true;
      if (index.unordered++ == 0) {
        index.first_problem =
            what + ": list " + std::to_string(list[r]) + " is not ordered by position: row " +
            std::to_string(r) + " has position " + std::to_string(position[r]) + " after " +
            std::to_string(position[r - 1]) +
            " (convert with data.group_lists true, the default, or order the input by "
            "position inside each list)";
      }
    }
  }
  index.offsets.push_back(end);
  // A list id in two runs: its rows are not consecutive. Sorting (id, first row) finds it
  // with 16 bytes a list, where a hash set of the ids seen would need several times that.
  // The first such list is the message (before an ordering problem: regrouping fixes both).
  std::sort(ids.begin(), ids.end());
  for (size_t k = 1; k < ids.size(); ++k) {
    if (ids[k].first != ids[k - 1].first) continue;
    if (k >= 2 && ids[k - 2].first == ids[k].first) continue;  // counted once per list id
    if (index.ungrouped++ == 0) {
      index.first_problem =
          what + ": the rows of list " + std::to_string(ids[k].first) +
          " are not consecutive: they start at row " + std::to_string(ids[k - 1].second) +
          " and again at row " + std::to_string(ids[k].second) +
          " (convert with data.group_lists true, the default, or sort the input by list, "
          "then position)";
    }
  }
  return index;
}

ListIndex ListIndex::build(const uint64_t* list, const int32_t* position, uint64_t begin,
                           uint64_t end, const std::string& what) {
  ListIndex index = scan(list, position, begin, end, what);
  if (!index.first_problem.empty()) throw Error(index.first_problem);
  return index;
}

}  // namespace funnel::data
