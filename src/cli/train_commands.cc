// funnel train

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/arch_options.h"
#include "cli/commands.h"
#include "cli/run_training.h"
#include "config/experiment.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/run_dir.h"
#include "data/cache.h"
#include "metric/funnel_metrics.h"
#include "model/model.h"
#include "train/trainer.h"

namespace funnel::cli {
namespace {

struct TrainArgs {
  std::string config;
  std::string out;
  std::string cache;
  std::vector<std::string> overrides;
  bool resume = false;
  bool overwrite = false;
  std::string arch;
  std::string init_from;
};

}  // namespace

void add_train_commands(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* train = app.add_subcommand("train", "Train a model; writes RUN_DIR/metrics.json");
  train->add_option("--config", args->config, "Experiment config (JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  train->add_option("--out", args->out, "Run folder to create")->required();
  train->add_option("--cache", args->cache,
                    "Binary cache to use, created from the config's data when absent "
                    "(default: the config's data.cache, else RUN_DIR/cache)");
  train->add_option("--set", args->overrides, "Override a config key: key=value (repeatable)");
  auto* resume = train->add_flag("--resume", args->resume, "Continue from RUN_DIR/checkpoint/last");
  train
      ->add_flag("--overwrite", args->overwrite,
                 "Replace the run already in RUN_DIR (default: refuse to)")
      ->excludes(resume);
  auto* arch =
      train
          ->add_option("--arch", args->arch,
                       "AutoHERI: train this architecture (arch.json of funnel search) with fixed "
                       "binary connections")
          ->check(CLI::ExistingFile);
  train
      ->add_option("--init-from", args->init_from,
                   "With --arch: start from the searched weights of this funnel search "
                   "model.bundle instead of from scratch")
      ->check(CLI::ExistingFile)
      ->needs(arch);
  // The models the registry knows, with its one-line summaries (options: docs/models.md).
  std::string models = "\nModels (--set model.name=NAME; their options: docs/models.md):\n";
  for (const model::ModelEntry& m : model::model_registry()) {
    char line[256];
    std::snprintf(line, sizeof line, "  %-14s %s\n", m.name, m.summary);
    models += line;
  }
  train->footer(models);
  train->callback([args] {
    config::ExperimentFile file = config::read_experiment(args->config, args->overrides);
    if (!args->arch.empty()) apply_arch_file(args->arch, file.root);
    const config::Experiment e = config::parse_experiment(file, config::Command::kTrain);
    // The folder is this process's until it ends; a run already there is refused, replaced
    // (--overwrite: its files removed first) or continued (--resume).
    const RunDir run_dir(args->out, run_folder_files(),
                         args->resume      ? RunDir::Existing::kResume
                         : args->overwrite ? RunDir::Existing::kOverwrite
                                           : RunDir::Existing::kRefuse,
                         "funnel train");
    const std::string cache_dir = run_cache_dir(e, args->cache, args->out);
    ensure_cache(e, cache_dir);
    const data::Cache cache(cache_dir);
    const model::ModelConfig& model = *e.model;
    auto [embedding, net] = build_run_model(cache, e.embedding, model, e.train.seed);
    if (!args->init_from.empty()) init_from_searched_bundle(args->init_from, *net, *embedding);
    train::TrainerOptions run_opt = e.train;
    run_opt.progress = log_level() <= LogLevel::kInfo;
    train::Trainer trainer(cache, net, embedding, run_opt);
    nlohmann::json resumed;
    if (args->resume) {
      const int done = trainer.resume(args->out);
      resumed = {{"epochs_done", done}};
      log_info("resuming " + args->out + " after epoch " + std::to_string(done) + " of " +
               std::to_string(e.train.epochs));
    }
    train::TrainResult r;
    nlohmann::json metrics = fit_and_evaluate(cache, trainer, model.name, args->out, &r);
    if (!resumed.is_null()) metrics["resumed"] = resumed;
    metrics["config"] = e.to_json();  // the resolved experiment (file + --set + defaults)
    write_text_file_atomic(join_path(args->out, "metrics.json"), json_text(metrics, 2) + "\n");
    // The bundle: the best state with everything needed to score raw input.
    write_run_bundle(join_path(args->out, "model.bundle"), cache, e, model, *net, *embedding);
    // TAML: the gate weights of its Fig. 4 beside the metrics (funnel report draws them).
    auto* taml = dynamic_cast<model::TamlModel*>(net.get());
    const std::string gate_split = cache.has_split("test") ? "test" : "validation";
    if (taml != nullptr && taml->options().htakr && cache.has_split(gate_split)) {
      nlohmann::json gates = taml_gate_weights(*taml, *embedding, cache, gate_split, 200000);
      gates["model"] = model.name;
      write_text_file_atomic(join_path(args->out, "gates.json"), json_text(gates, 2) + "\n");
    }
    nlohmann::json evaluated;
    for (const char* split : {"validation", "test"}) {
      if (metrics.contains(split) && !metrics[split].is_null()) evaluated[split] = metrics[split];
      if (metrics.contains("oracle") && metrics["oracle"].contains(split)) {
        evaluated[std::string(split) + " (oracle)"] = metrics["oracle"][split];
      }
    }
    std::fputs(metric::funnel_metrics_table(evaluated).c_str(), stdout);
    std::printf(
        "trained %lld steps, %.0f samples/s; metrics in %s, model in %s\n",
        static_cast<long long>(r.steps), r.train_seconds > 0 ? r.samples / r.train_seconds : 0.0,
        join_path(args->out, "metrics.json").c_str(), join_path(args->out, "model.bundle").c_str());
  });
}

}  // namespace funnel::cli
