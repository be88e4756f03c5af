// The converter's list grouping (data.group_lists), the list-wise validation split and
// data.max_list_length, against a naive reference computed here from the rows as written.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "core/rng.h"
#include "data/cache.h"
#include "data/cache_format.h"
#include "data/converter.h"
#include "data/loader.h"
#include "data/row_encoder.h"
#include "data/stats.h"
#include "test_util.h"

namespace funnel::data {
namespace list_grouping_test {
namespace {
using testing::test_dir;
using testing::write_file;

struct ListRow {
  int line = 0;  // input order (also the aux column `rid`)
  int list = 0, position = 0;
  int64_t ts = 0;
  int click = 0, buy = 0;
  std::string user;
  std::vector<std::pair<std::string, float>> hist;
  double price = 0;
};

/// `lists` lists with lengths from `length(k)`; positions shuffled inside a list, with some
/// repeated positions (ordered by timestamp then) and some repeated (position, timestamp)
/// pairs (ordered by input line then). `shuffle`: rows in random order, lists interleaved;
/// otherwise grouped by list and ordered.
std::vector<ListRow> make_list_rows(int lists, const std::function<int(int)>& length, bool shuffle,
                                    uint64_t seed) {
  Rng rng(seed);
  std::vector<ListRow> rows;
  for (int k = 0; k < lists; ++k) {
    const int n = length(k);
    for (int p = 0; p < n; ++p) {
      ListRow r;
      r.list = k;
      r.position = 1 + p - (p % 5 == 4 ? 1 : 0);  // every fifth repeats the previous position
      r.ts = 1000 * k + (p % 7 == 6 ? 10 * (p - 1) : 10 * p);  // some repeat a timestamp
      if (p % 6 == 5) {  // the same position and timestamp as the row before
        r.position = rows.back().position;
        r.ts = rows.back().ts;
      }
      r.click = rng.uniform() < 0.4;
      r.buy = r.click && rng.uniform() < 0.3;
      r.user = "u" + std::to_string(rng.below(30));
      const int bag = static_cast<int>(rng.below(4));
      for (int b = 0; b < bag; ++b) {
        r.hist.emplace_back("h" + std::to_string(rng.below(25)),
                            static_cast<float>(1 + rng.below(4)) * 0.25f);
      }
      r.price = std::round(rng.uniform() * 1000) / 10;
      rows.push_back(r);
    }
  }
  if (shuffle) {
    for (size_t i = rows.size(); i > 1; --i) std::swap(rows[i - 1], rows[rng.below(i)]);
  }
  for (size_t i = 0; i < rows.size(); ++i) rows[i].line = static_cast<int>(i);
  return rows;
}

std::string write_list_csv(const std::string& dir, const std::string& name,
                           const std::vector<ListRow>& rows) {
  std::string csv = "rid,lst,pos,ts,click,buy,user,hist,price\n";
  for (const auto& r : rows) {
    std::string hist;
    for (size_t b = 0; b < r.hist.size(); ++b) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "%s%s:%g", b ? "|" : "", r.hist[b].first.c_str(),
                    r.hist[b].second);
      hist += buf;
    }
    char price[32];
    std::snprintf(price, sizeof price, "%.1f", r.price);
    csv += std::to_string(r.line) + ",s" + std::to_string(r.list) + "," +
           std::to_string(r.position) + "," + std::to_string(r.ts) + "," + std::to_string(r.click) +
           "," + std::to_string(r.buy) + "," + r.user + "," + hist + "," + price + "\n";
  }
  return write_file(dir, name, csv);
}

nlohmann::json list_config_json(const std::string& train) {
  return {{"train", {train}},
          {"labels", {"click", "buy"}},
          {"categorical", {"user", {{"name", "hist"}, {"multi", true}, {"weighted", true}}}},
          {"numeric", {"price"}},
          {"list", "lst"},
          {"position", "pos"},
          {"timestamp", "ts"},
          {"aux", {"rid"}}};
}

ConvertOptions quiet() {
  ConvertOptions o;
  o.progress = false;
  return o;
}

/// The naive reference: lists in order of their first line, rows by (position, timestamp,
/// line); `keep` cuts each list to its first or last `max` rows (0: all).
std::vector<ListRow> reference_order(std::vector<ListRow> rows, uint64_t max = 0,
                                     ListKeep keep = ListKeep::kFirst) {
  std::map<int, int> first_line;
  for (const auto& r : rows) first_line.emplace(r.list, r.line);  // rows are in line order
  std::sort(rows.begin(), rows.end(), [&](const ListRow& a, const ListRow& b) {
    return std::make_tuple(first_line[a.list], a.position, a.ts, a.line) <
           std::make_tuple(first_line[b.list], b.position, b.ts, b.line);
  });
  if (max == 0) return rows;
  std::vector<ListRow> out;
  for (size_t i = 0; i < rows.size();) {
    size_t j = i;
    while (j < rows.size() && rows[j].list == rows[i].list) ++j;
    const size_t n = j - i;
    const size_t from = n <= max || keep == ListKeep::kFirst ? i : j - max;
    const size_t to = n <= max || keep == ListKeep::kLast ? j : i + max;
    out.insert(out.end(), rows.begin() + from, rows.begin() + to);
    i = j;
  }
  return out;
}

/// Every column of split `split` of the cache at `dir`, row by row, against `expected` (in
/// order): labels, list, position, timestamp, the line (aux), user and hist ids (through the
/// cache's vocabularies) with the weights, and the normalised price.
void expect_split(const std::string& dir, const std::string& split,
                  const std::vector<ListRow>& expected) {
  const Cache cache(dir);
  const CacheSplit& s = cache.split(split);
  ASSERT_EQ(s.rows(), expected.size()) << split;
  const Vocabulary users = cache.load_vocab(0), hists = cache.load_vocab(1);
  LoaderOptions lo;
  lo.shuffle = false;
  lo.batch_size = 53;
  Loader loader(cache, s, lo);
  loader.start_epoch(0);
  Batch b;
  size_t k = 0;
  while (loader.next(b)) {
    for (size_t i = 0; i < b.size; ++i, ++k) {
      ASSERT_LT(k, expected.size());
      const ListRow& r = expected[k];
      ASSERT_EQ(static_cast<int>(b.aux[i]), r.line) << split << " row " << k;
      EXPECT_EQ(b.label(0, i), r.click);
      EXPECT_EQ(b.label(1, i), r.buy);
      EXPECT_EQ(b.list[i], value_key("s" + std::to_string(r.list)));
      EXPECT_EQ(b.position[i], r.position);
      EXPECT_EQ(b.timestamp[i], r.ts);
      EXPECT_EQ(b.sparse[0].ids[i], users.id(value_key(r.user)));
      const auto& hs = b.sparse[1];
      ASSERT_EQ(hs.offsets[i + 1] - hs.offsets[i], r.hist.size());
      for (size_t h = 0; h < r.hist.size(); ++h) {
        EXPECT_EQ(hs.ids[hs.offsets[i] + h], hists.id(value_key(r.hist[h].first)));
        EXPECT_EQ(hs.weights[hs.offsets[i] + h], r.hist[h].second);
      }
      EXPECT_NEAR(b.dense[i], std::tanh((r.price - cache.dense_mean()[0]) / cache.dense_std()[0]),
                  1e-5);
    }
  }
  EXPECT_EQ(k, expected.size());
}

/// The bytes of every column and vocabulary file of a cache (not meta.json: it has timings).
std::map<std::string, std::string> cache_files(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const char* split : {"train", "validation", "test", "vocab"}) {
    const std::string d = join_path(dir, split);
    if (!path_exists(d)) continue;
    for (const auto& e : std::filesystem::directory_iterator(d)) {
      out[std::string(split) + "/" + e.path().filename().string()] =
          read_text_file(e.path().string());
    }
  }
  return out;
}

