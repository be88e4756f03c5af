#pragma once
// AutoHERI's one-shot architecture search (Wei et al., CIKM 2021, §3.2.2, eq. 3), first order:
// every iteration
//   1. a Theta step: one training batch, alpha fixed; Adam on the network weights
//      (AutoHeriModel::weight_parameters) and the lazy sparse update of the embeddings;
//   2. an alpha step: one batch from distinct data (a held-out tail of the training split, or
//      another split), Theta fixed (weights and embeddings untouched); its own Adam and
//      learning rate on the alpha logits (AutoHeriModel::arch_parameters).
// Both steps minimise the funnel loss (eq. 2 / eq. 4, FunnelLoss with the trainer's options)
// plus the model's entropy regulariser (FunnelOutput::aux_loss). alpha is logged as JSONL
// along the way; at the end z is derived from alpha (threshold or top-k, AutoHeriArch).
// The Theta step is the one training loop's step (Trainer, with the alpha logits frozen); the
// alpha step is a hook after it (TrainerHook::after_step), so the search shares the trainer's
// loader, progress, evaluations and logs.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <torch/optim/adam.h>

#include "data/batch.h"
#include "data/cache.h"
#include "data/loader.h"
#include "model/autoheri.h"
#include "model/autoheri_arch.h"
#include "model/feature_embedding.h"
#include "train/funnel_loss.h"
#include "train/run_outputs.h"
#include "train/search_options.h"
#include "train/trainer.h"

namespace funnel::train {

struct SearchResult {
  /// alpha at the end with z derived by SearchOptions::derive.
  model::AutoHeriArch arch;
  /// One object per evaluation: {"epoch", "step", "theta_loss", "alpha_loss", "validation"}.
  std::vector<nlohmann::json> log;
  /// Metrics of the last evaluation (null without a validation split).
  nlohmann::json last_validation;
  int64_t steps = 0;
  uint64_t theta_samples = 0;
  uint64_t alpha_samples = 0;
  double search_seconds = 0;
};

class ArchSearch : public TrainerHook {
 public:
  /// `net` must be in search mode (it has architecture parameters); `train` is the Theta side.
  ArchSearch(const data::Cache& cache, std::shared_ptr<model::AutoHeriModel> net,
             std::shared_ptr<model::FeatureEmbedding> embedding, SearchOptions options,
             TrainerOptions train);

  /// Runs the search on `train_split`, evaluating on `validation_split` ("" = none) after each
  /// epoch and every train.eval_every_steps iterations. When `run_dir` is not empty writes
  /// run_dir/alpha.jsonl (the alpha trajectory) and run_dir/search_log.jsonl (evaluations).
  SearchResult run(const std::string& train_split, const std::string& validation_split,
                   const std::string& run_dir = "");

  /// One Theta step (alpha fixed): the trainer's step. Returns the loss.
  double theta_step(const data::Batch& batch) { return trainer_.step(batch); }
  /// One alpha step (Theta and the embeddings fixed); returns the loss.
  double alpha_step(const data::Batch& batch);

  /// {"step": n, "edges": [{"from", "to", "alpha": [[...]]}, ...]} (non-candidates null).
  nlohmann::json alpha_snapshot() const;
  const SearchOptions& options() const { return options_; }
  /// The loop the search runs (its evaluator; further hooks run after the alpha step).
  Trainer& trainer() { return trainer_; }

  // The hook: alpha data and log at the start, an alpha step after every Theta step, the alpha
  // loss in every evaluation's log line, the last alpha at the end.
  void on_fit_start() override;
  void after_step(int64_t step) override;
  void on_log(nlohmann::json& entry) override;
  void on_fit_end(int64_t step) override;

 private:
  void log_alpha(int64_t step);

  const data::Cache& cache_;
  std::shared_ptr<model::AutoHeriModel> net_;
  std::shared_ptr<model::FeatureEmbedding> embedding_;
  SearchOptions options_;
  FunnelLoss loss_;
  Trainer trainer_;
  std::unique_ptr<torch::optim::Adam> alpha_optimizer_;
  // State of one run().
  std::unique_ptr<data::Loader> alpha_loader_;
  uint64_t alpha_epoch_ = 0;
  data::Batch alpha_batch_;
  RunOutputs* outputs_ = nullptr;
  double alpha_sum_ = 0;
  int64_t alpha_steps_ = 0;
  uint64_t alpha_samples_ = 0;
};

/// Hook for the evolutionary variant (Table 3) and for retraining: trains a fixed
/// architecture from scratch for a budget (options.max_steps / epochs) and returns the
/// trainer's result, whose best_validation["cvr"]["auc"] is the fitness.
struct FixedArchRun {
  TrainResult result;
  std::shared_ptr<model::AutoHeriModel> net;
  std::shared_ptr<model::FeatureEmbedding> embedding;
};
/// `model_options`: the autoheri options (dropout, activation, edge_init; the model is built
/// with model_options.with_arch(arch)).
FixedArchRun train_fixed_arch(const data::Cache& cache, const model::AutoHeriArch& arch,
                              const model::AutoHeriOptions& model_options,
                              const model::FeatureEmbeddingOptions& embedding_options,
                              const TrainerOptions& options, const std::string& train_split,
                              const std::string& validation_split);

/// The score of a fixed architecture (higher is better); may fill `detail`.
using ArchFitness = std::function<double(const model::AutoHeriArch&, nlohmann::json* detail)>;
/// Trains `arch` from scratch with train_fixed_arch(options) and returns its best validation
/// CVR AUC on `validation_split`; `detail` gets {"validation", "steps", "train_seconds"}.
/// The evolution's fitness and the validated derivation's.
ArchFitness make_fixed_arch_fitness(const data::Cache& cache,
                                    const model::AutoHeriOptions& model_options,
                                    const model::FeatureEmbeddingOptions& embedding_options,
                                    const TrainerOptions& options, const std::string& train_split,
                                    const std::string& validation_split);

/// The nested architectures along the search's ranking: `derived`'s k connections sorted by
/// alpha (descending; ties in edge group, source layer, target layer order), and for
/// m = 0, 1, ..., k a copy keeping the first m (m = 0: no integration, the plain towers;
/// m = k: `derived`). Every connection of `derived` needs its alpha.
std::vector<model::AutoHeriArch> nested_by_alpha(const model::AutoHeriArch& derived);

struct ValidatedDerivation {
  /// The candidate with the highest fitness (ties to fewer connections); its derived_by adds
  /// {"validated": {"kept": m, "of": k}} to the derivation rule.
  model::AutoHeriArch arch;
  /// One object per candidate, m = 0..k: {"connections", "fitness", "detail", "seconds"}.
  std::vector<nlohmann::json> candidates;
  size_t chosen = 0;
  double seconds = 0;
};
/// The validated derivation: scores every nested_by_alpha(derived) candidate with `fitness`
/// (with make_fixed_arch_fitness: retrained from scratch, validation CVR AUC) and keeps the
/// best, so a connection stays only if retraining with it beats the architecture without it
/// on validation. With k = 0 nothing is trained and `derived` is returned as it is. Guards
/// the threshold / top-k rule against connections that the one-shot supernet favours but
/// that do not pay once retrained (docs/autoheri.md, "Validated derivation").
ValidatedDerivation validate_derivation(const model::AutoHeriArch& derived,
                                        const ArchFitness& fitness);

}  // namespace funnel::train
