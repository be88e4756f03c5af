#include "metric/funnel_metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.h"
#include "metric/auc.h"

namespace funnel::metric {
namespace {

TEST(FunnelMetrics, NamesAndPopulations) {
  // 2-event funnel: ctr on all rows, cvr on clicked rows with P(conv)/P(click), ctcvr on all.
  Rng rng(3);
  FunnelPredictions p;
  p.n = 2000;
  p.log_p.resize(2 * p.n);
  p.labels.resize(2 * p.n);
  std::vector<float> cvr_p, cvr_y, ctr_p, ctr_y;
  for (size_t i = 0; i < p.n; ++i) {
    const double pc = 0.05 + 0.9 * rng.uniform(), pv = 0.05 + 0.9 * rng.uniform();
    const bool click = rng.uniform() < pc, conv = click && rng.uniform() < pv;
    p.log_p[i] = static_cast<float>(std::log(pc));
    p.log_p[p.n + i] = static_cast<float>(std::log(pc * pv));
    p.labels[i] = click;
    p.labels[p.n + i] = conv;
    ctr_p.push_back(static_cast<float>(pc));
    ctr_y.push_back(click);
    if (click) {
      cvr_p.push_back(std::exp(p.log_p[p.n + i] - p.log_p[i]));
      cvr_y.push_back(conv);
    }
  }
  const auto j = funnel_metrics(p, {"click", "purchase"}, {-1, 0});
  EXPECT_EQ(j["ctr"]["count"], p.n);
  EXPECT_NEAR(j["ctr"]["auc"].get<double>(), metric::auc(ctr_p, ctr_y), 1e-6);
  EXPECT_EQ(j["cvr"]["count"], cvr_p.size());
  EXPECT_NEAR(j["cvr"]["auc"].get<double>(), metric::auc(cvr_p, cvr_y), 1e-6);
  EXPECT_EQ(j["ctcvr"]["count"], p.n);
  EXPECT_FALSE(j.contains("gauc"));
}

TEST(FunnelMetrics, ThreeEventsHaveIntermediateEntries) {
  FunnelPredictions p;
  p.n = 4;
  p.log_p = {std::log(0.5f), std::log(0.4f), std::log(0.3f), std::log(0.2f),
             std::log(0.25f), std::log(0.2f), std::log(0.1f), std::log(0.1f),
             std::log(0.1f), std::log(0.1f), std::log(0.05f), std::log(0.01f)};
  p.labels = {1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0};
  p.group = {1, 1, 2, 2};
  const auto j = funnel_metrics(p, {"click", "arrival", "conversion"}, {-1, 0, 1});
  for (const char* k : {"ctr", "cvr", "ctcvr", "arrival", "arrival|click", "conversion|arrival"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(j["arrival|click"]["count"], 3u);       // rows with a click
  EXPECT_EQ(j["conversion|arrival"]["count"], 2u);  // rows with an arrival
  EXPECT_TRUE(j["ctr"].contains("gauc"));
}

}  // namespace
}  // namespace funnel::metric
