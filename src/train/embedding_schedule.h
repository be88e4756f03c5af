#pragma once
// The multi-epoch remedies of the embedding tables (train.embedding_reset,
// train.embedding_lr_scale; docs/quality.md), as a hook of the one training loop: at the start
// of every epoch after the first it
//   - re-initialises every table and its optimizer state (MEDA, Fan et al. 2024), drawing from
//     a seed of (embedding seed, epoch), so that a resumed run draws what an uninterrupted one
//     does, while the dense networks and their Adam state are kept;
//   - sets every table's learning rate to embedding.lr x embedding_lr_scale (0 = frozen).
// Both act at epoch boundaries only; the first epoch trains exactly as without them.

#include <cstdint>

#include "model/feature_embedding.h"
#include "train/trainer.h"
#include "train/trainer_options.h"

namespace funnel::train {

class EmbeddingSchedule : public TrainerHook {
 public:
  /// `embedding` outlives the schedule; its tables' seed is read now.
  EmbeddingSchedule(model::FeatureEmbedding& embedding, const TrainerOptions& options);

  void on_epoch_start(int epoch) override;

  /// The seed the tables are drawn from at the start of `epoch` (>= 1): the tables then equal
  /// those of a new FeatureEmbedding with options.table.seed = this.
  static uint64_t reset_seed(uint64_t embedding_seed, int epoch);

 private:
  model::FeatureEmbedding& embedding_;
  EmbeddingReset reset_;
  double lr_scale_;
  uint64_t seed_;
};

}  // namespace funnel::train
