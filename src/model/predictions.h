#pragma once
// Predictions of a split as the metrics want them, and the oracle's. Plain C++ (no LibTorch):
// `funnel eval`, `funnel simulate` and `funnel compare` use it without the tensor headers.
//
//   BatchScores of each batch --PredictionCollector--> metric::FunnelPredictions --> funnel_metrics
//
// With simulated data the rows carry the true probabilities (the oracle, data.truth): the
// collector gathers them next to the model's, so a metrics table can show the best reachable
// row.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/batch.h"
#include "data/cache.h"
#include "data/layout.h"
#include "metric/funnel_metrics.h"

namespace funnel::model {

/// Scores of one batch: log_p[e * size + i] = entire-space log P(event e) of row i.
struct BatchScores {
  size_t size = 0;
  std::vector<float> log_p;
};

/// Gathers the scores of batches into one split's predictions. Rows are placed by Batch::row
/// (their index in the split or input), so batches may come in any order.
class PredictionCollector {
 public:
  /// `with_truth`: also collect the true entire-space log-probabilities from the batches' aux
  /// columns (the layout must have truth for every event).
  PredictionCollector(const data::Layout& layout, bool with_truth, size_t expected_rows = 0);

  void add(const data::Batch& batch, const BatchScores& scores);
  size_t rows() const { return rows_; }
  /// The model's predictions with the labels (and groups and list ids), event-major.
  metric::FunnelPredictions predictions() const;
  /// The oracle's: the same labels, the true log-probabilities. Needs with_truth.
  metric::FunnelPredictions truth() const;

 private:
  metric::FunnelPredictions gather(const std::vector<std::vector<float>>& log_p) const;

  const data::Layout& layout_;
  bool with_truth_;
  size_t rows_ = 0;
  std::vector<std::vector<float>> log_p_, labels_, truth_;
  std::vector<uint64_t> group_, list_;
};

/// Entire-space log P(event) of the truth for one row whose aux values start at `aux_row`,
/// event by event into out[e] (parents precede children): the product of the true
/// P(e | parent) along e's chain.
/// `inherent`: of the inherent truth (Layout::inherent_truth_aux) instead.
void truth_log_p_row(const data::Layout& layout, const float* aux_row, float* out,
                     bool inherent = false);
/// The oracle's predictions of a cache split; std::nullopt when some event has no truth column.
/// Reads the cache's columns directly, no model involved. `inherent`: the inherent truth of
/// list data (the probabilities without the list history's effect), std::nullopt without it.
std::optional<metric::FunnelPredictions> truth_predictions(const data::Cache& cache,
                                                           const std::string& split,
                                                           bool inherent = false);
/// funnel_metrics of the oracle on a cache split; null when the cache carries no truth. Its
/// metrics are the best any model can reach on the split (Bayes-optimal AUC and NLL up to
/// sampling noise). `inherent`: of the inherent truth (null without it): what a ranker that
/// knows each item's relevance but not the list's realised history reaches.
nlohmann::json oracle_metrics(const data::Cache& cache, const std::string& split,
                              bool inherent = false);

}  // namespace funnel::model
