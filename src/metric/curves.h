#pragma once
// The curves behind a model's calibration and ranking pictures (funnel report), computed once
// over a whole split like every metric here:
//
// - Reliability diagram (calibration per bin): rows sorted by prediction and cut into `bins`
//   groups of equal size (quantile bins: with rare events most predictions lie near 0, so bins
//   of equal width would put almost every row into the first); per bin the mean prediction
//   and the observed rate. A calibrated model has them equal. Rows with the same prediction
//   may fall into two neighbouring bins (the cut is by rank).
// - ROC curve: (false positive rate, true positive rate) after each distinct score, from the
//   highest score down, starting at (0, 0); tied scores form one step (the diagonal segment
//   whose area counts a tied pair one half, as metric::auc does). Thinned to at most
//   `max_points` points spaced along the curve, the first and last kept.
// Throws funnel::Error on a prediction outside [0, 1] or NaN, or a label other than 0/1.

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "metric/funnel_metrics.h"

namespace funnel::metric {

struct ReliabilityBin {
  size_t count = 0;
  double mean_prediction = 0;
  double observed_rate = 0;
  /// Smallest and largest prediction in the bin.
  double lo = 0;
  double hi = 0;
};

/// Non-empty quantile bins, in increasing prediction (fewer than `bins` when n < bins).
std::vector<ReliabilityBin> reliability_bins(const std::vector<float>& probs,
                                             const std::vector<float>& labels, size_t bins);

struct RocCurve {
  std::vector<double> fpr;
  std::vector<double> tpr;
  size_t positives = 0;
  size_t negatives = 0;
};

/// Empty (no points) when a class is missing. max_points 0 = every distinct score.
RocCurve roc_curve(const std::vector<float>& scores, const std::vector<float>& labels,
                   size_t max_points = 0);

/// Area under a curve of points by the trapezoid rule (the ROC AUC of an unthinned curve).
double trapezoid_area(const std::vector<double>& x, const std::vector<double>& y);

struct FunnelCurvesOptions {
  size_t bins = 20;
  size_t roc_points = 200;
};

/// For every entry of funnel_metrics (ctr, cvr on clicked rows, ctcvr, ...):
/// {"<entry>": {"rows", "reliability": [{"count", "mean_prediction", "observed_rate", "lo",
/// "hi"}, ...], "roc": {"fpr": [...], "tpr": [...]}}}.
nlohmann::json funnel_curves(const FunnelPredictions& p, const std::vector<std::string>& events,
                             const std::vector<int>& parents,
                             const FunnelCurvesOptions& options = {});

}  // namespace funnel::metric
