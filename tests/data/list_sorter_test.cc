#include "data/list_sorter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <tuple>

#include "core/rng.h"
#include "test_util.h"

namespace funnel::data {
namespace list_sorter_test {
namespace {

Layout sorter_layout() {
  Layout l;
  l.events = {"click", "buy"};
  l.event_parent = {-1, 0};
  l.sparse = {{"user", false, false, 0, false, 0},
              {"hist", true, true, 0, false, 1},
              {"tags", true, false, 0, false, 2}};
  l.dense = {"price"};
  l.dense_source = {0};
  l.has_group = l.has_list = l.has_position = l.has_timestamp = true;
  l.aux = {"line"};
  return l;
}

/// `n` rows over `lists` lists in random order, with random positions and timestamps from
/// small ranges (many ties) and bags up to 300 values (records larger than a run's share).
std::vector<EncodedRow> random_rows(size_t n, uint64_t lists, uint64_t seed) {
  Rng rng(seed);
  std::vector<EncodedRow> rows(n);
  for (size_t i = 0; i < n; ++i) {
    EncodedRow& r = rows[i];
    r.labels = {static_cast<uint8_t>(rng.below(2)), 0};
    r.labels[1] = r.labels[0] && rng.below(2);
    r.single = {rng.below(2) ? 1 + rng.below(1000) : 0, 0, 0};
    r.keys.resize(3);
    r.weights.resize(3);
    const size_t bag = rng.below(10) == 0 ? 300 : rng.below(4);
    for (size_t b = 0; b < bag; ++b) {
      r.keys[1].push_back(1 + rng.below(50));
      r.weights[1].push_back(static_cast<float>(rng.uniform()));
    }
    const size_t tags = rng.below(3);
    for (size_t b = 0; b < tags; ++b) r.keys[2].push_back(1 + rng.below(9));
    r.dense = {static_cast<float>(rng.uniform())};
    r.group = rng.below(7);
    r.list = 1 + rng.below(lists) * 0x9E3779B97F4A7C15ULL;  // nonzero keys
    r.position = static_cast<int32_t>(rng.below(6)) - 2;
    r.timestamp = static_cast<int64_t>(rng.below(4)) - 1;
    r.aux = {static_cast<float>(i)};
    r.violation = -1;
  }
  return rows;
}

void expect_same_row(const EncodedRow& a, const EncodedRow& b) {
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.single[0], b.single[0]);
  EXPECT_EQ(a.keys[1], b.keys[1]);
  EXPECT_EQ(a.weights[1], b.weights[1]);
  EXPECT_EQ(a.keys[2], b.keys[2]);
  EXPECT_EQ(a.dense, b.dense);
  EXPECT_EQ(a.group, b.group);
  EXPECT_EQ(a.list, b.list);
  EXPECT_EQ(a.position, b.position);
  EXPECT_EQ(a.timestamp, b.timestamp);
  EXPECT_EQ(a.aux, b.aux);
  EXPECT_EQ(a.violation, b.violation);
}

/// Lists by first row, rows by (position, timestamp, input order).
std::vector<size_t> naive_order(const std::vector<EncodedRow>& rows) {
  std::map<uint64_t, size_t> first;
  for (size_t i = 0; i < rows.size(); ++i) first.emplace(rows[i].list, i);
  std::vector<size_t> order(rows.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::make_tuple(first[rows[a].list], rows[a].position, rows[a].timestamp, a) <
           std::make_tuple(first[rows[b].list], rows[b].position, rows[b].timestamp, b);
  });
  return order;
}

TEST(ListSorter, MatchesANaiveSortInMemoryAndThroughMergePasses) {
  const std::string dir = testing::test_dir();
  const Layout layout = sorter_layout();
  const auto rows = random_rows(3000, 200, 1);
  const std::vector<size_t> order = naive_order(rows);
  struct Case {
    size_t memory, fan_in;
    bool spills;
  };
  for (const Case c : {Case{64 << 20, 64, false}, Case{16 << 10, 64, true}, Case{16 << 10, 3, true},
                       Case{16 << 10, 2, true}}) {
    ListSorterOptions o;
    o.memory_bytes = c.memory;
    o.max_fan_in = c.fan_in;
    o.stream = false;  // random rows can look in order for a run (ListOrderRestart)
    size_t k = 0;
    ListSorter sorter(dir, layout, o, [&](const EncodedRow& r) {
      ASSERT_LT(k, order.size());
      expect_same_row(r, rows[order[k]]);
      ++k;
    });
    for (const auto& r : rows) sorter.add(r);
    const ListSortStats st = sorter.finish();
    EXPECT_EQ(k, rows.size());
    EXPECT_EQ(st.rows_in, rows.size());
    EXPECT_EQ(st.rows_out, rows.size());
    EXPECT_EQ(st.lists, 200u);
    EXPECT_TRUE(st.reordered);
    EXPECT_EQ(st.runs > 0, c.spills) << c.memory;
    if (c.spills) {
      EXPECT_GT(st.runs, 3 * c.fan_in) << "more runs than one merge takes";
    }
    EXPECT_TRUE(std::filesystem::is_empty(dir)) << "runs left behind";
  }
}

TEST(ListSorter, InputInListOrderComesBackUnchangedAndUnsorted) {
  const std::string dir = testing::test_dir();
  const Layout layout = sorter_layout();
  const auto shuffled = random_rows(1500, 100, 2);
  std::vector<EncodedRow> rows;
  for (size_t i : naive_order(shuffled)) rows.push_back(shuffled[i]);
  struct Case {
    size_t memory;
    bool stream;
  };
  for (const Case c : {Case{64 << 20, true}, Case{256 << 10, true}, Case{256 << 10, false}}) {
    ListSorterOptions o;
    o.memory_bytes = c.memory;
    o.stream = c.stream;
    size_t k = 0;
    ListSorter sorter(dir, layout, o, [&](const EncodedRow& r) { expect_same_row(r, rows[k++]); });
    size_t emitted_while_adding = 0;
    for (const auto& r : rows) {
      sorter.add(r);
      emitted_while_adding = k;
    }
    const ListSortStats st = sorter.finish();
    EXPECT_EQ(k, rows.size());
    EXPECT_FALSE(st.reordered);
    if (c.memory < (1 << 20) && c.stream) {
      // Full runs (~200 KiB, ~3 of them) hand their complete lists on while adding.
      EXPECT_GT(emitted_while_adding, rows.size() / 2);
      EXPECT_EQ(st.runs, 0u);
      EXPECT_EQ(st.rows_streamed, emitted_while_adding);
    } else if (c.memory < (1 << 20)) {
      EXPECT_GE(st.runs, 2u);  // spilled in order, concatenated
      EXPECT_EQ(emitted_while_adding, 0u);
    } else {
      EXPECT_EQ(st.runs, 0u);
      EXPECT_EQ(emitted_while_adding, 0u);  // all fitted in one run
    }
    EXPECT_TRUE(std::filesystem::is_empty(dir));
  }
}

TEST(ListSorter, AListThatComesBackAfterStreamingAsksForARestart) {
  const std::string dir = testing::test_dir();
  const Layout layout = sorter_layout();
  const auto shuffled = random_rows(1500, 100, 4);
  std::vector<EncodedRow> rows;
  for (size_t i : naive_order(shuffled)) rows.push_back(shuffled[i]);
  // A late row of the first list: it belongs before everything streamed so far.
  EncodedRow late = rows.front();
  late.position = 1000;
  late.aux = {-1.0f};
  rows.push_back(late);
  ListSorterOptions o;
  o.memory_bytes = 256 << 10;
  {
    size_t streamed = 0;
    ListSorter sorter(dir, layout, o, [&](const EncodedRow&) { ++streamed; });
    try {
      for (const auto& r : rows) sorter.add(r);
      FAIL() << "no restart";
    } catch (const ListOrderRestart& e) {
      EXPECT_EQ(e.row(), rows.size() - 1);
      EXPECT_GT(streamed, 0u);
    }
  }
  // Without streaming the same rows sort right: the late row ends its list.
  o.stream = false;
  const std::vector<size_t> order = naive_order(rows);
  size_t k = 0;
  ListSorter sorter(dir, layout, o,
                    [&](const EncodedRow& r) { expect_same_row(r, rows[order[k++]]); });
  for (const auto& r : rows) sorter.add(r);
  const ListSortStats st = sorter.finish();
  EXPECT_EQ(k, rows.size());
  EXPECT_TRUE(st.reordered);
  EXPECT_GT(st.runs, 0u);
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

TEST(ListSorter, MaxListLengthCutsEachListInListOrder) {
  const std::string dir = testing::test_dir();
  const Layout layout = sorter_layout();
  const auto rows = random_rows(2000, 150, 3);
  const std::vector<size_t> order = naive_order(rows);
  for (const ListKeep keep : {ListKeep::kFirst, ListKeep::kLast}) {
    for (const uint64_t max : {1u, 5u, 100u}) {
      // Reference: the naive order, each list cut to its first / last `max` rows.
      std::vector<size_t> expected;
      uint64_t truncated = 0, dropped = 0;
      for (size_t i = 0; i < order.size();) {
        size_t j = i;
        while (j < order.size() && rows[order[j]].list == rows[order[i]].list) ++j;
        const size_t n = j - i;
        size_t from = i, to = j;
        if (n > max) {
          ++truncated;
          dropped += n - max;
          if (keep == ListKeep::kFirst)
            to = i + max;
          else
            from = j - max;
        }
        expected.insert(expected.end(), order.begin() + from, order.begin() + to);
        i = j;
      }
      ListSorterOptions o;
      o.memory_bytes = 32 << 10;
      o.max_list_length = max;
      o.keep = keep;
      o.stream = false;  // random rows
      size_t k = 0;
      ListSorter sorter(dir, layout, o, [&](const EncodedRow& r) {
        ASSERT_LT(k, expected.size());
        expect_same_row(r, rows[expected[k++]]);
      });
      for (const auto& r : rows) sorter.add(r);
      const ListSortStats st = sorter.finish();
      EXPECT_EQ(k, expected.size());
      EXPECT_EQ(st.lists_truncated, truncated) << max;
      EXPECT_EQ(st.rows_dropped, dropped) << max;
      EXPECT_EQ(st.rows_out + st.rows_dropped, rows.size());
      if (max == 100) {
        EXPECT_EQ(truncated, 0u);
      }
      if (max == 1) {
        EXPECT_EQ(st.rows_out, 150u);
      }
    }
  }
}

}  // namespace
}  // namespace list_sorter_test
}  // namespace funnel::data
