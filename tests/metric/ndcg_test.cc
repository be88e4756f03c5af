#include "metric/ndcg.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "core/rng.h"

namespace funnel::metric {
namespace {

double gain_of(float rel, Gain gain) {
  return gain == Gain::kExponential ? std::pow(2.0, rel) - 1 : rel;
}

// DCG@k of one list taken in the given row order.
double dcg(const std::vector<size_t>& order, const std::vector<float>& rel, size_t k, Gain gain) {
  double d = 0;
  for (size_t r = 0; r < std::min(k, order.size()); ++r) {
    d += gain_of(rel[order[r]], gain) / std::log2(r + 2.0);
  }
  return d;
}

// NDCG@k of one list; ties in score are broken by averaging over every permutation
// (lists here are <= 7 rows).
double naive_list_ndcg(const std::vector<float>& s, const std::vector<float>& rel, size_t k,
                       Gain gain) {
  std::vector<size_t> ideal(s.size());
  std::iota(ideal.begin(), ideal.end(), 0);
  std::sort(ideal.begin(), ideal.end(), [&](size_t a, size_t b) { return rel[a] > rel[b]; });
  const double idcg = dcg(ideal, rel, k, gain);
  if (idcg == 0) return NAN;
  std::vector<size_t> p(s.size());
  std::iota(p.begin(), p.end(), 0);
  double total = 0;
  int count = 0;
  do {
    std::vector<size_t> order = p;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s[a] > s[b]; });
    total += dcg(order, rel, k, gain);
    ++count;
  } while (std::next_permutation(p.begin(), p.end()));
  return total / count / idcg;
}

TEST(Ndcg, MatchesNaiveOverRandomListsWithTies) {
  Rng rng(99);
  for (Gain gain : {Gain::kExponential, Gain::kLinear}) {
    for (size_t k : {1, 3, 10}) {
      const size_t n = 300;
      std::vector<float> s(n), rel(n);
      std::vector<uint64_t> lists(n);
      std::map<uint64_t, std::pair<std::vector<float>, std::vector<float>>> by_list;
      for (size_t i = 0; i < n; ++i) {
        s[i] = static_cast<float>(rng.below(4));
        rel[i] = rng.uniform() < 0.6 ? 0.0f : static_cast<float>(rng.below(4));
        lists[i] = rng.below(60);  // rows of a list scattered, ~5 rows each
      }
      for (size_t i = 0; i < n; ++i) {
        if (by_list[lists[i]].first.size() >= 7) lists[i] = 1000 + i;  // keep lists small
        by_list[lists[i]].first.push_back(s[i]);
        by_list[lists[i]].second.push_back(rel[i]);
      }
      double sum = 0;
      size_t used = 0, skipped = 0;
      for (const auto& [id, sr] : by_list) {
        const double v = naive_list_ndcg(sr.first, sr.second, k, gain);
        if (std::isnan(v)) {
          ++skipped;
        } else {
          sum += v;
          ++used;
        }
      }
      const NdcgResult r = ndcg(s, rel, lists, k, gain);
      EXPECT_EQ(r.lists_used, used);
      EXPECT_EQ(r.lists_skipped, skipped);
      EXPECT_NEAR(r.value, sum / used, 1e-12) << "k=" << k;
    }
  }
}

TEST(Ndcg, KnownValue) {
  // One list, ranked order has relevances [0, 2, 1]; ideal [2, 1, 0]. Exponential gain.
  const std::vector<float> s = {0.9f, 0.5f, 0.1f}, rel = {0, 2, 1};
  const std::vector<uint64_t> lists = {7, 7, 7};
  const double dcg3 = 3 / std::log2(3.0) + 1 / 2.0;
  const double idcg3 = 3 + 1 / std::log2(3.0);
  EXPECT_NEAR(ndcg(s, rel, lists, 3).value, dcg3 / idcg3, 1e-15);
  EXPECT_NEAR(ndcg(s, rel, lists, 1).value, 0.0, 1e-15);
  EXPECT_NEAR(ndcg(s, rel, lists, 100).value, dcg3 / idcg3, 1e-15);
  EXPECT_NEAR(ndcg(s, rel, lists, 2, Gain::kLinear).value,
              (2 / std::log2(3.0)) / (2 + 1 / std::log2(3.0)), 1e-15);
}

