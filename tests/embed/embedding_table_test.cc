#include "embed/embedding_table.h"

#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include <cmath>
#include <cstring>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "core/error.h"
#include "embed/lazy_adam.h"
#include "test_util.h"

namespace funnel::embed {
namespace {

using testing::Batch;

TableOptions with_pooling(Pooling p) {
  TableOptions o;
  o.pooling = p;
  o.init_scale = 0.5;
  return o;
}

// Naive pooled lookup in double.
std::vector<double> naive_pool(const EmbeddingTable& t, const Batch& batch) {
  const SparseInput in = batch.view();
  const uint32_t d = t.dim();
  std::vector<double> out(in.batch_size * d, 0.0);
  for (size_t b = 0; b < in.batch_size; ++b) {
    const size_t n = in.end(b) - in.begin(b);
    for (size_t k = in.begin(b); k < in.end(b); ++k) {
      for (uint32_t j = 0; j < d; ++j) out[b * d + j] += in.weight(k) * t.row(in.ids[k])[j];
    }
    if (t.options().pooling == Pooling::kMean && n > 0) {
      for (uint32_t j = 0; j < d; ++j) out[b * d + j] /= static_cast<double>(n);
    }
  }
  return out;
}

Batch mixed_batch() {
  Batch b;
  b.add_row({1, 4, 4}, {0.5f, 2.0f, -1.0f});  // duplicate inside the bag
  b.add_row({}, {});                          // empty row -> zeros
  b.add_row({9}, {3.0f});
  b.add_row({4, 0, 7, 9}, {1.0f, 1.0f, 0.25f, 1.5f});  // 4 and 9 again across rows
  return b;
}

TEST(EmbeddingTable, PoolingMatchesNaive) {
  for (const Pooling p : {Pooling::kSum, Pooling::kMean}) {
    for (const uint32_t dim : {16u, 7u}) {
      EmbeddingTable t(10, dim, with_pooling(p));
      for (const bool weighted : {true, false}) {
        Batch batch = mixed_batch();
        if (!weighted) batch.weights.clear();
        const std::vector<double> want = naive_pool(t, batch);
        const torch::Tensor got = t.lookup(batch.view());
        ASSERT_EQ(got.size(0), 4);
        ASSERT_EQ(got.size(1), dim);
        EXPECT_TRUE(got.requires_grad());
        EXPECT_TRUE(got.is_leaf());
        const float* g = got.data_ptr<float>();
        for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(g[i], want[i], 1e-6) << i;
        for (uint32_t j = 0; j < dim; ++j) EXPECT_EQ(g[dim + j], 0.0f);  // empty row
      }
    }
  }
}

TEST(EmbeddingTable, SingleValuedLookupCopiesRows) {
  EmbeddingTable t(10, 16);
  Batch b;
  b.single_valued = true;
  b.ids = {3, 3, 0, 9};
  b.weights = {1.0f, 2.0f, 1.0f, -1.0f};
  const torch::Tensor e = t.lookup(b.view());
  for (size_t i = 0; i < 4; ++i) {
    for (int j = 0; j < 16; ++j) {
      EXPECT_EQ(e[i][j].item<float>(), b.weights[i] * t.row(b.ids[i])[j]);
    }
  }
}

TEST(EmbeddingTable, LookupIntoWritesOnlyItsColumns) {
  EmbeddingTable a(10, 4, with_pooling(Pooling::kMean));
  const Batch batch = mixed_batch();
  const size_t stride = 11;
  std::vector<float> buf(4 * stride, -7.0f);
  a.lookup_into(batch.view(), buf.data() + 3, stride);
  const std::vector<double> want = naive_pool(a, batch);
  for (size_t b = 0; b < 4; ++b) {
    for (size_t c = 0; c < stride; ++c) {
      if (c >= 3 && c < 7) {
        EXPECT_NEAR(buf[b * stride + c], want[b * 4 + c - 3], 1e-6);
      } else {
        EXPECT_EQ(buf[b * stride + c], -7.0f);
      }
    }
  }
}

TEST(EmbeddingTable, InitIsSeededAndScaled) {
  TableOptions o;
  o.seed = 11;
  o.init = Initializer::kNormal;
  o.init_scale = 0.2;
  EmbeddingTable a(2000, 16, o), b(2000, 16, o);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), 2000 * 16 * sizeof(float)), 0);
  double sum = 0, sq = 0;
  for (size_t i = 0; i < 2000 * 16; ++i) {
    sum += a.data()[i];
    sq += a.data()[i] * a.data()[i];
  }
  EXPECT_NEAR(sum / 32000, 0.0, 0.005);
  EXPECT_NEAR(std::sqrt(sq / 32000), 0.2, 0.005);
  o.seed = 12;
  EmbeddingTable c(2000, 16, o);
  EXPECT_NE(std::memcmp(a.data(), c.data(), 2000 * 16 * sizeof(float)), 0);
  o.init = Initializer::kUniform;
  EmbeddingTable u(2000, 16, o);
  for (size_t i = 0; i < 2000 * 16; ++i) ASSERT_LE(std::abs(u.data()[i]), 0.2f);
  o.init = Initializer::kZeros;
  EmbeddingTable z(10, 3, o);
  for (size_t i = 0; i < 30; ++i) EXPECT_EQ(z.data()[i], 0.0f);
}

