#include "metric/gauc.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "reference.h"

namespace funnel::metric {
namespace {

// Per-group brute force: group rows with a std::map, brute-force AUC each group.
GaucResult naive_gauc(const std::vector<float>& s, const std::vector<float>& y,
                      const std::vector<uint64_t>& g) {
  std::map<uint64_t, std::pair<std::vector<float>, std::vector<float>>> groups;
  for (size_t i = 0; i < s.size(); ++i) {
    groups[g[i]].first.push_back(s[i]);
    groups[g[i]].second.push_back(y[i]);
  }
  GaucResult r;
  double weighted = 0, plain = 0;
  for (const auto& [key, sy] : groups) {
    const double a = testing::brute_force_auc(sy.first, sy.second);
    if (std::isnan(a)) {
      ++r.groups_skipped;
      continue;
    }
    ++r.groups_used;
    r.rows_used += sy.first.size();
    weighted += a * static_cast<double>(sy.first.size());
    plain += a;
  }
  r.value_weighted = weighted / static_cast<double>(r.rows_used);
  r.value_unweighted = plain / static_cast<double>(r.groups_used);
  return r;
}

TEST(Gauc, MatchesPerGroupBruteForce) {
  // Group sizes from ~1 to ~2000 rows, so both the small (std::sort) and the radix path run.
  for (uint64_t num_groups : {1, 3, 40, 700}) {
    for (uint64_t levels : {3, 1000}) {
      const size_t n = 4000;
      auto d = testing::random_data(num_groups * 13 + levels, n, levels, 0.3);
      Rng rng(num_groups);
      std::vector<uint64_t> groups(n);
      for (auto& g : groups) g = rng.below(num_groups) * 1000003 + 5;
      const GaucResult want = naive_gauc(d.scores, d.labels, groups);
      const GaucResult got = gauc(d.scores, d.labels, groups);
      EXPECT_NEAR(got.value_weighted, want.value_weighted, 1e-12);
      EXPECT_NEAR(got.value_unweighted, want.value_unweighted, 1e-12);
      EXPECT_EQ(got.groups_used, want.groups_used);
      EXPECT_EQ(got.groups_skipped, want.groups_skipped);
      EXPECT_EQ(got.rows_used, want.rows_used);
    }
  }
}

TEST(Gauc, SkipsAndCountsOneClassGroups) {
  // Group 1: AUC 1 over 4 rows; group 2: rows 4, 5, 9, AUC 1; group 3: all negative;
  // group 4: one row.
  const std::vector<float> s = {0.9f, 0.1f, 0.2f, 0.8f, 0.3f, 0.7f, 0.5f, 0.5f, 0.6f, 0.4f};
  const std::vector<float> y = {1, 0, 0, 1, 0, 1, 0, 0, 1, 0};
  const std::vector<uint64_t> g = {1, 1, 1, 1, 2, 2, 3, 3, 4, 2};
  const GaucResult r = gauc(s, y, g);
  EXPECT_EQ(r.groups_used, 2u);
  EXPECT_EQ(r.groups_skipped, 2u);
  EXPECT_EQ(r.rows_used, 7u);
  EXPECT_DOUBLE_EQ(r.value_weighted, 1.0);
  EXPECT_DOUBLE_EQ(r.value_unweighted, 1.0);

  const std::vector<float> y2 = {1, 0, 0, 1, 1, 0, 0, 0, 1, 0};  // group 2 now AUC 0
  const GaucResult r2 = gauc(s, y2, g);
  EXPECT_DOUBLE_EQ(r2.value_weighted, 4.0 / 7);
  EXPECT_DOUBLE_EQ(r2.value_unweighted, 0.5);
}

TEST(Gauc, NoUsableGroupIsNaN) {
  const GaucResult empty = gauc({}, {}, std::vector<uint64_t>{});
  EXPECT_TRUE(std::isnan(empty.value_weighted));
  EXPECT_TRUE(std::isnan(empty.value_unweighted));
  EXPECT_EQ(empty.groups_used + empty.groups_skipped, 0u);

  const GaucResult one_class = gauc({0.1f, 0.2f, 0.3f}, {1, 1, 0}, {1, 1, 2});
  EXPECT_TRUE(std::isnan(one_class.value_weighted));
  EXPECT_EQ(one_class.groups_skipped, 2u);
  EXPECT_EQ(one_class.rows_used, 0u);
}

TEST(Gauc, TiedScoresInAGroupGiveOneHalf) {
  const GaucResult r = gauc({0.3f, 0.3f, 0.3f}, {1, 0, 0}, {9, 9, 9});
  EXPECT_DOUBLE_EQ(r.value_weighted, 0.5);
}

TEST(Gauc, RejectsBadInput) {
  EXPECT_THROW(gauc({0.1f, NAN}, {0, 1}, {1, 1}), Error);
  EXPECT_THROW(gauc({0.1f, 0.2f}, {0, 3}, {1, 1}), Error);
  EXPECT_THROW(gauc({0.1f, 0.2f}, {0, 1}, std::vector<uint64_t>{1}), Error);
}

}  // namespace
}  // namespace funnel::metric