int length_1_to_15(int k) { return 1 + (k * 11) % 15; }

TEST(ListGrouping, InterleavedInputIsGroupedAndOrderedThroughSpilledRuns) {
  const std::string dir = test_dir();
  const auto rows = make_list_rows(120, length_1_to_15, true, 3);
  const std::string csv = write_list_csv(dir, "train.csv", rows);
  DataConfig config = parse_data_config(list_config_json(csv), "");
  const std::vector<ListRow> expected = reference_order(rows);

  // Sorted in memory.
  const DatasetStats mem = convert_to_cache(config, join_path(dir, "mem"), quiet());
  const SplitStats& ms = mem.splits.at("train");
  EXPECT_TRUE(ms.lists_sorted);
  EXPECT_EQ(ms.list_sort_runs, 0u);
  EXPECT_EQ(ms.lists, 120u);
  EXPECT_EQ(ms.lists_ungrouped + ms.lists_unordered, 0u);
  expect_split(join_path(dir, "mem"), "train", expected);

  // ~100 bytes a row: 8 KiB runs spill many times; the same bytes come out.
  config.sort_memory_bytes = 8 << 10;
  const DatasetStats spilled = convert_to_cache(config, join_path(dir, "spilled"), quiet());
  const SplitStats& ss = spilled.splits.at("train");
  EXPECT_TRUE(ss.lists_sorted);
  EXPECT_GE(ss.list_sort_runs, 5u);
  EXPECT_EQ(ss.lists, 120u);
  expect_split(join_path(dir, "spilled"), "train", expected);
  EXPECT_EQ(cache_files(join_path(dir, "spilled")), cache_files(join_path(dir, "mem")));
  // The runs are gone; the split folder holds only cache files.
  for (const auto& e : std::filesystem::directory_iterator(join_path(dir, "spilled/train"))) {
    EXPECT_EQ(e.path().filename().string().find("sort_run"), std::string::npos) << e.path();
  }
  // A list batch reads it: every list whole and ordered.
  const Cache cache(join_path(dir, "spilled"));
  LoaderOptions lo;
  lo.lists = true;
  lo.batch_size = 40;
  Loader lists(cache, cache.split("train"), lo);
  lists.start_epoch(0);
  Batch b;
  size_t n = 0;
  while (lists.next(b)) n += b.list_offsets.size() - 1;
  EXPECT_EQ(n, 120u);
  // The stats say so, in the table and through the stored JSON.
  const DatasetStats back = stats_from_json(cache.meta().at("stats"), cache.layout());
  EXPECT_TRUE(back.splits.at("train").lists_sorted);
  EXPECT_EQ(back.splits.at("train").list_sort_runs, ss.list_sort_runs);
  EXPECT_NE(
      stats_table(back, cache.layout()).find("rows grouped by list and ordered by the converter"),
      std::string::npos);

  // Without grouping the input order stays, and list batches refuse it.
  config.group_lists = false;
  const DatasetStats kept = convert_to_cache(config, join_path(dir, "kept"), quiet());
  EXPECT_GT(kept.splits.at("train").lists_ungrouped, 0u);
  EXPECT_FALSE(kept.splits.at("train").lists_sorted);
  expect_split(join_path(dir, "kept"), "train", rows);
  const Cache kept_cache(join_path(dir, "kept"));
  EXPECT_THROW(Loader(kept_cache, kept_cache.split("train"), lo), Error);
}

