// The Criteo attribution path, single thread: a lists simulation generated alone, generated
// into the Criteo writer (time-ordered and grouped), and the grouped file converted with
// examples/criteo_attribution.json's data section (the criteo_attribution reader, alone and
// inside the converter).
//
//   criteo_bench [--rows N] [--dir DIR] [--repeat K]
//
// Rates per CPU second (per core); the writer's own rate is rows / (generation and writing
// minus generation alone).

#include <sys/resource.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "core/file.h"
#include "core/stopwatch.h"
#include "data/converter.h"
#include "data/reader.h"
#include "data/schema.h"
#include "sim/criteo_writer.h"
#include "sim/simulator.h"

namespace {
using namespace funnel;

double cpu_seconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

/// The least CPU time of `repeat` runs of `fn`.
template <typename Fn>
double best_cpu(int repeat, Fn&& fn) {
  double best = 1e300;
  for (int i = 0; i < repeat; ++i) {
    const double c0 = cpu_seconds();
    fn();
    best = std::min(best, cpu_seconds() - c0);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t rows = 1000000;
  std::string dir = "/tmp/funnel_criteo_bench";
  int repeat = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--rows" && i + 1 < argc) {
      rows = std::stoull(argv[++i]);
    } else if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = std::stoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: criteo_bench [--rows N] [--dir DIR] [--repeat K]\n");
      return 2;
    }
  }
  try {
    make_dirs(dir);
    sim::SimConfig c = sim::SimConfig::preset_named("lists");
    c.update({{"rows", rows}});
    const sim::Simulator s(c);
    const double gen = best_cpu(repeat, [&] {
      uint64_t n = 0;
      s.generate_batches([&](const sim::SimRow*, size_t k) { n += k; });
    });
    double gen_write[2];
    uint64_t bytes = 0;
    for (int grouped = 0; grouped < 2; ++grouped) {
      gen_write[grouped] = best_cpu(repeat, [&] {
        sim::CriteoWriter::Options o;
        o.grouped = grouped == 1;
        sim::CriteoWriter w(s, join_path(dir, grouped ? "grouped.tsv" : "timed.tsv"), o);
        s.generate_batches([&](const sim::SimRow* r, size_t k) { w.add(r, k); });
        bytes = w.finish();
      });
    }
    const std::string examples = std::string(FUNNEL_SOURCE_DIR) + "/examples";
    nlohmann::json data =
        nlohmann::json::parse(read_text_file(examples + "/criteo_attribution.json")).at("data");
    data["train"] = {join_path(dir, "grouped.tsv")};
    data.erase("validation");
    data.erase("test");
    data::ConvertOptions co;
    co.progress = false;
    const data::DataConfig config = data::parse_data_config(data, examples);
    const double read = best_cpu(repeat, [&] {
      auto reader = data::open_reader(config, config.train.at(0));
      data::RawRow row;
      while (reader->next(row)) {
      }
    });
    const double convert =
        best_cpu(repeat, [&] { data::convert_to_cache(config, join_path(dir, "cache"), co); });
    const double n = static_cast<double>(rows);
    std::printf(
        "%llu rows, %.1f MB: generation %.2f M rows/s; generation + writer %.2f M rows/s "
        "(time-ordered), %.2f (grouped); writer alone %.2f M rows/s (time-ordered), %.2f "
        "(grouped); reader alone %.1f MB/s; convert %.2f M rows/s, %.1f MB/s (CPU)\n",
        static_cast<unsigned long long>(rows), bytes / 1e6, n / gen / 1e6, n / gen_write[0] / 1e6,
        n / gen_write[1] / 1e6, n / (gen_write[0] - gen) / 1e6, n / (gen_write[1] - gen) / 1e6,
        bytes / read / 1e6, n / convert / 1e6, bytes / convert / 1e6);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "criteo_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
