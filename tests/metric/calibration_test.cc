#include "metric/calibration.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

namespace funnel::metric {
namespace {

TEST(Calibration, MeansAndRatio) {
  const Calibration c = calibration({0.1f, 0.2f, 0.3f, 0.4f}, {0, 1, 0, 0});
  EXPECT_EQ(c.count, 4u);
  EXPECT_NEAR(c.mean_prediction, 0.25, 1e-7);
  EXPECT_DOUBLE_EQ(c.observed_rate, 0.25);
  EXPECT_NEAR(c.ratio, 1.0, 1e-6);
  const Calibration over = calibration({0.5f, 0.5f, 0.5f, 0.5f}, {0, 1, 0, 0});
  EXPECT_DOUBLE_EQ(over.ratio, 2.0);
}

TEST(Calibration, EdgeCases) {
  const Calibration empty = calibration({}, {});
  EXPECT_EQ(empty.count, 0u);
  EXPECT_TRUE(std::isnan(empty.mean_prediction));
  EXPECT_TRUE(std::isnan(empty.observed_rate));
  EXPECT_TRUE(std::isnan(empty.ratio));
  const Calibration no_pos = calibration({0.1f, 0.3f}, {0, 0});
  EXPECT_DOUBLE_EQ(no_pos.observed_rate, 0.0);
  EXPECT_TRUE(std::isnan(no_pos.ratio));
}

TEST(Calibration, RejectsBadInput) {
  EXPECT_THROW(calibration({2.0f}, {1}), Error);
  EXPECT_THROW(calibration({0.2f}, {-1}), Error);
  EXPECT_THROW(calibration({0.2f, 0.1f}, {1}), Error);
}

}  // namespace
}  // namespace funnel::metric