TEST(ListGrouping, ListsWithoutPositionOrTimestampKeepTheirInputOrder) {
  const std::string dir = test_dir();
  const auto rows = make_list_rows(40, length_1_to_15, true, 4);
  nlohmann::json j = list_config_json(write_list_csv(dir, "train.csv", rows));
  j.erase("position");
  j.erase("timestamp");
  const DataConfig config = parse_data_config(j, "");
  convert_to_cache(config, join_path(dir, "c"), quiet());
  // Lists by first line, rows by line.
  std::map<int, int> first;
  for (const auto& r : rows) first.emplace(r.list, r.line);
  std::vector<int> expected, got;
  std::vector<ListRow> sorted = rows;
  std::stable_sort(sorted.begin(), sorted.end(), [&](const ListRow& a, const ListRow& b) {
    return first[a.list] < first[b.list];
  });
  for (const auto& r : sorted) expected.push_back(r.line);
  const Cache cache(join_path(dir, "c"));
  const CacheSplit& s = cache.split("train");
  for (uint64_t r = 0; r < s.rows(); ++r) got.push_back(static_cast<int>(s.aux()[r]));
  EXPECT_EQ(got, expected);
}

TEST(ListGrouping, GroupedInputGivesTheSameBytesAsWithoutGrouping) {
  const std::string dir = test_dir();
  const auto rows = make_list_rows(150, length_1_to_15, false, 5);
  nlohmann::json j = list_config_json(write_list_csv(dir, "train.csv", rows));
  j["validation_ratio"] = 0.25;
  DataConfig config = parse_data_config(j, "");
  config.group_lists = false;
  const DatasetStats plain = convert_to_cache(config, join_path(dir, "plain"), quiet());
  ASSERT_EQ(plain.splits.at("train").lists_ungrouped + plain.splits.at("train").lists_unordered,
            0u);
  config.group_lists = true;
  const DatasetStats grouped = convert_to_cache(config, join_path(dir, "grouped"), quiet());
  EXPECT_FALSE(grouped.splits.at("train").lists_sorted);
  EXPECT_FALSE(grouped.splits.at("validation").lists_sorted);
  EXPECT_EQ(cache_files(join_path(dir, "grouped")), cache_files(join_path(dir, "plain")));
  // Also when the input takes several runs: complete lists are streamed on, nothing spills.
  config.sort_memory_bytes = 64 << 10;
  const DatasetStats streamed = convert_to_cache(config, join_path(dir, "streamed"), quiet());
  EXPECT_EQ(streamed.splits.at("train").list_sort_runs, 0u);
  EXPECT_FALSE(streamed.splits.at("train").lists_sorted);
  EXPECT_EQ(cache_files(join_path(dir, "streamed")), cache_files(join_path(dir, "plain")));
  // And the same input and seed give the same bytes again.
  convert_to_cache(config, join_path(dir, "again"), quiet());
  EXPECT_EQ(cache_files(join_path(dir, "again")), cache_files(join_path(dir, "plain")));
}