// The whole gradient path: loss on lookup output -> backward -> apply_gradients. With SGD
// at lr = 1 the weight change equals the scattered gradient, which must equal the gradient
// autograd computes for a dense table (duplicates within and across rows included).
TEST(EmbeddingTable, GradientPathMatchesDenseAutograd) {
  for (const Pooling p : {Pooling::kSum, Pooling::kMean}) {
    TableOptions o = with_pooling(p);
    SgdOptions sgd;
    sgd.lr = 1.0;
    o.optimizer = sgd;
    EmbeddingTable t(10, 16, o);
    const torch::Tensor before = testing::weights_of(t);
    const Batch batch = mixed_batch();
    torch::manual_seed(1);
    const torch::Tensor target = torch::randn({4, 16});

    torch::Tensor e = t.lookup(batch.view());
    testing::test_loss(e, target).backward();
    t.apply_gradients(batch.view(), e.grad());

    torch::Tensor dense = before.clone().requires_grad_(true);
    testing::test_loss(testing::dense_pool(dense, batch, p == Pooling::kMean), target).backward();
    const torch::Tensor step = before - testing::weights_of(t);
    EXPECT_LT((step - dense.grad()).abs().max().item<double>(), 1e-6);
    EXPECT_GT(dense.grad().abs().max().item<double>(), 0.1);
    // Rows 2, 3, 5, 6, 8 are in no bag.
    for (const int r : {2, 3, 5, 6, 8}) EXPECT_TRUE(torch::equal(step[r], torch::zeros({16})));
  }
}

