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
// With a list column, the entries on all impressions (ctr, ctcvr, "<event>") also hold NDCG
// of each list ranked by the entry's probability against the event's 0/1 label: "ndcg" over
// the whole list (HEROES §5.1), "ndcg@1", "@3", "@5", "@10", and the lists used / skipped
// (lists without a positive). The conditional entries (cvr, "<event>|<parent>") hold none:
// they keep only the rows where the parent happened, which cuts the lists into arbitrary
// fragments, and a ranking metric of those fragments is not the paper's.
// No LibTorch here: inputs are plain arrays of entire-space log-probabilities.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace funnel::metric {

/// Predictions and labels of one split, event-major: log_p[e * n + i] = log P(event e) of row
/// i over the entire impression space; labels likewise (0/1).
struct FunnelPredictions {
  size_t n = 0;
  std::vector<float> log_p;
  std::vector<float> labels;
  std::vector<uint64_t> group;  // empty when the schema has no group column
  std::vector<uint64_t> list;   // the list id of each row; empty when there is no list column
};

struct FunnelMetricsOptions {
  bool gauc = true;   ///< when a group column exists
  bool top_k = true;  ///< ESM2's F1/P/R at the top fractions
  bool ndcg = true;   ///< when a list column exists (entries on all impressions only)
};

/// P(event | ancestor) from entire-space log-probabilities: exp(log P(e) - log P(a)), capped at
/// 1 (a model's P(e) may exceed its P(a) where nothing ties them). The one formula of every
/// conditional probability Funnel reports (metrics, predictions); T = float or double.
template <typename T>
T capped_conditional(T log_p_event, T log_p_ancestor) {
  return std::min(T(1), std::exp(log_p_event - log_p_ancestor));
}

/// One entry of funnel_metrics: P(`event`) on all impressions (given = -1), or P(`event` | the
/// ancestor event `given`) on the rows where the ancestor happened.
struct FunnelMetricEntry {
  std::string name;
  size_t event = 0;
  int given = -1;
};
/// The entries funnel_metrics writes for a funnel, in funnel order (see the file comment).
std::vector<FunnelMetricEntry> funnel_metric_entries(const std::vector<std::string>& events,
                                                     const std::vector<int>& parents);
/// Throws, naming `who`, unless `p` holds [events x rows] predictions and labels (and one group
/// and one list id per row, or none) and there is one parent per event.
void check_funnel_predictions(const FunnelPredictions& p, const std::vector<std::string>& events,
                              const std::vector<int>& parents, const char* who);
/// The probabilities and labels an entry is measured on: every row for P(event), the rows where
/// the ancestor happened for P(event | ancestor); `group` (may be null) the rows' groups.
void entry_rows(const FunnelPredictions& p, const FunnelMetricEntry& entry,
                std::vector<float>* probs, std::vector<float>* labels,
                std::vector<uint64_t>* group);

/// A scalar of funnel_metrics that training can follow: "<entry>.<metric>", e.g. cvr.auc.
struct MetricPath {
  std::string entry;
  std::string metric;
  /// auc, gauc, gauc_unweighted, ndcg, ndcg@k: higher is better; nll: lower.
  bool higher_is_better = true;

  std::string str() const { return entry + "." + metric; }
  /// Throws, listing the entries of the funnel, unless funnel_metrics writes `entry` for it
  /// (and, for an NDCG metric, the entry is measured on all impressions).
  void check_entry(const std::vector<std::string>& events, const std::vector<int>& parents,
                   const std::string& path) const;
  /// The value in a funnel_metrics object; NaN when absent or null.
  double value_in(const nlohmann::json& metrics) const;
};
/// Parses "<entry>.<metric>" (split at the last dot: event names may hold dots); the metric must
/// be auc, gauc, gauc_unweighted, ndcg, ndcg@1, ndcg@3, ndcg@5, ndcg@10 or nll. Throws naming
/// `path` and listing the choices.
MetricPath parse_metric_path(const std::string& text, const std::string& path);

/// events and parents as in the schema. Returns {"ctr": {...}, "cvr": {...}, "ctcvr": {...},
/// ...} as described above.
nlohmann::json funnel_metrics(const FunnelPredictions& p, const std::vector<std::string>& events,
                              const std::vector<int>& parents,
                              const FunnelMetricsOptions& options = {});

/// Human table of one or more splits' funnel_metrics: `splits` maps a split name to its
/// metrics object; entries in funnel order (ctr, cvr, ctcvr, then the rest), AUC / NLL / rows,
/// and whole-list NDCG when some entry has it ("-" on the conditional entries).
std::string funnel_metrics_table(const nlohmann::json& splits);

}  // namespace funnel::metric
