#include "train/embedding_schedule.h"

#include "core/rng.h"

namespace funnel::train {

EmbeddingSchedule::EmbeddingSchedule(model::FeatureEmbedding& embedding,
                                     const TrainerOptions& options)
    : embedding_(embedding),
      reset_(options.embedding_reset),
      lr_scale_(options.embedding_lr_scale),
      seed_(embedding.seed()) {}

uint64_t EmbeddingSchedule::reset_seed(uint64_t embedding_seed, int epoch) {
  uint64_t state = embedding_seed ^ (0xd1b54a32d192ed03ULL * static_cast<uint64_t>(epoch));
  return splitmix64(state);
}

void EmbeddingSchedule::on_epoch_start(int epoch) {
  // Absolute, not relative to the last epoch: a resumed run sets what an uninterrupted one
  // has at this epoch.
  if (epoch == 0) {
    embedding_.set_lr_scale(1.0);
    return;
  }
  if (reset_ == EmbeddingReset::kEpoch) embedding_.reinitialize(reset_seed(seed_, epoch));
  embedding_.set_lr_scale(lr_scale_);
}

}  // namespace funnel::train
