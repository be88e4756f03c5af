#include "data/loader.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "core/rng.h"
#include "data/converter.h"
#include "data/stats.h"
#include "synthetic.h"

namespace funnel::data {
namespace {

class LoaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // One folder per process: ctest runs the tests of this suite in parallel processes.
    dir_ = new std::string(
        join_path(::testing::TempDir(), "funnel_loader_test_" + std::to_string(::getpid())));
    try {
      remove_all(*dir_);
      make_dirs(*dir_);
      const auto train = testing::make_synthetic(*dir_, "train.csv", 10007, 11);
      ConvertOptions o;
      o.progress = false;
      convert_to_cache(
          parse_data_config(testing::synthetic_config_json(train.path, train.path), ""),
          join_path(*dir_, "cache"), o);
      cache_ = new Cache(join_path(*dir_, "cache"));
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  // A failed set-up fails every test (gtest would otherwise report them as skipped).
  void SetUp() override { ASSERT_NE(cache_, nullptr) << setup_error_; }
  static void TearDownTestSuite() {
    delete cache_;
    cache_ = nullptr;
    remove_all(*dir_);
    delete dir_;
  }

  /// Row indices of one epoch, batch by batch.
  static std::vector<std::vector<uint64_t>> epoch(LoaderOptions o, uint64_t e) {
    Loader l(*cache_, cache_->split("train"), o);
    l.start_epoch(e);
    std::vector<std::vector<uint64_t>> out;
    Batch b;
    while (l.next(b)) {
      EXPECT_EQ(b.size, b.row.size());
      EXPECT_EQ(b.sparse[0].ids.size(), b.size);
      out.push_back(b.row);
    }
    return out;
  }

  static std::string* dir_;
  static Cache* cache_;
  static std::string setup_error_;
};
std::string LoaderTest::setup_error_;
std::string* LoaderTest::dir_ = nullptr;
Cache* LoaderTest::cache_ = nullptr;

TEST_F(LoaderTest, EveryRowExactlyOncePerEpoch) {
  const uint64_t rows = cache_->split("train").rows();
  for (size_t batch : {1u, 100u, 1024u, 20000u}) {
    for (size_t block : {1u, 7u, 4096u}) {
      for (size_t prefetch : {0u, 2u}) {
        LoaderOptions o;
        o.batch_size = batch;
        o.block_rows = block;
        o.window_blocks = 3;
        o.prefetch = prefetch;
        std::vector<uint64_t> all;
        const auto batches = epoch(o, 5);
        for (const auto& b : batches) {
          EXPECT_LE(b.size(), batch);
          all.insert(all.end(), b.begin(), b.end());
        }
        std::sort(all.begin(), all.end());
        ASSERT_EQ(all.size(), rows) << batch << " " << block;
        for (uint64_t i = 0; i < rows; ++i) ASSERT_EQ(all[i], i);
        EXPECT_EQ(batches.size(), (rows + batch - 1) / batch);
      }
    }
  }
}

TEST_F(LoaderTest, DeterministicBySeedAndEpoch) {
  LoaderOptions o;
  o.batch_size = 256;
  o.block_rows = 64;
  o.window_blocks = 8;
  const auto a = epoch(o, 0);
  EXPECT_EQ(a, epoch(o, 0));
  EXPECT_NE(a, epoch(o, 1));
  o.seed = 2;
  EXPECT_NE(a, epoch(o, 0));
  o.seed = 1;
  o.prefetch = 0;
  EXPECT_EQ(a, epoch(o, 0)) << "prefetching must not change the order";
}

TEST_F(LoaderTest, ShuffleMixesAcrossTheSplit) {
  LoaderOptions o;
  o.batch_size = 512;
  o.block_rows = 128;
  o.window_blocks = 16;
  const auto batches = epoch(o, 0);
  // The first batch draws from a window of 16 random blocks of 128 rows spread over the split.
  std::set<uint64_t> blocks;
  for (uint64_t r : batches[0]) blocks.insert(r / 128);
  EXPECT_GE(blocks.size(), 10u);
  EXPECT_GT(*blocks.rbegin() - *blocks.begin(), 20u);
}

TEST_F(LoaderTest, SequentialDropLastAndRange) {
  LoaderOptions o;
  o.shuffle = false;
  o.batch_size = 1000;
  o.drop_last = true;
  const auto batches = epoch(o, 0);
  EXPECT_EQ(batches.size(), cache_->split("train").rows() / 1000);
  EXPECT_EQ(batches[1].front(), 1000u);
  o.drop_last = false;
  o.begin_row = 10;
  o.end_row = 25;
  const auto part = epoch(o, 0);
  ASSERT_EQ(part.size(), 1u);
  EXPECT_EQ(part[0].front(), 10u);
  EXPECT_EQ(part[0].size(), 15u);
}

TEST_F(LoaderTest, NextBeforeStartIsAnError) {
  Loader l(*cache_, cache_->split("train"), {});
  Batch b;
  EXPECT_THROW(l.next(b), Error);
}

// Lists: 300 lists of 1 to 12 rows (list "s<k>", positions 1..n), and a copy where two rows
// of the first list come after the second (not grouped), converted without grouping.
class ListLoaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    list_dir_ = new std::string(
        join_path(::testing::TempDir(), "funnel_list_loader_test_" + std::to_string(::getpid())));
    try {
      remove_all(*list_dir_);
      make_dirs(*list_dir_);
      std::string csv = "lst,pos,click,buy,user,item\n";
      Rng rng(5);
      for (int k = 0; k < kLists; ++k) {
        for (int p = 1; p <= list_length(k); ++p) {
          const bool click = rng.uniform() < 0.3;
          csv += "s" + std::to_string(k) + "," + std::to_string(p) + "," + (click ? "1" : "0") +
                 "," + (click && rng.uniform() < 0.2 ? "1" : "0") + ",u" +
                 std::to_string(k % 17) + ",i" + std::to_string(rng.below(40)) + "\n";
        }
      }
      ConvertOptions o;
      o.progress = false;
      const std::string grouped = testing::write_file(*list_dir_, "lists.csv", csv);
      list_stats_ = new DatasetStats(
          convert_to_cache(parse_data_config(list_config(grouped), ""), join_path(*list_dir_, "cache"), o));
      list_cache_ = new Cache(join_path(*list_dir_, "cache"));
      const std::string ungrouped = testing::write_file(
          *list_dir_, "ungrouped.csv",
          "lst,pos,click,buy,user,item\na,1,0,0,u1,i1\nb,1,1,0,u1,i2\na,2,0,0,u1,i1\n");
      nlohmann::json keep_order = list_config(ungrouped);
      keep_order["group_lists"] = false;  // the converter would group the lists
      convert_to_cache(parse_data_config(keep_order, ""), join_path(*list_dir_, "ungrouped"), o);
    } catch (const std::exception& e) {
      list_setup_error_ = e.what();
    }
  }
  void SetUp() override { ASSERT_NE(list_cache_, nullptr) << list_setup_error_; }
  static void TearDownTestSuite() {
    delete list_cache_;
    list_cache_ = nullptr;
    delete list_stats_;
    remove_all(*list_dir_);
    delete list_dir_;
  }
  static constexpr int kLists = 300;
  static int list_length(int k) { return 1 + (k * 7) % 12; }
  static nlohmann::json list_config(const std::string& path) {
    return {{"train", {path}},
            {"labels", {"click", "buy"}},
            {"categorical", {"user", "item"}},
            {"list", "lst"},
            {"position", "pos"},
            {"vocab", {{"min_count", 1}}}};
  }
  /// Batches of one epoch: their rows and list offsets.
  static std::vector<Batch> list_epoch(LoaderOptions o, uint64_t e) {
    o.lists = true;
    Loader l(*list_cache_, list_cache_->split("train"), o);
    l.start_epoch(e);
    std::vector<Batch> out;
    Batch b;
    while (l.next(b)) out.push_back(b);
    return out;
  }
  static std::string* list_dir_;
  static Cache* list_cache_;
  static DatasetStats* list_stats_;
  static std::string list_setup_error_;
};
std::string ListLoaderTest::list_setup_error_;
std::string* ListLoaderTest::list_dir_ = nullptr;
Cache* ListLoaderTest::list_cache_ = nullptr;
DatasetStats* ListLoaderTest::list_stats_ = nullptr;

