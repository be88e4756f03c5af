#pragma once
// Group AUC (GAUC): AUC within each group (usually a user), then averaged over groups.
//
//   value_weighted   = sum_g n_g * AUC_g / sum_g n_g   (n_g = rows, i.e. impressions, of g)
//   value_unweighted = mean_g AUC_g
//
// Only groups with both a positive and a negative row are used; the others have no AUC and
// are skipped and counted in groups_skipped (rows_used counts the rows of used groups only).
// Both values are NaN when no group is used. Ties within a group count one half (auc.h).
// Throws funnel::Error on a NaN score or a label other than 0/1.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace funnel::metric {

struct GaucResult {
  double value_weighted = 0;    ///< impression-weighted mean of per-group AUC
  double value_unweighted = 0;  ///< plain mean of per-group AUC
  size_t groups_used = 0;       ///< groups with both classes
  size_t groups_skipped = 0;    ///< groups with one class only
  size_t rows_used = 0;         ///< rows in used groups
};

GaucResult gauc(const float* scores, const float* labels, const uint64_t* groups, size_t n);
GaucResult gauc(const std::vector<float>& scores, const std::vector<float>& labels,
                const std::vector<uint64_t>& groups);

}  // namespace funnel::metric
