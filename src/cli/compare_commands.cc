// funnel compare: a list of models x seeds on one dataset, one JSON with every run and the
// papers' tables (metric::compare_markdown).
//
// Model options: the config's "model" section (its "name" is ignored) holds options shared by
// every model; "compare": {"models": {"<name>": {...}}} adds or overrides options of one model
// (JSON merge patch: null removes a shared key, so that model falls back to its default).
// Options a model does not accept are errors of that model's runs, recorded, not fatal.

#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/run_training.h"
#include "config/experiment.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "core/stopwatch.h"
#include "data/cache.h"
#include "model/model.h"
#include "metric/compare_report.h"
#include "train/oracle.h"
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
};

bool is_registered(const std::string& name) {
  for (const model::ModelEntry& entry : model::model_registry()) {
    if (name == entry.name) return true;
  }
  return false;
}

/// The "compare" section: per-model option patches, checked against the registry.
nlohmann::json per_model_patches(const nlohmann::json& root) {
  if (!root.contains("compare")) return nlohmann::json::object();
  const nlohmann::json& c = root.at("compare");
  FUNNEL_CHECK(c.is_object(), "compare: expected an object, got " << c.dump());
  for (auto it = c.begin(); it != c.end(); ++it) {
    FUNNEL_CHECK(it.key() == "models", "compare." << it.key() << ": unknown key (known: models)");
  }
  const nlohmann::json models = c.value("models", nlohmann::json::object());
  FUNNEL_CHECK(models.is_object(), "compare.models: expected {\"<model>\": {options}}");
  for (auto it = models.begin(); it != models.end(); ++it) {
    FUNNEL_CHECK(is_registered(it.key()), "compare.models." << it.key() << ": unknown model");
    FUNNEL_CHECK(it.value().is_object(),
                 "compare.models." << it.key() << ": expected an object of options");
  }
  return models;
}

}  // namespace

void add_compare_commands(CLI::App& app) {
  auto args = std::make_shared<CompareArgs>();
  auto* cmd = app.add_subcommand(
      "compare",
      "Train several models x seeds on one dataset; writes OUT/compare.json and paper-style "
      "markdown tables");
  cmd->add_option("--config", args->config, "Experiment config (JSON)")
      ->required()->check(CLI::ExistingFile);
  cmd->add_option("--models", args->models, "Registry names, comma-separated (e.g. esmm,dnn,mmoe)")
      ->required()->delimiter(',');
  cmd->add_option("--seeds", args->seeds, "Seeds 1..N per model (train.seed and embedding)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--out", args->out, "Folder to create (compare.json, compare.md, runs/)")
      ->required();
  cmd->add_option("--cache", args->cache,
                  "Binary cache to use, created from the config's data when absent "
                  "(default: OUT/cache)");
  cmd->add_option("--set", args->overrides, "Override a config key: key=value (repeatable)");
  cmd->add_option("--markdown", args->markdown, "Also write the tables to this file");
  cmd->add_flag("--keep-checkpoints", args->keep_checkpoints,
                "Keep each run's checkpoint/ folder (default: only its log.jsonl)");
  cmd->callback([args] {
    Stopwatch wall;
    const config::Experiment e = config::load_experiment(args->config, args->overrides);
    FUNNEL_CHECK(e.root.contains("data"), args->config << ": no \"data\" section");
    for (auto it = e.root.begin(); it != e.root.end(); ++it) {
      const std::string k = it.key();
      FUNNEL_CHECK(k == "data" || k == "model" || k == "train" || k == "embedding" ||
                       k == "compare" || k == "search",
                   args->config << ": unknown section '" << k
                                << "' (known: data, model, embedding, train, compare, search)");
    }
    const nlohmann::json patches = per_model_patches(e.root);
    nlohmann::json shared = e.root.value("model", nlohmann::json::object());
    FUNNEL_CHECK(shared.is_object(), "model: expected an object of options");
    shared.erase("name");
    std::set<std::string> seen;
    for (const auto& m : args->models) {
      FUNNEL_CHECK(!m.empty() && seen.insert(m).second, "--models: empty or repeated name '" << m << "'");
    }

    make_dirs(args->out);
    const std::string cache_dir = args->cache.empty() ? join_path(args->out, "cache") : args->cache;
    ensure_cache(e.root.at("data"), e.base_dir, cache_dir);
    const data::Cache cache(cache_dir);

    nlohmann::json result;
    result["config"] = e.root;
    result["cache"] = cache_dir;
    result["models"] = args->models;
    result["seeds"] = nlohmann::json::array();
    for (int s = 1; s <= args->seeds; ++s) result["seeds"].push_back(s);
    result["baseline"] = "dnn";
    nlohmann::json rows = nlohmann::json::object();
    for (const char* split : {"train", "validation", "test"}) {
      if (cache.has_split(split)) rows[split] = cache.split(split).rows();
    }
    result["data"] = {{"events", cache.layout().events},
                      {"rows", rows},
                      {"group", cache.layout().has_group},
                      {"truth", cache.layout().has_truth()}};
    for (const char* split : {"validation", "test"}) {
      if (!cache.has_split(split)) continue;
      if (const auto truth = train::truth_predictions(cache, split)) {
        result["oracle"][split] =
            train::funnel_metrics(*truth, cache.layout().events, cache.layout().event_parent);
      }
    }
    result["runs"] = nlohmann::json::array();
    const std::string json_path = join_path(args->out, "compare.json");
    auto save = [&](bool finished) {
      result["finished"] = finished;
      result["wall_seconds"] = wall.seconds();
      write_text_file_atomic(json_path, result.dump(2) + "\n");
    };
    save(false);

    const size_t total = args->models.size() * static_cast<size_t>(args->seeds);
    size_t done = 0, failed = 0;
    for (const std::string& name : args->models) {
      nlohmann::json options = shared;
      if (patches.contains(name)) options.merge_patch(patches.at(name));
      for (int seed = 1; seed <= args->seeds; ++seed) {
        nlohmann::json run_config = e.root;
        run_config.erase("data");
        run_config.erase("compare");
        run_config.erase("search");
        run_config["model"] = options;
        run_config["model"]["name"] = name;
        run_config["train"]["seed"] = seed;
        const std::string run_dir =
            join_path(join_path(args->out, "runs"), name + "-seed" + std::to_string(seed));
        nlohmann::json run = {{"model", name}, {"seed", seed}, {"config", run_config},
                              {"run_dir", run_dir}};
        log_info("compare: run " + std::to_string(++done) + " of " + std::to_string(total) +
                 ": " + name + ", seed " + std::to_string(seed));
        try {
          remove_all(run_dir);  // a fresh run: no log lines or checkpoints of an earlier one
          train::TrainerOptions topt = trainer_options_of(run_config);
          topt.progress = log_level() <= LogLevel::kInfo;
          RunModel rm = build_run_model(cache, run_config, name, options, topt.seed);
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
          log_warning("compare: " + name + ", seed " + std::to_string(seed) + " failed: " +
                      ex.what());
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
