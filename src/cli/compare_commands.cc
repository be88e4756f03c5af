// funnel compare: a list of models x seeds on one dataset, one JSON with every run and the
// papers' tables (metric::compare_markdown).
//
// Model options: the config's "model" section (its "name" is ignored) holds options shared by
// every model; "compare": {"models": {"<name>": {...}}} adds or overrides options of one model
// (JSON merge patch: null removes a shared key, so that model falls back to its default);
// "compare": {"variants": {"<label>": {"model": name, ...}}} names a variant (an ablation)
// usable in --models. Options a model does not accept are errors of that model's runs,
// recorded, not fatal.

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/run_training.h"
#include "cli/workers.h"
#include "config/experiment.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/run_dir.h"
#include "core/stopwatch.h"
#include "data/cache.h"
#include "metric/compare_report.h"
#include "model/model_config.h"
#include "model/predictions.h"
#include "train/trainer.h"

namespace funnel::cli {
namespace {

struct CompareArgs {
  std::string config;
  std::vector<std::string> models;
  int seeds = 3;
  std::string out;
  std::string cache;
  std::vector<std::string> overrides;
  std::string markdown;
  bool keep_checkpoints = false;
  bool overwrite = false;
};

}  // namespace

void add_compare_commands(CLI::App& app) {
  auto args = std::make_shared<CompareArgs>();
  auto* cmd = app.add_subcommand(
      "compare",
      "Train several models x seeds on one dataset; writes OUT/compare.json and paper-style "
      "markdown tables");
  cmd->add_option("--config", args->config, "Experiment config (JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--models", args->models,
                  "Registry names or compare.variants labels, comma-separated (e.g. esmm,dnn,mmoe)")
      ->required()
      ->delimiter(',');
  cmd->add_option("--seeds", args->seeds, "Seeds 1..N per model (train.seed and embedding)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--out", args->out, "Folder to create (compare.json, compare.md, runs/)")
      ->required();
  cmd->add_option("--cache", args->cache,
                  "Binary cache to use, created from the config's data when absent "
                  "(default: the config's data.cache, else OUT/cache)");
  cmd->add_option("--set", args->overrides, "Override a config key: key=value (repeatable)");
  cmd->add_option("--markdown", args->markdown, "Also write the tables to this file");
  cmd->add_flag("--overwrite", args->overwrite,
                "Replace the comparison already in OUT (default: refuse to)");
  cmd->add_flag("--keep-checkpoints", args->keep_checkpoints,
                "Keep each run's checkpoint/ folder (default: only its log.jsonl)");
  add_unsupported_workers(*cmd,
                          "does not train data-parallel: it runs one model and seed at a time "
                          "in one process; use funnel train --workers N for one run");
  cmd->callback([args] {
    Stopwatch wall;
    const config::Experiment e =
        config::load_experiment(args->config, args->overrides, config::Command::kCompare);
    std::set<std::string> seen;
    for (const auto& m : args->models) {
      FUNNEL_CHECK(!m.empty() && seen.insert(m).second,
                   "--models: empty or repeated name '" << m << "'");
    }

    const RunDir run_dir(args->out, {"compare.json", "compare.md", "runs"},
                         args->overwrite ? RunDir::Existing::kOverwrite : RunDir::Existing::kRefuse,
                         "funnel compare");
    const std::string cache_dir = run_cache_dir(e, args->cache, args->out);
    ensure_cache(e, cache_dir);
    const data::Cache cache(cache_dir);

    nlohmann::json result;
    result["config"] = e.to_json();
    result["cache"] = cache_dir;
    result["models"] = args->models;
    result["seeds"] = nlohmann::json::array();
    for (int s = 1; s <= args->seeds; ++s) result["seeds"].push_back(s);
    result["baseline"] = "dnn";
    result["data"] = data_summary(cache);
    result["machine"] = machine_summary(e.train.threads);
    for (const char* split : {"validation", "test"}) {
      if (!cache.has_split(split)) continue;
      const nlohmann::json oracle = model::oracle_metrics(cache, split);
      if (!oracle.is_null()) result["oracle"][split] = oracle;
      const nlohmann::json inherent = model::oracle_metrics(cache, split, /*inherent=*/true);
      if (!inherent.is_null()) result["oracle_inherent"][split] = inherent;
    }
    result["runs"] = nlohmann::json::array();
    const std::string json_path = join_path(args->out, "compare.json");
    auto save = [&](bool finished) {
      result["finished"] = finished;
      result["wall_seconds"] = wall.seconds();
      write_text_file_atomic(json_path, json_text(result, 2) + "\n");
    };
    save(false);

    const size_t total = args->models.size() * static_cast<size_t>(args->seeds);
    size_t done = 0, failed = 0;
    for (const std::string& name : args->models) {
      for (int seed = 1; seed <= args->seeds; ++seed) {
        const std::string run_dir =
            join_path(join_path(args->out, "runs"), name + "-seed" + std::to_string(seed));
        nlohmann::json run = {{"model", name}, {"seed", seed}, {"run_dir", run_dir}};
        log_info("compare: run " + std::to_string(++done) + " of " + std::to_string(total) + ": " +
                 name + ", seed " + std::to_string(seed));
        try {
          // The run's own experiment: this model (the shared options with its patch) and seed.
          config::Experiment one = e;
          one.command = config::Command::kTrain;
          one.compare.reset();
          one.search.reset();
          one.train.seed = static_cast<uint64_t>(seed);
          one.model = e.compare->model(name);
          nlohmann::json run_config = one.to_json();
          run_config.erase("data");
          run["config"] = run_config;
          remove_all(run_dir);  // a fresh run: no log lines or checkpoints of an earlier one
          train::TrainerOptions topt = one.train;
          topt.progress = log_level() <= LogLevel::kInfo;
          RunModel rm = build_run_model(cache, one.embedding, *one.model, topt.seed);
          train::Trainer trainer(cache, rm.net, rm.embedding, topt);
          const nlohmann::json metrics = fit_and_evaluate(cache, trainer, name, run_dir);
          run["status"] = "ok";
          for (const char* key : {"validation", "test", "timing"}) {
            if (metrics.contains(key)) run[key] = metrics.at(key);
          }
          if (!args->keep_checkpoints) remove_all(join_path(run_dir, "checkpoint"));
        } catch (const std::exception& ex) {
          // A model that does not fit the data (ESM2 on a 2-event funnel) or a diverged run.
          run["status"] = "failed";
          run["error"] = ex.what();
          ++failed;
          log_warning("compare: " + name + ", seed " + std::to_string(seed) +
                      " failed: " + ex.what());
        }
        result["runs"].push_back(run);
        save(false);
      }
    }
    save(true);
    const std::string md = metric::compare_markdown(result);
    write_text_file_atomic(join_path(args->out, "compare.md"), md);
    if (!args->markdown.empty()) write_text_file_atomic(args->markdown, md);
    std::fputs(md.c_str(), stdout);
    std::printf("%zu runs (%zu failed) in %.0f s; results in %s\n", total, failed, wall.seconds(),
                json_path.c_str());
  });
}

}  // namespace funnel::cli
