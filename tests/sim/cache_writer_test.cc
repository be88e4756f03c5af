// The direct cache writer against the text path: the cache that write_cache() makes from the
// generated ids is, file by file, the cache that convert_to_cache() makes of the same
// simulation's CSV files with its experiment.json.

#include "sim/cache_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "data/cache.h"
#include "data/converter.h"
#include "data/schema.h"
#include "sim/output.h"

namespace funnel::sim {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

SimConfig small_config(const std::string& preset, uint64_t rows = 20000) {
  SimConfig c = SimConfig::preset_named(preset);
  c.rows = rows;
  c.users = 2000;
  c.items = 6000;
  c.shops = 1500;
  c.brands = 800;
  return c;
}

std::string temp_dir(const std::string& what) {
  return "/tmp/funnel_cache_writer_" + what + "_" + std::to_string(getpid());
}

/// Files under `dir`, relative, sorted.
std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// meta.json without what legitimately differs between text input and generated rows: the
/// input accounting of files (names, bytes, header lines; lines therefore) and timings.
json comparable_meta(const std::string& cache_dir) {
  json meta = json::parse(read_text_file(join_path(cache_dir, "meta.json")));
  json& stats = meta.at("stats");
  for (auto& [name, input] : stats.at("inputs").items()) {
    for (const char* key : {"files", "bytes", "header_lines", "lines", "seconds", "mb_per_second",
                            "rows_per_second"}) {
      EXPECT_TRUE(input.contains(key)) << name << "." << key;
      input.erase(key);
    }
  }
  stats.erase("seconds");
  stats.erase("peak_rss_bytes");
  return meta;
}

/// Simulates `c` both ways into DIR/csv/cache (CSV + convert) and DIR/direct.
void write_both(const SimConfig& c, const std::string& dir) {
  const Simulator sim(c);
  const WriteResult w = write_csv(sim, join_path(dir, "csv"), false);
  const json experiment = json::parse(read_text_file(w.config_path));
  data::ConvertOptions co;
  co.progress = false;
  data::convert_to_cache(data::parse_data_config(experiment.at("data"), join_path(dir, "csv")),
                         join_path(dir, "csv/cache"), co);
  write_cache(sim, join_path(dir, "direct"));
}

void expect_same_cache(const std::string& converted, const std::string& direct,
                       const std::string& what) {
  const std::vector<std::string> files = files_under(converted);
  ASSERT_EQ(files, files_under(direct)) << what;
  for (const std::string& f : files) {
    if (f == "meta.json") continue;
    // Column and vocabulary files: byte for byte.
    EXPECT_TRUE(read_text_file(join_path(converted, f)) == read_text_file(join_path(direct, f)))
        << what << ": " << f << " differs";
  }
  EXPECT_EQ(comparable_meta(converted), comparable_meta(direct)) << what;
}

TEST(CacheWriter, EqualsTheConvertedCsvFileByFile) {
  for (const std::string preset : {"aliccp-like", "esm2", "lists", "ads-3stage"}) {
    const std::string dir = temp_dir(preset);
    const SimConfig c = small_config(preset);
    write_both(c, dir);
    const std::string converted = join_path(dir, "csv/cache"), direct = join_path(dir, "direct");
    expect_same_cache(converted, direct, preset);

    // What the equality covers: every split, rare values (min_count 2 sends values seen once
    // in training to id 0) and values of validation and test never seen in training.
    const data::Cache cache(direct);
    EXPECT_EQ(cache.split_names(), (std::vector<std::string>{"test", "train", "validation"}));
    EXPECT_EQ(cache.split("train").rows() + cache.split("validation").rows() +
                  cache.split("test").rows(),
              c.rows);
    const json stats = cache.meta().at("stats");
    bool rare_dropped = false, unseen_in_test = false;
    for (const auto& v : stats.at("vocabulary")) {
      // Kept values + id 0 < values seen: some were rarer than min_count.
      rare_dropped |=
          v.at("vocab_size").get<uint64_t>() < v.at("distinct_in_train").get<uint64_t>() + 1;
    }
    for (const auto& f : stats.at("splits").at("test").at("fields")) {
      unseen_in_test |= f.at("oov").get<uint64_t>() > 0;
    }
    EXPECT_TRUE(rare_dropped) << preset;
    EXPECT_TRUE(unseen_in_test) << preset;
    // The generated input is accounted as rows without files or header lines.
    for (const auto& [name, input] : stats.at("inputs").items()) {
      EXPECT_EQ(input.at("files"), json::array()) << name;
      EXPECT_EQ(input.at("header_lines"), 0) << name;
      EXPECT_EQ(input.at("lines"), input.at("rows_written")) << name;
    }
    if (preset == "esm2") {
      // The weighted multi-valued history field: ids, offsets and weights were compared above.
      const auto& sparse = cache.layout().sparse;
      ASSERT_EQ(sparse.back().name, "109_14");
      EXPECT_TRUE(sparse.back().multi && sparse.back().weighted);
      const data::CacheSplit& train = cache.split("train");
      const size_t f = sparse.size() - 1;
      EXPECT_EQ(train.offsets(f)[train.rows()], train.rows() * Simulator::kHistoryLength);
      EXPECT_GE(train.weights(f)[0], 1.0f);
    }
    if (preset == "lists") {
      EXPECT_TRUE(cache.layout().has_list && cache.layout().has_position &&
                  cache.layout().has_timestamp);
    }
    remove_all(dir);
  }
}

TEST(CacheWriter, SplitsFollowTheConfigsFractions) {
  // No validation split: neither in the config nor in either cache.
  SimConfig c = small_config("aliccp-like");
  c.validation_fraction = 0;
  const std::string dir = temp_dir("novalidation");
  write_both(c, dir);
  expect_same_cache(join_path(dir, "csv/cache"), join_path(dir, "direct"), "no validation");
  const json experiment = json::parse(read_text_file(join_path(dir, "csv/experiment.json")));
  EXPECT_FALSE(experiment.at("data").contains("validation"));
  EXPECT_FALSE(path_exists(join_path(dir, "csv/validation.csv")));
  EXPECT_EQ(data::Cache(join_path(dir, "direct")).split_names(),
            (std::vector<std::string>{"test", "train"}));
  remove_all(dir);
}

TEST(CacheWriter, OnePassWritesTheCacheAndTheCsv) {
  const SimConfig c = small_config("esm2", 10000);
  const Simulator sim(c);
  const std::string dir = temp_dir("onepass");
  OutputOptions both;
  both.csv = true;
  const WriteResult w = write_simulation(sim, join_path(dir, "both"), both);
  EXPECT_EQ(w.cache_dir, join_path(dir, "both/cache"));
  EXPECT_EQ(w.rows[0] + w.rows[1] + w.rows[2], c.rows);
  EXPECT_EQ(w.cache_stats.splits.at("train").rows, w.rows[0]);
  write_csv(sim, join_path(dir, "csv"), false);
  write_cache(sim, join_path(dir, "cache"));
  for (const char* f : {"train.csv", "validation.csv", "test.csv"}) {
    EXPECT_EQ(read_text_file(join_path(dir, std::string("both/") + f)),
              read_text_file(join_path(dir, std::string("csv/") + f)))
        << f;
  }
  // The same experiment, but only the one with a cache names it (data.cache).
  json with_cache = json::parse(read_text_file(join_path(dir, "both/experiment.json")));
  const json csv_only = json::parse(read_text_file(join_path(dir, "csv/experiment.json")));
  EXPECT_EQ(with_cache["data"]["cache"], "cache");
  EXPECT_FALSE(csv_only["data"].contains("cache"));
  with_cache["data"].erase("cache");
  EXPECT_EQ(with_cache, csv_only);
  expect_same_cache(join_path(dir, "cache"), join_path(dir, "both/cache"), "one pass");

  // The default (cache only) writes no CSV, and the config still names the CSV files.
  const WriteResult d = write_simulation(sim, join_path(dir, "default"), OutputOptions());
  EXPECT_FALSE(path_exists(join_path(dir, "default/train.csv")));
  EXPECT_TRUE(path_exists(join_path(dir, "default/cache/meta.json")));
  const json experiment = json::parse(read_text_file(d.config_path));
  EXPECT_EQ(experiment.at("data").at("train"), json::array({"train.csv"}));
  const json summary = json::parse(read_text_file(join_path(dir, "default/simulation.json")));
  EXPECT_EQ(summary.at("outputs"), (json{{"csv", false}, {"cache", true}, {"criteo", "none"}}));
  remove_all(dir);
}

TEST(CacheWriter, ReplacesOnlyACacheAndLeavesNothingOnFailure) {
  const SimConfig c = small_config("aliccp-like", 5000);
  const Simulator sim(c);
  const std::string dir = temp_dir("replace");
  make_dirs(join_path(dir, "notacache"));
  write_text_file_atomic(join_path(dir, "notacache/keep.txt"), "mine");
  EXPECT_THROW(write_cache(sim, join_path(dir, "notacache")), Error);
  EXPECT_EQ(read_text_file(join_path(dir, "notacache/keep.txt")), "mine");
  // An existing cache is replaced; without overwrite it is an error.
  write_cache(sim, join_path(dir, "cache"));
  write_cache(sim, join_path(dir, "cache"));
  CacheWriter::Options keep;
  keep.overwrite = false;
  EXPECT_THROW(write_cache(sim, join_path(dir, "cache"), keep), Error);
  // A split without rows fails (one impression leaves two of the three empty), and no
  // temporary folder stays behind.
  EXPECT_THROW(write_cache(Simulator(small_config("aliccp-like", 1)), join_path(dir, "tiny")), Error);
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(name == "notacache" || name == "cache") << name;
  }
  remove_all(dir);
}

}  // namespace
}  // namespace funnel::sim
