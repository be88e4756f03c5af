#pragma once
// The one training loop (DESIGN.md; STYLE.md: a new method adds a hook, never a second loop).
// Every model, the AutoHERI search (its Theta side), the evolution's and the validated
// derivation's short trainings and the benchmarks run it. One step:
//   x = embedding.lookup(batch)              (leaf tensor of gathered rows)
//   out = model(ModelInput); L = loss(out)   (FunnelLoss; click space for DNN)
//   L.backward(); hooks: after_backward      (the place of a gradient all-reduce)
//   Adam on the dense parameters; lazy sparse update of the touched rows
//   hooks: after_step                        (extra work of the iteration: AutoHERI's alpha step)
// After each epoch (and every N steps if asked) the Evaluator scores the validation split;
// early stopping keeps the best state. A NaN/Inf loss stops training with the step number;
// the last good checkpoint stays on disk. What is written where is decided by RunOutputs.

#include <torch/optim/optimizer.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/cache.h"
#include "metric/funnel_metrics.h"
#include "model/evaluator.h"
#include "model/feature_embedding.h"
#include "model/model.h"
#include "train/funnel_loss.h"
#include "train/run_outputs.h"
#include "train/trainer_options.h"

namespace funnel::train {

class GradientAllReduce;

/// Seconds spent in each phase of Trainer::step, summed over the steps it was given to.
/// `sync`: the after_backward hooks (data-parallel: the dense gradients' all-reduce); `data`:
/// waiting for the loader's next batch (fit() only).
struct StepTimes {
  double data = 0, lookup = 0, forward = 0, loss = 0, backward = 0, sync = 0, dense = 0,
         sparse = 0;
};

struct TrainResult {
  /// One object per evaluation: {"epoch", "step", "train_loss", "validation": {...}, ...}.
  std::vector<nlohmann::json> log;
  nlohmann::json best_validation;  ///< metrics at the best evaluation (null without validation)
  nlohmann::json last_validation;  ///< metrics at the last evaluation (null without validation)
  int64_t steps = 0;
  uint64_t samples = 0;  ///< rows trained on (every rank's, data-parallel)
  /// Data-parallel: rows of global batches too small to cut over the ranks, not trained on.
  uint64_t dropped_rows = 0;
  double train_seconds = 0;
  /// Where this process's training steps spent their time (the epochs this fit() ran; a
  /// resumed run's earlier epochs are not in it).
  StepTimes step_times;
  bool stopped_early = false;
};


/// Extension points of the loop. Every method has a no-op default.
class TrainerHook {
 public:
  virtual ~TrainerHook() = default;
  /// Once at the start of fit(), after seeding.
  virtual void on_fit_start() {}
  /// At the start of every epoch (counted from 0), after the loader has its order; also the
  /// first epoch of a resumed run.
  virtual void on_epoch_start(int epoch) {}
  /// After backward, before the optimizers step: the dense gradients are in the parameters'
  /// grad(), the embedding rows' in x.grad().
  virtual void after_backward(const data::Batch& batch, const torch::Tensor& x) {}
  /// After every training step; `step` counts the steps done so far.
  virtual void after_step(int64_t step) {}
  /// Before an evaluation's log line is written: add or rename fields.
  virtual void on_log(nlohmann::json& entry) {}
  /// Once at the end of fit().
  virtual void on_fit_end(int64_t step) {}
};

/// What one fit() trains on and what it writes.
struct FitOptions {
  std::string train_split = "train";
  /// Evaluated after each epoch and every train.eval_every_steps; "" = none.
  std::string validation_split;
  /// Rows [begin_row, end_row) of the training split (end_row 0 = all): the search holds out
  /// the tail for its alpha step.
  uint64_t begin_row = 0;
  uint64_t end_row = 0;
  /// Logs and checkpoints go here; null or without a folder, nothing is written.
  RunOutputs* outputs = nullptr;
  /// The evaluations' JSONL log in the run folder, continued (a resumed run) or started afresh.
  std::string log_name = "log.jsonl";
  bool append_log = true;
  /// The training loss's JSONL log, a line per train.log_loss_every steps: {"step", "epoch",
  /// "loss" (the mean over those steps)}; "" = none. Continued or started like log_name.
  std::string loss_log_name = "loss.jsonl";
  /// Write checkpoint/last after every epoch and checkpoint/best at every improvement, and end
  /// on the best state. Off for the search, whose result is its last supernet.
  bool checkpoints = true;
  /// Stop after train.patience evaluations without improvement of train.early_stop_metric.
  bool early_stopping = true;
  /// Progress and log label of an epoch ("epoch", "search epoch").
  std::string label = "epoch";
};

class Trainer {
 public:
  /// `dense_parameters`: what the loop's Adam trains; empty = every parameter of the model.
  /// The model's other parameters are frozen (no gradient) during a step: AutoHERI's search
  /// keeps alpha fixed in its Theta step (eq. 3). Throws unless options.early_stop_metric
  /// names an entry of the cache's funnel.
  ///
  /// Data-parallel when `embedding` is sharded (FeatureEmbedding::communicator()): every rank
  /// builds the same model (same seed) and a Trainer on it; each trains on its part of every
  /// global batch of train.batch_size rows, the dense gradients are summed over the ranks and
  /// every rank applies the same Adam step; the tables exchange rows with their owners
  /// (docs/distributed.md). Evaluations gather every rank's predictions.
  Trainer(const data::Cache& cache, std::shared_ptr<model::FunnelModel> model,
          std::shared_ptr<model::FeatureEmbedding> embedding, TrainerOptions options,
          std::vector<torch::Tensor> dense_parameters = {});
  ~Trainer();

