#include "metric/compare_report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace funnel::metric {
namespace {

TEST(CompareReportTest, SeedStatsIsMeanAndSampleStd) {
  const SeedStats s = seed_stats({0.70, 0.72, 0.74});
  EXPECT_EQ(s.n, 3u);
  EXPECT_NEAR(s.mean, 0.72, 1e-12);
  EXPECT_NEAR(s.std, 0.02, 1e-12);  // sqrt((0.02^2 + 0 + 0.02^2) / (3 - 1))
  const SeedStats one = seed_stats({0.5});
  EXPECT_EQ(one.n, 1u);
  EXPECT_EQ(one.std, 0.0);
  const SeedStats none = seed_stats({NAN});
  EXPECT_EQ(none.n, 0u);
  EXPECT_TRUE(std::isnan(none.mean));
  // Non-finite values (a metric that could not be computed) are left out.
  EXPECT_NEAR(seed_stats({1.0, NAN, 3.0}).mean, 2.0, 1e-12);
}

TEST(CompareReportTest, GainIsInAucPoints) {
  EXPECT_NEAR(auc_gain_points(0.7050, 0.7000), 0.50, 1e-9);
  EXPECT_NEAR(auc_gain_points(0.69, 0.70), -1.0, 1e-9);
  EXPECT_TRUE(std::isnan(auc_gain_points(NAN, 0.7)));
}

nlohmann::json run(const std::string& model, int seed, double cvr_auc, double ctcvr_auc) {
  return {{"model", model},
          {"seed", seed},
          {"status", "ok"},
          {"test",
           {{"ctr", {{"auc", 0.6}, {"nll", 0.2}}},
            {"cvr",
             {{"auc", cvr_auc},
              {"nll", 0.1},
              {"top_k", {{"top0.1%", {{"precision", 0.5}, {"recall", 0.1}, {"f1", 0.2}}}}}}},
            {"ctcvr", {{"auc", ctcvr_auc}, {"nll", 0.05}}}}},
          {"timing", {{"train_seconds", 10.0}, {"samples_per_second", 1000.0}}}};
}

TEST(CompareReportTest, MarkdownHasTheTablesRowsAndGains) {
  nlohmann::json c;
  c["models"] = {"esmm", "dnn", "esm2"};
  c["seeds"] = {1, 2};
  c["runs"] = {run("esmm", 1, 0.70, 0.80), run("esmm", 2, 0.72, 0.82),
               run("dnn", 1, 0.66, 0.76), run("dnn", 2, 0.68, 0.78),
               {{"model", "esm2"}, {"seed", 1}, {"status", "failed"}, {"error", "a | b"}}};
  c["oracle"]["test"] = run("x", 0, 0.75, 0.85)["test"];
  const std::string md = compare_markdown(c);
  EXPECT_NE(md.find("| esmm | 2 | 0.6000 ± 0.0000 | 0.7100 ± 0.0141 |"), std::string::npos) << md;
  // Gain over dnn: 0.71 - 0.67 = +4.00 points (CVR), 0.81 - 0.77 (CTCVR).
  EXPECT_NE(md.find("| +4.00 | +4.00 | 10.0 ± 0.0 | 1000 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| dnn | 2 |"), std::string::npos);
  EXPECT_NE(md.find("| esm2 | 0 | - |"), std::string::npos) << md;
  EXPECT_NE(md.find("| *oracle* | - | 0.6000 | 0.7500 |"), std::string::npos) << md;
  EXPECT_NE(md.find("P@0.1%"), std::string::npos);
  EXPECT_NE(md.find("| esm2 | 1 | a \\| b |"), std::string::npos) << md;  // failed runs, escaped
  EXPECT_EQ(md.find("GAUC"), std::string::npos);  // no group column in these runs
}

TEST(CompareReportTest, NoGainColumnsWithoutTheBaseline) {
  nlohmann::json c;
  c["models"] = {"esmm"};
  c["runs"] = {run("esmm", 1, 0.70, 0.80)};
  const std::string md = compare_markdown(c);
  EXPECT_EQ(md.find("gain"), std::string::npos) << md;
  EXPECT_NE(md.find("| esmm | 1 | 0.6000 | 0.7000 |"), std::string::npos) << md;
}

TEST(CompareReportTest, NdcgTableOnlyWhenRunsHaveNdcg) {
  nlohmann::json c;
  c["models"] = {"heroes", "esmm"};
  c["runs"] = {run("heroes", 1, 0.70, 0.80), run("heroes", 2, 0.72, 0.82),
               run("esmm", 1, 0.70, 0.80)};
  EXPECT_EQ(compare_markdown(c).find("NDCG"), std::string::npos);
  for (size_t i = 0; i < 2; ++i) {
    auto& test = c["runs"][i]["test"];
    test["ctr"]["ndcg"] = 0.50 + 0.2 * i;
    test["ctr"]["ndcg@5"] = 0.40;
    test["ctcvr"]["ndcg"] = 0.30;
    test["ctcvr"]["ndcg@5"] = nullptr;  // no list with a conversion
  }
  c["oracle"]["test"] = c["runs"][0]["test"];
  const std::string md = compare_markdown(c);
  EXPECT_NE(md.find("#### NDCG (whole list)"), std::string::npos) << md;
  EXPECT_NE(md.find("| model | runs | CTR NDCG | CTR NDCG@5 | CTCVR NDCG | CTCVR NDCG@5 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| heroes | 2 | 0.6000 ± 0.1414 | 0.4000 ± 0.0000 | 0.3000 ± 0.0000 | - |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| esmm | 1 | - | - | - | - |"), std::string::npos) << md;
  EXPECT_NE(md.find("| *oracle* | - | 0.5000 | 0.4000 | 0.3000 | - |"), std::string::npos) << md;
}

}  // namespace
}  // namespace funnel::metric
