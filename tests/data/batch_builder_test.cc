#include "data/batch_builder.h"

#include <gtest/gtest.h>

#include "data/cache.h"
#include "data/converter.h"
#include "data/loader.h"
#include "data/reader.h"
#include "synthetic.h"

namespace funnel::data {
namespace {

// Text encoded with the saved vocabularies must reach a model exactly as the cache's rows do.
TEST(BatchBuilder, MatchesTheLoaderOnTheSameRows) {
  const std::string dir = testing::test_dir();
  const auto train = testing::make_synthetic(dir, "train.csv", 800, 21);
  const auto test = testing::make_synthetic(dir, "test.csv", 300, 22, 5000);
  const DataConfig config =
      parse_data_config(testing::synthetic_config_json(train.path, test.path), "");
  ConvertOptions o;
  o.progress = false;
  convert_to_cache(config, join_path(dir, "cache"), o);
  const Cache cache(join_path(dir, "cache"));
  std::vector<Vocabulary> vocabs;
  for (size_t f = 0; f < cache.layout().sparse.size(); ++f) vocabs.push_back(cache.load_vocab(f));

  LoaderOptions lo;
  lo.shuffle = false;
  lo.batch_size = 1 << 20;
  Loader loader(cache, cache.split("test"), lo);
  loader.start_epoch(0);
  Batch expected;
  ASSERT_TRUE(loader.next(expected));

  BatchBuilder builder(cache.layout(), vocabs, cache.dense_mean(), cache.dense_std());
  RowEncoder encoder(config);
  auto reader = open_reader(config, {test.path});
  RawRow raw;
  EncodedRow enc;
  uint64_t i = 0;
  // Out-of-vocabulary counts, against a naive count of the rows' keys the vocabularies lack.
  std::vector<uint64_t> unknown(cache.layout().sparse.size(), 0), naive(unknown.size(), 0);
  while (reader->next(raw)) {
    encoder.encode(raw, test.path, enc);
    if (enc.violation >= 0) continue;  // dropped by the conversion too
    builder.add(enc, i++, &unknown);
    for (size_t f = 0; f < unknown.size(); ++f) {
      if (cache.layout().sparse[f].bucketized) continue;
      std::vector<uint64_t> keys = enc.keys[f];
      if (!cache.layout().sparse[f].multi) keys = {enc.single[f]};
      for (uint64_t k : keys) naive[f] += k != 0 && vocabs[f].id(k) == 0;
    }
  }
  EXPECT_EQ(unknown, naive);
  uint64_t total = 0;
  for (uint64_t n : naive) total += n;
  EXPECT_GT(total, 0u) << "the test split (other seed, larger id range) has unseen values";
  const Batch& got = builder.batch();
  ASSERT_EQ(got.size, expected.size);
  EXPECT_EQ(got.labels, expected.labels);
  ASSERT_EQ(got.sparse.size(), expected.sparse.size());
  for (size_t f = 0; f < got.sparse.size(); ++f) {
    EXPECT_EQ(got.sparse[f].ids, expected.sparse[f].ids) << f;
    EXPECT_EQ(got.sparse[f].offsets, expected.sparse[f].offsets) << f;
    EXPECT_EQ(got.sparse[f].weights, expected.sparse[f].weights) << f;
  }
  ASSERT_EQ(got.dense.size(), expected.dense.size());
  for (size_t k = 0; k < got.dense.size(); ++k) EXPECT_FLOAT_EQ(got.dense[k], expected.dense[k]);
  EXPECT_EQ(got.group, expected.group);
  EXPECT_EQ(got.aux, expected.aux);
}

}  // namespace
}  // namespace funnel::data
