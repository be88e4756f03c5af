#pragma once
// The training path shared by `funnel train` and `funnel compare`: open (or create) the cache,
// build the embedding and the model of one run, fit it and measure it. What differs between the
// commands (resume, AutoHERI --arch/--init-from, bundles, tables) stays in each command.

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "data/cache.h"
#include "model/feature_embedding.h"
#include "model/model.h"
#include "train/trainer.h"

namespace funnel::cli {

/// Converts the experiment's "data" section into `cache_dir` unless a cache is already there.
void ensure_cache(const nlohmann::json& data_section, const std::string& base_dir,
                  const std::string& cache_dir);

/// The experiment's "train" section (or the defaults when it has none).
train::TrainerOptions trainer_options_of(const nlohmann::json& experiment);

/// The embedding and the dense model of one run.
struct RunModel {
  std::shared_ptr<model::FeatureEmbedding> embedding;
  std::shared_ptr<model::FunnelModel> net;
};

/// Seeds LibTorch with `seed` (dense initialisation) and builds the embedding (its tables seeded
/// with `seed` too) from the experiment's "embedding" section and the model `name` with
/// `model_options` (the "model" section without "name") for the cache's funnel.
RunModel build_run_model(const data::Cache& cache, const nlohmann::json& experiment,
                         const std::string& name, const nlohmann::json& model_options,
                         uint64_t seed);

/// Fits `trainer` on the train split (early stopping on validation when the cache has one),
/// with log.jsonl and checkpoints under `run_dir`, then evaluates. Returns the metrics.json
/// object: {"model", "validation" (best), "test", "timing": {train_seconds, total_seconds,
/// steps, samples, samples_per_second}, "oracle": {split: ...} when the cache carries truth}.
nlohmann::json fit_and_evaluate(const data::Cache& cache, train::Trainer& trainer,
                                const std::string& name, const std::string& run_dir,
                                train::TrainResult* result = nullptr);

}  // namespace funnel::cli
