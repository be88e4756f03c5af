// Throughput and memory of the raw Ali-CCP reader (skeleton joined with common features).
//
//   aliccp_raw_bench --skeleton DIR/sample_skeleton_train.csv [--common PATH]
//                    [--schema aitm|full] [--cache-mb N]
//
// `aitm`: the 18 single-valued fields of the AITM preprocessing (the history fields of the
// common lines are skipped); `full`: all 23 fields, histories multi-valued and weighted.
// Prints rows/s, MB/s over skeleton + common bytes, and peak RSS.

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/file.h"
#include "core/stopwatch.h"
#include "data/aliccp_raw_reader.h"

namespace {

using namespace funnel;
using namespace funnel::data;

DataConfig make_config(const std::string& schema, size_t cache_bytes) {
  DataConfig config;
  config.format.type = Format::kAliccpRaw;
  config.common_cache_bytes = cache_bytes;
  config.schema.labels = {{"ctr", {"click"}, -1}, {"cvr", {"buy"}, 0}};
  auto add = [&](const char* field, bool multi, bool weighted) {
    CategoricalSpec c;
    c.name = c.column = field;
    c.multi = multi;
    c.weighted = weighted;
    config.schema.categorical.push_back(c);
  };
  for (const char* f : {"101", "121", "122", "124", "125", "126", "127", "128", "129", "205", "206",
                        "207", "216", "508", "509", "702", "853", "301"}) {
    add(f, false, false);
  }
  if (schema == "full") {
    for (const char* f : {"109_14", "110_14", "127_14", "150_14"}) add(f, true, true);
    add("210", true, false);
  } else if (schema != "aitm") {
    throw Error("--schema must be aitm or full, not '" + schema + "'");
  }
  config.schema.group_column = "101";
  return config;
}

/// User + system CPU seconds of this process (the wall clock is noisy on shared machines).
double cpu_seconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

}  // namespace

int main(int argc, char** argv) {
  std::string skeleton, common, schema = "aitm";
  size_t cache_mb = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--skeleton")
      skeleton = argv[i + 1];
    else if (a == "--common")
      common = argv[i + 1];
    else if (a == "--schema")
      schema = argv[i + 1];
    else if (a == "--cache-mb")
      cache_mb = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (skeleton.empty()) {
    std::fprintf(stderr,
                 "usage: aliccp_raw_bench --skeleton PATH [--common PATH] [--schema aitm|full] "
                 "[--cache-mb N]\n");
    return 2;
  }
  try {
    const DataConfig config = make_config(schema, cache_mb << 20);
    Stopwatch total;
    AliccpRawReader reader(config, {skeleton, common});
    const double index_s = total.seconds();
    RawRow row;
    uint64_t rows = 0, bad = 0, tokens = 0, clicks = 0, buys = 0;
    uint64_t text_bytes = 0;  // consume the tokens (cheaply: the encoder's work is not measured)
    Stopwatch read;
    for (;;) {
      try {
        if (!reader.next(row)) break;
      } catch (const DataError& e) {
        if (++bad <= 3) std::fprintf(stderr, "bad row: %s\n", e.what());
        continue;
      }
      ++rows;
      clicks += row.cell[0] == "1";
      buys += row.cell[1] == "1";
      for (const auto& slot : row.tokens) {
        tokens += slot.size();
        for (const auto& t : slot) text_bytes += t.text.size() + (t.weight != 1.0f);
      }
    }
    const double read_s = read.seconds();
    const double all_s = total.seconds();
    const double cpu_s = cpu_seconds();
    const auto& st = reader.join_stats();
    const double skel_mb = static_cast<double>(reader.bytes_total()) / 1e6;
    const double common_mb = static_cast<double>(st.common_bytes) / 1e6;
    std::printf("schema %s, cache budget %zu MB\n", schema.c_str(), cache_mb);
    std::printf("files: skeleton %.1f MB, common %.1f MB (%llu lines)\n", skel_mb, common_mb,
                static_cast<unsigned long long>(st.common_lines));
    std::printf(
        "rows %llu (bad %llu), clicks %llu, buys %llu, tokens %llu (%.1f/row, %llu bytes)\n",
        static_cast<unsigned long long>(rows), static_cast<unsigned long long>(bad),
        static_cast<unsigned long long>(clicks), static_cast<unsigned long long>(buys),
        static_cast<unsigned long long>(tokens), rows ? static_cast<double>(tokens) / rows : 0.0,
        static_cast<unsigned long long>(text_bytes));
    std::printf("index common: %.2f s (%.0f MB/s), index %.1f MB\n", index_s, common_mb / index_s,
                static_cast<double>(st.index_bytes) / 1e6);
    std::printf("read+join:    %.2f s, %.2f M rows/s, %.0f MB/s of skeleton\n", read_s,
                rows / read_s / 1e6, skel_mb / read_s);
    std::printf("total:        %.2f s, %.2f M rows/s, %.0f MB/s (skeleton + common)\n", all_s,
                rows / all_s / 1e6, (skel_mb + common_mb) / all_s);
    std::printf("cpu:          %.2f s user+sys, %.2f M rows/s, %.0f MB/s (skeleton + common)\n",
                cpu_s, rows / cpu_s / 1e6, (skel_mb + common_mb) / cpu_s);
    std::printf("cache: %llu hits, %llu misses, %llu evictions, peak %.1f MB\n",
                static_cast<unsigned long long>(st.cache_hits),
                static_cast<unsigned long long>(st.cache_misses),
                static_cast<unsigned long long>(st.cache_evictions),
                static_cast<double>(st.cache_peak_bytes) / 1e6);
    std::printf("peak RSS: %.1f MB\n", static_cast<double>(peak_rss_bytes()) / 1e6);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aliccp_raw_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
