#pragma once
// What `funnel simulate` writes into OUT_DIR, from one generation pass:
//   experiment.json   a ready experiment config (labels, the Ali-CCP field names, group = user,
//                     truth columns; for lists the list/position/timestamp columns) whose data
//                     section names OUT_DIR/{train,validation,test}.csv
//   simulation.json   the resolved parameters, the calibration, rows per split, what was written
//   cache/            the binary cache, written from the generated ids (sim/cache_writer.h):
//                     the same bytes that `funnel data convert` makes of the CSV files
//   *.csv             the text files, only on request (OutputOptions::csv)
//   criteo_attribution_dataset.tsv   a lists simulation in the Criteo attribution format, on
//                     request (OutputOptions::criteo; sim/criteo_writer.h)

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "data/stats.h"
#include "sim/simulator.h"

namespace funnel::sim {

enum class CriteoOutput {
  kNone,
  /// The whole file in time order, sequences interleaved (as the real file).
  kTimeOrdered,
  /// Each (uid, conversion_id) sequence's rows together: lists without sorting.
  kGrouped,
};

struct OutputOptions {
  /// Write OUT_DIR/cache.
  bool cache = true;
  /// Write OUT_DIR/{train,validation,test}.csv.
  bool csv = false;
  /// Write OUT_DIR/criteo_attribution_dataset.tsv (lists simulations only).
  CriteoOutput criteo = CriteoOutput::kNone;
  /// Progress (rows/s, ETA) on stderr.
  bool progress = false;
};

struct WriteResult {
  uint64_t rows[3] = {0, 0, 0};  ///< train, validation, test
  uint64_t csv_bytes = 0;
  uint64_t criteo_bytes = 0;
  std::string criteo_path;  ///< OUT_DIR/criteo_attribution_dataset.tsv when written
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
