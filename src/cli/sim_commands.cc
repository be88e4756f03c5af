// funnel simulate

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "config/experiment.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "data/cache.h"
#include "data/converter.h"
#include "data/schema.h"
#include "sim/simulator.h"
#include "train/funnel_metrics.h"
#include "train/oracle.h"

namespace funnel::cli {
namespace {

struct SimArgs {
  std::string preset = "aliccp-like";
  std::string out;
  uint64_t rows = 0;
  uint64_t seed = 0;
  std::vector<std::string> overrides;
  bool no_cache = false;
  bool list = false;
};

}  // namespace

void add_sim_commands(CLI::App& app) {
  auto args = std::make_shared<SimArgs>();
  auto* sim = app.add_subcommand(
      "simulate",
      "Generate ad logs with known true probabilities (CSV + experiment.json + cache) and "
      "print the oracle's metrics");
  sim->add_option("--preset", args->preset,
                  "aliccp-like (default), ads-3stage, esm2 or lists (see --list)");
  sim->add_option("--out", args->out, "Folder to write");
  sim->add_option("--rows", args->rows, "Impressions in total (default: the preset's, 1000000)");
  sim->add_option("--seed", args->seed, "Seed (default 1); the same seed gives the same bytes");
  sim->add_option("--set", args->overrides,
                  "Override a simulation parameter: key=value, e.g. cvr=0.03 (repeatable)");
  sim->add_flag("--no-cache", args->no_cache, "Write the CSV files only (no OUT/cache)");
  sim->add_flag("--list", args->list, "List the presets and their parameters, then exit");
  sim->callback([args] {
    if (args->list) {
      for (const auto& [name, what] : sim::preset_list()) {
        std::printf("%-12s %s\n", name.c_str(), what.c_str());
        std::printf("             %s\n", sim::SimConfig::preset_named(name).to_json().dump().c_str());
      }
      return;
    }
    FUNNEL_CHECK(!args->out.empty(), "simulate: --out is required");
    sim::SimConfig config = sim::SimConfig::preset_named(args->preset);
    nlohmann::json changes = nlohmann::json::object();
    for (const auto& o : args->overrides) config::apply_override(changes, o);
    if (args->rows) changes["rows"] = args->rows;
    if (args->seed) changes["seed"] = args->seed;
    config.update(changes);
    const bool progress = log_level() <= LogLevel::kInfo;
    const sim::Simulator simulator(config);
    for (size_t s = 0; s < simulator.calibration().bias.size(); ++s) {
      log_debug("stage " + std::to_string(s) + ": bias " +
                std::to_string(simulator.calibration().bias[s]) + ", expected rate " +
                std::to_string(simulator.calibration().rate[s]));
    }
    const sim::WriteResult w = sim::write_csv(simulator, args->out, progress);
    std::printf("simulated %llu impressions (%s): train %llu, validation %llu, test %llu; "
                "%.1f MB of CSV in %.2f s (%.2f M rows/s)\n",
                static_cast<unsigned long long>(config.rows), config.preset.c_str(),
                static_cast<unsigned long long>(w.rows[0]),
                static_cast<unsigned long long>(w.rows[1]),
                static_cast<unsigned long long>(w.rows[2]), w.bytes / 1e6, w.seconds,
                w.seconds > 0 ? config.rows / w.seconds / 1e6 : 0.0);
    std::printf("experiment config: %s\n", w.config_path.c_str());
    if (args->no_cache) return;
    const config::Experiment e = config::load_experiment(w.config_path);
    const std::string cache_dir = join_path(args->out, "cache");
    data::ConvertOptions co;
    co.progress = progress;
    data::convert_to_cache(data::parse_data_config(e.root.at("data"), e.base_dir), cache_dir, co);
    const data::Cache cache(cache_dir);
    nlohmann::json oracle;
    for (const char* split : {"validation", "test"}) {
      if (!cache.has_split(split)) continue;
      const auto truth = train::truth_predictions(cache, split);
      FUNNEL_CHECK(truth.has_value(), cache_dir << ": no truth columns");
      oracle[std::string(split) + " (oracle)"] =
          train::funnel_metrics(*truth, cache.layout().events, cache.layout().event_parent);
    }
    write_text_file_atomic(join_path(args->out, "oracle.json"), oracle.dump(2) + "\n");
    std::printf("cache: %s\nthe oracle (true probabilities), the best any model can reach:\n",
                cache_dir.c_str());
    std::fputs(train::funnel_metrics_table(oracle).c_str(), stdout);
    std::printf("next: funnel train --config %s --cache %s --out RUN_DIR\n", w.config_path.c_str(),
                cache_dir.c_str());
  });
}

}  // namespace funnel::cli
