#include "metric/top_k.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>

#include "core/error.h"
#include "metric/input_check.h"
#include "metric/score_sort.h"
#include "core/scratch_array.h"

namespace funnel::metric {
namespace {

constexpr double kTopKUndefined = std::numeric_limits<double>::quiet_NaN();

void check_fraction(double fraction) {
  FUNNEL_CHECK(fraction > 0.0 && fraction <= 1.0,
               "top_k: fraction must be in (0, 1], got " << fraction);
}

}  // namespace

size_t top_k_count(double fraction, size_t n) {
  check_fraction(fraction);
  const double x = fraction * static_cast<double>(n);
  const double nearest = std::round(x);
  const double k = std::abs(x - nearest) <= 1e-9 * std::max(1.0, x) ? nearest : std::ceil(x);
  return std::min(n, static_cast<size_t>(k));
}

std::vector<TopKResult> top_k(const float* scores, const float* labels, size_t n,
                              const std::vector<double>& fractions) {
  for (double f : fractions) check_fraction(f);
  ScratchArray<uint32_t> keys(n);
  double positives = 0;
  for (size_t i = 0; i < n; ++i) {
    check_score(scores[i], i);
    check_label(labels[i], i);
    keys[i] = score_key(scores[i]);
    positives += labels[i];
  }
  std::vector<TopKResult> results;
  results.reserve(fractions.size());
  for (double fraction : fractions) {
    TopKResult r;
    r.fraction = fraction;
    r.k = top_k_count(fraction, n);
    if (n == 0) {
      r.true_positives = r.precision = r.recall = r.f1 = kTopKUndefined;
      results.push_back(r);
      continue;
    }
    // The k-th largest key is the cutoff; nth_element keeps `keys` a permutation, so the
    // same buffer serves every fraction.
    std::nth_element(keys.data(), keys.data() + (r.k - 1), keys.data() + n, std::greater<>());
    const uint32_t cutoff = keys[r.k - 1];
    size_t above = 0, tied = 0;
    double pos_above = 0, pos_tied = 0;
    for (size_t i = 0; i < n; ++i) {
      const uint32_t key = score_key(scores[i]);
      if (key > cutoff) {
        ++above;
        pos_above += labels[i];
      } else if (key == cutoff) {
        ++tied;
        pos_tied += labels[i];
      }
    }
    r.true_positives =
        pos_above + pos_tied * static_cast<double>(r.k - above) / static_cast<double>(tied);
    r.precision = r.true_positives / static_cast<double>(r.k);
    r.recall = positives > 0 ? r.true_positives / positives : kTopKUndefined;
    if (std::isnan(r.recall)) {
      r.f1 = kTopKUndefined;
    } else {
      const double sum = r.precision + r.recall;
      r.f1 = sum > 0 ? 2 * r.precision * r.recall / sum : 0.0;
    }
    results.push_back(r);
  }
  return results;
}

TopKResult top_k(const float* scores, const float* labels, size_t n, double fraction) {
  return top_k(scores, labels, n, std::vector<double>{fraction}).front();
}

std::vector<TopKResult> top_k(const std::vector<float>& scores, const std::vector<float>& labels,
                              const std::vector<double>& fractions) {
  check_same_size(scores, labels, "labels");
  return top_k(scores.data(), labels.data(), scores.size(), fractions);
}

}  // namespace funnel::metric
