#pragma once
// The oracle: predictions from the true probabilities that simulated data carries
// (data.truth, aux columns of the cache). Its metrics are the best any model can reach on the
// split (Bayes-optimal AUC and NLL up to sampling noise), the row users compare models with.
// Header-only and without LibTorch.

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "data/cache.h"
#include "train/funnel_metrics.h"

namespace funnel::train {

/// Entire-space log P(event) of the truth for row `i` of a table whose rows have `A` aux values
/// (`aux + i * A`), event by event into out[e] (parents precede children).
inline void truth_log_p_row(const data::Layout& layout, const float* aux_row, float* out) {
  for (size_t e = 0; e < layout.num_events(); ++e) {
    const int parent = layout.event_parent[e];
    const double cond = std::log(static_cast<double>(aux_row[layout.truth_aux[e]]));
    out[e] = static_cast<float>(cond + (parent < 0 ? 0.0 : out[parent]));
  }
}

/// FunnelPredictions of `split` whose log P(event) are the true entire-space probabilities:
/// the product of the true P(e | parent) along e's chain. std::nullopt when some event has no
/// truth column.
inline std::optional<FunnelPredictions> truth_predictions(const data::Cache& cache,
                                                          const std::string& split_name) {
  const data::Layout& layout = cache.layout();
  if (!layout.has_truth()) return std::nullopt;
  const data::CacheSplit& split = cache.split(split_name);
  const size_t n = split.rows(), E = layout.num_events(), A = layout.aux.size();
  FunnelPredictions p;
  p.n = n;
  p.log_p.resize(E * n);
  p.labels.resize(E * n);
  const float* aux = split.aux();
  const uint8_t* labels = split.labels();
  std::vector<float> row(E);
  for (size_t i = 0; i < n; ++i) {
    // Entire space: log P(e) = log P(e | parent) + log P(parent).
    truth_log_p_row(layout, aux + i * A, row.data());
    for (size_t e = 0; e < E; ++e) {
      p.log_p[e * n + i] = row[e];
      p.labels[e * n + i] = labels[i * E + e];
    }
  }
  if (layout.has_group) p.group.assign(split.group(), split.group() + n);
  return p;
}

}  // namespace funnel::train
