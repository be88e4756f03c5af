#include "metric/ndcg.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <utility>

#include "core/error.h"
#include "metric/grouping.h"
#include "metric/input_check.h"

namespace funnel::metric {

NdcgResult ndcg(const float* scores, const float* relevance, const uint64_t* lists, size_t n,
                size_t k, Gain gain) {
  FUNNEL_CHECK(k > 0, "ndcg: k must be > 0");
  for (size_t i = 0; i < n; ++i) {
    check_score(scores[i], i);
    FUNNEL_CHECK(
        std::isfinite(relevance[i]) && relevance[i] >= 0.0f,
        "ndcg: relevance must be finite and >= 0, got " << relevance[i] << " at row " << i);
  }
  const auto gain_of = [gain](float rel) {
    return gain == Gain::kExponential ? std::exp2(static_cast<double>(rel)) - 1.0
                                      : static_cast<double>(rel);
  };
  const Grouping grouping = group_rows(lists, n);
  const std::vector<uint32_t> rows = grouping.order();

  size_t longest = 0;
  for (size_t g = 0; g < grouping.num_groups(); ++g) longest = std::max(longest, grouping.size(g));
  // discount_prefix[r] = sum of 1/log2(i + 2) over ranks i < r, for r <= min(k, longest).
  const size_t depth = std::min(k, longest);
  std::vector<double> discount_prefix(depth + 1, 0.0);
  for (size_t r = 0; r < depth; ++r) {
    discount_prefix[r + 1] = discount_prefix[r] + 1.0 / std::log2(static_cast<double>(r) + 2.0);
  }

  NdcgResult result;
  double sum = 0;
  std::vector<std::pair<float, double>> items;  // (score, gain)
  std::vector<double> ideal;
  for (size_t g = 0; g < grouping.num_groups(); ++g) {
    const size_t m = grouping.size(g);
    const size_t cut = std::min(k, m);
    items.clear();
    ideal.clear();
    for (size_t p = grouping.offsets[g]; p < grouping.offsets[g + 1]; ++p) {
      const double gn = gain_of(relevance[rows[p]]);
      items.emplace_back(scores[rows[p]], gn);
      ideal.push_back(gn);
    }
    std::partial_sort(ideal.begin(), ideal.begin() + cut, ideal.end(), std::greater<>());
    double idcg = 0;
    for (size_t r = 0; r < cut; ++r) {
      idcg += ideal[r] * (discount_prefix[r + 1] - discount_prefix[r]);
    }
    if (!(idcg > 0)) {
      ++result.lists_skipped;
      continue;
    }
    std::sort(items.begin(), items.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    double dcg = 0;
    for (size_t a = 0; a < cut;) {
      size_t b = a;
      double run_gain = 0;
      for (; b < m && items[b].first == items[a].first; ++b) run_gain += items[b].second;
      // Ranks [a, b) hold the tied run; only ranks below k count.
      const double mean_gain = run_gain / static_cast<double>(b - a);
      dcg += mean_gain * (discount_prefix[std::min(b, cut)] - discount_prefix[a]);
      a = b;
    }
    sum += dcg / idcg;
    ++result.lists_used;
  }
  result.value = result.lists_used > 0 ? sum / static_cast<double>(result.lists_used)
                                       : std::numeric_limits<double>::quiet_NaN();
  return result;
}

NdcgResult ndcg(const std::vector<float>& scores, const std::vector<float>& relevance,
                const std::vector<uint64_t>& lists, size_t k, Gain gain) {
  check_same_size(scores, relevance, "relevance");
  check_same_size(scores, lists, "lists");
  return ndcg(scores.data(), relevance.data(), lists.data(), scores.size(), k, gain);
}

}  // namespace funnel::metric
