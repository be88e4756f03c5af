// Data-path throughput: text -> cache conversion of an Ali-CCP-shaped CSV (MB/s, rows/s per
// core) and loader throughput from the cache (rows/s), printed as one JSON object.
//
//   data_bench --rows N [--dir DIR] [--keep] [--csv PATH]
//
// The CSV has the AITM layout: click, purchase and the 18 single-valued Ali-CCP fields with
// heavy-tailed ids over the real data set's vocabulary sizes (~4 % CTR, ~0.6 % CVR).

#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/common/aliccp_like.h"
#include "core/file.h"
#include "core/rng.h"
#include "core/stopwatch.h"
#include "data/cache.h"
#include "data/converter.h"
#include "data/loader.h"

namespace {
using namespace funnel;
using bench::generate_csv;
using bench::kFields;

double cpu_seconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t rows = 2000000;
  std::string dir = "/tmp/funnel_data_bench";
  std::string csv;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--rows" && i + 1 < argc) {
      rows = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--csv" && i + 1 < argc) {
      csv = argv[++i];
    } else if (a == "--keep") {
      keep = true;
    } else {
      std::fprintf(stderr, "usage: data_bench [--rows N] [--dir DIR] [--csv PATH] [--keep]\n");
      return 2;
    }
  }
  try {
    make_dirs(dir);
    if (csv.empty()) {
      csv = join_path(dir, "aliccp_like.csv");
      Stopwatch gen;
      generate_csv(csv, rows, 1);
      std::fprintf(stderr, "generated %s (%.1f MB) in %.1f s\n", csv.c_str(),
                   file_size(csv) / 1e6, gen.seconds());
    }
    nlohmann::json data = {{"format", "csv"},
                           {"train", {csv}},
                           {"labels", {"click", "purchase"}},
                           {"vocab", {{"min_count", 11}}}};
    for (const auto& f : kFields) data["categorical"].push_back(f.name);
    const data::DataConfig config = data::parse_data_config(data, "");
    const std::string cache_dir = join_path(dir, "cache");
    data::ConvertOptions co;
    co.progress = false;
    const double cpu0 = cpu_seconds();
    Stopwatch wall;
    const data::DatasetStats st = data::convert_to_cache(config, cache_dir, co);
    const double convert_wall = wall.seconds();
    const double convert_cpu = cpu_seconds() - cpu0;
    const double mb = file_size(csv) / 1e6;
    const double parse_seconds = st.inputs.at("train").seconds;

    nlohmann::json out;
    out["csv_rows"] = st.inputs.at("train").rows_written;
    out["csv_mb"] = mb;
    out["convert_wall_s"] = convert_wall;
    out["convert_cpu_s"] = convert_cpu;
    out["convert_mb_per_s"] = mb / convert_wall;
    out["convert_mb_per_cpu_s"] = mb / convert_cpu;
    out["convert_rows_per_s"] = st.inputs.at("train").rows_written / convert_wall;
    out["parse_pass_mb_per_s"] = mb / parse_seconds;
    out["convert_peak_rss_mb"] = st.peak_rss_bytes / 1e6;

    const data::Cache cache(cache_dir);
    for (size_t batch : {1024u, 2000u}) {
      for (size_t prefetch : {0u, 2u}) {
        data::LoaderOptions lo;
        lo.batch_size = batch;
        lo.prefetch = prefetch;
        data::Loader loader(cache, cache.split("train"), lo);
        data::Batch b;
        // Epoch 0 warms the page cache; epoch 1 is timed.
        for (uint64_t epoch = 0; epoch < 2; ++epoch) {
          loader.start_epoch(epoch);
          const double c0 = cpu_seconds();
          Stopwatch t;
          uint64_t n = 0;
          while (loader.next(b)) n += b.size;
          if (epoch == 1) {
            const std::string key = "loader_b" + std::to_string(batch) + "_prefetch" +
                                    std::to_string(prefetch);
            out[key + "_rows_per_s"] = n / t.seconds();
            out[key + "_rows_per_cpu_s"] = n / (cpu_seconds() - c0);
          }
        }
      }
    }
    std::printf("%s\n", out.dump(2).c_str());
    if (!keep) remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "data_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
