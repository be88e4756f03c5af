#pragma once
// The evaluator: a model and its embedding turned into entire-space predictions and the
// papers' metrics, the same way for every caller (the trainer's validation, `funnel eval`,
// `funnel compare`, the search and the predictor):
//
//   batch --lookup--> ModelInput --model--> FunnelOutput --entire_space_log_p--> BatchScores
//
// then model/predictions.h: BatchScores of a split -> FunnelPredictions -> funnel_metrics.

#include <nlohmann/json.hpp>
#include <string>

#include "data/batch.h"
#include "data/cache.h"
#include "metric/funnel_metrics.h"
#include "model/feature_embedding.h"
#include "model/model.h"
#include "model/predictions.h"

namespace funnel::model {

class Evaluator {
 public:
  /// `net` and `embedding` must outlive the evaluator.
  Evaluator(FunnelModel& net, const FeatureEmbedding& embedding, FunnelSpec funnel);

  /// Entire-space log-probabilities of one batch, without gradient. The model is used in the
  /// mode it is in (a loaded bundle's is in eval mode; predict() switches it itself).
  BatchScores score(const data::Batch& batch) const;
  /// Predictions of every row of a cache split, in row order, in eval mode (the model's mode
  /// is restored afterwards).
  metric::FunnelPredictions predict(const data::Cache& cache, const std::string& split) const;
  /// funnel_metrics of predict(split).
  nlohmann::json evaluate(const data::Cache& cache, const std::string& split) const;
  /// funnel_metrics of predictions of this funnel.
  nlohmann::json metrics(const metric::FunnelPredictions& predictions) const;

  const FunnelSpec& funnel() const { return funnel_; }
  /// predict() reads the split in batches of whole lists (data::LoaderOptions::lists; the
  /// cache needs a list column): what a list model needs at evaluation as in training.
  void set_list_batches(bool on) { list_batches_ = on; }
  bool list_batches() const { return list_batches_ || net_.reads_lists(); }

 private:
  /// Sharded embedding: this rank scores its part of `b` (data::batch_part) and the parts
  /// of every rank are gathered. Collective.
  BatchScores score_parts(const data::Batch& b) const;

  FunnelModel& net_;
  const FeatureEmbedding& embedding_;
  FunnelSpec funnel_;
  bool list_batches_ = false;
};

}  // namespace funnel::model
