// Simulator throughput, single thread: 1 M impressions of each preset generated straight into
// the binary cache (the `funnel simulate` default), against the old path measured in the same
// run (CSV, then `funnel data convert` of the CSV), both producing the same cache.
//
//   sim_bench [--rows N] [--presets aliccp-like,esm2] [--dir DIR] [--repeat K]
//
// Prints one line per preset and one JSON object. Rates are per core: the process runs one
// thread, so rows / CPU seconds is the rate of one core even on a busy machine, where wall
// time also counts waiting for a core. The population and calibration ("setup") come before
// every path and are reported separately and in the end-to-end rate.

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/file.h"
#include "core/stopwatch.h"
#include "data/converter.h"
#include "data/schema.h"
#include "sim/output.h"
#include "sim/simulator.h"

namespace {
using namespace funnel;

double cpu_seconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

struct Timing {
  double wall = 0, cpu = 0;
};

template <typename Fn>
Timing timed(Fn&& fn) {
  const double c0 = cpu_seconds();
  Stopwatch w;
  fn();
  return {w.seconds(), cpu_seconds() - c0};
}

/// The best (least CPU) of `repeat` runs: the least disturbed by other work on the machine.
template <typename Fn>
Timing best_of(int repeat, Fn&& fn) {
  Timing best{0, 1e300};
  for (int i = 0; i < repeat; ++i) {
    const Timing t = timed(fn);
    if (t.cpu < best.cpu) best = t;
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t rows = 1000000;
  std::string presets = "aliccp-like,esm2";
  std::string dir = "/tmp/funnel_sim_bench";
  int repeat = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--rows" && i + 1 < argc) {
      rows = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--presets" && i + 1 < argc) {
      presets = argv[++i];
    } else if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: sim_bench [--rows N] [--presets a,b] [--dir DIR] [--repeat K]\n");
      return 2;
    }
  }
  try {
    nlohmann::json out = nlohmann::json::object();
    std::stringstream list(presets);
    std::string preset;
    std::printf("%-12s %8s | %-24s | %-24s | %-24s | %s\n", "preset", "setup s",
                "generate only (M rows/s)", "-> cache (M rows/s)", "CSV + convert (M rows/s)",
                "speed-up");
    while (std::getline(list, preset, ',')) {
      sim::SimConfig config = sim::SimConfig::preset_named(preset);
      config.rows = rows;
      const std::string work = join_path(dir, preset);
      remove_all(work);
      make_dirs(work);
      std::unique_ptr<sim::Simulator> simulator;
      const Timing setup = timed([&] { simulator = std::make_unique<sim::Simulator>(config); });
      const sim::Simulator& s = *simulator;

      uint64_t checksum = 0;
      const Timing generate = best_of(repeat, [&] {
        s.generate_batches([&](const sim::SimRow* r, size_t n) {
          for (size_t i = 0; i < n; ++i) checksum += r[i].item + r[i].label_columns[0];
        });
      });
      sim::OutputOptions direct_options;  // cache only, as `funnel simulate` by default
      const Timing direct = best_of(repeat, [&] {
        sim::write_simulation(s, join_path(work, "direct"), direct_options);
      });
      const Timing text = best_of(repeat, [&] {
        const std::string csv_dir = join_path(work, "csv");
        const sim::WriteResult w = sim::write_csv(s, csv_dir, false);
        const auto experiment = nlohmann::json::parse(read_text_file(w.config_path));
        data::ConvertOptions co;
        co.progress = false;
        data::convert_to_cache(data::parse_data_config(experiment.at("data"), csv_dir),
                               join_path(csv_dir, "cache"), co);
      });
      const double n = static_cast<double>(rows);
      auto rate = [&](double seconds) { return n / seconds / 1e6; };
      std::printf("%-12s %8.2f | %6.2f /cpu  %6.2f /wall | %6.2f /cpu  %6.2f /wall | "
                  "%6.2f /cpu  %6.2f /wall | %.1fx\n",
                  preset.c_str(), setup.cpu, rate(generate.cpu), rate(generate.wall),
                  rate(direct.cpu), rate(direct.wall), rate(text.cpu), rate(text.wall),
                  text.cpu / direct.cpu);
      out[preset] = {
          {"rows", rows},
          {"setup_cpu_s", setup.cpu},
          {"setup_wall_s", setup.wall},
          {"generate_cpu_s", generate.cpu},
          {"generate_wall_s", generate.wall},
          {"direct_cpu_s", direct.cpu},
          {"direct_wall_s", direct.wall},
          {"csv_convert_cpu_s", text.cpu},
          {"csv_convert_wall_s", text.wall},
          {"direct_rows_per_cpu_s", n / direct.cpu},
          {"direct_rows_per_cpu_s_with_setup", n / (direct.cpu + setup.cpu)},
          {"csv_convert_rows_per_cpu_s", n / text.cpu},
          {"speedup_cpu", text.cpu / direct.cpu},
          {"checksum", checksum}};
      remove_all(work);
    }
    std::printf("%s\n", out.dump(2).c_str());
    remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sim_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
