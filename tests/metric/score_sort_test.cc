#include "metric/score_sort.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/rng.h"

namespace funnel::metric {
namespace {

TEST(ScoreKey, PreservesFloatOrderAndTies) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> v = {-inf,  -1e30f, -2.5f,      -1.0f, -1e-40f, 0.0f,  1e-40f,
                          1e-7f, 0.5f,   0.5000001f, 1.0f,  3.0f,    1e30f, inf};
  for (size_t i = 0; i < v.size(); ++i) {
    for (size_t j = 0; j < v.size(); ++j) {
      EXPECT_EQ(v[i] < v[j], score_key(v[i]) < score_key(v[j])) << v[i] << " vs " << v[j];
      EXPECT_EQ(v[i] == v[j], score_key(v[i]) == score_key(v[j]));
    }
  }
  EXPECT_EQ(score_key(-0.0f), score_key(0.0f));
}

TEST(ScoreKey, RandomPairsAgreeWithFloatComparison) {
  Rng rng(3);
  for (int t = 0; t < 100000; ++t) {
    const auto a = static_cast<float>((rng.uniform() - 0.5) * std::pow(10.0, rng.below(20) - 10.0));
    const auto b = static_cast<float>((rng.uniform() - 0.5) * std::pow(10.0, rng.below(20) - 10.0));
    ASSERT_EQ(a < b, score_key(a) < score_key(b));
  }
}

// Sizes on both sides of the comparison/radix switch; few distinct keys test skipped digits.
class SortPacked : public ::testing::TestWithParam<std::tuple<size_t, uint64_t>> {};

TEST_P(SortPacked, OrdersByKeyAndKeepsEveryElement) {
  const auto [n, levels] = GetParam();
  Rng rng(n * 31 + levels);
  std::vector<uint64_t> data(n);
  for (size_t i = 0; i < n; ++i) {
    const auto score = static_cast<float>(rng.below(levels)) / static_cast<float>(levels) - 0.3f;
    data[i] = pack(score_key(score), static_cast<uint32_t>(i));
  }
  std::vector<uint64_t> expected = data;
  std::vector<uint64_t> scratch;
  sort_packed(data, scratch);
  ASSERT_EQ(data.size(), n);
  for (size_t i = 1; i < n; ++i) ASSERT_LE(packed_key(data[i - 1]), packed_key(data[i]));
  std::sort(expected.begin(), expected.end());
  std::sort(data.begin(), data.end());
  EXPECT_EQ(data, expected);
}

INSTANTIATE_TEST_SUITE_P(Sizes, SortPacked,
                         ::testing::Combine(::testing::Values(0, 1, 7, 1023, 1024, 5000, 100000),
                                            ::testing::Values(1, 3, 1000, 1u << 30)));

TEST(SortPacked, PointerFormReturnsTheBufferHoldingTheResult) {
  std::vector<uint64_t> data, scratch(4096);
  for (uint32_t i = 0; i < 4096; ++i) data.push_back(pack(4095 - i, i));
  const uint64_t* out = sort_packed(data.data(), scratch.data(), data.size());
  EXPECT_TRUE(out == data.data() || out == scratch.data());
  for (uint32_t i = 0; i < 4096; ++i) EXPECT_EQ(packed_key(out[i]), i);
}

}  // namespace
}  // namespace funnel::metric
