#include "metric/top_k.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "core/rng.h"

namespace funnel::metric {
namespace {

// Positives among the first k rows of `order` after a stable sort by descending score.
double top_positives(std::vector<size_t> order, const std::vector<float>& s,
                     const std::vector<float>& y, size_t k) {
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s[a] > s[b]; });
  double tp = 0;
  for (size_t i = 0; i < k; ++i) tp += y[order[i]];
  return tp;
}

TEST(TopK, CountRounding) {
  EXPECT_EQ(top_k_count(0.006, 1000), 6u);  // 0.006 * 1000 is 6.000000000000001 in double
  EXPECT_EQ(top_k_count(0.001, 1000), 1u);
  EXPECT_EQ(top_k_count(0.01, 100), 1u);
  EXPECT_EQ(top_k_count(0.001, 1500), 2u);  // 1.5 -> 2
  EXPECT_EQ(top_k_count(0.001, 10), 1u);    // any fraction of a non-empty set takes >= 1
  EXPECT_EQ(top_k_count(1.0, 7), 7u);
  EXPECT_EQ(top_k_count(0.5, 0), 0u);
  EXPECT_EQ(top_k_count(0.006, 10000000), 60000u);
  EXPECT_THROW(top_k_count(0.0, 10), Error);
  EXPECT_THROW(top_k_count(1.5, 10), Error);
  EXPECT_THROW(top_k_count(NAN, 10), Error);
}

TEST(TopK, MatchesNaiveSortWithoutTies) {
  Rng rng(8);
  const size_t n = 20000;
  std::vector<float> s(n), y(n);
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<float>(i) / n;  // distinct
  rng.shuffle(s.begin(), s.end());                                  // decouple score from index
  for (size_t i = 0; i < n; ++i) y[i] = rng.uniform() < 0.02 + 0.2 * s[i] ? 1.0f : 0.0f;
  const double positives = std::accumulate(y.begin(), y.end(), 0.0);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  const std::vector<double> fractions = {0.001, 0.006, 0.01, 0.25, 1.0};
  const auto results = top_k(s, y, fractions);
  ASSERT_EQ(results.size(), fractions.size());
  for (size_t f = 0; f < fractions.size(); ++f) {
    const auto& r = results[f];
    const size_t k = top_k_count(fractions[f], n);
    const double tp = top_positives(order, s, y, k);
    EXPECT_EQ(r.fraction, fractions[f]);
    EXPECT_EQ(r.k, k);
    EXPECT_EQ(r.true_positives, tp);
    EXPECT_DOUBLE_EQ(r.precision, tp / k);
    EXPECT_DOUBLE_EQ(r.recall, tp / positives);
    const double p = tp / k, rc = tp / positives;
    EXPECT_NEAR(r.f1, 2 * p * rc / (p + rc), 1e-15);
  }
  EXPECT_DOUBLE_EQ(results.back().recall, 1.0);
  EXPECT_DOUBLE_EQ(results.back().precision, positives / n);
}

TEST(TopK, TiesEqualTheAverageOverAllTieBreaks) {
  // Every permutation of 8 rows as the tie-break order: the exact expectation.
  Rng rng(21);
  for (int trial = 0; trial < 6; ++trial) {
    const size_t n = 8;
    std::vector<float> s(n), y(n);
    for (size_t i = 0; i < n; ++i) {
      s[i] = static_cast<float>(rng.below(3));
      y[i] = static_cast<float>(rng.below(2));
    }
    y[0] = 1;
    std::vector<size_t> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    for (size_t k = 1; k <= n; ++k) {
      double total = 0;
      int count = 0;
      std::vector<size_t> p = perm;
      do {
        total += top_positives(p, s, y, k);
        ++count;
      } while (std::next_permutation(p.begin(), p.end()));
      const double fraction = static_cast<double>(k) / n;
      const TopKResult r = top_k(s.data(), y.data(), n, fraction);
      ASSERT_EQ(r.k, k);
      EXPECT_NEAR(r.true_positives, total / count, 1e-12) << "trial " << trial << " k " << k;
    }
  }
}

TEST(TopK, ResultDoesNotDependOnRowOrder) {
  // A constant scorer on label-sorted rows: a stable index order would claim precision 1.
  std::vector<float> s(1000, 0.5f), y(1000, 0.0f);
  std::fill(y.begin(), y.begin() + 100, 1.0f);
  const TopKResult r = top_k(s.data(), y.data(), s.size(), 0.01);
  EXPECT_EQ(r.k, 10u);
  EXPECT_DOUBLE_EQ(r.precision, 0.1);
  EXPECT_DOUBLE_EQ(r.recall, 0.01);
}

TEST(TopK, EdgeCases) {
  const auto empty = top_k(std::vector<float>{}, std::vector<float>{}, {0.01});
  EXPECT_EQ(empty[0].k, 0u);
  EXPECT_TRUE(std::isnan(empty[0].precision));
  EXPECT_TRUE(std::isnan(empty[0].recall));
  EXPECT_TRUE(std::isnan(empty[0].f1));

  const auto no_pos = top_k({0.1f, 0.9f}, {0, 0}, {0.5});
  EXPECT_DOUBLE_EQ(no_pos[0].precision, 0.0);
  EXPECT_TRUE(std::isnan(no_pos[0].recall));
  EXPECT_TRUE(std::isnan(no_pos[0].f1));

  const auto miss = top_k({0.1f, 0.9f}, {1, 0}, {0.5});
  EXPECT_DOUBLE_EQ(miss[0].precision, 0.0);
  EXPECT_DOUBLE_EQ(miss[0].recall, 0.0);
  EXPECT_DOUBLE_EQ(miss[0].f1, 0.0);

  EXPECT_THROW(top_k({0.1f, NAN}, {1, 0}, {0.5}), Error);
  EXPECT_THROW(top_k({0.1f, 0.2f}, {1, 7}, {0.5}), Error);
  EXPECT_THROW(top_k({0.1f, 0.2f}, {1, 0}, {0.0}), Error);
  EXPECT_THROW(top_k({0.1f, 0.2f}, {1}, {0.5}), Error);
}

TEST(TopK, Esm2Fractions) {
  EXPECT_EQ(kEsm2TopFractions[0], 0.001);
  EXPECT_EQ(kEsm2TopFractions[1], 0.006);
  EXPECT_EQ(kEsm2TopFractions[2], 0.01);
}

}  // namespace
}  // namespace funnel::metric
