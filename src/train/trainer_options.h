#pragma once
// The "train" section of an experiment: the options of the one training loop (Trainer) and of
// its loss, declared once with their defaults, parsed strictly and written back resolved. No
// LibTorch here, so that configs and tools can use it.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace funnel::train {

struct FunnelLossOptions {
  /// Weight of each event's cross-entropy; empty = AutoHERI's defaults (§4.1.2): {1, 5} for
  /// 2 events (eq. 2, lambda = 5), {1, 1, 5} for 3 (eq. 4, lambda1 = 1, lambda2 = 5), and
  /// {1, ..., 1, 5} (last event 5) for longer funnels, {1} for a single event.
  std::vector<double> weights;
  /// AutoHERI footnote 1: a later event's entire-space loss does not backpropagate into the
  /// first event's output (products use a detached log P(first event)), so a clicked but
  /// unconverted impression does not push pCTR down. Entire space only.
  bool stop_ctcvr_grad_to_ctr = false;
};

/// What happens to the embedding tables at an epoch boundary (docs/quality.md).
enum class EmbeddingReset {
  /// Nothing: the tables train on.
  kNone,
  /// MEDA (Fan et al. 2024, "Multi-Epoch learning with Data Augmentation for Deep
  /// Click-Through Rate Prediction"): before every epoch after the first, every table is drawn
  /// afresh and its optimizer state (moments, step counts) reset; the dense networks and their
  /// Adam state are kept.
  kEpoch,
};

/// "none", "epoch".
const char* embedding_reset_name(EmbeddingReset reset);

struct TrainerOptions {
  /// Rows per step (with list_batches: at most this many, whole lists).
  size_t batch_size = 1024;
  /// Batches of whole lists, shuffled by list (the cache needs a list column;
  /// data::LoaderOptions::lists), in training and in the trainer's evaluations. Per-row
  /// models train on them unchanged.
  bool list_batches = false;
  /// With list_batches: at most this many lists a step (0 = only batch_size bounds it).
  size_t lists_per_batch = 0;
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
  /// Write the mean training loss of every N steps to the run's loss log (loss.jsonl; the
  /// report's training curve); 0 = no loss log.
  int64_t log_loss_every = 10;
  /// Early stopping: metric on the validation split, "<entry>.<metric>" (e.g. cvr.auc,
  /// ctcvr.nll, ctr.ndcg); higher is better for auc/gauc/ndcg, lower for nll. Checked when
  /// parsed (the metric) and against the funnel (the entry) by the experiment and the trainer.
  std::string early_stop_metric = "cvr.auc";
  /// Evaluations without improvement before stopping (0 = never stop early).
  int patience = 2;
  /// End training on the best evaluation's state (true) or on the last step's (false; to
  /// measure what a number of epochs gives, without selection by a noisy validation split).
  bool restore_best = true;
  /// Stop after this many steps in total (0 = no limit; for quick runs).
  int64_t max_steps = 0;
  /// Multi-epoch remedy: re-initialise the embedding tables at each epoch boundary (MEDA).
  EmbeddingReset embedding_reset = EmbeddingReset::kNone;
  /// Multi-epoch remedy: from the second epoch on, every table's learning rate is
  /// embedding.lr x this (1 = unchanged; 0 = frozen embeddings, no sparse step at all).
  /// Tests the embeddings' part in the one-epoch overfitting (Zhang et al., CIKM 2022, tie it
  /// to sparse ids' embeddings and to the MLP adapting to already-seen rows; docs/quality.md).
  double embedding_lr_scale = 1.0;
  /// Progress line on stderr (set by the command, not a config key).
  bool progress = true;
  /// Whether a remedy acts at epoch boundaries (train::EmbeddingSchedule).
  bool has_embedding_schedule() const {
    return embedding_reset != EmbeddingReset::kNone || embedding_lr_scale != 1.0;
  }
  /// "loss_weights" and "stop_ctcvr_grad_to_ctr".
  FunnelLossOptions loss;

  /// Strict parse of the "train" object (null = defaults); `path` prefixes messages.
  static TrainerOptions from_json(const nlohmann::json& j, const std::string& path = "train");
  /// Every key from_json reads, resolved.
  nlohmann::json to_json() const;
};

}  // namespace funnel::train
