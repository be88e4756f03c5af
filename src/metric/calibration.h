#pragma once
// Calibration of predicted probabilities against observed labels:
//
//   mean_prediction = mean_i p_i,  observed_rate = mean_i y_i,
//   ratio = mean_prediction / observed_rate   (1 = calibrated; >1 over-predicts)
//
// The ratio is the usual ads check that expected and observed conversions match (AITM
// reports a calibration constraint of the same spirit). NaN: every field when n == 0, the
// ratio when there are no positives. Throws funnel::Error on a prediction outside [0, 1]
// (or NaN) or a label other than 0/1.

#include <cstddef>
#include <vector>

namespace funnel::metric {

struct Calibration {
  size_t count = 0;
  double mean_prediction = 0;
  double observed_rate = 0;
  double ratio = 0;
};

Calibration calibration(const float* probs, const float* labels, size_t n);
Calibration calibration(const std::vector<float>& probs, const std::vector<float>& labels);

}  // namespace funnel::metric
