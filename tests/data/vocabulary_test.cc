#include "data/vocabulary.h"

#include <gtest/gtest.h>

#include <map>

#include "core/rng.h"
#include "data/row_encoder.h"
#include "test_util.h"

namespace funnel::data {
namespace {

TEST(KeyMap, MatchesStdMapUnderGrowth) {
  KeyMap<uint64_t> m(4);
  std::map<uint64_t, uint64_t> ref;
  Rng rng(3);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t k = 1 + rng.below(20000) * 0x10000;  // clustered low bits stress probing
    ++m[k];
    ++ref[k];
  }
  EXPECT_EQ(m.size(), ref.size());
  for (const auto& [k, v] : ref) {
    ASSERT_NE(m.find(k), nullptr);
    EXPECT_EQ(*m.find(k), v);
  }
  EXPECT_EQ(m.find(12345), nullptr);
}

TEST(Vocabulary, MinCountThresholdAndFrequencyOrder) {
  KeyMap<uint64_t> counts;
  counts[value_key("a")] = 50;
  counts[value_key("b")] = 11;
  counts[value_key("c")] = 10;  // AITM keeps ids seen more than 10 times: min_count 11
  counts[value_key("d")] = 200;
  const Vocabulary v = Vocabulary::from_counts(counts, 11);
  EXPECT_EQ(v.size(), 4u);  // 0 + d, a, b
  EXPECT_EQ(v.id(value_key("d")), 1u);
  EXPECT_EQ(v.id(value_key("a")), 2u);
  EXPECT_EQ(v.id(value_key("b")), 3u);
  EXPECT_EQ(v.id(value_key("c")), 0u);       // rare
  EXPECT_EQ(v.id(value_key("zzz")), 0u);     // unseen
  EXPECT_EQ(v.distinct_seen(), 4u);
  EXPECT_EQ(v.kept_occurrences(), 261u);
  EXPECT_EQ(v.total_occurrences(), 271u);
  EXPECT_EQ(Vocabulary::from_counts(counts, 1).size(), 5u);
}

TEST(Vocabulary, HashedIdsStayInRangeAndSpread) {
  const Vocabulary v = Vocabulary::hashed(1000);
  std::vector<int> hits(1000, 0);
  for (int i = 0; i < 100000; ++i) {
    const uint32_t id = v.id(value_key(std::to_string(i)));
    ASSERT_GE(id, 1u);
    ASSERT_LT(id, 1000u);
    ++hits[id];
  }
  EXPECT_EQ(hits[0], 0);
  int empty = 0;
  for (int i = 1; i < 1000; ++i) empty += hits[i] == 0;
  EXPECT_EQ(empty, 0);  // ~100 per bucket expected
  EXPECT_EQ(v.id(value_key("7")), Vocabulary::hashed(1000).id(value_key("7")));
}

TEST(Vocabulary, SaveLoadRoundTripAndCorruption) {
  const std::string dir = testing::test_dir();
  KeyMap<uint64_t> counts;
  for (int i = 0; i < 1000; ++i) counts[value_key(std::to_string(i))] = 1 + i % 7;
  const Vocabulary v = Vocabulary::from_counts(counts, 3);
  const std::string p = join_path(dir, "v.vocab");
  v.save(p);
  const Vocabulary back = Vocabulary::load(p);
  EXPECT_EQ(back.size(), v.size());
  EXPECT_EQ(back.distinct_seen(), v.distinct_seen());
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(back.id(value_key(std::to_string(i))), v.id(value_key(std::to_string(i))));
  }
  const std::string bytes = read_text_file(p);
  testing::write_file(dir, "trunc.vocab", bytes.substr(0, bytes.size() - 5));
  EXPECT_THROW(Vocabulary::load(join_path(dir, "trunc.vocab")), Error);
  testing::write_file(dir, "magic.vocab", "XXXXXXXX" + bytes.substr(8));
  EXPECT_THROW(Vocabulary::load(join_path(dir, "magic.vocab")), Error);
  std::string wrong_version = bytes;
  wrong_version[8] = 99;
  testing::write_file(dir, "ver.vocab", wrong_version);
  try {
    Vocabulary::load(join_path(dir, "ver.vocab"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("version 99"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace funnel::data
