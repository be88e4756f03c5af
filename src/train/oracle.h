#pragma once
// The oracle: predictions from the true probabilities that simulated data carries
// (data.truth, aux columns of the cache). Its metrics are the best any model can reach on the
// split (Bayes-optimal AUC and NLL up to sampling noise), the row users compare models with.
// Header-only and without LibTorch.

#include <cmath>
#include <optional>
#include <string>

#include "data/cache.h"
#include "train/funnel_metrics.h"

namespace funnel::train {

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
  for (size_t e = 0; e < E; ++e) {
    const size_t a = static_cast<size_t>(layout.truth_aux[e]);
    const int parent = layout.event_parent[e];
    for (size_t i = 0; i < n; ++i) {
      // Entire space: log P(e) = log P(e | parent) + log P(parent); parents precede children.
      const double cond = std::log(static_cast<double>(aux[i * A + a]));
      const float base = parent < 0 ? 0.0f : p.log_p[static_cast<size_t>(parent) * n + i];
      p.log_p[e * n + i] = static_cast<float>(cond + base);
      p.labels[e * n + i] = labels[i * E + e];
    }
  }
  if (layout.has_group) p.group.assign(split.group(), split.group() + n);
  return p;
}

}  // namespace funnel::train
