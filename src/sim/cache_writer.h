#pragma once
// Simulated rows straight into the binary cache, without text. The cache is the one that
// `funnel data convert` makes from the simulation's CSV files and experiment config, byte for
// byte (the test asserts it file by file): the same layout, vocabularies (training counts,
// min_count, ids by descending count with ties broken by the value's text key), ids, offsets,
// weights, labels, truth columns and statistics; only meta.json's input accounting differs
// (no files, bytes or header lines; the seconds of the one generation pass).
//
// How it is fast (docs/simulator.md#speed): the simulator knows every value's range, so the
// training counts of most fields are dense arrays (user, item, position; the other fields'
// counts follow from them: a profile value is its user's, a category its item's, ...) and
// their ids are looked up in dense id arrays. Only the user-cross fields need hash tables,
// keyed by the number (text keys, which cost formatting and hashing, are computed once per
// distinct value). During generation a row costs its fixed columns and 12 staged bytes (user,
// item, position); finish() builds the vocabularies and maps the staged rows to ids, field
// by field, with tables and buffers reused (fresh pages are slow to fault in on VMs).

#include <cstdint>
#include <memory>
#include <string>

#include "data/stats.h"
#include "sim/simulator.h"

namespace funnel::sim {

class CacheWriter {
 public:
  struct Options {
    /// Replace an existing cache at the destination (only a folder holding a Funnel cache).
    bool overwrite = true;
  };

  /// Prepares the cache of the data in experiment_config(sim), built in a temporary folder
  /// beside `cache_dir` that replaces it in finish().
  CacheWriter(const Simulator& sim, const std::string& cache_dir, const Options& options);
  ~CacheWriter();
  CacheWriter(const CacheWriter&) = delete;
  CacheWriter& operator=(const CacheWriter&) = delete;

  /// Rows of sim.generate_batches(), in order.
  void add(const SimRow* rows, size_t n);
  /// Vocabularies, sparse columns, meta.json; then the cache replaces `cache_dir`.
  data::DatasetStats finish();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// Generates the simulation's rows into a cache at `cache_dir` (no experiment.json, no CSV;
/// sim/output.h writes those).
data::DatasetStats write_cache(const Simulator& sim, const std::string& cache_dir,
                               const CacheWriter::Options& options = {});

}  // namespace funnel::sim
