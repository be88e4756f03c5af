#include "metric/metric_set.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "metric/auc.h"
#include "metric/input_check.h"
#include "metric/logloss.h"

namespace funnel::metric {
namespace {

nlohmann::json number_or_null(double x) {
  return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr);
}

}  // namespace

MetricSet MetricSet::compute(const float* probs, const float* labels, size_t n) {
  MetricSet m;
  m.count = n;
  m.nll = logloss(probs, labels, n);  // validates probabilities and labels first
  m.auc = metric::auc(probs, labels, n);
  m.calibration = metric::calibration(probs, labels, n);
  for (size_t i = 0; i < n; ++i) m.positives += labels[i] == 1.0f;
  return m;
}

MetricSet MetricSet::compute(const std::vector<float>& probs, const std::vector<float>& labels) {
  check_same_size(probs, labels, "labels");
  return compute(probs.data(), labels.data(), probs.size());
}

void to_json(nlohmann::json& j, const MetricSet& m) {
  j = nlohmann::json{{"count", m.count},
                     {"positives", m.positives},
                     {"auc", number_or_null(m.auc)},
                     {"nll", number_or_null(m.nll)},
                     {"mean_prediction", number_or_null(m.calibration.mean_prediction)},
                     {"observed_rate", number_or_null(m.calibration.observed_rate)},
                     {"calibration", number_or_null(m.calibration.ratio)}};
}

}  // namespace funnel::metric
