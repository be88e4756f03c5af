#include "embed/grad_accumulator.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "core/rng.h"
#include "test_util.h"

namespace funnel::embed {
namespace {

// Against a std::map reference on random batches with many duplicates, both poolings.
TEST(GradAccumulator, SumsDuplicatesLikeANaiveMap) {
  Rng rng(17);
  GradAccumulator acc;  // reused across calls, as a table does
  for (int round = 0; round < 20; ++round) {
    const uint32_t dim = round % 2 ? 16 : 3;
    const bool mean = round % 3 == 0;
    const testing::Batch batch = testing::random_batch(rng, 30, {5}, 0, 12, 6, round % 4 != 1);
    const SparseInput in = batch.view();
    std::vector<float> grad(in.batch_size * dim);
    for (auto& g : grad) g = static_cast<float>(rng.uniform() - 0.5);
    acc.accumulate(in, mean, grad.data(), dim, dim);

    std::map<uint32_t, std::vector<double>> want;
    for (size_t b = 0; b < in.batch_size; ++b) {
      const size_t n = in.end(b) - in.begin(b);
      for (size_t k = in.begin(b); k < in.end(b); ++k) {
        auto& row = want[in.ids[k]];
        row.resize(dim, 0.0);
        const double c = in.weight(k) / (mean ? static_cast<double>(n) : 1.0);
        for (uint32_t j = 0; j < dim; ++j) row[j] += c * grad[b * dim + j];
      }
    }
    ASSERT_EQ(acc.size(), want.size());
    for (size_t i = 0; i < acc.size(); ++i) {
      const auto it = want.find(acc.rows()[i]);
      ASSERT_NE(it, want.end());
      for (uint32_t j = 0; j < dim; ++j) {
        EXPECT_NEAR(acc.grads()[i * dim + j], it->second[j], 1e-5);
      }
    }
  }
}

TEST(GradAccumulator, EmptyRowsAndEmptyBatch) {
  GradAccumulator acc;
  testing::Batch batch;
  batch.add_row({});
  batch.add_row({});
  const std::vector<float> grad(8, 1.0f);
  acc.accumulate(batch.view(), false, grad.data(), 4, 4);
  EXPECT_EQ(acc.size(), 0u);
  testing::Batch none;
  acc.accumulate(none.view(), true, nullptr, 4, 4);
  EXPECT_EQ(acc.size(), 0u);
}

}  // namespace
}  // namespace funnel::embed
