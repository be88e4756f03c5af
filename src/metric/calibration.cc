#include "metric/calibration.h"

#include <limits>

#include "metric/input_check.h"

namespace funnel::metric {

Calibration calibration(const float* probs, const float* labels, size_t n) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  Calibration c;
  c.count = n;
  if (n == 0) {
    c.mean_prediction = c.observed_rate = c.ratio = kNaN;
    return c;
  }
  double sum_p = 0, sum_y = 0;
  for (size_t i = 0; i < n; ++i) {
    check_probability(probs[i], i);
    check_label(labels[i], i);
    sum_p += probs[i];
    sum_y += labels[i];
  }
  c.mean_prediction = sum_p / static_cast<double>(n);
  c.observed_rate = sum_y / static_cast<double>(n);
  c.ratio = sum_y > 0 ? sum_p / sum_y : kNaN;
  return c;
}

Calibration calibration(const std::vector<float>& probs, const std::vector<float>& labels) {
  check_same_size(probs, labels, "labels");
  return calibration(probs.data(), labels.data(), probs.size());
}

}  // namespace funnel::metric
