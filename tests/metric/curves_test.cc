#include "metric/curves.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "core/error.h"
#include "reference.h"

namespace funnel::metric {
namespace {

// Brute force: rows ordered by prediction (std::sort on indices), bin b = ranks
// [b n / B, (b + 1) n / B). Bins are compared by count and sums, which do not depend on how
// rows with equal predictions are ordered except at a boundary; the data below has distinct
// predictions.
TEST(ReliabilityBins, MatchBruteForceCounts) {
  Rng rng(7);
  for (size_t n : {1u, 5u, 19u, 20u, 21u, 1000u, 4099u}) {
    std::vector<float> p, y;
    for (size_t i = 0; i < n; ++i) {
      p.push_back(static_cast<float>((i * 7919) % 100003) / 100003.0f);
      y.push_back(rng.uniform() < p.back() ? 1.0f : 0.0f);
    }
    const size_t B = 20;
    const std::vector<ReliabilityBin> bins = reliability_bins(p, y, B);
    std::vector<size_t> idx(n);
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
    size_t k = 0;
    for (size_t b = 0; b < B; ++b) {
      const size_t begin = b * n / B, end = (b + 1) * n / B;
      if (begin == end) continue;
      ASSERT_LT(k, bins.size()) << "n " << n;
      double sp = 0, sy = 0;
      for (size_t r = begin; r < end; ++r) {
        sp += p[idx[r]];
        sy += y[idx[r]];
      }
      EXPECT_EQ(bins[k].count, end - begin) << "n " << n << " bin " << b;
      EXPECT_NEAR(bins[k].mean_prediction, sp / (end - begin), 1e-9);
      EXPECT_NEAR(bins[k].observed_rate, sy / (end - begin), 1e-12);
      EXPECT_FLOAT_EQ(bins[k].lo, p[idx[begin]]);
      EXPECT_FLOAT_EQ(bins[k].hi, p[idx[end - 1]]);
      ++k;
    }
    EXPECT_EQ(k, bins.size());
    EXPECT_EQ(bins.size(), std::min(n, B));
  }
}

TEST(ReliabilityBins, EmptyAndBadInput) {
  EXPECT_TRUE(reliability_bins({}, {}, 10).empty());
  EXPECT_THROW(reliability_bins({0.5f}, {1.0f}, 0), Error);
  EXPECT_THROW(reliability_bins({1.5f}, {1.0f}, 4), Error);
  EXPECT_THROW(reliability_bins({0.5f}, {2.0f}, 4), Error);
  EXPECT_THROW(reliability_bins({0.5f, 0.1f}, {1.0f}, 4), Error);
}

// The unthinned curve's trapezoid area is the exact AUC, ties counted one half (a tied group
// is one diagonal step).
TEST(RocCurve, AreaIsTheAucWithTies) {
  for (uint64_t levels : {3u, 17u, 1000000u}) {
    const testing::Data d = testing::random_data(levels, 3000, levels, 0.1);
    const RocCurve c = roc_curve(d.scores, d.labels);
    ASSERT_GE(c.fpr.size(), 2u);
    EXPECT_EQ(c.fpr.front(), 0.0);
    EXPECT_EQ(c.tpr.front(), 0.0);
    EXPECT_DOUBLE_EQ(c.fpr.back(), 1.0);
    EXPECT_DOUBLE_EQ(c.tpr.back(), 1.0);
    EXPECT_TRUE(std::is_sorted(c.fpr.begin(), c.fpr.end()));
    EXPECT_TRUE(std::is_sorted(c.tpr.begin(), c.tpr.end()));
    EXPECT_NEAR(trapezoid_area(c.fpr, c.tpr), testing::brute_force_auc(d.scores, d.labels), 1e-9)
        << "levels " << levels;
  }
}

TEST(RocCurve, PointsOfASmallCase) {
  // Scores 0.9 (pos), 0.5 (pos, neg tied), 0.1 (neg): (0,0) (0,.5) (.5,1) (1,1).
  const RocCurve c = roc_curve({0.9f, 0.5f, 0.5f, 0.1f}, {1, 1, 0, 0});
  EXPECT_EQ(c.fpr, (std::vector<double>{0, 0, 0.5, 1}));
  EXPECT_EQ(c.tpr, (std::vector<double>{0, 0.5, 1, 1}));
  EXPECT_EQ(c.positives, 2u);
  EXPECT_EQ(c.negatives, 2u);
  EXPECT_TRUE(roc_curve({0.1f, 0.2f}, {0, 0}).fpr.empty());  // no positive: no curve
}

TEST(RocCurve, ThinningKeepsEndsAndBoundsPoints) {
  const testing::Data d = testing::random_data(3, 20000, 1000000, 0.3);
  const RocCurve full = roc_curve(d.scores, d.labels);
  const RocCurve thin = roc_curve(d.scores, d.labels, 50);
  ASSERT_GT(full.fpr.size(), 1000u);
  EXPECT_LE(thin.fpr.size(), 50u);
  EXPECT_GE(thin.fpr.size(), 25u);
  EXPECT_EQ(thin.fpr.front(), 0.0);
  EXPECT_DOUBLE_EQ(thin.fpr.back(), 1.0);
  EXPECT_DOUBLE_EQ(thin.tpr.back(), 1.0);
  // Every kept point lies on the full curve, and the area changes little.
  for (size_t k = 0; k < thin.fpr.size(); ++k) {
    bool found = false;
    for (size_t m = 0; m < full.fpr.size() && !found; ++m) {
      found = full.fpr[m] == thin.fpr[k] && full.tpr[m] == thin.tpr[k];
    }
    EXPECT_TRUE(found) << k;
  }
  EXPECT_NEAR(trapezoid_area(thin.fpr, thin.tpr), trapezoid_area(full.fpr, full.tpr), 0.01);
}

// Per entry of the funnel: cvr on the clicked rows with P(conversion | click).
TEST(FunnelCurves, EntriesUseTheMetricsRows) {
  FunnelPredictions p;
  p.n = 4;
  // log P(click), then log P(conversion), rows 0..3.
  p.log_p = {std::log(0.5f),  std::log(0.4f), std::log(0.2f), std::log(0.1f),
             std::log(0.25f), std::log(0.1f), std::log(0.1f), std::log(0.01f)};
  p.labels = {1, 0, 1, 0, 1, 0, 0, 0};
  const nlohmann::json j = funnel_curves(p, {"click", "purchase"}, {-1, 0});
  ASSERT_TRUE(j.contains("ctr") && j.contains("cvr") && j.contains("ctcvr"));
  EXPECT_EQ(j["ctr"]["rows"], 4);
  EXPECT_EQ(j["cvr"]["rows"], 2);  // the clicked rows 0 and 2
  double sum = 0;
  for (const auto& b : j["cvr"]["reliability"])
    sum += b["mean_prediction"].get<double>() * b["count"].get<double>();
  EXPECT_NEAR(sum, 0.5 + 0.5, 1e-6);               // P(conv | click) = 0.25 / 0.5 and 0.1 / 0.2
  EXPECT_EQ(j["ctcvr"]["roc"]["fpr"].size(), 4u);  // 3 distinct scores + the origin
  p.labels.pop_back();
  EXPECT_THROW(funnel_curves(p, {"click", "purchase"}, {-1, 0}), Error);
}

}  // namespace
}  // namespace funnel::metric
