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

std::vector<NdcgResult> ndcg(const float* scores, const float* relevance, const uint64_t* lists,
                             size_t n, const std::vector<size_t>& ks, Gain gain) {
  size_t max_k = 0;
  for (size_t k : ks) {
    FUNNEL_CHECK(k > 0, "ndcg: k must be > 0");
    max_k = std::max(max_k, k);
  }
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
  // discount_prefix[r] = sum of 1/log2(i + 2) over ranks i < r, for r <= min(max k, longest).
  const size_t depth = std::min(max_k, longest);
  std::vector<double> discount_prefix(depth + 1, 0.0);
  for (size_t r = 0; r < depth; ++r) {
    discount_prefix[r + 1] = discount_prefix[r] + 1.0 / std::log2(static_cast<double>(r) + 2.0);
  }

  const size_t K = ks.size();
  std::vector<NdcgResult> results(K);
  std::vector<double> sum(K, 0.0), idcg(K), dcg(K);
  std::vector<std::pair<float, double>> items;  // (score, gain)
  std::vector<double> ideal;
  for (size_t g = 0; g < grouping.num_groups(); ++g) {
    const size_t m = grouping.size(g);
    const size_t deepest = std::min(max_k, m);
    items.clear();
    ideal.clear();
    for (size_t p = grouping.offsets[g]; p < grouping.offsets[g + 1]; ++p) {
      const double gn = gain_of(relevance[rows[p]]);
      items.emplace_back(scores[rows[p]], gn);
      ideal.push_back(gn);
    }
    std::partial_sort(ideal.begin(), ideal.begin() + deepest, ideal.end(), std::greater<>());
    bool any_used = false;
    for (size_t j = 0; j < K; ++j) {
      const size_t cut = std::min(ks[j], m);
      idcg[j] = 0;
      for (size_t r = 0; r < cut; ++r) {
        idcg[j] += ideal[r] * (discount_prefix[r + 1] - discount_prefix[r]);
      }
      if (idcg[j] > 0) any_used = true;
    }
    if (!any_used) {
      for (auto& r : results) ++r.lists_skipped;
      continue;
    }
    std::sort(items.begin(), items.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    std::fill(dcg.begin(), dcg.end(), 0.0);
    for (size_t a = 0; a < deepest;) {
      size_t b = a;
      double run_gain = 0;
      for (; b < m && items[b].first == items[a].first; ++b) run_gain += items[b].second;
      // Ranks [a, b) hold the tied run; only ranks below each k count.
      const double mean_gain = run_gain / static_cast<double>(b - a);
      for (size_t j = 0; j < K; ++j) {
        const size_t cut = std::min(ks[j], m);
        if (a < cut) dcg[j] += mean_gain * (discount_prefix[std::min(b, cut)] - discount_prefix[a]);
      }
      a = b;
    }
    for (size_t j = 0; j < K; ++j) {
      if (!(idcg[j] > 0)) {
        ++results[j].lists_skipped;
        continue;
      }
      sum[j] += dcg[j] / idcg[j];
      ++results[j].lists_used;
    }
  }
  for (size_t j = 0; j < K; ++j) {
    results[j].value = results[j].lists_used > 0
                           ? sum[j] / static_cast<double>(results[j].lists_used)
                           : std::numeric_limits<double>::quiet_NaN();
  }
  return results;
}

NdcgResult ndcg(const float* scores, const float* relevance, const uint64_t* lists, size_t n,
                size_t k, Gain gain) {
  return ndcg(scores, relevance, lists, n, std::vector<size_t>{k}, gain).front();
}

NdcgResult ndcg(const std::vector<float>& scores, const std::vector<float>& relevance,
                const std::vector<uint64_t>& lists, size_t k, Gain gain) {
  check_same_size(scores, relevance, "relevance");
  check_same_size(scores, lists, "lists");
  return ndcg(scores.data(), relevance.data(), lists.data(), scores.size(), k, gain);
}

}  // namespace funnel::metric
