#include "cli/run_training.h"

#include <torch/utils.h>

#include "cli/input_files.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "core/stopwatch.h"
#include "data/converter.h"
#include "model/bundle.h"
#include "train/oracle.h"

namespace funnel::cli {

void ensure_cache(const nlohmann::json& data_section, const std::string& base_dir,
                  const std::string& cache_dir) {
  if (path_exists(join_path(cache_dir, "meta.json"))) return;
  const data::DataConfig config = data::parse_data_config(data_section, base_dir);
  require_input_files(config, base_dir, "pass --cache " + join_path(base_dir, "cache"));
  log_info("converting the data into " + cache_dir);
  data::ConvertOptions co;
  co.progress = log_level() <= LogLevel::kInfo;
  data::convert_to_cache(config, cache_dir, co);
}

train::TrainerOptions trainer_options_of(const nlohmann::json& experiment) {
  return train::parse_trainer_options(experiment.contains("train") ? experiment.at("train")
                                                                   : nlohmann::json());
}

RunModel build_run_model(const data::Cache& cache, const nlohmann::json& experiment,
                         const std::string& name, const nlohmann::json& model_options,
                         uint64_t seed) {
  torch::manual_seed(seed);
  RunModel run;
  run.embedding = std::make_shared<model::FeatureEmbedding>(
      cache.layout(), cache.vocab_sizes(),
      model::parse_feature_embedding_options(
          experiment.contains("embedding") ? experiment.at("embedding") : nlohmann::json(), seed));
  const model::FunnelSpec funnel{cache.layout().events, cache.layout().event_parent};
  run.net = model::make_model(name, funnel, run.embedding->input_dim(), model_options);
  return run;
}

nlohmann::json fit_and_evaluate(const data::Cache& cache, train::Trainer& trainer,
                                const std::string& name, const std::string& run_dir,
                                train::TrainResult* result) {
  const std::string val = cache.has_split("validation") ? "validation" : "";
  FUNNEL_CHECK(cache.has_split("train"), "the cache has no train split");
  Stopwatch watch;
  const train::TrainResult r = trainer.fit("train", val, run_dir);
  nlohmann::json metrics;
  metrics["model"] = name;
  if (!val.empty()) metrics["validation"] = r.best_validation;
  if (cache.has_split("test")) metrics["test"] = trainer.evaluate("test");
  metrics["timing"] = {{"train_seconds", r.train_seconds},
                       {"total_seconds", watch.seconds()},
                       {"steps", r.steps},
                       {"samples", r.samples},
                       {"samples_per_second", r.train_seconds > 0 ? r.samples / r.train_seconds : 0.0}};
  // Simulated data: the oracle (true probabilities) on the same splits, the best reachable.
  for (const char* split : {"validation", "test"}) {
    if (!metrics.contains(split) || !cache.layout().has_truth()) continue;
    if (const auto truth = train::truth_predictions(cache, split)) {
      metrics["oracle"][split] =
          train::funnel_metrics(*truth, cache.layout().events, cache.layout().event_parent);
    }
  }
  if (result) *result = r;
  return metrics;
}

}  // namespace funnel::cli
