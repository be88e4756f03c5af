#pragma once
// Logloss (mean negative log-likelihood, binary cross-entropy) of predicted probabilities:
//
//   nll = -(1/n) * sum_i [ y_i * log(p_i) + (1 - y_i) * log(1 - p_i) ],
//   p_i = clamp(score_i, kLoglossEps, 1 - kLoglossEps), computed in double.
//
// The clamp bounds one confident mistake at -log(1e-7) ~ 16.1 instead of infinity; it is
// the same eps as common framework defaults for BCE-on-probabilities, so numbers compare.
// Scores must be probabilities: a value outside [0, 1] (a logit passed by mistake) or NaN
// throws funnel::Error, as does a label other than 0/1. Returns NaN when n == 0.

#include <cstddef>
#include <vector>

namespace funnel::metric {

inline constexpr double kLoglossEps = 1e-7;

double logloss(const float* probs, const float* labels, size_t n);
double logloss(const std::vector<float>& probs, const std::vector<float>& labels);

}  // namespace funnel::metric
