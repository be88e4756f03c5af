#pragma once
// Exact ROC AUC over a whole split (never averaged over batches).
//
// AUC = P(score of a random positive > score of a random negative), a tied pair counting
// one half: the Mann-Whitney U statistic with average ranks for tied scores, divided by
// (#positives * #negatives). Scores are compared as floats; -0.0 and +0.0 tie.
// Weighted form: each (positive i, negative j) pair counts w_i * w_j, normalised by
// (sum of positive weights) * (sum of negative weights).
//
// Returns NaN when n == 0 or one class is missing (or has zero total weight): the value is
// undefined there, and NaN keeps it from being mistaken for 0.5 in a report.
// Throws funnel::Error on a NaN score, a label other than 0/1, or a negative or non-finite
// weight. Cost: O(n) memory (16 bytes a row) and a 3-pass radix sort, ~0.1 s per 10M rows.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace funnel::metric {

double auc(const float* scores, const float* labels, size_t n);
double auc(const float* scores, const float* labels, const float* weights, size_t n);

double auc(const std::vector<float>& scores, const std::vector<float>& labels);
double auc(const std::vector<float>& scores, const std::vector<float>& labels,
           const std::vector<float>& weights);

/// Building block for grouped metrics: AUC of n elements pack(score_key(s), label) sorted
/// by key (see score_sort.h). Labels must already be checked. NaN if a class is missing.
double auc_of_sorted(const uint64_t* sorted, size_t n);

}  // namespace funnel::metric