TEST(ListGrouping, AListComingBackAfterItsRowsWereWrittenConvertsAgainSorted) {
  const std::string dir = test_dir();
  // Grouped and ordered, but for one late row of the first list at the very end: by then the
  // small buffer has streamed the first list on, so the converter starts again and sorts.
  auto rows = make_list_rows(150, length_1_to_15, false, 8);
  ListRow late = rows.front();
  late.position = 99;
  late.line = static_cast<int>(rows.size());
  rows.push_back(late);
  DataConfig config =
      parse_data_config(list_config_json(write_list_csv(dir, "train.csv", rows)), "");
  config.sort_memory_bytes = 64 << 10;  // runs of ~100 rows
  const DatasetStats st = convert_to_cache(config, join_path(dir, "c"), quiet());
  EXPECT_TRUE(st.splits.at("train").lists_sorted);
  EXPECT_EQ(st.inputs.at("train").rows_written, rows.size());  // counted once
  expect_split(join_path(dir, "c"), "train", reference_order(rows));
  EXPECT_FALSE(path_exists(join_path(dir, "c") + ".tmp-" + std::to_string(::getpid())));
  // The same as sorting from the start.
  config.sort_memory_bytes = 64 << 20;
  convert_to_cache(config, join_path(dir, "mem"), quiet());
  EXPECT_EQ(cache_files(join_path(dir, "c")), cache_files(join_path(dir, "mem")));
}

TEST(ListGrouping, TheValidationSplitTakesWholeLists) {
  const std::string dir = test_dir();
  const auto rows = make_list_rows(400, length_1_to_15, true, 6);
  nlohmann::json j = list_config_json(write_list_csv(dir, "train.csv", rows));
  j["validation_ratio"] = 0.3;
  j["split_seed"] = 9;
  for (const bool group : {true, false}) {
    j["group_lists"] = group;
    const std::string out = join_path(dir, group ? "grouped" : "kept");
    convert_to_cache(parse_data_config(j, ""), out, quiet());
    const Cache cache(out);
    std::map<uint64_t, std::set<std::string>> sides;  // list key -> splits holding its rows
    std::map<uint64_t, uint64_t> rows_of;
    for (const std::string split : {"train", "validation"}) {
      const CacheSplit& s = cache.split(split);
      for (uint64_t r = 0; r < s.rows(); ++r) {
        sides[s.list()[r]].insert(split);
        ++rows_of[s.list()[r]];
      }
    }
    ASSERT_EQ(sides.size(), 400u);
    size_t in_validation = 0;
    for (const auto& [list, where] : sides) {
      EXPECT_EQ(where.size(), 1u) << "list cut across splits";
      in_validation += where.count("validation");
    }
    for (int k = 0; k < 400; ++k) {
      EXPECT_EQ(rows_of[value_key("s" + std::to_string(k))],
                static_cast<uint64_t>(length_1_to_15(k)));
    }
    EXPECT_NEAR(in_validation / 400.0, 0.3, 0.06);
    if (group) {
      // Each side holds its lists whole and ordered: the reference over that side's rows.
      std::vector<ListRow> train_rows, val_rows;
      for (const auto& r : rows) {
        const bool val = sides.at(value_key("s" + std::to_string(r.list))).count("validation");
        (val ? val_rows : train_rows).push_back(r);
      }
      expect_split(out, "train", reference_order(train_rows));
      expect_split(out, "validation", reference_order(val_rows));
    }
  }
  // Another seed picks other lists.
  j["split_seed"] = 10;
  j["group_lists"] = true;
  convert_to_cache(parse_data_config(j, ""), join_path(dir, "seed10"), quiet());
  EXPECT_NE(cache_files(join_path(dir, "seed10")).at("validation/list.u64"),
            cache_files(join_path(dir, "grouped")).at("validation/list.u64"));
}