TEST(Ndcg, PerfectRankingIsOneAndAllTiedIsTheMeanGain) {
  const std::vector<uint64_t> lists = {1, 1, 1, 1};
  EXPECT_DOUBLE_EQ(ndcg({4, 3, 2, 1}, {3, 2, 1, 0}, lists, 4).value, 1.0);
  // All scores tied, k = 1: expected gain at rank 0 is the mean gain (7+0+0+0)/4.
  EXPECT_NEAR(ndcg({1, 1, 1, 1}, {3, 0, 0, 0}, lists, 1).value, 0.25, 1e-15);
}

TEST(Ndcg, ListsWithoutRelevanceAreSkippedAndCounted) {
  const NdcgResult r = ndcg({0.1f, 0.2f, 0.3f, 0.4f}, {0, 0, 1, 0}, {1, 1, 2, 2}, 2);
  EXPECT_EQ(r.lists_used, 1u);
  EXPECT_EQ(r.lists_skipped, 1u);
  EXPECT_NEAR(r.value, 1 / std::log2(3.0), 1e-15);
  const NdcgResult none = ndcg({0.1f}, {0}, {1}, 2);
  EXPECT_TRUE(std::isnan(none.value));
  EXPECT_TRUE(std::isnan(ndcg({}, {}, std::vector<uint64_t>{}, 5).value));
}

TEST(Ndcg, SeveralKsEqualOneCallPerK) {
  Rng rng(5);
  const size_t n = 500;
  std::vector<float> s(n), rel(n);
  std::vector<uint64_t> lists(n);
  std::map<uint64_t, size_t> sizes;
  for (size_t i = 0; i < n; ++i) {
    s[i] = static_cast<float>(rng.below(6));  // ties
    rel[i] = rng.uniform() < 0.7 ? 0.0f : static_cast<float>(rng.below(3));
    lists[i] = rng.below(40);
    ++sizes[lists[i]];
  }
  size_t longest = 0;
  for (const auto& [id, m] : sizes) longest = std::max(longest, m);
  const std::vector<size_t> ks = {SIZE_MAX, 1, 3, 5, 10};
  const std::vector<NdcgResult> rs = ndcg(s.data(), rel.data(), lists.data(), n, ks);
  ASSERT_EQ(rs.size(), ks.size());
  for (size_t j = 0; j < ks.size(); ++j) {
    const NdcgResult one = ndcg(s, rel, lists, ks[j]);
    EXPECT_EQ(rs[j].value, one.value) << "k=" << ks[j];
    EXPECT_EQ(rs[j].lists_used, one.lists_used);
    EXPECT_EQ(rs[j].lists_skipped, one.lists_skipped);
  }
  // k = SIZE_MAX is the whole list: the same as k = the longest list.
  EXPECT_EQ(rs[0].value, ndcg(s, rel, lists, longest).value);
  EXPECT_LT(rs[1].value, rs[0].value);
  EXPECT_THROW(ndcg(s.data(), rel.data(), lists.data(), n, std::vector<size_t>{3, 0}), Error);
}

TEST(Ndcg, RejectsBadInput) {
  EXPECT_THROW(ndcg({0.1f}, {1}, {1}, 0), Error);
  EXPECT_THROW(ndcg({NAN}, {1}, {1}, 1), Error);
  EXPECT_THROW(ndcg({0.1f}, {-1}, {1}, 1), Error);
  EXPECT_THROW(ndcg({0.1f}, {INFINITY}, {1}, 1), Error);
  EXPECT_THROW(ndcg({0.1f, 0.2f}, {1}, {1, 1}, 1), Error);
}

}  // namespace
}  // namespace funnel::metric
