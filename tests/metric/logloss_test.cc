#include "metric/logloss.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/rng.h"

namespace funnel::metric {
namespace {

TEST(Logloss, MatchesDirectFormula) {
  Rng rng(5);
  std::vector<float> p, y;
  for (int i = 0; i < 5000; ++i) {
    p.push_back(static_cast<float>(rng.uniform()));
    y.push_back(rng.uniform() < 0.3 ? 1.0f : 0.0f);
  }
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double q = p[i];
    sum += -(y[i] * std::log(q) + (1 - y[i]) * std::log(1 - q));
  }
  EXPECT_NEAR(logloss(p, y), sum / static_cast<double>(p.size()), 1e-12);
}

TEST(Logloss, KnownValues) {
  EXPECT_NEAR(logloss({0.5f, 0.5f}, {0, 1}), std::log(2.0), 1e-15);
  EXPECT_NEAR(logloss({0.8f, 0.25f}, {1, 0}),
              -(std::log(double{0.8f}) + std::log(1 - double{0.25f})) / 2, 1e-15);
}

TEST(Logloss, ClampsCertainMistakesToEps) {
  const double worst = -std::log(kLoglossEps);
  EXPECT_NEAR(logloss({0.0f}, {1}), worst, 1e-9);
  EXPECT_NEAR(logloss({1.0f}, {0}), worst, 1e-9);
  EXPECT_NEAR(logloss({1.0f, 0.0f}, {1, 0}), -std::log1p(-kLoglossEps), 1e-15);
  EXPECT_TRUE(std::isfinite(logloss({0.0f, 1.0f}, {1, 0})));
}

TEST(Logloss, EmptyIsNaN) { EXPECT_TRUE(std::isnan(logloss({}, {}))); }

TEST(Logloss, RejectsNonProbabilitiesAndBadLabels) {
  EXPECT_THROW(logloss({1.5f}, {1}), Error);  // a logit, not a probability
  EXPECT_THROW(logloss({-0.1f}, {0}), Error);
  EXPECT_THROW(logloss({NAN}, {0}), Error);
  EXPECT_THROW(logloss({0.5f}, {0.5f}), Error);
  EXPECT_THROW(logloss({0.5f, 0.5f}, {1}), Error);
}

}  // namespace
}  // namespace funnel::metric
