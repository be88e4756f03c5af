#include "metric/funnel_metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "core/error.h"
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

/// Four rows of a click -> arrival -> conversion funnel.
FunnelPredictions three_event_predictions() {
  FunnelPredictions p;
  p.n = 4;
  p.log_p = {std::log(0.5f), std::log(0.4f), std::log(0.3f), std::log(0.2f),
             std::log(0.25f), std::log(0.2f), std::log(0.1f), std::log(0.1f),
             std::log(0.1f), std::log(0.1f), std::log(0.05f), std::log(0.01f)};
  p.labels = {1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0};
  return p;
}

TEST(FunnelMetrics, ThreeEventsHaveIntermediateEntries) {
  FunnelPredictions p = three_event_predictions();
  p.group = {1, 1, 2, 2};
  const auto j = funnel_metrics(p, {"click", "arrival", "conversion"}, {-1, 0, 1});
  for (const char* k : {"ctr", "cvr", "ctcvr", "arrival", "arrival|click", "conversion|arrival"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(j["arrival|click"]["count"], 3u);       // rows with a click
  EXPECT_EQ(j["conversion|arrival"]["count"], 2u);  // rows with an arrival
  EXPECT_TRUE(j["ctr"].contains("gauc"));
}

// Mean NDCG@k over lists, brute force: each list sorted by score (distinct scores), DCG with
// 1 / log2(rank + 2) and 0/1 gains, over the DCG of the list sorted by label. Lists without a
// positive are counted in *skipped.
double brute_force_ndcg(const std::vector<float>& s, const std::vector<float>& y,
                        const std::vector<uint64_t>& lists, size_t k, size_t* skipped) {
  std::map<uint64_t, std::vector<size_t>> rows;
  for (size_t i = 0; i < s.size(); ++i) rows[lists[i]].push_back(i);
  double sum = 0;
  size_t used = 0;
  *skipped = 0;
  for (auto& [id, r] : rows) {
    std::vector<float> ideal;
    for (size_t i : r) ideal.push_back(y[i]);
    std::sort(ideal.begin(), ideal.end(), std::greater<>());
    std::sort(r.begin(), r.end(), [&](size_t a, size_t b) { return s[a] > s[b]; });
    double dcg = 0, idcg = 0;
    for (size_t rank = 0; rank < std::min(k, r.size()); ++rank) {
      dcg += y[r[rank]] / std::log2(rank + 2.0);
      idcg += ideal[rank] / std::log2(rank + 2.0);
    }
    if (idcg == 0) {
      ++*skipped;
      continue;
    }
    sum += dcg / idcg;
    ++used;
  }
  return used > 0 ? sum / used : NAN;
}

// A 2-event funnel over `lists` scattered lists, distinct probabilities, rare conversions (many
// lists without one).
FunnelPredictions list_predictions(size_t n, uint64_t lists, uint64_t seed) {
  Rng rng(seed);
  std::vector<size_t> perm_click(n), perm_conv(n);
  std::iota(perm_click.begin(), perm_click.end(), 0);
  std::iota(perm_conv.begin(), perm_conv.end(), 0);
  for (size_t i = n; i > 1; --i) {
    std::swap(perm_click[i - 1], perm_click[rng.below(i)]);
    std::swap(perm_conv[i - 1], perm_conv[rng.below(i)]);
  }
  FunnelPredictions p;
  p.n = n;
  p.log_p.resize(2 * n);
  p.labels.resize(2 * n);
  for (size_t i = 0; i < n; ++i) {
    const double pc = 0.05 + 0.9 * (perm_click[i] + 0.5) / n;
    const double pv = 0.05 + 0.5 * (perm_conv[i] + 0.5) / n;
    const bool click = rng.uniform() < pc, conv = click && rng.uniform() < pv;
    p.log_p[i] = static_cast<float>(std::log(pc));
    p.log_p[n + i] = static_cast<float>(std::log(pc * pv));
    p.labels[i] = click;
    p.labels[n + i] = conv;
    p.list.push_back(rng.below(lists));  // rows of a list scattered
  }
  return p;
}

TEST(FunnelMetrics, NdcgOfCtrAndCtcvrMatchesBruteForcePerList) {
  const FunnelPredictions p = list_predictions(600, 60, 11);
  const auto j = funnel_metrics(p, {"click", "purchase"}, {-1, 0});
  for (const auto& [name, e] :
       std::vector<std::pair<std::string, size_t>>{{"ctr", 0}, {"ctcvr", 1}}) {
    std::vector<float> s(p.n), y(p.n);
    for (size_t i = 0; i < p.n; ++i) {
      s[i] = std::exp(p.log_p[e * p.n + i]);
      y[i] = p.labels[e * p.n + i];
    }
    size_t skipped = 0;
    for (const auto& [key, k] : std::vector<std::pair<std::string, size_t>>{
             {"ndcg", p.n}, {"ndcg@1", 1}, {"ndcg@3", 3}, {"ndcg@5", 5}, {"ndcg@10", 10}}) {
      const double want = brute_force_ndcg(s, y, p.list, k, &skipped);
      ASSERT_TRUE(j[name][key].is_number()) << name << "." << key;
      EXPECT_NEAR(j[name][key].get<double>(), want, 1e-12) << name << "." << key;
    }
    EXPECT_EQ(j[name]["ndcg_lists_skipped"], skipped) << name;
    EXPECT_EQ(j[name]["ndcg_lists_used"].get<size_t>() + skipped, 60u) << name;
  }
  // Rare conversions: some lists have none and are skipped for CTCVR.
  EXPECT_GT(j["ctcvr"]["ndcg_lists_skipped"].get<size_t>(), 0u);
  // The whole list is deeper than the top 10 (lists hold ~10 rows, some more).
  EXPECT_NE(j["ctr"]["ndcg"].get<double>(), j["ctr"]["ndcg@1"].get<double>());
}

TEST(FunnelMetrics, NdcgOfAListWithoutPositivesIsNullAndCounted) {
  FunnelPredictions p;
  p.n = 4;
  p.log_p = {std::log(0.5f), std::log(0.4f), std::log(0.3f), std::log(0.2f),
             std::log(0.2f), std::log(0.1f), std::log(0.1f), std::log(0.05f)};
  p.labels = {0, 1, 0, 0, 0, 1, 0, 0};
  p.list = {7, 7, 9, 9};  // list 9 has no click
  const auto j = funnel_metrics(p, {"click", "purchase"}, {-1, 0});
  EXPECT_EQ(j["ctr"]["ndcg_lists_used"], 1u);
  EXPECT_EQ(j["ctr"]["ndcg_lists_skipped"], 1u);
  // List 7 ranks the click second: 1 / log2(3) over the whole list, 0 at the top 1.
  EXPECT_NEAR(j["ctr"]["ndcg"].get<double>(), 1 / std::log2(3.0), 1e-12);
  EXPECT_NEAR(j["ctr"]["ndcg@1"].get<double>(), 0.0, 1e-12);
  // No conversion at all: CTCVR NDCG is null, both lists skipped.
  p.labels = {0, 1, 0, 0, 0, 0, 0, 0};
  const auto none = funnel_metrics(p, {"click", "purchase"}, {-1, 0});
  EXPECT_TRUE(none["ctcvr"]["ndcg"].is_null());
  EXPECT_EQ(none["ctcvr"]["ndcg_lists_used"], 0u);
  EXPECT_EQ(none["ctcvr"]["ndcg_lists_skipped"], 2u);
}

TEST(FunnelMetrics, NdcgOnlyWithListsAndOnlyOnAllImpressions) {
  FunnelPredictions p = three_event_predictions();
  const std::vector<std::string> events = {"click", "arrival", "conversion"};
  const std::vector<int> parents = {-1, 0, 1};
  const char* keys[] = {
      "ndcg", "ndcg@1", "ndcg@3", "ndcg@5", "ndcg@10", "ndcg_lists_used", "ndcg_lists_skipped"};
  // No list column: no NDCG anywhere.
  const auto plain = funnel_metrics(p, events, parents);
  for (const auto& [entry, m] : plain.items()) {
    for (const char* k : keys) EXPECT_FALSE(m.contains(k)) << entry << "." << k;
  }
  p.list = {1, 1, 2, 2};
  const auto j = funnel_metrics(p, events, parents);
  for (const char* entry : {"ctr", "ctcvr", "arrival"}) {
    for (const char* k : keys) EXPECT_TRUE(j[entry].contains(k)) << entry << "." << k;
  }
  for (const char* entry : {"cvr", "arrival|click", "conversion|arrival"}) {
    for (const char* k : keys) EXPECT_FALSE(j[entry].contains(k)) << entry << "." << k;
  }
  FunnelMetricsOptions off;
  off.ndcg = false;
  EXPECT_FALSE(funnel_metrics(p, events, parents, off)["ctr"].contains("ndcg"));
}

TEST(FunnelMetrics, ListIdsMustBeOnePerRow) {
  FunnelPredictions p = list_predictions(20, 3, 5);
  p.list.pop_back();
  EXPECT_THROW(funnel_metrics(p, {"click", "purchase"}, {-1, 0}), Error);
  try {
    check_funnel_predictions(p, {"click", "purchase"}, {-1, 0}, "eval");
    ADD_FAILURE() << "19 list ids for 20 rows accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("one list id per row, got 19 for 20 rows"),
              std::string::npos)
        << e.what();
  }
}

TEST(FunnelMetrics, EarlyStoppingCanFollowNdcgOnAllImpressions) {
  const MetricPath m = parse_metric_path("ctr.ndcg", "train.early_stop_metric");
  EXPECT_EQ(m.entry, "ctr");
  EXPECT_EQ(m.metric, "ndcg");
  EXPECT_TRUE(m.higher_is_better);
  EXPECT_TRUE(parse_metric_path("ctcvr.ndcg@5", "x").higher_is_better);
  EXPECT_NO_THROW(m.check_entry({"click", "purchase"}, {-1, 0}, "x"));
  // cvr holds no NDCG: refused where it is parsed, naming the entries that do.
  const MetricPath cvr = parse_metric_path("cvr.ndcg", "x");
  try {
    cvr.check_entry({"click", "purchase"}, {-1, 0}, "train.early_stop_metric");
    ADD_FAILURE() << "cvr.ndcg accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("all impressions only (ctr or ctcvr)"), std::string::npos)
        << e.what();
  }
  try {
    parse_metric_path("ctr.ndgc", "x");
    ADD_FAILURE() << "ndgc accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ndcg, ndcg@1, ndcg@3, ndcg@5, ndcg@10 or nll"),
              std::string::npos)
        << e.what();
  }
  FunnelPredictions p = list_predictions(50, 5, 2);
  const auto j = funnel_metrics(p, {"click", "purchase"}, {-1, 0});
  EXPECT_EQ(m.value_in(j), j["ctr"]["ndcg"].get<double>());
}

TEST(FunnelMetrics, TableHasAnNdcgColumnOnlyWithLists) {
  FunnelPredictions p = list_predictions(50, 5, 2);
  const std::string with = funnel_metrics_table({{"test", funnel_metrics(p, {"a", "b"}, {-1, 0})}});
  EXPECT_NE(with.find("NDCG"), std::string::npos) << with;
  p.list.clear();
  const std::string without =
      funnel_metrics_table({{"test", funnel_metrics(p, {"a", "b"}, {-1, 0})}});
  EXPECT_EQ(without.find("NDCG"), std::string::npos) << without;
}

}  // namespace
}  // namespace funnel::metric
