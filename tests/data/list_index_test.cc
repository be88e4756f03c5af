#include "data/list_index.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"

namespace funnel::data {
namespace {

TEST(ListIndexTest, RunsOfOneIdAreLists) {
  const std::vector<uint64_t> list = {7, 7, 7, 3, 9, 9, 1, 1, 1, 1, 1, 1};
  const std::vector<int32_t> pos = {1, 2, 3, 1, 1, 2, 1, 2, 3, 4, 5, 6};
  const ListIndex all = ListIndex::build(list.data(), pos.data(), 0, list.size(), "t");
  EXPECT_EQ(all.offsets, (std::vector<uint64_t>{0, 3, 4, 6, 12}));
  EXPECT_EQ(all.lists(), 4u);
  EXPECT_EQ(all.max_length(), 6u);
  const auto hist = all.length_histogram();
  ASSERT_EQ(hist.size(), 8u);
  EXPECT_EQ(hist[0], (std::pair<std::string, uint64_t>{"1", 1}));
  EXPECT_EQ(hist[1], (std::pair<std::string, uint64_t>{"2-5", 2}));
  EXPECT_EQ(hist[2], (std::pair<std::string, uint64_t>{"6-10", 1}));
  EXPECT_EQ(all.ungrouped + all.unordered, 0u);
  // A row range cuts the lists at its ends.
  const ListIndex part = ListIndex::build(list.data(), pos.data(), 2, 8, "t");
  EXPECT_EQ(part.offsets, (std::vector<uint64_t>{2, 3, 4, 6, 8}));
  EXPECT_EQ(ListIndex::build(list.data(), nullptr, 5, 5, "t").lists(), 0u);
}

TEST(ListIndexTest, UngroupedAndUnorderedListsAreCountedOrRefused) {
  // List 5 comes back twice after others (counted once), list 8's positions go 1, 3, 2.
  const std::vector<uint64_t> list = {5, 5, 6, 5, 8, 8, 8, 5};
  const std::vector<int32_t> pos = {1, 2, 1, 3, 1, 3, 2, 4};
  const ListIndex s = ListIndex::scan(list.data(), pos.data(), 0, list.size(), "split x");
  EXPECT_EQ(s.lists(), 5u);
  EXPECT_EQ(s.ungrouped, 1u);
  EXPECT_EQ(s.unordered, 1u);
  EXPECT_NE(s.first_problem.find("split x: the rows of list 5 are not consecutive: they start at "
                                 "row 0 and again at row 3"),
            std::string::npos)
      << s.first_problem;
  try {
    ListIndex::build(list.data(), pos.data(), 0, list.size(), "split x");
    FAIL() << "accepted an ungrouped list";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), s.first_problem);
  }
  // Ordering alone, without positions there is nothing to check.
  const std::vector<uint64_t> grouped = {8, 8, 8};
  const std::vector<int32_t> bad = {1, 3, 2};
  try {
    ListIndex::build(grouped.data(), bad.data(), 0, 3, "s");
    FAIL() << "accepted a decreasing position";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 2 has position 2 after 3"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(ListIndex::build(grouped.data(), nullptr, 0, 3, "s").lists(), 1u);
  EXPECT_THROW(ListIndex::scan(nullptr, nullptr, 0, 3, "s"), Error);
}

}  // namespace
}  // namespace funnel::data
