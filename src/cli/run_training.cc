#include "cli/run_training.h"

#include <torch/csrc/autograd/grad_mode.h>
#include <torch/utils.h>
#include <unistd.h>

#include <thread>

#include "cli/input_files.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/stopwatch.h"
#include "data/converter.h"
#include "data/loader.h"
#include "metric/curves.h"
#include "model/bundle.h"
#include "model/predictions.h"

namespace funnel::cli {

std::vector<std::string> run_folder_files() {
  return {"metrics.json",     "model.bundle",      "log.jsonl", "loss.jsonl", "curves.json",
          "checkpoint",       "alpha.jsonl",       "arch.json", "arch.svg",   "evolution.jsonl",
          "search_log.jsonl", "search_loss.jsonl", "gates.json"};
}

std::string run_cache_dir(const config::Experiment& e, const std::string& cli_cache,
                          const std::string& run_dir) {
  if (!cli_cache.empty()) return cli_cache;
  if (!e.data.cache.empty()) return e.data.cache;
  return join_path(run_dir, "cache");
}

void ensure_cache(const config::Experiment& e, const std::string& cache_dir) {
  if (path_exists(join_path(cache_dir, "meta.json"))) return;
  require_input_files(e.data, e.base_dir, "pass --cache " + join_path(e.base_dir, "cache"));
  log_info("converting the data into " + cache_dir);
  data::ConvertOptions co;
  co.progress = log_level() <= LogLevel::kInfo;
  data::convert_to_cache(e.data, cache_dir, co);
}

nlohmann::json data_summary(const data::Cache& cache) {
  nlohmann::json rows = nlohmann::json::object();
  for (const char* split : {"train", "validation", "test"}) {
    if (cache.has_split(split)) rows[split] = cache.split(split).rows();
  }
  return {{"events", cache.layout().events},
          {"rows", rows},
          {"group", cache.layout().has_group},
          {"truth", cache.layout().has_truth()}};
}

nlohmann::json machine_summary(int threads) {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = 0;
  return {{"host", host}, {"cpus", std::thread::hardware_concurrency()}, {"threads", threads}};
}

RunModel build_run_model(const data::Cache& cache, model::FeatureEmbeddingOptions embedding,
                         const model::ModelConfig& model, uint64_t seed, dist::Communicator* comm) {
  model::check_embedding_sharing(model.name, embedding.sharing);
  torch::manual_seed(seed);
  embedding.table.seed = seed;
  RunModel run;
  run.embedding = std::make_shared<model::FeatureEmbedding>(cache.layout(), cache.vocab_sizes(),
                                                            embedding, torch::kCPU, comm);
  run.net = model::make_model(model, model::FunnelSpec::from_layout(cache.layout()),
                              run.embedding->tower_input_dim());
  return run;
}

nlohmann::json fit_and_evaluate(const data::Cache& cache, train::Trainer& trainer,
                                const std::string& name, const std::string& run_dir,
                                train::TrainResult* result) {
  const std::string val = cache.has_split("validation") ? "validation" : "";
  FUNNEL_CHECK(cache.has_split("train"), "the cache has no train split");
  Stopwatch watch;
  const dist::Communicator* comm = trainer.communicator();
  const bool writer = comm == nullptr || comm->rank() == 0;
  const dist::CommStats before = comm ? comm->stats() : dist::CommStats{};
  const train::TrainResult r = trainer.fit("train", val, run_dir);
  const dist::CommStats during = comm ? comm->stats() : dist::CommStats{};
  nlohmann::json metrics;
  metrics["model"] = name;
  // The validation metrics of the state training ended on (train.restore_best).
  if (!val.empty()) {
    metrics["validation"] = trainer.options().restore_best ? r.best_validation : r.last_validation;
  }
  double predict_seconds = 0;
  uint64_t predict_rows = 0;
  if (cache.has_split("test")) {
    // One pass over the test split for the metrics and the report's curves (curves.json).
    Stopwatch predict_watch;
    const metric::FunnelPredictions test = trainer.predict("test");
    predict_seconds = predict_watch.seconds();
    predict_rows = cache.split("test").rows();
    metrics["test"] = trainer.evaluator().metrics(test);
    if (!run_dir.empty() && writer) {
      const model::FunnelSpec& f = trainer.evaluator().funnel();
      nlohmann::json curves = {{"split", "test"},
                               {"entries", metric::funnel_curves(test, f.events, f.parents)}};
      write_text_file_atomic(join_path(run_dir, "curves.json"), json_text(curves) + "\n");
    }
  }
  metrics["timing"] = {
      {"train_seconds", r.train_seconds},
      {"total_seconds", watch.seconds()},
      {"steps", r.steps},
      {"samples", r.samples},
      {"samples_per_second", r.train_seconds > 0 ? r.samples / r.train_seconds : 0.0},
      // Scoring the test split (reading, embedding, forward; no metrics): inference speed.
      {"predict_seconds", predict_seconds},
      {"predict_samples_per_second", predict_seconds > 0 ? predict_rows / predict_seconds : 0.0},
      // Where the training steps' time went (this rank's, data-parallel), in seconds.
      {"step_seconds",
       {{"data", r.step_times.data},
        {"lookup", r.step_times.lookup},
        {"forward", r.step_times.forward},
        {"loss", r.step_times.loss},
        {"backward", r.step_times.backward},
        {"sync", r.step_times.sync},
        {"dense", r.step_times.dense},
        {"sparse", r.step_times.sparse}}}};
  if (comm != nullptr) {
    // What one step cost in communication, over the whole run (training's evaluations
    // included): this rank's bytes sent, rank 0's view.
    const double steps = std::max<int64_t>(1, r.steps);
    metrics["distributed"] = {
        {"world_size", comm->world_size()},
        {"dropped_rows", r.dropped_rows},
        {"all_reduce_bytes_per_step", (during.all_reduce_bytes - before.all_reduce_bytes) / steps},
        {"all_to_all_bytes_per_step", (during.all_to_all_bytes - before.all_to_all_bytes) / steps},
        {"collective_calls_per_step",
         (during.all_reduce_calls + during.all_to_all_calls + during.other_calls -
          before.all_reduce_calls - before.all_to_all_calls - before.other_calls) /
             steps}};
  }
  metrics["data"] = data_summary(cache);
  metrics["machine"] = machine_summary(trainer.options().threads);
  // Simulated data: the oracle (true probabilities) on the same splits, the best reachable.
  for (const char* split : {"validation", "test"}) {
    if (!metrics.contains(split)) continue;
    const nlohmann::json oracle = model::oracle_metrics(cache, split);
    if (!oracle.is_null()) metrics["oracle"][split] = oracle;
    // List data: the oracle of the inherent relevance too (HEROES's two notions).
    const nlohmann::json inherent = model::oracle_metrics(cache, split, /*inherent=*/true);
    if (!inherent.is_null()) metrics["oracle_inherent"][split] = inherent;
  }
  if (result) *result = r;
  return metrics;
}

nlohmann::json taml_gate_weights(model::TamlModel& net, const model::FeatureEmbedding& embedding,
                                 const data::Cache& cache, const std::string& split,
                                 uint64_t max_rows) {
  data::LoaderOptions lo;
  lo.batch_size = 8192;
  lo.shuffle = false;
  if (max_rows > 0) lo.end_row = std::min(max_rows, cache.split(split).rows());
  data::Loader loader(cache, cache.split(split), lo);
  loader.start_epoch(0);
  const bool was_training = net.is_training();
  net.eval();
  model::TamlGateStats stats(net);
  data::Batch b;
  torch::NoGradGuard no_grad;
  while (loader.next(b)) stats.add(net, embedding.lookup(b));
  net.train(was_training);
  nlohmann::json out = stats.to_json(cache.layout().events);
  out["split"] = split;
  return out;
}

void write_run_bundle(const std::string& path, const data::Cache& cache,
                      const config::Experiment& experiment, const model::ModelConfig& model,
                      model::FunnelModel& net, const model::FeatureEmbedding& embedding) {
  model::BundleSpec spec =
      model::BundleSpec::of_cache(cache, experiment.data, model, experiment.embedding);
  spec.config = experiment.to_json();
  model::write_bundle(path, model::make_bundle(spec, net, embedding));
}

}  // namespace funnel::cli
