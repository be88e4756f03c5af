#include "data/batch_slice.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace funnel::data {
namespace {

/// 5 rows, 2 events, a single-valued and a weighted multi-valued field, 1 dense feature,
/// lists {0, 1}, {2}, {3, 4}; every value tells its row.
Batch make_batch() {
  Batch b;
  b.size = 5;
  b.num_events = 2;
  for (int e = 0; e < 2; ++e) {
    for (int i = 0; i < 5; ++i) b.labels.push_back(static_cast<float>((e + i) % 2));
  }
  b.sparse.resize(2);
  b.sparse[0].ids = {10, 11, 12, 13, 14};
  // Row i holds i ids: i*100 .. i*100 + i - 1.
  b.sparse[1].offsets = {0};
  for (uint32_t i = 0; i < 5; ++i) {
    for (uint32_t k = 0; k < i; ++k) {
      b.sparse[1].ids.push_back(i * 100 + k);
      b.sparse[1].weights.push_back(static_cast<float>(i));
    }
    b.sparse[1].offsets.push_back(b.sparse[1].ids.size());
  }
  b.num_dense = 1;
  b.dense = {0.0f, 0.1f, 0.2f, 0.3f, 0.4f};
  b.list = {7, 7, 8, 9, 9};
  b.position = {0, 1, 0, 0, 1};
  b.row = {50, 51, 52, 53, 54};
  b.list_offsets = {0, 2, 3, 5};
  return b;
}

TEST(SliceBatch, KeepsEveryColumnOfTheRowsAndRebasesOffsets) {
  const Batch b = make_batch();
  Batch s;
  slice_batch(b, 2, 5, s);
  ASSERT_EQ(s.size, 3u);
  EXPECT_EQ(s.labels, (std::vector<float>{0, 1, 0, 1, 0, 1}));
  EXPECT_EQ(s.sparse[0].ids, (std::vector<uint32_t>{12, 13, 14}));
  EXPECT_EQ(s.sparse[1].offsets, (std::vector<uint64_t>{0, 2, 5, 9}));
  EXPECT_EQ(s.sparse[1].ids.front(), 200u);
  EXPECT_EQ(s.sparse[1].ids.back(), 403u);
  EXPECT_EQ(s.sparse[1].weights.size(), 9u);
  EXPECT_EQ(s.dense, (std::vector<float>{0.2f, 0.3f, 0.4f}));
  EXPECT_EQ(s.list, (std::vector<uint64_t>{8, 9, 9}));
  EXPECT_EQ(s.position, (std::vector<int32_t>{0, 0, 1}));
  EXPECT_EQ(s.row, (std::vector<uint64_t>{52, 53, 54}));
  EXPECT_EQ(s.list_offsets, (std::vector<uint64_t>{0, 1, 3}));
  Batch empty;
  slice_batch(b, 3, 3, empty);
  EXPECT_EQ(empty.size, 0u);
  EXPECT_EQ(empty.sparse[1].offsets, (std::vector<uint64_t>{0}));
}

TEST(SliceBatch, RefusesToCutAList) {
  Batch s;
  EXPECT_THROW(slice_batch(make_batch(), 1, 3, s), Error);
  EXPECT_THROW(slice_batch(make_batch(), 2, 6, s), Error);
}

TEST(BatchPart, PartsCoverTheBatchInOrderAndKeepListsWhole) {
  Batch b = make_batch();
  for (size_t parts : {1u, 2u, 3u}) {
    size_t expect_begin = 0;
    for (size_t p = 0; p < parts; ++p) {
      size_t begin = 0, end = 0;
      batch_part(b, p, parts, begin, end);
      EXPECT_EQ(begin, expect_begin);
      Batch s;
      EXPECT_NO_THROW(slice_batch(b, begin, end, s));  // at list boundaries
      expect_begin = end;
    }
    EXPECT_EQ(expect_begin, b.size);
  }
  b.list_offsets.clear();
  size_t begin = 0, end = 0;
  batch_part(b, 1, 2, begin, end);
  EXPECT_EQ(begin, 2u);
  EXPECT_EQ(end, 5u);
}

}  // namespace
}  // namespace funnel::data
