#include "metric/gauc.h"

#include <cmath>
#include <limits>

#include "metric/auc.h"
#include "metric/grouping.h"
#include "metric/input_check.h"
#include "metric/score_sort.h"
#include "core/scratch_array.h"

namespace funnel::metric {

GaucResult gauc(const float* scores, const float* labels, const uint64_t* groups, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    check_score(scores[i], i);
    check_label(labels[i], i);
  }
  const Grouping grouping = group_rows(groups, n);
  // Scatter packed (score key, label) elements straight into per-group segments.
  ScratchArray<uint64_t> packed(n);
  {
    std::vector<size_t> cursor(grouping.offsets.begin(), grouping.offsets.end() - 1);
    for (size_t i = 0; i < n; ++i) {
      packed[cursor[grouping.group_of_row[i]]++] =
          pack(score_key(scores[i]), labels[i] == 1.0f ? 1u : 0u);
    }
  }
  ScratchArray<uint64_t> scratch(n);
  GaucResult r;
  double weighted_sum = 0, sum = 0;
  for (size_t g = 0; g < grouping.num_groups(); ++g) {
    const size_t begin = grouping.offsets[g];
    const size_t size = grouping.size(g);
    const double a = auc_of_sorted(sort_packed(&packed[begin], &scratch[begin], size), size);
    if (std::isnan(a)) {
      ++r.groups_skipped;
      continue;
    }
    ++r.groups_used;
    r.rows_used += size;
    weighted_sum += static_cast<double>(size) * a;
    sum += a;
  }
  if (r.groups_used == 0) {
    r.value_weighted = r.value_unweighted = std::numeric_limits<double>::quiet_NaN();
  } else {
    r.value_weighted = weighted_sum / static_cast<double>(r.rows_used);
    r.value_unweighted = sum / static_cast<double>(r.groups_used);
  }
  return r;
}

GaucResult gauc(const std::vector<float>& scores, const std::vector<float>& labels,
                const std::vector<uint64_t>& groups) {
  check_same_size(scores, labels, "labels");
  check_same_size(scores, groups, "groups");
  return gauc(scores.data(), labels.data(), groups.data(), scores.size());
}

}  // namespace funnel::metric
