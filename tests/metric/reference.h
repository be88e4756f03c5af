#pragma once
// Naive references and random data shared by the metric tests.

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/rng.h"

namespace funnel::metric::testing {

/// Scores from `levels` distinct values (few levels = many ties), labels with P(1) = rate.
struct Data {
  std::vector<float> scores, labels, weights;
};

inline Data random_data(uint64_t seed, size_t n, uint64_t levels, double rate) {
  Rng rng(seed);
  Data d;
  for (size_t i = 0; i < n; ++i) {
    d.scores.push_back(static_cast<float>(rng.below(levels)) / static_cast<float>(levels));
    d.labels.push_back(rng.uniform() < rate ? 1.0f : 0.0f);
    d.weights.push_back(static_cast<float>(rng.below(5)) * 0.5f);  // zero weights included
  }
  return d;
}

/// O(n^2) pair counting: sum over (pos, neg) pairs of w+ w- ([s+ > s-] + [s+ == s-] / 2).
inline double brute_force_auc(const std::vector<float>& s, const std::vector<float>& y,
                              const std::vector<float>* w = nullptr) {
  double wins = 0, pos = 0, neg = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const double wi = w ? (*w)[i] : 1.0;
    (y[i] == 1.0f ? pos : neg) += wi;
    if (y[i] != 1.0f) continue;
    for (size_t j = 0; j < s.size(); ++j) {
      if (y[j] == 1.0f) continue;
      const double wj = w ? (*w)[j] : 1.0;
      wins += wi * wj * (s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0);
    }
  }
  if (pos == 0 || neg == 0) return std::numeric_limits<double>::quiet_NaN();
  return wins / (pos * neg);
}

/// Equal to `tol`, or both NaN (undefined on both sides).
inline ::testing::AssertionResult near_or_both_nan(double got, double want, double tol) {
  if (std::isnan(want) && std::isnan(got)) return ::testing::AssertionSuccess();
  if (std::abs(got - want) <= tol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << got << ", want " << want;
}

}  // namespace funnel::metric::testing
