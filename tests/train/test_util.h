#pragma once
// Shared helpers of the train tests.

#include <cmath>

namespace funnel::train::testing {

inline double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

}  // namespace funnel::train::testing