// Two fields gathered into one [batch, 16 + 8] leaf through lookup_into, gradients applied
// from column slices of its .grad(): same result as separate per-field tensors.
TEST(EmbeddingTable, ConcatenatedFieldsMatchSeparateLookups) {
  TableOptions o;
  o.seed = 3;
  EmbeddingTable a1(10, 16, o), a2(10, 16, o);
  o.seed = 4;
  o.pooling = Pooling::kMean;
  EmbeddingTable b1(10, 8, o), b2(10, 8, o);
  Batch fa;
  fa.single_valued = true;
  fa.ids = {1, 2, 1, 9};
  const Batch fb = mixed_batch();
  torch::manual_seed(2);
  const torch::Tensor target = torch::randn({4, 24});

  torch::Tensor cat = torch::empty({4, 24});
  a1.lookup_into(fa.view(), cat.data_ptr<float>(), 24);
  b1.lookup_into(fb.view(), cat.data_ptr<float>() + 16, 24);
  cat.requires_grad_(true);
  testing::test_loss(cat, target).backward();
  a1.apply_gradients(fa.view(), cat.grad().narrow(1, 0, 16));
  b1.apply_gradients(fb.view(), cat.grad().narrow(1, 16, 8));

  torch::Tensor ea = a2.lookup(fa.view()), eb = b2.lookup(fb.view());
  testing::test_loss(torch::cat({ea, eb}, 1), target).backward();
  a2.apply_gradients(fa.view(), ea.grad());
  b2.apply_gradients(fb.view(), eb.grad());

  EXPECT_EQ(std::memcmp(a1.data(), a2.data(), 10 * 16 * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(b1.data(), b2.data(), 10 * 8 * sizeof(float)), 0);
}

TEST(EmbeddingTable, UndefinedGradientIsANoOp) {
  EmbeddingTable t(10, 4);
  const torch::Tensor before = testing::weights_of(t);
  t.apply_gradients(mixed_batch().view(), torch::Tensor());
  EXPECT_TRUE(torch::equal(before, testing::weights_of(t)));
}

TEST(EmbeddingTable, StridedAndBroadcastGradientTensors) {
  EmbeddingTable a(10, 4), b(10, 4), c(10, 4);
  const Batch batch = mixed_batch();
  const torch::Tensor row = torch::tensor({0.5f, -1.0f, 2.0f, 0.25f}).unsqueeze(0);
  a.apply_gradients(batch.view(), row.expand({4, 4}));  // row stride 0
  b.apply_gradients(batch.view(), row.repeat({4, 1}));
  c.apply_gradients(batch.view(), row.repeat({4, 1}).t().contiguous().t());  // column-major
  EXPECT_EQ(std::memcmp(a.data(), b.data(), 40 * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(c.data(), b.data(), 40 * sizeof(float)), 0);
}

TEST(EmbeddingTable, RejectsBadInputWithClearErrors) {
  EmbeddingTable t(10, 4);
  Batch bad_id;
  bad_id.add_row({1, 10});
  EXPECT_THROW(t.lookup(bad_id.view()), Error);
  std::vector<float> g(4, 1.0f);
  EXPECT_THROW(t.apply_gradients(bad_id.view(), g.data(), 4), Error);
  try {
    t.lookup(bad_id.view());
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("id 10"), std::string::npos) << e.what();
  }
  Batch decreasing = mixed_batch();
  std::swap(decreasing.offsets[1], decreasing.offsets[2]);
  decreasing.offsets[1] = 5;
  EXPECT_THROW(t.lookup(decreasing.view()), Error);
  Batch single;
  single.single_valued = true;
  single.ids = {1, 2};
  SparseInput in = single.view();
  in.batch_size = 3;
  EXPECT_THROW(t.lookup(in), Error);
  EXPECT_THROW(t.apply_gradients(mixed_batch().view(), torch::zeros({4, 5})), Error);
  EXPECT_THROW(t.apply_gradients(mixed_batch().view(), torch::zeros({4, 4}, torch::kFloat64)),
               Error);
  EXPECT_THROW(EmbeddingTable(0, 4), Error);
  EXPECT_THROW(EmbeddingTable(4, 0), Error);
}

TEST(EmbeddingTable, AdamMemoryIsWeightsMomentsAndStepCounts) {
  EmbeddingTable t(1000, 16);
  EXPECT_EQ(t.memory_bytes(), 1000 * 16 * 4 * 3 + 1000 * 4);
}

// ---- save / load ----

EmbeddingTable trained_table(OptimizerOptions opt, uint64_t seed) {
  TableOptions o;
  o.optimizer = opt;
  o.seed = seed;
  o.pooling = Pooling::kMean;
  EmbeddingTable t(50, 8, o);
  Rng rng(seed);
  for (int s = 0; s < 5; ++s) {
    const Batch b = testing::random_batch(rng, 6, {0}, 1, 30, 3, true);
    std::vector<float> g(6 * 8);
    for (auto& x : g) x = static_cast<float>(rng.uniform() - 0.5);
    t.apply_gradients(b.view(), g.data(), 8);
  }
  return t;
}

std::string saved(const EmbeddingTable& t, bool with_state = true) {
  std::ostringstream os;
  t.save(os, with_state);
  return os.str();
}

TEST(EmbeddingTableIo, RoundTripIsIdenticalAndTrainsIdentically) {
  for (const OptimizerOptions& opt :
       {OptimizerOptions(AdamOptions{}), OptimizerOptions(AdagradOptions{}),
        OptimizerOptions(SgdOptions{})}) {
    EmbeddingTable t = trained_table(opt, 8);
    const std::string bytes = saved(t);
    std::istringstream is(bytes);
    EmbeddingTable r = EmbeddingTable::read(is);
    EXPECT_EQ(r.num_rows(), t.num_rows());
    EXPECT_EQ(r.dim(), t.dim());
    EXPECT_EQ(r.options().pooling, Pooling::kMean);
    EXPECT_EQ(r.optimizer().kind(), t.optimizer().kind());
    EXPECT_EQ(saved(r), bytes);  // weights, state and options all equal

    EmbeddingTable fresh(50, 8, [&] {
      TableOptions o;
      o.optimizer = opt;
      o.pooling = Pooling::kMean;
      return o;
    }());
    std::istringstream is2(bytes);
    fresh.load(is2);
    EXPECT_EQ(saved(fresh), bytes);

    // Continue training both: bitwise identical because the optimizer state came back too.
    Batch b;
    b.add_row({0, 1, 2});
    std::vector<float> g(8, 0.3f);
    t.apply_gradients(b.view(), g.data(), 8);
    r.apply_gradients(b.view(), g.data(), 8);
    EXPECT_EQ(saved(r), saved(t));
  }
}

// reset(seed): weights, optimizer state and options are exactly those of a new table drawn
// with that seed (MEDA's re-initialisation), for every optimizer and initialiser.
TEST(EmbeddingTable, ResetIsAFreshTableOfThatSeed) {
  for (const OptimizerOptions& opt :
       {OptimizerOptions(AdamOptions{}), OptimizerOptions(AdagradOptions{0.1, 1e-10, 0, 0.5}),
        OptimizerOptions(SgdOptions{})}) {
    for (const Initializer init :
         {Initializer::kUniform, Initializer::kNormal, Initializer::kZeros}) {
      EmbeddingTable t = trained_table(opt, 8);
      TableOptions o = t.options();
      o.init = init;
      EmbeddingTable with_init(50, 8, o);
      std::istringstream is(saved(t));
      with_init.load(is);  // the trained rows and state, under initialiser `init`
      o.seed = 123;
      const EmbeddingTable fresh(50, 8, o);
      ASSERT_NE(saved(with_init), saved(fresh));
      with_init.reset(123);
      EXPECT_EQ(saved(with_init), saved(fresh)) << static_cast<int>(init);
      EXPECT_EQ(with_init.options().seed, 123u);
    }
  }
}

// set_lr: the next steps are those of a table built with the new rate holding the same state
// (lazy Adam's cached bias corrections, which hold lr, are recomputed).
TEST(EmbeddingTable, SetLrActsOnTheNextStepsOnly) {
  for (const OptimizerOptions& opt :
       {OptimizerOptions(AdamOptions{}), OptimizerOptions(AdagradOptions{}),
        OptimizerOptions(SgdOptions{})}) {
    EmbeddingTable t = trained_table(opt, 8);
    const std::string before = saved(t, /*with_state=*/true);
    TableOptions o = t.options();
    std::visit([](auto& x) { x.lr = 0.25 * x.lr; }, o.optimizer);
    EmbeddingTable reference(50, 8, o);
    std::istringstream is(before);
    reference.load(is);  // keeps its own (quarter) learning rate
    t.optimizer().set_lr(std::visit([](const auto& x) { return x.lr; }, o.optimizer));
    Rng rng(5);
    for (int s = 0; s < 3; ++s) {
      const Batch b = testing::random_batch(rng, 6, {0}, 1, 30, 3, true);
      std::vector<float> g(6 * 8);
      for (auto& x : g) x = static_cast<float>(rng.uniform() - 0.5);
      t.apply_gradients(b.view(), g.data(), 8);
      reference.apply_gradients(b.view(), g.data(), 8);
    }
    EXPECT_EQ(saved(t), saved(reference));
    EXPECT_NE(saved(t), before);
  }
}

TEST(EmbeddingTableIo, WithoutStateResetsOptimizer) {
  EmbeddingTable t = trained_table(AdamOptions{}, 9);
  std::istringstream is(saved(t, false));
  EmbeddingTable r = trained_table(AdamOptions{}, 10);
  r.load(is);
  EXPECT_EQ(std::memcmp(r.data(), t.data(), 50 * 8 * sizeof(float)), 0);
  const auto& opt = dynamic_cast<const LazyAdam&>(r.optimizer());
  for (uint32_t row = 0; row < 50; ++row) {
    EXPECT_EQ(opt.step(row), 0u);
    EXPECT_EQ(opt.first_moment(row)[0], 0.0f);
  }
}

TEST(EmbeddingTableIo, TruncatedStreamThrows) {
  const std::string bytes = saved(trained_table(AdamOptions{}, 8));
  const size_t weights_end = bytes.size() - 4 - 50 * 8 * 8 - 50 * 4;
  for (const size_t cut : {size_t{0}, size_t{3}, size_t{20}, size_t{40}, weights_end - 10,
                           weights_end + 100, bytes.size() - 50, bytes.size() - 1}) {
    SCOPED_TRACE(cut);
    std::istringstream is(bytes.substr(0, cut));
    EXPECT_THROW(EmbeddingTable::read(is), Error);
    std::istringstream is2(bytes.substr(0, cut));
    EmbeddingTable t = trained_table(AdamOptions{}, 8);
    EXPECT_THROW(t.load(is2), Error);
  }
  try {
    std::istringstream is(bytes.substr(0, weights_end - 10));
    EmbeddingTable::read(is);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

TEST(EmbeddingTableIo, MismatchThrows) {
  const std::string bytes = saved(trained_table(AdamOptions{}, 8));
  auto load_into = [&](uint64_t rows, uint32_t dim, TableOptions o) {
    EmbeddingTable t(rows, dim, o);
    std::istringstream is(bytes);
    t.load(is);
  };
  TableOptions mean;
  mean.pooling = Pooling::kMean;
  EXPECT_NO_THROW(load_into(50, 8, mean));
  EXPECT_THROW(load_into(51, 8, mean), Error);
  EXPECT_THROW(load_into(50, 16, mean), Error);
  EXPECT_THROW(load_into(50, 8, TableOptions()), Error);  // sum pooling
  TableOptions adagrad = mean;
  adagrad.optimizer = AdagradOptions{};
  EXPECT_THROW(load_into(50, 8, adagrad), Error);
  std::string bad_magic = bytes;
  bad_magic[0] = 'X';
  std::istringstream is(bad_magic);
  EXPECT_THROW(EmbeddingTable::read(is), Error);
  std::string bad_version = bytes;
  bad_version[4] = 9;
  std::istringstream is2(bad_version);
  EXPECT_THROW(EmbeddingTable::read(is2), Error);
}

}  // namespace
}  // namespace funnel::embed
