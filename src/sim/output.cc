#include "sim/output.h"

#include <memory>

#include "core/file.h"
#include "core/json_text.h"
#include "core/progress.h"
#include "core/stopwatch.h"
#include "sim/cache_writer.h"
#include "sim/criteo_writer.h"
#include "sim/csv_writer.h"

namespace funnel::sim {

using nlohmann::json;

namespace {

/// Which splits the config makes: train always, the others when their fraction is positive.
void splits_of(const SimConfig& c, bool present[3]) {
  present[SimRow::kTrain] = true;
  present[SimRow::kValidation] = c.validation_fraction > 0;
  present[SimRow::kTest] = c.test_fraction > 0;
}

}  // namespace

json experiment_config(const Simulator& sim, bool with_cache) {
  const SimConfig& c = sim.config();
  json labels = json::array();
  for (const SimEvent& ev : sim.events()) {
    json l = {{"event", ev.event}};
    if (ev.columns.size() == 1) {
      l["column"] = ev.columns[0];
    } else {
      l["columns"] = ev.columns;
    }
    if (ev.parent >= 0 && ev.parent != static_cast<int>(&ev - sim.events().data()) - 1) {
      l["parent"] = sim.events()[ev.parent].event;
    }
    labels.push_back(l);
  }
  json categorical = json::array();
  for (const SimField& f : sim_fields(c)) {
    if (f.source == FieldSource::kHistory) {
      categorical.push_back({{"name", f.name}, {"multi", true}, {"weighted", true}});
    } else {
      categorical.push_back(f.name);
    }
  }
  json truth = json::object(), inherent = json::object();
  for (const SimEvent& ev : sim.events()) {
    truth[ev.event] = ev.truth_column;
    if (!ev.inherent_column.empty()) inherent[ev.event] = ev.inherent_column;
  }
  bool present[3];
  splits_of(c, present);
  json data = {{"format", "csv"},
               {"train", {CsvWriter::file_name(SimRow::kTrain)}},
               {"labels", labels},
               {"categorical", categorical},
               {"group", "101"},
               {"truth", truth},
               // Ids seen once in training (most user x item crosses) share id 0.
               {"vocab", {{"min_count", 2}}}};
  // `funnel train --config OUT/experiment.json` finds the cache without --cache.
  if (with_cache) data["cache"] = "cache";
  for (int s : {SimRow::kValidation, SimRow::kTest}) {
    if (present[s]) {
      data[s == SimRow::kValidation ? "validation" : "test"] = {CsvWriter::file_name(s)};
    }
  }
  if (c.funnel == FunnelKind::kLists) {
    data["list"] = "session";
    data["position"] = "301";
    data["timestamp"] = "time";
    data["inherent_truth"] = inherent;
  }
  return {{"data", data},
          {"model", {{"name", "esmm"}, {"towers", {200, 80, 20}}}},
          {"embedding", {{"dim", 16}}},
          {"train", {{"batch_size", 2000}, {"epochs", 2}, {"lr", 0.005}, {"patience", 1}}}};
}

WriteResult write_simulation(const Simulator& sim, const std::string& out_dir,
                             const OutputOptions& options) {
  const SimConfig& c = sim.config();
  make_dirs(out_dir);
  WriteResult result;
  result.config_path = join_path(out_dir, "experiment.json");
  write_text_file_atomic(result.config_path,
                         json_text(experiment_config(sim, options.cache), 2) + "\n");

  bool present[3];
  splits_of(c, present);
  // Outputs of an earlier run into OUT_DIR that this one does not write would describe other
  // data: CSV files that experiment.json names (and `funnel train` without --cache would
  // convert), or a cache that `--cache OUT_DIR/cache` would train on.
  for (int s = 0; s < 3; ++s) {
    if (!(options.csv && present[s])) remove_all(join_path(out_dir, CsvWriter::file_name(s)));
  }
  const std::string old_cache = join_path(out_dir, "cache");
  if (!options.cache && path_exists(join_path(old_cache, "meta.json"))) remove_all(old_cache);
  if (options.criteo == CriteoOutput::kNone) remove_all(join_path(out_dir, kCriteoFileName));
  Stopwatch watch;
  std::unique_ptr<CsvWriter> csv;
  if (options.csv) csv = std::make_unique<CsvWriter>(sim, out_dir, present);
  std::unique_ptr<CacheWriter> cache;
  if (options.cache) {
    result.cache_dir = join_path(out_dir, "cache");
    cache = std::make_unique<CacheWriter>(sim, result.cache_dir, CacheWriter::Options());
  }
  std::unique_ptr<CriteoWriter> criteo;
  if (options.criteo != CriteoOutput::kNone) {
    result.criteo_path = join_path(out_dir, kCriteoFileName);
    CriteoWriter::Options co;
    co.grouped = options.criteo == CriteoOutput::kGrouped;
    criteo = std::make_unique<CriteoWriter>(sim, result.criteo_path, co);
  }
  Progress::Options po;
  po.label = "simulate " + c.preset + (options.cache ? " -> cache" : " -> csv");
  po.total = c.rows;
  po.total_is_bytes = false;
  po.quiet = !options.progress;
  Progress bar(po);
  uint64_t done = 0;
  sim.generate_batches([&](const SimRow* rows, size_t n) {
    if (csv) csv->add(rows, n);
    if (cache) cache->add(rows, n);
    if (criteo) criteo->add(rows, n);
    for (size_t i = 0; i < n; ++i) {
      ++result.rows[rows[i].split];
      ++done;
      bar.update(done, done);  // cheap: the clock is read every 4096 calls
    }
  });
  if (csv) result.csv_bytes = csv->finish();
  if (cache) result.cache_stats = cache->finish();
  if (criteo) result.criteo_bytes = criteo->finish();
  bar.finish();
  result.seconds = watch.seconds();

  json cal = json::array();
  for (size_t s = 0; s < sim.calibration().bias.size(); ++s) {
    cal.push_back({{"bias", sim.calibration().bias[s]},
                   {"expected_rate", sim.calibration().rate[s]},
                   {"target", sim.calibration().target[s]}});
  }
  const json summary = {
      {"simulation", c.to_json()},
      {"calibration", cal},
      {"rows",
       {{"train", result.rows[0]}, {"validation", result.rows[1]}, {"test", result.rows[2]}}},
      {"outputs",
       {{"csv", options.csv},
        {"cache", options.cache},
        {"criteo", options.criteo == CriteoOutput::kNone          ? "none"
                   : options.criteo == CriteoOutput::kTimeOrdered ? "time_ordered"
                                                                  : "grouped"}}},
      {"bytes", result.csv_bytes},
      {"seconds", result.seconds}};
  write_text_file_atomic(join_path(out_dir, "simulation.json"), json_text(summary, 2) + "\n");
  return result;
}

WriteResult write_csv(const Simulator& sim, const std::string& out_dir, bool progress) {
  OutputOptions o;
  o.cache = false;
  o.csv = true;
  o.progress = progress;
  return write_simulation(sim, out_dir, o);
}

}  // namespace funnel::sim
