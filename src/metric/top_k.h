#pragma once
// Precision, recall and F1 among the top k% of rows ranked by score (ESM2, Tables 4-5,
// report them at the top 0.1%, 0.6% and 1% of the test set; any fraction in (0, 1] works).
//
//   k = ceil(fraction * n)   (a product within 1e-9 relative of an integer counts as that
//                             integer, so 0.006 * 1000 gives 6, not 7)
//   precision = TP / k,  recall = TP / #positives,  F1 = 2 * P * R / (P + R)
//
// Ties at the cutoff: rows scoring above the k-th largest score are all in; the rows tied
// with it share the remaining slots proportionally, i.e. TP = positives above the cutoff +
// positives tied * (slots left / rows tied). This is the expected TP under a uniformly
// random tie break, so it is deterministic and does not depend on row order (a stable
// order by index would let the input order decide, e.g. a constant scorer on label-sorted
// data would score a perfect precision). TP can therefore be fractional.
//
// Edge cases: n == 0 -> k = 0 and all values NaN; no positives -> precision 0, recall and F1
// NaN; precision + recall == 0 -> F1 = 0. Throws funnel::Error on a NaN score, a label other
// than 0/1, or a fraction outside (0, 1].

#include <array>
#include <cstddef>
#include <vector>

namespace funnel::metric {

/// The cut-offs of ESM2 Tables 4-5.
inline constexpr std::array<double, 3> kEsm2TopFractions = {0.001, 0.006, 0.01};

struct TopKResult {
  double fraction = 0;        ///< requested fraction of rows
  size_t k = 0;               ///< rows taken: ceil(fraction * n)
  double true_positives = 0;  ///< positives among them (fractional under ties)
  double precision = 0;
  double recall = 0;
  double f1 = 0;
};

/// Rows taken for a fraction of n (the rounding rule above).
size_t top_k_count(double fraction, size_t n);

TopKResult top_k(const float* scores, const float* labels, size_t n, double fraction);
/// Several fractions over one pass of input checks (one O(n) selection per fraction).
std::vector<TopKResult> top_k(const float* scores, const float* labels, size_t n,
                              const std::vector<double>& fractions);
std::vector<TopKResult> top_k(const std::vector<float>& scores, const std::vector<float>& labels,
                              const std::vector<double>& fractions);

}  // namespace funnel::metric
