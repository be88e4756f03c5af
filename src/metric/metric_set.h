#pragma once
// The standard metrics of one event on one split (DESIGN.md: metrics.json holds one object
// per split and event), computed together and written as JSON:
//
//   {"count": n, "positives": P, "auc": .., "nll": .., "mean_prediction": ..,
//    "observed_rate": .., "calibration": mean_prediction / observed_rate}
//
// Undefined values (AUC with one class, anything on zero rows) are NaN in the struct and
// null in the JSON, since JSON has no NaN.

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <vector>

#include "metric/calibration.h"

namespace funnel::metric {

struct MetricSet {
  size_t count = 0;
  size_t positives = 0;
  double auc = 0;  ///< auc.h
  double nll = 0;  ///< logloss.h
  Calibration calibration;

  /// `probs` are probabilities of the event (checked as in logloss.h), `labels` 0/1.
  static MetricSet compute(const float* probs, const float* labels, size_t n);
  static MetricSet compute(const std::vector<float>& probs, const std::vector<float>& labels);
};

/// nlohmann conversion (`nlohmann::json j = metric_set;`).
void to_json(nlohmann::json& j, const MetricSet& m);

}  // namespace funnel::metric
