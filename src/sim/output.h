#pragma once
// What `funnel simulate` writes into OUT_DIR, from one generation pass:
//   experiment.json   a ready experiment config (labels, the Ali-CCP field names, group = user,
//                     truth columns; for lists the list/position/timestamp columns) whose data
//                     section names OUT_DIR/{train,validation,test}.csv
//   simulation.json   the resolved parameters, the calibration, rows per split, what was written
//   cache/            the binary cache, written from the generated ids (sim/cache_writer.h):
//                     the same bytes that `funnel data convert` makes of the CSV files
//   *.csv             the text files, only on request (OutputOptions::csv)

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "data/stats.h"
#include "sim/simulator.h"

namespace funnel::sim {

struct OutputOptions {
  /// Write OUT_DIR/cache.
  bool cache = true;
  /// Write OUT_DIR/{train,validation,test}.csv.
  bool csv = false;
  /// Progress (rows/s, ETA) on stderr.
  bool progress = false;
};

struct WriteResult {
  uint64_t rows[3] = {0, 0, 0};  ///< train, validation, test
  uint64_t csv_bytes = 0;
  /// Generating and writing the rows (the population and calibration come before).
  double seconds = 0;
  std::string config_path;  ///< OUT_DIR/experiment.json
  std::string cache_dir;    ///< OUT_DIR/cache when written, else empty
  data::DatasetStats cache_stats;
};

/// The experiment config of the simulated data. Its data section names the CSV files of the
/// splits the config makes (validation and test only with a fraction > 0) and, `with_cache`,
/// the cache beside it ("cache": "cache", used by train without --cache).
nlohmann::json experiment_config(const Simulator& sim, bool with_cache = false);

/// Writes experiment.json, simulation.json and the outputs `options` asks for into `out_dir`.
WriteResult write_simulation(const Simulator& sim, const std::string& out_dir,
                             const OutputOptions& options);

/// CSV, experiment.json and simulation.json only (write_simulation without the cache).
WriteResult write_csv(const Simulator& sim, const std::string& out_dir, bool progress);

}  // namespace funnel::sim
