#include "metric/metric_set.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "metric/auc.h"
#include "metric/logloss.h"
#include "reference.h"

namespace funnel::metric {
namespace {

TEST(MetricSet, AgreesWithTheIndividualMetrics) {
  const auto d = testing::random_data(4, 3000, 200, 0.1);
  const MetricSet m = MetricSet::compute(d.scores, d.labels);
  size_t positives = 0;
  for (float y : d.labels) positives += y == 1.0f;
  EXPECT_EQ(m.count, 3000u);
  EXPECT_EQ(m.positives, positives);
  EXPECT_EQ(m.auc, auc(d.scores, d.labels));
  EXPECT_EQ(m.nll, logloss(d.scores, d.labels));
  EXPECT_EQ(m.calibration.ratio, calibration(d.scores, d.labels).ratio);

  const nlohmann::json j = m;
  EXPECT_EQ(j.at("count").get<size_t>(), 3000u);
  EXPECT_EQ(j.at("positives").get<size_t>(), positives);
  EXPECT_EQ(j.at("auc").get<double>(), m.auc);
  EXPECT_EQ(j.at("nll").get<double>(), m.nll);
  EXPECT_EQ(j.at("mean_prediction").get<double>(), m.calibration.mean_prediction);
  EXPECT_EQ(j.at("observed_rate").get<double>(), m.calibration.observed_rate);
  EXPECT_EQ(j.at("calibration").get<double>(), m.calibration.ratio);
  EXPECT_EQ(j.size(), 7u);
}

TEST(MetricSet, UndefinedValuesBecomeNull) {
  const MetricSet m = MetricSet::compute({0.2f, 0.4f}, {0, 0});
  EXPECT_TRUE(std::isnan(m.auc));
  const nlohmann::json j = m;
  EXPECT_TRUE(j.at("auc").is_null());
  EXPECT_TRUE(j.at("calibration").is_null());
  EXPECT_FALSE(j.at("nll").is_null());
  const nlohmann::json round_trip = nlohmann::json::parse(j.dump());
  EXPECT_TRUE(round_trip.at("auc").is_null());

  const nlohmann::json empty = MetricSet::compute({}, {});
  EXPECT_EQ(empty.at("count"), 0);
  EXPECT_TRUE(empty.at("nll").is_null());
}

TEST(MetricSet, RejectsBadInput) {
  EXPECT_THROW(MetricSet::compute({1.2f}, {1}), Error);
  EXPECT_THROW(MetricSet::compute({0.2f, 0.3f}, {1}), Error);
}

}  // namespace
}  // namespace funnel::metric
