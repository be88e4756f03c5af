#include "metric/curves.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "metric/input_check.h"
#include "metric/score_sort.h"

namespace funnel::metric {
namespace {

/// Rows sorted ascending by score, packed with the row index (row order breaks no tie: the
/// radix sort leaves equal keys in an unspecified order, and nothing below depends on it).
std::vector<uint64_t> sorted_rows(const std::vector<float>& scores) {
  FUNNEL_CHECK(scores.size() < (size_t{1} << 32), "curves: more than 2^32 rows");
  std::vector<uint64_t> keys(scores.size()), scratch(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) {
    keys[i] = pack(score_key(scores[i]), static_cast<uint32_t>(i));
  }
  sort_packed(keys, scratch);
  return keys;
}

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

}  // namespace

std::vector<ReliabilityBin> reliability_bins(const std::vector<float>& probs,
                                             const std::vector<float>& labels, size_t bins) {
  check_same_size(probs, labels, "labels");
  FUNNEL_CHECK(bins >= 1, "reliability_bins: bins must be >= 1");
  const size_t n = probs.size();
  for (size_t i = 0; i < n; ++i) {
    check_probability(probs[i], i);
    check_label(labels[i], i);
  }
  const std::vector<uint64_t> order = sorted_rows(probs);
  std::vector<ReliabilityBin> out;
  for (size_t b = 0; b < bins; ++b) {
    const size_t begin = b * n / bins, end = (b + 1) * n / bins;
    if (begin == end) continue;
    ReliabilityBin bin;
    bin.count = end - begin;
    double sum_p = 0, sum_y = 0;
    for (size_t k = begin; k < end; ++k) {
      const uint32_t row = packed_payload(order[k]);
      sum_p += probs[row];
      sum_y += labels[row];
    }
    bin.mean_prediction = sum_p / static_cast<double>(bin.count);
    bin.observed_rate = sum_y / static_cast<double>(bin.count);
    bin.lo = probs[packed_payload(order[begin])];
    bin.hi = probs[packed_payload(order[end - 1])];
    out.push_back(bin);
  }
  return out;
}

RocCurve roc_curve(const std::vector<float>& scores, const std::vector<float>& labels,
                   size_t max_points) {
  check_same_size(scores, labels, "labels");
  const size_t n = scores.size();
  RocCurve c;
  for (size_t i = 0; i < n; ++i) {
    check_score(scores[i], i);
    check_label(labels[i], i);
    (labels[i] > 0.5f ? c.positives : c.negatives) += 1;
  }
  if (c.positives == 0 || c.negatives == 0) return c;
  const std::vector<uint64_t> order = sorted_rows(scores);
  const double P = static_cast<double>(c.positives), N = static_cast<double>(c.negatives);
  std::vector<double> fpr = {0.0}, tpr = {0.0};
  size_t tp = 0, fp = 0;
  // From the highest score down; one point after each group of tied scores.
  for (size_t k = n; k > 0;) {
    const uint32_t key = packed_key(order[k - 1]);
    while (k > 0 && packed_key(order[k - 1]) == key) {
      (labels[packed_payload(order[k - 1])] > 0.5f ? tp : fp) += 1;
      --k;
    }
    fpr.push_back(static_cast<double>(fp) / N);
    tpr.push_back(static_cast<double>(tp) / P);
  }
  if (max_points == 0 || fpr.size() <= max_points) {
    c.fpr = std::move(fpr);
    c.tpr = std::move(tpr);
    return c;
  }
  // Thinned: a point is kept once the curve has advanced a (1 + 1) / (max_points - 1) share of
  // its length (fpr + tpr grows from 0 to 2), so the points spread along the curve.
  const double spacing = 2.0 / static_cast<double>(std::max<size_t>(2, max_points) - 1);
  c.fpr.push_back(fpr[0]);
  c.tpr.push_back(tpr[0]);
  double last = 0;
  for (size_t k = 1; k + 1 < fpr.size(); ++k) {
    const double at = fpr[k] + tpr[k];
    if (at - last >= spacing && c.fpr.size() + 1 < max_points) {
      c.fpr.push_back(fpr[k]);
      c.tpr.push_back(tpr[k]);
      last = at;
    }
  }
  c.fpr.push_back(fpr.back());
  c.tpr.push_back(tpr.back());
  return c;
}

double trapezoid_area(const std::vector<double>& x, const std::vector<double>& y) {
  FUNNEL_CHECK(x.size() == y.size(), "trapezoid_area: x and y differ in length");
  double area = 0;
  for (size_t k = 1; k < x.size(); ++k) area += (x[k] - x[k - 1]) * (y[k] + y[k - 1]) / 2;
  return area;
}

nlohmann::json funnel_curves(const FunnelPredictions& p, const std::vector<std::string>& events,
                             const std::vector<int>& parents, const FunnelCurvesOptions& o) {
  check_funnel_predictions(p, events, parents, "funnel_curves");
  nlohmann::json j = nlohmann::json::object();
  std::vector<float> probs, labels;
  for (const FunnelMetricEntry& entry : funnel_metric_entries(events, parents)) {
    entry_rows(p, entry, &probs, &labels, nullptr);
    nlohmann::json bins = nlohmann::json::array();
    for (const ReliabilityBin& b : reliability_bins(probs, labels, o.bins)) {
      bins.push_back({{"count", b.count},
                      {"mean_prediction", finite_or_null(b.mean_prediction)},
                      {"observed_rate", finite_or_null(b.observed_rate)},
                      {"lo", finite_or_null(b.lo)},
                      {"hi", finite_or_null(b.hi)}});
    }
    const RocCurve roc = roc_curve(probs, labels, o.roc_points);
    j[entry.name] = {{"rows", probs.size()},
                     {"reliability", bins},
                     {"roc", {{"fpr", roc.fpr}, {"tpr", roc.tpr}}}};
  }
  return j;
}

}  // namespace funnel::metric
