#pragma once
// The training loop shared by every model (DESIGN.md: models add auxiliary terms through
// FunnelOutput, never by forking the trainer). One step:
//   x = embedding.lookup(batch)            (leaf tensor of gathered rows)
//   out = model(x); L = loss(out, labels)  (FunnelLoss; click space for DNN)
//   L.backward(); Adam on the dense parameters; lazy sparse update of the touched rows.
// After each epoch (and every N steps if asked) the validation split is evaluated with
// funnel_metrics; early stopping keeps the best state. A NaN/Inf loss stops training with the
// step number; the last good checkpoint stays on disk.

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <torch/optim/optimizer.h>

#include "core/error.h"
#include "data/cache.h"
#include "model/feature_embedding.h"
#include "model/model.h"
#include "train/funnel_loss.h"
#include "train/funnel_metrics.h"

namespace funnel::train {

struct TrainerOptions {
  /// Rows per step.
  size_t batch_size = 1024;
  /// Passes over the training split.
  int epochs = 1;
  /// Adam learning rate of the dense parameters (AutoHERI §4.1.2 uses 0.005).
  double lr = 0.005;
  /// L2 penalty of the dense parameters (Adam weight_decay).
  double weight_decay = 0.0;
  /// Seed of the shuffle order, dropout and dense initialisation.
  uint64_t seed = 1;
  /// Intra-op threads of LibTorch (1 = deterministic; measure before raising on 2 cores).
  int threads = 1;
  /// Evaluate on validation every N steps as well as after each epoch (0 = epochs only).
  int64_t eval_every_steps = 0;
  /// Early stopping: metric on the validation split, "<entry>.<metric>" (e.g. cvr.auc,
  /// ctcvr.nll); higher is better for auc/gauc, lower for nll.
  std::string early_stop_metric = "cvr.auc";
  /// Evaluations without improvement before stopping (0 = never stop early).
  int patience = 2;
  /// Stop after this many steps in total (0 = no limit; for quick runs).
  int64_t max_steps = 0;
  /// Progress line on stderr.
  bool progress = true;
  FunnelLossOptions loss;
};

/// Parses the "train" object of an experiment config (strict keys).
TrainerOptions parse_trainer_options(const nlohmann::json& train);

struct TrainResult {
  /// One object per evaluation: {"epoch", "step", "train_loss", "validation": {...}, ...}.
  std::vector<nlohmann::json> log;
  nlohmann::json best_validation;  ///< metrics at the best evaluation (null without validation)
  int64_t steps = 0;
  uint64_t samples = 0;
  double train_seconds = 0;
  bool stopped_early = false;
};

class Trainer {
 public:
  Trainer(const data::Cache& cache, std::shared_ptr<model::FunnelModel> model,
          std::shared_ptr<model::FeatureEmbedding> embedding, TrainerOptions options);

  /// Trains on `train_split`, evaluating on `validation_split` ("" = none). When `run_dir` is
  /// not empty, writes run_dir/log.jsonl (one line per evaluation) and a checkpoint of the
  /// last epoch and of the best evaluation under run_dir/checkpoint/.
  TrainResult fit(const std::string& train_split, const std::string& validation_split,
                  const std::string& run_dir = "");

  /// Entire-space log-probabilities of every event for every row of `split`, in row order.
  FunnelPredictions predict(const std::string& split) const;

  /// funnel_metrics of predict(split).
  nlohmann::json evaluate(const std::string& split) const;

  /// Dense weights and sparse tables (with optimizer state) to / from a folder.
  void save_checkpoint(const std::string& dir) const;
  void load_checkpoint(const std::string& dir);

  /// Continues an interrupted run: loads run_dir/checkpoint/last (written after every epoch)
  /// with the run's progress (completed epochs, best validation value and metrics, patience
  /// counter, rows seen); the next fit() goes on with the next epoch. With one thread and no
  /// dropout, a run resumed after epoch k ends with the same weights as an uninterrupted one.
  /// Returns the number of epochs the run had completed.
  int resume(const std::string& run_dir);

  const TrainerOptions& options() const { return options_; }

 private:
  double step(const data::Batch& batch);

  const data::Cache& cache_;
  std::shared_ptr<model::FunnelModel> model_;
  std::shared_ptr<model::FeatureEmbedding> embedding_;
  TrainerOptions options_;
  model::FunnelSpec funnel_;
  FunnelLoss loss_;
  std::unique_ptr<torch::optim::Optimizer> dense_optimizer_;
  int64_t global_step_ = 0;

  /// Progress of the current run, saved with every checkpoint (state.json) for resume().
  struct RunState {
    int epochs_done = 0;
    uint64_t samples = 0;
    double best = NAN;  // of options_.early_stop_metric; NaN before the first evaluation
    int since_best = 0;
    bool stopped_early = false;
    nlohmann::json best_validation;
    bool resumed = false;  // set by resume(), consumed by the next fit()
  };
  RunState run_state_;
};

/// Thrown when the loss becomes NaN or infinite.
class TrainingDiverged : public Error {
 public:
  TrainingDiverged(int64_t step, const std::string& what) : Error(what), step_(step) {}
  int64_t step() const { return step_; }

 private:
  int64_t step_;
};

}  // namespace funnel::train
