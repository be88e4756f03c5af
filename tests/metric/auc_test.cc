#include "metric/auc.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "reference.h"

namespace funnel::metric {
namespace {

using testing::brute_force_auc;
using testing::random_data;

TEST(Auc, MatchesBruteForceWithManyTies) {
  for (size_t n : {2, 10, 100, 999, 1500, 2000}) {
    for (uint64_t levels : {2, 7, 50, 100000}) {
      for (double rate : {0.02, 0.3, 0.8}) {
        const auto d = random_data(n * 7 + levels, n, levels, rate);
        const double expected = brute_force_auc(d.scores, d.labels);
        const double got = auc(d.scores, d.labels);
        EXPECT_TRUE(testing::near_or_both_nan(got, expected, 1e-12))
            << "n=" << n << " levels=" << levels << " rate=" << rate;
      }
    }
  }
}

TEST(Auc, WeightedMatchesBruteForce) {
  for (size_t n : {5, 30, 200, 2000}) {
    for (uint64_t levels : {3, 40, 100000}) {
      const auto d = random_data(n + levels, n, levels, 0.25);
      const double expected = brute_force_auc(d.scores, d.labels, &d.weights);
      EXPECT_TRUE(testing::near_or_both_nan(auc(d.scores, d.labels, d.weights), expected, 1e-12))
          << "n=" << n;
    }
  }
}

TEST(Auc, UnitWeightsEqualUnweightedAndIntegerWeightsEqualDuplication) {
  const auto d = random_data(11, 1500, 30, 0.2);
  const std::vector<float> ones(d.scores.size(), 1.0f);
  EXPECT_NEAR(auc(d.scores, d.labels, ones), auc(d.scores, d.labels), 1e-12);

  std::vector<float> w, s, y;
  for (size_t i = 0; i < d.scores.size(); ++i) {
    const int copies = static_cast<int>(i % 3);  // weight 0, 1 or 2
    w.push_back(static_cast<float>(copies));
    for (int c = 0; c < copies; ++c) {
      s.push_back(d.scores[i]);
      y.push_back(d.labels[i]);
    }
  }
  EXPECT_NEAR(auc(d.scores, d.labels, w), auc(s, y), 1e-12);
}

TEST(Auc, KnownValues) {
  EXPECT_DOUBLE_EQ(auc({0.1f, 0.9f}, {0, 1}), 1.0);
  EXPECT_DOUBLE_EQ(auc({0.9f, 0.1f}, {0, 1}), 0.0);
  // Pairs (pos, neg): (0.8,0.3) win, (0.8,0.8) tie, (0.4,0.3) win, (0.4,0.8) loss -> 2.5 / 4.
  EXPECT_DOUBLE_EQ(auc({0.8f, 0.4f, 0.3f, 0.8f}, {1, 1, 0, 0}), 0.625);
}

TEST(Auc, AllTiedScoresGiveOneHalf) {
  const auto d = random_data(5, 3000, 1, 0.4);
  EXPECT_DOUBLE_EQ(auc(d.scores, d.labels), 0.5);
  EXPECT_DOUBLE_EQ(auc(d.scores, d.labels, d.weights), 0.5);
}

TEST(Auc, NegativeAndPositiveZeroTie) {
  EXPECT_DOUBLE_EQ(auc({-0.0f, 0.0f}, {1, 0}), 0.5);
  EXPECT_DOUBLE_EQ(auc({-1.0f, 0.0f, -0.0f, 2.0f}, {0, 1, 0, 1}), 0.875);
}

TEST(Auc, UndefinedCasesAreNaN) {
  EXPECT_TRUE(std::isnan(auc(std::vector<float>{}, std::vector<float>{})));
  EXPECT_TRUE(std::isnan(auc({0.1f, 0.5f, 0.7f}, {1, 1, 1})));
  EXPECT_TRUE(std::isnan(auc({0.1f, 0.5f, 0.7f}, {0, 0, 0})));
  // Classes present but all positive weight is zero.
  EXPECT_TRUE(std::isnan(auc({0.1f, 0.5f, 0.7f}, {1, 0, 0}, {0, 1, 1})));
  EXPECT_TRUE(std::isnan(auc(nullptr, nullptr, size_t{0})));
}

TEST(Auc, RejectsBadInput) {
  EXPECT_THROW(auc({0.1f, NAN}, {0, 1}), Error);
  EXPECT_THROW(auc({0.1f, 0.2f}, {0, 0.5f}), Error);
  EXPECT_THROW(auc({0.1f, 0.2f}, {0, 2}), Error);
  EXPECT_THROW(auc({0.1f, 0.2f}, {0, 1}, {1, -1}), Error);
  EXPECT_THROW(auc({0.1f, 0.2f}, {0, 1}, {1, INFINITY}), Error);
  EXPECT_THROW(auc({0.1f, 0.2f}, {0}), Error);
  EXPECT_THROW(auc({0.1f, 0.2f}, {0, 1}, {1}), Error);
}

TEST(Auc, ExtremeScoresOrderCorrectly) {
  EXPECT_DOUBLE_EQ(auc({-INFINITY, -1e30f, 1e-30f, INFINITY}, {0, 0, 1, 1}), 1.0);
}

}  // namespace
}  // namespace funnel::metric
