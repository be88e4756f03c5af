#pragma once
// Input checks shared by the metrics. A metric fed a NaN score or a label other than 0/1
// would return a plausible-looking number, so each is an error naming the row and value.

#include <cmath>
#include <cstddef>
#include <vector>

#include "core/error.h"

namespace funnel::metric {

inline void check_score(float score, size_t row) {
  FUNNEL_CHECK(!std::isnan(score), "metric: score is NaN at row " << row);
}

inline void check_label(float label, size_t row) {
  FUNNEL_CHECK(label == 0.0f || label == 1.0f,
               "metric: label must be 0 or 1, got " << label << " at row " << row);
}

inline void check_probability(float p, size_t row) {
  FUNNEL_CHECK(p >= 0.0f && p <= 1.0f, "metric: prediction must be a probability in [0, 1], got "
                                           << p << " at row " << row);
}

inline void check_weight(float weight, size_t row) {
  FUNNEL_CHECK(std::isfinite(weight) && weight >= 0.0f,
               "metric: weight must be finite and >= 0, got " << weight << " at row " << row);
}

template <typename A, typename B>
void check_same_size(const std::vector<A>& a, const std::vector<B>& b, const char* what) {
  FUNNEL_CHECK(a.size() == b.size(),
               "metric: " << what << " has " << b.size() << " values but scores have " << a.size());
}

}  // namespace funnel::metric
