// Cost of the converter's list grouping (data.group_lists): conversion time and peak memory
// of one CSV, printed as one JSON object. Run one conversion per process (peak RSS is the
// process's).
//
//   list_group_bench --generate LISTS --out DIR      # DIR/grouped.csv, DIR/interleaved.csv
//   list_group_bench --csv FILE [--no-list] [--no-group] [--sort-mb N]
//
// The generated log has LISTS lists of 1 to 30 items (user, item, a weighted history bag, a
// price); grouped.csv holds them list after list in position order, interleaved.csv the same
// rows ordered by time, as a real log is (the lists interleave). --no-list converts without
// the list column (the per-row baseline), --no-group with the list column but no grouping.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "core/file.h"
#include "core/rng.h"
#include "core/stopwatch.h"
#include "data/converter.h"

namespace {

using namespace funnel;
using namespace funnel::data;

void generate(uint64_t lists, const std::string& dir) {
  make_dirs(dir);
  Rng rng(1);
  struct Item {
    int64_t t;
    uint64_t list;
    int position;
    std::string line;
  };
  std::vector<Item> items;
  for (uint64_t k = 0; k < lists; ++k) {
    const int n = 1 + static_cast<int>(rng.below(30));
    int64_t t = static_cast<int64_t>(rng.below(10000000));
    for (int p = 1; p <= n; ++p) {
      t += 1 + static_cast<int64_t>(rng.below(50));
      const bool click = rng.uniform() < 0.3;
      const bool buy = click && rng.uniform() < 0.1;
      std::string hist;
      const int bag = static_cast<int>(rng.below(4));
      for (int b = 0; b < bag; ++b) {
        hist += (b ? "|h" : "h") + std::to_string(rng.below(1000)) + ":" +
                std::to_string(1 + rng.below(3));
      }
      char price[32];
      std::snprintf(price, sizeof price, "%.2f", rng.uniform() * 100);
      items.push_back({t, k, p,
                       "s" + std::to_string(k) + "," + std::to_string(p) + "," + std::to_string(t) +
                           "," + (click ? "1" : "0") + "," + (buy ? "1" : "0") + ",u" +
                           std::to_string(rng.below(50000)) + ",i" +
                           std::to_string(rng.below(100000)) + "," + hist + "," + price + "\n"});
    }
  }
  const std::string header = "lst,pos,ts,click,buy,user,item,hist,price\n";
  auto write = [&](const std::string& name) {
    write_file_atomic(join_path(dir, name), [&](FileWriter& w) {
      w.write(header);
      for (const auto& it : items) w.write(it.line);
    });
  };
  write("grouped.csv");
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& a, const Item& b) { return a.t < b.t; });
  write("interleaved.csv");
  std::printf("{\"rows\": %zu, \"lists\": %llu}\n", items.size(), (unsigned long long)lists);
}

void convert(const std::string& csv, bool with_list, bool group, size_t sort_mb) {
  DataConfig config;
  config.train = {{csv, "", -1}};
  config.schema.labels = {{"click", {"click"}, -1}, {"buy", {"buy"}, 0}};
  for (const char* f : {"user", "item"}) {
    CategoricalSpec c;
    c.name = c.column = f;
    config.schema.categorical.push_back(c);
  }
  CategoricalSpec hist;
  hist.name = hist.column = "hist";
  hist.multi = hist.weighted = true;
  config.schema.categorical.push_back(hist);
  NumericSpec price;
  price.name = price.column = "price";
  config.schema.numeric.push_back(price);
  if (with_list) config.schema.list_column = "lst";
  config.schema.position_column = "pos";
  config.schema.timestamp_column = "ts";
  config.group_lists = group;
  config.sort_memory_bytes = sort_mb << 20;
  const std::string out = csv + ".bench_cache";
  ConvertOptions o;
  o.progress = false;
  Stopwatch watch;
  const DatasetStats st = convert_to_cache(config, out, o);
  const double seconds = watch.seconds();
  const SplitStats& s = st.splits.at("train");
  std::printf(
      "{\"csv\": \"%s\", \"list\": %s, \"group\": %s, \"sort_mb\": %zu, \"rows\": %llu, "
      "\"lists\": %llu, \"sorted\": %s, \"runs\": %llu, \"seconds\": %.2f, \"rows_per_s\": %.0f, "
      "\"peak_rss_mb\": %.0f}\n",
      csv.c_str(), with_list ? "true" : "false", group ? "true" : "false", sort_mb,
      (unsigned long long)s.rows, (unsigned long long)s.lists, s.lists_sorted ? "true" : "false",
      (unsigned long long)s.list_sort_runs, seconds, s.rows / seconds,
      st.peak_rss_bytes / 1048576.0);
  remove_all(out);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string csv, out;
    uint64_t lists = 0;
    bool with_list = true, group = true;
    size_t sort_mb = 256;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw Error(a + ": missing value");
        return argv[++i];
      };
      if (a == "--generate") {
        lists = std::stoull(value());
      } else if (a == "--out") {
        out = value();
      } else if (a == "--csv") {
        csv = value();
      } else if (a == "--no-list") {
        with_list = false;
      } else if (a == "--no-group") {
        group = false;
      } else if (a == "--sort-mb") {
        sort_mb = std::stoull(value());
      } else {
        throw Error("unknown argument " + a);
      }
    }
    if (lists > 0) {
      if (out.empty()) throw Error("--generate needs --out DIR");
      generate(lists, out);
    } else if (!csv.empty()) {
      convert(csv, with_list, group, sort_mb);
    } else {
      throw Error("give --generate LISTS --out DIR or --csv FILE");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "list_group_bench: %s\n", e.what());
    return 1;
  }
}