TEST(ListGrouping, MaxListLengthKeepsTheFirstOrLastItemsAndCountsTheRest) {
  const std::string dir = test_dir();
  // Lengths 1..8 against a limit of 4: shorter, equal and longer lists.
  auto length = [](int k) { return 1 + k % 8; };
  auto rows = make_list_rows(64, length, true, 7);
  for (auto& r : rows) {
    r.user = "x" + std::to_string(r.line);  // a value per row
    r.ts = -r.ts;                           // time against position: the position must decide
  }
  const std::string csv = write_list_csv(dir, "train.csv", rows);
  uint64_t longer = 0, dropped = 0;
  for (int k = 0; k < 64; ++k) {
    longer += length(k) > 4;
    dropped += length(k) > 4 ? length(k) - 4 : 0;
  }
  ASSERT_EQ(longer, 32u);
  for (const char* keep : {"first", "last"}) {
    nlohmann::json j = list_config_json(csv);
    j["max_list_length"] = 4;
    j["list_keep"] = keep;
    j["vocab"] = {{"min_count", 1}};
    DataConfig config = parse_data_config(j, "");
    config.sort_memory_bytes = 4 << 10;  // through spilled runs too
    const std::string out = join_path(dir, keep);
    const DatasetStats st = convert_to_cache(config, out, quiet());
    const std::vector<ListRow> expected = reference_order(rows, 4, config.list_keep);
    expect_split(out, "train", expected);
    const SplitStats& s = st.splits.at("train");
    EXPECT_EQ(s.lists_truncated, longer) << keep;
    EXPECT_EQ(s.list_rows_dropped, dropped) << keep;
    EXPECT_EQ(s.rows, rows.size() - dropped);
    EXPECT_EQ(s.max_list_length, 4u);
    EXPECT_GT(s.list_sort_runs, 0u);
    const InputStats& in = st.inputs.at("train");
    EXPECT_EQ(in.list_rows_dropped, dropped);
    EXPECT_EQ(in.rows_written, rows.size() - dropped);
    EXPECT_EQ(in.lines, in.header_lines + in.rows_written + in.bad_rows + in.violations_dropped +
                            in.list_rows_dropped);
    // Dropped rows teach the vocabulary nothing: it has the values of the kept rows only.
    std::set<std::string> hists;
    for (const auto& r : expected) {
      for (const auto& [h, w] : r.hist) hists.insert(h);
    }
    EXPECT_EQ(st.vocab_sizes[0], expected.size() + 1);
    EXPECT_EQ(st.vocab_sizes[1], hists.size() + 1);
    // Stored, read back, in the table and the JSON.
    const Cache cache(out);
    const DatasetStats back = stats_from_json(cache.meta().at("stats"), cache.layout());
    EXPECT_EQ(back.splits.at("train").lists_truncated, longer);
    EXPECT_EQ(back.splits.at("train").list_rows_dropped, dropped);
    EXPECT_EQ(back.inputs.at("train").list_rows_dropped, dropped);
    const nlohmann::json js = stats_to_json(back, cache.layout());
    EXPECT_EQ(js["splits"]["train"]["lists"]["truncated"], longer);
    EXPECT_EQ(js["splits"]["train"]["lists"]["rows_dropped"], dropped);
    EXPECT_EQ(js["inputs"]["train"]["list_rows_dropped"], dropped);
    const std::string table = stats_table(back, cache.layout());
    EXPECT_NE(table.find(std::to_string(longer) + " lists longer than max_list_length truncated, " +
                         std::to_string(dropped) + " rows dropped"),
              std::string::npos)
        << table;
    EXPECT_NE(table.find("rows dropped by max_list_length: " + std::to_string(dropped)),
              std::string::npos);
  }
  // A limit above every length changes nothing and counts nothing.
  nlohmann::json j = list_config_json(csv);
  j["max_list_length"] = 8;
  const DatasetStats st =
      convert_to_cache(parse_data_config(j, ""), join_path(dir, "eight"), quiet());
  EXPECT_EQ(st.splits.at("train").lists_truncated, 0u);
  EXPECT_EQ(st.splits.at("train").list_rows_dropped, 0u);
  expect_split(join_path(dir, "eight"), "train", reference_order(rows));
}

}  // namespace
}  // namespace list_grouping_test
}  // namespace funnel::data
