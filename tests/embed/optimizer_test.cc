// Lazy optimizers against torch::optim on a dense copy of the table: rows touched at every
// step must follow the dense optimizer exactly (to float rounding); other rows and their
// state must not move at all.

#include "embed/optimizer.h"

#include <gtest/gtest.h>
#include <torch/nn/module.h>
#include <torch/optim/adagrad.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "embed/adagrad.h"
#include "embed/embedding_table.h"
#include "embed/lazy_adam.h"
#include "test_util.h"

namespace funnel::embed {
namespace {

using testing::Batch;
using DenseFactory = std::function<std::unique_ptr<torch::optim::Optimizer>(torch::Tensor)>;

constexpr uint32_t kRows = 60;
constexpr uint32_t kFirstRandom = 4;  // rows [0, 4) are in every batch
constexpr uint32_t kFirstNever = 40;  // rows [40, 60) are in no batch

struct Case {
  OptimizerOptions lazy;
  DenseFactory dense;
  uint32_t dim = 16;
  Pooling pooling = Pooling::kSum;
  bool weighted = false;
  int steps = 20;
};

// Trains the lazy table and the dense reference side by side; returns the largest
// difference on always-touched rows and checks never-touched rows bit for bit.
void expect_matches_dense(const Case& c) {
  TableOptions options;
  options.optimizer = c.lazy;
  options.pooling = c.pooling;
  options.init_scale = 0.1;
  options.seed = 5;
  EmbeddingTable table(kRows, c.dim, options);
  const torch::Tensor initial = testing::weights_of(table);
  torch::Tensor dense = initial.clone().requires_grad_(true);
  auto dense_opt = c.dense(dense);

  Rng rng(99);
  const std::vector<uint32_t> always = {0, 1, 2, 3};
  for (int step = 0; step < c.steps; ++step) {
    const Batch batch =
        testing::random_batch(rng, 8, always, kFirstRandom, kFirstNever, 3, c.weighted);
    torch::manual_seed(step);
    const torch::Tensor target = torch::randn({8, static_cast<int64_t>(c.dim)});

    torch::Tensor e = table.lookup(batch.view());
    ASSERT_TRUE(e.is_leaf());
    testing::test_loss(e, target).backward();
    table.apply_gradients(batch.view(), e.grad());

    dense_opt->zero_grad();
    testing::test_loss(testing::dense_pool(dense, batch, c.pooling == Pooling::kMean), target)
        .backward();
    dense_opt->step();
  }

  const torch::Tensor lazy = testing::weights_of(table);
  const torch::Tensor ref = dense.detach();
  const auto touched = torch::indexing::Slice(0, kFirstRandom);
  const double diff = (lazy.index({touched}) - ref.index({touched})).abs().max().item<double>();
  const double moved =
      (lazy.index({touched}) - initial.index({touched})).abs().max().item<double>();
  EXPECT_LT(diff, 1e-6) << "lazy vs dense on rows touched at every step";
  EXPECT_GT(moved, 1e-2) << "the test should move the weights noticeably";
  const auto never = torch::indexing::Slice(kFirstNever, kRows);
  EXPECT_TRUE(torch::equal(lazy.index({never}), initial.index({never})));
}

DenseFactory dense_adam(double lr, double b1, double b2, double eps, double wd) {
  return [=](torch::Tensor p) {
    return std::make_unique<torch::optim::Adam>(
        std::vector<torch::Tensor>{p},
        torch::optim::AdamOptions(lr).betas({b1, b2}).eps(eps).weight_decay(wd));
  };
}

AdamOptions adam(double lr, double b1, double b2, double eps, double wd) {
  AdamOptions o;
  o.lr = lr;
  o.beta1 = b1;
  o.beta2 = b2;
  o.eps = eps;
  o.weight_decay = wd;
  return o;
}

TEST(LazyAdam, MatchesDenseAdamOnRowsTouchedEveryStep) {
  Case c;
  c.lazy = adam(0.01, 0.9, 0.999, 1e-8, 0.0);
  c.dense = dense_adam(0.01, 0.9, 0.999, 1e-8, 0.0);
  expect_matches_dense(c);
}

TEST(LazyAdam, MatchesDenseAdamWithWeightDecayMeanPoolingAndWeights) {
  Case c;
  c.lazy = adam(0.01, 0.9, 0.999, 1e-8, 0.05);
  c.dense = dense_adam(0.01, 0.9, 0.999, 1e-8, 0.05);
  c.pooling = Pooling::kMean;
  c.weighted = true;
  expect_matches_dense(c);
}

TEST(LazyAdam, MatchesDenseAdamWithOtherBetasAndOddWidth) {
  Case c;  // dim 5 exercises the runtime-width loops
  c.lazy = adam(0.02, 0.8, 0.99, 1e-6, 0.01);
  c.dense = dense_adam(0.02, 0.8, 0.99, 1e-6, 0.01);
  c.dim = 5;
  c.weighted = true;
  expect_matches_dense(c);
}

TEST(LazyAdam, DefaultsAreTorchDefaults) {
  const AdamOptions o;
  const torch::optim::AdamOptions t;
  EXPECT_EQ(o.lr, t.lr());
  EXPECT_EQ(o.beta1, std::get<0>(t.betas()));
  EXPECT_EQ(o.beta2, std::get<1>(t.betas()));
  EXPECT_EQ(o.eps, t.eps());
  EXPECT_EQ(o.weight_decay, t.weight_decay());
  const AdagradOptions a;
  const torch::optim::AdagradOptions ta;
  EXPECT_EQ(a.lr, ta.lr());
  EXPECT_EQ(a.eps, ta.eps());
  EXPECT_EQ(a.initial_accumulator_value, ta.initial_accumulator_value());
}

TEST(Adagrad, MatchesDenseAdagrad) {
  for (const double init_acc : {0.0, 0.1}) {
    Case c;
    AdagradOptions o;
    o.lr = 0.05;
    o.weight_decay = 0.01;
    o.initial_accumulator_value = init_acc;
    c.lazy = o;
    c.dense = [=](torch::Tensor p) {
      return std::make_unique<torch::optim::Adagrad>(
          std::vector<torch::Tensor>{p},
          torch::optim::AdagradOptions(0.05).weight_decay(0.01).initial_accumulator_value(
              init_acc));
    };
    c.weighted = true;
    SCOPED_TRACE(init_acc);
    expect_matches_dense(c);
  }
}

TEST(Sgd, MatchesDenseSgd) {
  Case c;
  SgdOptions o;
  o.lr = 0.05;
  o.weight_decay = 0.01;
  c.lazy = o;
  c.dense = [](torch::Tensor p) {
    return std::make_unique<torch::optim::SGD>(std::vector<torch::Tensor>{p},
                                               torch::optim::SGDOptions(0.05).weight_decay(0.01));
  };
  c.pooling = Pooling::kMean;
  expect_matches_dense(c);
}

// Every step, rows that are not in the batch keep their weights and optimizer state bit for
// bit, even with weight decay (decay is part of the gradient of touched rows only).
TEST(LazyAdam, UntouchedRowsAndStateNeverChange) {
  TableOptions options;
  options.optimizer = adam(0.01, 0.9, 0.999, 1e-8, 0.1);
  const uint32_t dim = 16;
  EmbeddingTable table(kRows, dim, options);
  const auto& opt = dynamic_cast<const LazyAdam&>(table.optimizer());
  Rng rng(3);
  for (int step = 0; step < 15; ++step) {
    const Batch batch = testing::random_batch(rng, 4, {}, 0, kFirstNever, 4, true);
    std::vector<bool> in_batch(kRows, false);
    for (uint32_t id : batch.ids) in_batch[id] = true;
    const std::vector<float> before_w(table.data(), table.data() + kRows * dim);
    std::vector<float> before_m, before_v;
    std::vector<uint32_t> before_steps;
    for (uint32_t r = 0; r < kRows; ++r) {
      before_m.insert(before_m.end(), opt.first_moment(r), opt.first_moment(r) + dim);
      before_v.insert(before_v.end(), opt.second_moment(r), opt.second_moment(r) + dim);
      before_steps.push_back(opt.step(r));
    }
    std::vector<float> grad(batch.batch_size() * dim);
    for (auto& g : grad) g = static_cast<float>(rng.uniform() - 0.5);
    table.apply_gradients(batch.view(), grad.data(), dim);
    for (uint32_t r = 0; r < kRows; ++r) {
      const size_t o = size_t{r} * dim;
      if (in_batch[r]) {
        EXPECT_EQ(opt.step(r), before_steps[r] + 1) << "row " << r;
        EXPECT_NE(std::memcmp(table.row(r), &before_w[o], dim * sizeof(float)), 0);
        continue;
      }
      EXPECT_EQ(std::memcmp(table.row(r), &before_w[o], dim * sizeof(float)), 0) << "row " << r;
      EXPECT_EQ(std::memcmp(opt.first_moment(r), &before_m[o], dim * sizeof(float)), 0);
      EXPECT_EQ(std::memcmp(opt.second_moment(r), &before_v[o], dim * sizeof(float)), 0);
      EXPECT_EQ(opt.step(r), before_steps[r]);
    }
  }
  for (uint32_t r = kFirstNever; r < kRows; ++r) EXPECT_EQ(opt.step(r), 0u);
}

TEST(Adagrad, UntouchedAccumulatorsNeverChange) {
  TableOptions options;
  AdagradOptions a;
  a.initial_accumulator_value = 0.5;
  options.optimizer = a;
  EmbeddingTable table(10, 4, options);
  const auto& opt = dynamic_cast<const Adagrad&>(table.optimizer());
  Batch batch;
  batch.add_row({2, 2, 7});
  const std::vector<float> grad = {1, 2, 3, 4};
  table.apply_gradients(batch.view(), grad.data(), 4);
  for (uint32_t r = 0; r < 10; ++r) {
    for (int j = 0; j < 4; ++j) {
      if (r == 2) {  // id 2 twice: accumulated gradient 2g, so sum = 0.5 + 4g^2
        EXPECT_FLOAT_EQ(opt.accumulator(r)[j], 0.5f + 4 * grad[j] * grad[j]);
      } else if (r == 7) {
        EXPECT_FLOAT_EQ(opt.accumulator(r)[j], 0.5f + grad[j] * grad[j]);
      } else {
        EXPECT_EQ(opt.accumulator(r)[j], 0.5f);
      }
    }
  }
}

// A row seen at steps 1 and 5 only: its second update uses bias correction for t = 2 (its
// own count), i.e. it moves like a row's second dense Adam step, not like step 5.
TEST(LazyAdam, BiasCorrectionUsesTheRowsOwnStepCount) {
  TableOptions options;
  options.init = Initializer::kZeros;
  options.optimizer = adam(0.1, 0.9, 0.999, 1e-8, 0.0);
  EmbeddingTable sparse(4, 1, options);
  EmbeddingTable dense_like(1, 1, options);
  Batch hit;
  hit.single_valued = true;
  hit.ids = {3};
  Batch other = hit;
  other.ids = {1};
  Batch hit0 = hit;
  hit0.ids = {0};
  const float g = 0.5f;
  for (int step = 1; step <= 5; ++step) {
    sparse.apply_gradients((step == 1 || step == 5) ? hit.view() : other.view(), &g, 1);
  }
  dense_like.apply_gradients(hit0.view(), &g, 1);
  dense_like.apply_gradients(hit0.view(), &g, 1);
  EXPECT_EQ(dynamic_cast<const LazyAdam&>(sparse.optimizer()).step(3), 2u);
  EXPECT_EQ(sparse.row(3)[0], dense_like.row(0)[0]);
}

// Frequency-aware L2: the t-th update of a row adds (wd + lambda / t) * w to its gradient,
// t the row's own count. Rows touched every step against torch Adam on a dense copy with that
// term added by hand; a row first touched late starts at lambda / 1.
TEST(LazyAdam, FrequencyDecayIsLambdaOverTheRowsOwnStepCount) {
  const double lambda = 0.3, wd = 0.01;
  TableOptions options;
  options.init_scale = 0.5;
  options.optimizer = adam(0.05, 0.9, 0.999, 1e-8, wd);
  EmbeddingTable table(4, 3, options);
  table.optimizer().set_frequency_decay(lambda);
  torch::Tensor w = torch::from_blob(table.data(), {4, 3}).clone().narrow(0, 0, 2).clone();
  w.set_requires_grad(true);
  torch::optim::Adam reference({w}, torch::optim::AdamOptions(0.05).eps(1e-8));
  Batch both;
  both.single_valued = true;
  both.ids = {0, 1};
  Rng rng(3);
  for (int t = 1; t <= 20; ++t) {
    std::vector<float> g(6);
    for (auto& x : g) x = static_cast<float>(rng.uniform() - 0.5);
    table.apply_gradients(both.view(), g.data(), 3);
    reference.zero_grad();
    const torch::Tensor gt = torch::from_blob(g.data(), {2, 3}).clone();
    w.mutable_grad() = gt + (wd + lambda / t) * w.detach();
    reference.step();
  }
  for (int r = 0; r < 2; ++r) {
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(table.row(r)[j], w[r][j].item<float>(), 1e-6);
  }
  // Row 3, first touched now: its update is a first Adam step with wd + lambda / 1.
  const std::vector<float> before(table.row(3), table.row(3) + 3);
  Batch late;
  late.single_valued = true;
  late.ids = {3};
  const std::vector<float> g = {0.2f, -0.1f, 0.4f};
  table.apply_gradients(late.view(), g.data(), 3);
  torch::Tensor v = torch::tensor(before).reshape({1, 3});
  v.set_requires_grad(true);
  torch::optim::Adam first({v}, torch::optim::AdamOptions(0.05).eps(1e-8));
  v.mutable_grad() = torch::tensor(g).reshape({1, 3}) + (wd + lambda) * v.detach();
  first.step();
  for (int j = 0; j < 3; ++j) EXPECT_NEAR(table.row(3)[j], v[0][j].item<float>(), 1e-7);
  // Only adam has the per-row counts.
  TableOptions sgd;
  sgd.optimizer = SgdOptions{};
  EmbeddingTable s(4, 3, sgd);
  EXPECT_THROW(s.optimizer().set_frequency_decay(0.1), Error);
  EXPECT_NO_THROW(s.optimizer().set_frequency_decay(0));
}

TEST(Optimizer, RegistryNamesAndKinds) {
  for (const char* name : {"sgd", "adagrad", "adam"}) {
    const OptimizerOptions o = optimizer_options_from_name(name);
    EXPECT_STREQ(optimizer_name(optimizer_kind(o)), name);
    EXPECT_EQ(make_optimizer(o, 3, 2)->kind(), optimizer_kind(o));
    std::stringstream ss;
    write_optimizer_options(ss, o);
    EXPECT_EQ(optimizer_kind(read_optimizer_options(ss)), optimizer_kind(o));
  }
  EXPECT_THROW(optimizer_options_from_name("rmsprop"), Error);
  AdamOptions bad;
  bad.beta1 = 1.0;
  EXPECT_THROW(make_optimizer(bad, 3, 2), Error);
}

}  // namespace
}  // namespace funnel::embed
