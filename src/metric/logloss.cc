#include "metric/logloss.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "metric/input_check.h"

namespace funnel::metric {

double logloss(const float* probs, const float* labels, size_t n) {
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    check_probability(probs[i], i);
    check_label(labels[i], i);
    const double p = std::clamp(static_cast<double>(probs[i]), kLoglossEps, 1.0 - kLoglossEps);
    sum -= labels[i] == 1.0f ? std::log(p) : std::log1p(-p);
  }
  return sum / static_cast<double>(n);
}

double logloss(const std::vector<float>& probs, const std::vector<float>& labels) {
  check_same_size(probs, labels, "labels");
  return logloss(probs.data(), labels.data(), probs.size());
}

}  // namespace funnel::metric