TEST_F(ListLoaderTest, BatchesHoldWholeListsInOrderAndEveryRowOnce) {
  const CacheSplit& split = list_cache_->split("train");
  const uint64_t* list = split.list();
  const int32_t* position = split.position();
  for (size_t batch : {1u, 8u, 25u, 5000u}) {
    for (size_t per_batch : {0u, 3u}) {
      LoaderOptions o;
      o.batch_size = batch;
      o.lists_per_batch = per_batch;
      std::vector<int> seen(split.rows(), 0);
      size_t lists = 0;
      for (const Batch& b : list_epoch(o, 1)) {
        ASSERT_GE(b.list_offsets.size(), 2u);
        EXPECT_EQ(b.list_offsets.front(), 0u);
        EXPECT_EQ(b.list_offsets.back(), b.size);
        const size_t n_lists = b.list_offsets.size() - 1;
        if (n_lists > 1) {
          EXPECT_LE(b.size, batch);  // only a single list may be longer
        }
        if (per_batch > 0) {
          EXPECT_LE(n_lists, per_batch);
        }
        for (size_t k = 0; k < n_lists; ++k) {
          const uint64_t lo = b.list_offsets[k], hi = b.list_offsets[k + 1];
          // One whole list: its first row starts the list, consecutive rows, positions 1..n.
          const uint64_t first = b.row[lo];
          EXPECT_TRUE(first == 0 || list[first - 1] != list[first]);
          EXPECT_TRUE(b.row[hi - 1] + 1 == split.rows() || list[b.row[hi - 1] + 1] != list[first]);
          for (uint64_t i = lo; i < hi; ++i) {
            EXPECT_EQ(b.row[i], first + (i - lo));
            EXPECT_EQ(b.list[i], list[first]);
            EXPECT_EQ(b.position[i], position[first] + static_cast<int32_t>(i - lo));
            ++seen[b.row[i]];
          }
          ++lists;
        }
      }
      EXPECT_EQ(lists, static_cast<size_t>(kLists)) << batch << " " << per_batch;
      EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), static_cast<long>(split.rows()));
    }
  }
}

