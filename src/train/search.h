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
// The pieces are the trainer's: FeatureEmbedding, Loader, FunnelLoss, and Trainer::evaluate
// for the validation metrics.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <torch/optim/adam.h>

#include "data/batch.h"
#include "data/cache.h"
#include "model/autoheri.h"
#include "model/autoheri_arch.h"
#include "model/feature_embedding.h"
#include "train/funnel_loss.h"
#include "train/trainer.h"

namespace funnel::train {

struct SearchOptions {
  /// Theta side: batch_size, epochs, lr, weight_decay, seed, threads, max_steps (counted in
  /// iterations), eval_every_steps, loss (weights, stop-gradient), progress.
  TrainerOptions train;
  /// Adam learning rate of the alpha logits. Adam moves a logit by about lr per step, so a
  /// search of a few hundred iterations needs ~0.05 to reach decisions (docs/autoheri.md).
  double alpha_lr = 0.05;
  /// Adam weight decay of the alpha logits.
  double alpha_weight_decay = 0.0;
  /// Where alpha batches come from: "holdout" (the last holdout_fraction of the training
  /// split's rows, which Theta then never sees) or the name of a cache split ("validation").
  std::string alpha_split = "holdout";
  /// Fraction of the training split held out for alpha when alpha_split is "holdout".
  double holdout_fraction = 0.1;
  /// Loss of the alpha step. kEntireSpace: eq. 3 as written, the funnel loss of eq. 2 / 4
  /// on every held-out impression. kClickSpace: each post-click event's conditional
  /// cross-entropy on the held-out rows where its parent happened (FunnelLoss, click space),
  /// i.e. alpha is judged by the CVR it gives; the first event's term does not depend on
  /// alpha (no edge enters the first tower), so only the later events' terms differ.
  model::TrainingSpace alpha_space = model::TrainingSpace::kEntireSpace;
  /// How z is derived from the final alpha.
  model::DeriveOptions derive;
  /// After the search, choose how many of the derived connections to keep on the validation
  /// split (validate_derivation): k derived connections cost k + 1 trainings from scratch.
  bool validate = false;
  /// Write alpha to the trajectory log every N iterations (and at the start and the end).
  int64_t alpha_log_every = 10;
};

/// Parses the "search" object of an experiment config (strict keys); `train` is the parsed
/// "train" object (the Theta side).
SearchOptions parse_search_options(const nlohmann::json& search, const TrainerOptions& train);
/// Parses {"rule": "threshold", "threshold": 0.5} / {"rule": "top_k", "k": 2} (strict).
model::DeriveOptions parse_derive_options(const nlohmann::json& j, const std::string& path);

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

class ArchSearch {
 public:
  /// `net` must be in search mode (it has architecture parameters).
  ArchSearch(const data::Cache& cache, std::shared_ptr<model::AutoHeriModel> net,
             std::shared_ptr<model::FeatureEmbedding> embedding, SearchOptions options);

  /// Runs the search on `train_split`, evaluating on `validation_split` ("" = none) after each
  /// epoch and every train.eval_every_steps iterations. When `run_dir` is not empty writes
  /// run_dir/alpha.jsonl (the alpha trajectory) and run_dir/search_log.jsonl (evaluations).
  SearchResult run(const std::string& train_split, const std::string& validation_split,
                   const std::string& run_dir = "");

  /// One Theta step (alpha fixed); returns the loss.
  double theta_step(const data::Batch& batch);
  /// One alpha step (Theta and the embeddings fixed); returns the loss.
  double alpha_step(const data::Batch& batch);

  /// {"step": n, "edges": [{"from", "to", "alpha": [[...]]}, ...]} (non-candidates null).
  nlohmann::json alpha_snapshot() const;
  const SearchOptions& options() const { return options_; }

 private:
  double loss_of(const data::Batch& batch, const torch::Tensor& x, model::TrainingSpace space,
                 torch::Tensor* total);

  const data::Cache& cache_;
  std::shared_ptr<model::AutoHeriModel> net_;
  std::shared_ptr<model::FeatureEmbedding> embedding_;
  SearchOptions options_;
  FunnelLoss loss_;
  std::unique_ptr<torch::optim::Adam> theta_optimizer_;
  std::unique_ptr<torch::optim::Adam> alpha_optimizer_;
  int64_t step_ = 0;
};

/// Hook for the evolutionary variant (Table 3) and for retraining: trains a fixed
/// architecture from scratch for a budget (options.max_steps / epochs) and returns the
/// trainer's result, whose best_validation["cvr"]["auc"] is the fitness.
struct FixedArchRun {
  TrainResult result;
  std::shared_ptr<model::AutoHeriModel> net;
  std::shared_ptr<model::FeatureEmbedding> embedding;
};
/// `model_options`: the autoheri options (towers etc.; "alpha" and "arch" are set here).
FixedArchRun train_fixed_arch(const data::Cache& cache, const model::AutoHeriArch& arch,
                              const nlohmann::json& model_options,
                              const model::FeatureEmbeddingOptions& embedding_options,
                              const TrainerOptions& options, const std::string& train_split,
                              const std::string& validation_split);

/// The score of a fixed architecture (higher is better); may fill `detail`.
using ArchFitness = std::function<double(const model::AutoHeriArch&, nlohmann::json* detail)>;
/// Trains `arch` from scratch with train_fixed_arch(options) and returns its best validation
/// CVR AUC on `validation_split`; `detail` gets {"validation", "steps", "train_seconds"}.
/// The evolution's fitness and the validated derivation's.
ArchFitness make_fixed_arch_fitness(const data::Cache& cache, const nlohmann::json& model_options,
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
