#include "data/loader.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <set>

#include "data/converter.h"
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

}  // namespace
}  // namespace funnel::data