TEST_F(ListLoaderTest, ListOrderIsShuffledBySeedAndEpoch) {
  LoaderOptions o;
  o.batch_size = 30;
  auto firsts = [](const std::vector<Batch>& batches) {
    std::vector<uint64_t> out;
    for (const Batch& b : batches) {
      for (size_t k = 0; k + 1 < b.list_offsets.size(); ++k) out.push_back(b.row[b.list_offsets[k]]);
    }
    return out;
  };
  const auto a = firsts(list_epoch(o, 0)), again = firsts(list_epoch(o, 0));
  EXPECT_EQ(a, again);
  EXPECT_NE(a, firsts(list_epoch(o, 1)));
  EXPECT_FALSE(std::is_sorted(a.begin(), a.end()));
  o.shuffle = false;
  const std::vector<Batch> in_order = list_epoch(o, 0);
  const auto f = firsts(in_order);
  EXPECT_TRUE(std::is_sorted(f.begin(), f.end()));
  // Unshuffled, batches_per_epoch is exact.
  LoaderOptions lo = o;
  lo.lists = true;
  EXPECT_EQ(Loader(*list_cache_, list_cache_->split("train"), lo).batches_per_epoch(),
            in_order.size());
  lo.drop_last = true;
  EXPECT_THROW(Loader(*list_cache_, list_cache_->split("train"), lo), Error);
}

TEST_F(ListLoaderTest, ConversionCountsListsAndListBatchesRefuseUngroupedOnes) {
  const SplitStats& s = list_stats_->splits.at("train");
  ASSERT_TRUE(s.has_lists);
  EXPECT_EQ(s.lists, static_cast<uint64_t>(kLists));
  EXPECT_EQ(s.max_list_length, 12u);
  uint64_t total = 0;
  for (const auto& [bucket, n] : s.list_lengths) total += n;
  EXPECT_EQ(total, static_cast<uint64_t>(kLists));
  EXPECT_EQ(s.lists_ungrouped, 0u);
  // The stored statistics read back the same; the table has the line.
  const DatasetStats back = stats_from_json(list_cache_->meta().at("stats"), list_cache_->layout());
  EXPECT_EQ(back.splits.at("train").lists, s.lists);
  EXPECT_EQ(back.splits.at("train").list_lengths, s.list_lengths);
  EXPECT_NE(stats_table(back, list_cache_->layout()).find("300 lists, mean length"),
            std::string::npos);

  const Cache bad(join_path(*list_dir_, "ungrouped"));
  EXPECT_EQ(stats_from_json(bad.meta().at("stats"), bad.layout()).splits.at("train").lists_ungrouped,
            1u);
  LoaderOptions o;
  o.lists = true;
  try {
    Loader l(bad, bad.split("train"), o);
    FAIL() << "list batches accepted an ungrouped split";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("are not consecutive: they start at row 0 and again at row 2"),
              std::string::npos)
        << e.what();
  }
  o.lists = false;  // rows are fine
  Loader rows(bad, bad.split("train"), o);
  rows.start_epoch(0);
  Batch b;
  EXPECT_TRUE(rows.next(b));
  EXPECT_TRUE(b.list_offsets.empty());
}

}  // namespace
}  // namespace funnel::data
