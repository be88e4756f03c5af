#pragma once
// The papers' metrics of a funnel model on one split, with unambiguous names (DESIGN.md):
//   ctr    first event, all impressions, P(first)
//   cvr    last event given the first, on rows where the first happened,
//          P(last | first) = P(last) / P(first)   (e.g. p(conversion | click))
//   ctcvr  last event, all impressions, entire-space P(last)
// and for every event in between (3+ event funnels), "<event>" on all impressions and
// "<event>|<parent>" on the rows where its parent happened. Each entry holds AUC, NLL,
// calibration (metric::MetricSet), optionally GAUC by the group column and precision /
// recall / F1 at the top 0.1 %, 0.6 %, 1 % (ESM2 tables 4-5).
// No LibTorch here: inputs are plain arrays of entire-space log-probabilities.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace funnel::train {

/// Predictions and labels of one split, event-major: log_p[e * n + i] = log P(event e) of row
/// i over the entire impression space; labels likewise (0/1).
struct FunnelPredictions {
  size_t n = 0;
  std::vector<float> log_p;
  std::vector<float> labels;
  std::vector<uint64_t> group;  // empty when the schema has no group column
};

struct FunnelMetricsOptions {
  bool gauc = true;   ///< when a group column exists
  bool top_k = true;  ///< ESM2's F1/P/R at the top fractions
};

/// events and parents as in the schema. Returns {"ctr": {...}, "cvr": {...}, "ctcvr": {...},
/// ...} as described above.
nlohmann::json funnel_metrics(const FunnelPredictions& p, const std::vector<std::string>& events,
                              const std::vector<int>& parents,
                              const FunnelMetricsOptions& options = {});

/// Human table of one or more splits' funnel_metrics: `splits` maps a split name to its
/// metrics object; entries in funnel order (ctr, cvr, ctcvr, then the rest), AUC / NLL / rows.
std::string funnel_metrics_table(const nlohmann::json& splits);

}  // namespace funnel::train
