#pragma once
// The training path shared by `funnel train`, `funnel search` and `funnel compare`: open (or
// create) the cache, build the embedding and the model of one run, fit it, measure it, bundle
// it. What differs between the commands (resume, AutoHERI --arch/--init-from, tables) stays
// in each command.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/experiment.h"
#include "data/cache.h"
#include "model/feature_embedding.h"
#include "model/model.h"
#include "model/taml.h"
#include "train/trainer.h"

namespace funnel::cli {

/// The files of a train or search run folder (RunDir's markers): a folder holding any of them
/// holds a run. Its cache/ is not among them (an input, reused by the next run).
std::vector<std::string> run_folder_files();

/// The cache a run uses: --cache when given, else the config's data.cache, else RUN_DIR/cache.
std::string run_cache_dir(const config::Experiment& e, const std::string& cli_cache,
                          const std::string& run_dir);

/// Converts the experiment's data into `cache_dir` unless a cache is already there.
void ensure_cache(const config::Experiment& experiment, const std::string& cache_dir);

/// The embedding and the dense model of one run.
struct RunModel {
  std::shared_ptr<model::FeatureEmbedding> embedding;
  std::shared_ptr<model::FunnelModel> net;
};

/// {"events", "rows": {split: n}, "group", "truth"} of a cache (metrics.json, compare.json).
nlohmann::json data_summary(const data::Cache& cache);
/// {"host", "cpus", "threads" (LibTorch intra-op)}: where a run ran (metrics.json).
nlohmann::json machine_summary(int threads);

/// Seeds LibTorch with `seed` (dense initialisation) and builds the embedding (its tables
/// seeded with `seed` too) and the model for the cache's funnel.
/// With `comm` of several ranks the tables are sharded over them (data-parallel training).
RunModel build_run_model(const data::Cache& cache, model::FeatureEmbeddingOptions embedding,
                         const model::ModelConfig& model, uint64_t seed,
                         dist::Communicator* comm = nullptr);

/// Fits `trainer` on the train split (early stopping on validation when the cache has one),
/// with log.jsonl, loss.jsonl and checkpoints under `run_dir`, then evaluates; the test split's
/// reliability bins and ROC curves go to run_dir/curves.json. Returns the metrics.json
/// object: {"model", "validation" (best), "test", "timing": {train_seconds, total_seconds,
/// steps, samples, samples_per_second, predict_seconds, predict_samples_per_second (the test
/// split's scoring)}, "data" (data_summary), "machine" (machine_summary),
/// "oracle": {split: ...} when the cache carries truth}. Data-parallel: every rank calls it
/// (the evaluations are collective), only rank 0 writes, and "distributed" holds the world
/// size, the rows dropped to keep the ranks in step and the communication per step.
nlohmann::json fit_and_evaluate(const data::Cache& cache, train::Trainer& trainer,
                                const std::string& name, const std::string& run_dir,
                                train::TrainResult* result = nullptr);

/// TAML's mean gate weights (model::TamlGateStats::to_json, with "split") over the first
/// `max_rows` rows of a split (0 = all), in eval mode; `net` must have HTAKR.
nlohmann::json taml_gate_weights(model::TamlModel& net, const model::FeatureEmbedding& embedding,
                                 const data::Cache& cache, const std::string& split,
                                 uint64_t max_rows);

/// Writes `path`: the model `model` trained on `cache` as `experiment` says (its data section
/// tells how to read raw input; the resolved experiment is recorded).
void write_run_bundle(const std::string& path, const data::Cache& cache,
                      const config::Experiment& experiment, const model::ModelConfig& model,
                      model::FunnelModel& net, const model::FeatureEmbedding& embedding);

}  // namespace funnel::cli
