// funnel simulate

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "config/experiment.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/run_dir.h"
#include "core/stopwatch.h"
#include "data/cache.h"
#include "metric/funnel_metrics.h"
#include "model/predictions.h"
#include "sim/output.h"
#include "sim/simulator.h"

namespace funnel::cli {
namespace {

struct SimArgs {
  std::string preset = "aliccp-like";
  std::string out;
  uint64_t rows = 0;
  uint64_t seed = 0;
  std::vector<std::string> overrides;
  bool csv = false;
  bool no_cache = false;
  bool criteo = false;
  bool criteo_grouped = false;
  bool list = false;
  bool overwrite = false;
};

}  // namespace

void add_sim_commands(CLI::App& app) {
  auto args = std::make_shared<SimArgs>();
  auto* sim = app.add_subcommand(
      "simulate",
      "Generate ad logs with known true probabilities (binary cache + experiment.json; CSV with "
      "--csv) and print the oracle's metrics");
  sim->add_option("--preset", args->preset,
                  "aliccp-like (default), ads-3stage, esm2, lists or lists-pbm (see --list)");
  sim->add_option("--out", args->out, "Folder to write");
  sim->add_option("--rows", args->rows, "Impressions in total (default: the preset's, 1000000)");
  sim->add_option("--seed", args->seed, "Seed (default 1); the same seed gives the same bytes");
  sim->add_option("--set", args->overrides,
                  "Override a simulation parameter: key=value, e.g. cvr=0.03 (repeatable)");
  sim->add_flag("--csv", args->csv,
                "Also write OUT/{train,validation,test}.csv (the files experiment.json names; "
                "needed by eval/predict on text and by `funnel data convert`)");
  sim->add_flag("--no-cache", args->no_cache, "Write the CSV files only (no OUT/cache)");
  sim->add_flag("--criteo", args->criteo,
                "Also write OUT/criteo_attribution_dataset.tsv (lists preset): the Criteo "
                "attribution format, in time order with the sequences interleaved");
  sim->add_flag("--criteo-grouped", args->criteo_grouped,
                "As --criteo, but each (uid, conversion_id) sequence's rows together");
  sim->add_flag("--overwrite", args->overwrite,
                "Replace the simulation already in OUT (default: refuse to)");
  sim->add_flag("--list", args->list, "List the presets and their parameters, then exit");
  sim->callback([args] {
    if (args->list) {
      for (const auto& [name, what] : sim::preset_list()) {
        std::printf("%-12s %s\n", name.c_str(), what.c_str());
        std::printf("             %s\n",
                    sim::SimConfig::preset_named(name).to_json().dump().c_str());
      }
      return;
    }
    FUNNEL_CHECK(!args->out.empty(), "simulate: --out is required");
    const RunDir out_dir(args->out, {"simulation.json", "experiment.json", "oracle.json"},
                         args->overwrite ? RunDir::Existing::kOverwrite : RunDir::Existing::kRefuse,
                         "funnel simulate");
    sim::SimConfig config = sim::SimConfig::preset_named(args->preset);
    nlohmann::json changes = nlohmann::json::object();
    for (const auto& o : args->overrides) config::apply_override(changes, o);
    if (args->rows) changes["rows"] = args->rows;
    if (args->seed) changes["seed"] = args->seed;
    config.update(changes);
    const bool progress = log_level() <= LogLevel::kInfo;
    Stopwatch setup;
    const sim::Simulator simulator(config);
    const double setup_seconds = setup.seconds();
    for (size_t s = 0; s < simulator.calibration().bias.size(); ++s) {
      log_debug("stage " + std::to_string(s) + ": bias " +
                std::to_string(simulator.calibration().bias[s]) + ", expected rate " +
                std::to_string(simulator.calibration().rate[s]));
    }
    sim::OutputOptions oo;
    oo.cache = !args->no_cache;
    oo.csv = args->csv || args->no_cache;
    oo.progress = progress;
    if (args->criteo || args->criteo_grouped) {
      FUNNEL_CHECK(!(args->criteo && args->criteo_grouped),
                   "simulate: give --criteo or --criteo-grouped, not both");
      FUNNEL_CHECK(config.funnel == sim::FunnelKind::kLists,
                   "simulate: --criteo needs --preset lists (Criteo sequences are lists), got '"
                       << config.preset << "'");
      oo.criteo = args->criteo ? sim::CriteoOutput::kTimeOrdered : sim::CriteoOutput::kGrouped;
    }
    const sim::WriteResult w = sim::write_simulation(simulator, args->out, oo);
    char csv_note[64] = "";
    if (oo.csv) std::snprintf(csv_note, sizeof csv_note, "; %.1f MB of CSV", w.csv_bytes / 1e6);
    std::printf(
        "simulated %llu impressions (%s): train %llu, validation %llu, test %llu; "
        "population and calibration %.2f s, then %.2f s into the %s (%.2f M rows/s)%s\n",
        static_cast<unsigned long long>(config.rows), config.preset.c_str(),
        static_cast<unsigned long long>(w.rows[0]), static_cast<unsigned long long>(w.rows[1]),
        static_cast<unsigned long long>(w.rows[2]), setup_seconds, w.seconds,
        oo.cache ? (oo.csv ? "cache and the CSV" : "cache") : "CSV",
        w.seconds > 0 ? config.rows / w.seconds / 1e6 : 0.0, csv_note);
    std::printf("experiment config: %s\n", w.config_path.c_str());
    if (!w.criteo_path.empty()) {
      std::printf("criteo attribution file: %s (%.1f MB; examples/criteo_attribution.json reads "
                  "it, scripts/criteo_split.sh splits it by list)\n",
                  w.criteo_path.c_str(), w.criteo_bytes / 1e6);
    }
    if (args->no_cache) {
      remove_all(join_path(args->out, "oracle.json"));  // it described the cache just removed
      return;
    }
    const std::string& cache_dir = w.cache_dir;
    const data::Cache cache(cache_dir);
    nlohmann::json oracle;
    for (const char* split : {"validation", "test"}) {
      if (!cache.has_split(split)) continue;
      const auto truth = model::truth_predictions(cache, split);
      FUNNEL_CHECK(truth.has_value(), cache_dir << ": no truth columns");
      oracle[std::string(split) + " (oracle)"] =
          metric::funnel_metrics(*truth, cache.layout().events, cache.layout().event_parent);
      // Lists: the inherent relevance's oracle too (no list history).
      if (const auto inherent = model::truth_predictions(cache, split, /*inherent=*/true)) {
        oracle[std::string(split) + " (inherent oracle)"] = metric::funnel_metrics(
            *inherent, cache.layout().events, cache.layout().event_parent);
      }
    }
    write_text_file_atomic(join_path(args->out, "oracle.json"), json_text(oracle, 2) + "\n");
    std::printf("cache: %s\nthe oracle (true probabilities), the best any model can reach:\n",
                cache_dir.c_str());
    std::fputs(metric::funnel_metrics_table(oracle).c_str(), stdout);
    std::printf("next: funnel train --config %s --out RUN_DIR   (the config names the cache)\n",
                w.config_path.c_str());
    if (!oo.csv) {
      std::printf(
          "(no CSV written: train with --cache as above; rerun with --csv for the text "
          "files experiment.json names, e.g. for eval or predict on text)\n");
    }
  });
}

}  // namespace funnel::cli