  /// Hooks are called in the order they were added; not owned.
  void add_hook(TrainerHook* hook) { hooks_.push_back(hook); }

  TrainResult fit(const FitOptions& fit);
  /// fit() on `train_split` with early stopping on `validation_split` ("" = none); with a
  /// `run_dir`, log.jsonl and checkpoints under it.
  TrainResult fit(const std::string& train_split, const std::string& validation_split,
                  const std::string& run_dir = "");

  /// One training step on `batch`; returns the loss. With `times`, adds each phase's seconds.
  double step(const data::Batch& batch, StepTimes* times = nullptr);

  /// The evaluator of the trained model, and two shorthands on this trainer's cache.
  const model::Evaluator& evaluator() const { return evaluator_; }
  metric::FunnelPredictions predict(const std::string& split) const;
  nlohmann::json evaluate(const std::string& split) const;

  /// Dense weights, Adam state and sparse tables (with optimizer state) to / from a folder.
  /// Loading restores into a fresh Adam (valid whatever state the current one has).
  void save_checkpoint(const std::string& dir) const;
  void load_checkpoint(const std::string& dir);

  /// Continues an interrupted run: loads run_dir/checkpoint/last (written after every epoch)
  /// with the run's progress (completed epochs, best validation value and metrics, patience
  /// counter, rows seen); the next fit() goes on with the next epoch. With one thread and no
  /// dropout, a run resumed after epoch k ends with the same weights as an uninterrupted one.
  /// Returns the number of epochs the run had completed.
  int resume(const std::string& run_dir);

  const TrainerOptions& options() const { return options_; }
  /// The ranks of a data-parallel run (the embedding's); null in one process.
  dist::Communicator* communicator() const { return comm_; }
  /// Data-parallel: every n steps check that the dense replicas are still identical (a
  /// debugging aid: one all-gather of a checksum); 0 = never.
  void check_replicas_every(int64_t n);
  /// The Adam of the dense parameters (its state, for tests and tools).
  const torch::optim::Optimizer& dense_optimizer() const { return *dense_optimizer_; }
  int64_t global_step() const { return global_step_; }

 private:
  void make_optimizer();
  /// RUN_DIR/checkpoint/NAME, and below it rank-R/ for rank R of a data-parallel run.
  std::string checkpoint_dir(const RunOutputs& out, const std::string& name) const;

  const data::Cache& cache_;
  std::shared_ptr<model::FunnelModel> model_;
  std::shared_ptr<model::FeatureEmbedding> embedding_;
  TrainerOptions options_;
  metric::MetricPath early_stop_;
  model::FunnelSpec funnel_;
  FunnelLoss loss_;
  model::Evaluator evaluator_;
  std::vector<torch::Tensor> dense_parameters_;
  std::vector<torch::Tensor> frozen_parameters_;
  std::unique_ptr<torch::optim::Optimizer> dense_optimizer_;
  std::vector<TrainerHook*> hooks_;
  dist::Communicator* comm_ = nullptr;  // the embedding's: non-null when data-parallel
  std::unique_ptr<GradientAllReduce> all_reduce_;
  /// The embedding remedies of train.embedding_reset / embedding_lr_scale (the first hook).
  std::unique_ptr<TrainerHook> embedding_schedule_;
  int64_t global_step_ = 0;

  /// Progress of the current run, saved with every checkpoint (state.json) for resume().
  struct RunState {
    int epochs_done = 0;
    uint64_t samples = 0;
    /// Seconds of training (evaluations excluded) that produced `samples`, over every part of
    /// a resumed run, so that samples per second is the rate of the whole run.
    double train_seconds = 0;
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
