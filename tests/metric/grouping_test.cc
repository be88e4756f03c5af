#include "metric/grouping.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "core/rng.h"

namespace funnel::metric {
namespace {

TEST(Grouping, NumbersGroupsByFirstAppearanceAndOrdersRows) {
  const std::vector<uint64_t> keys = {42, 7, 42, 42, 9, 7, 0};
  const Grouping g = group_rows(keys.data(), keys.size());
  ASSERT_EQ(g.num_groups(), 4u);
  EXPECT_EQ(g.keys, (std::vector<uint64_t>{42, 7, 9, 0}));
  const std::vector<uint32_t> ids(g.group_of_row.data(), g.group_of_row.data() + keys.size());
  EXPECT_EQ(ids, (std::vector<uint32_t>{0, 1, 0, 0, 2, 1, 3}));
  EXPECT_EQ(g.offsets, (std::vector<size_t>{0, 3, 5, 6, 7}));
  EXPECT_EQ(g.order(), (std::vector<uint32_t>{0, 2, 3, 1, 5, 4, 6}));
}

TEST(Grouping, ManyRandomKeysMatchAMap) {
  Rng rng(17);
  std::vector<uint64_t> keys;
  for (int i = 0; i < 200000; ++i) keys.push_back(rng.below(50000) * 0x9e3779b97f4a7c15ULL);
  const Grouping g = group_rows(keys.data(), keys.size());
  std::map<uint64_t, size_t> count;
  for (uint64_t k : keys) ++count[k];
  ASSERT_EQ(g.num_groups(), count.size());
  for (size_t i = 0; i < keys.size(); ++i) ASSERT_EQ(g.keys[g.group_of_row[i]], keys[i]);
  for (size_t id = 0; id < g.num_groups(); ++id) EXPECT_EQ(g.size(id), count[g.keys[id]]);
  const auto rows = g.order();
  for (size_t id = 0; id < g.num_groups(); ++id) {
    for (size_t p = g.offsets[id]; p < g.offsets[id + 1]; ++p) {
      ASSERT_EQ(g.group_of_row[rows[p]], id);
      if (p > g.offsets[id]) {
        ASSERT_LT(rows[p - 1], rows[p]);
      }
    }
  }
}

TEST(Grouping, Empty) {
  const Grouping g = group_rows(nullptr, 0);
  EXPECT_EQ(g.num_groups(), 0u);
  EXPECT_EQ(g.offsets, (std::vector<size_t>{0}));
  EXPECT_TRUE(g.order().empty());
}

}  // namespace
}  // namespace funnel::metric
