#include "model/feature_embedding.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/nn/module.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "embed/lazy_adam.h"
#include "model/funnel_output.h"
#include "model/model.h"

namespace funnel::model {
namespace {

// Fields: "user" single-valued (dim from the default), "tags" multi-valued weighted (dim 3),
// "cats" multi-valued unweighted (dim 2); two dense features.
data::Layout test_layout() {
  data::Layout l;
  l.events = {"click", "conversion"};
  l.event_parent = {-1, 0};
  l.sparse.push_back({"user", false, false, 0, false, 0});
  l.sparse.push_back({"tags", true, true, 3, false, 1});
  l.sparse.push_back({"cats", true, false, 2, false, 2});
  l.dense = {"price", "age"};
  l.dense_source = {0, 1};
  return l;
}

const std::vector<uint64_t> kVocab = {10, 7, 5};

data::Batch test_batch() {
  data::Batch b;
  b.size = 4;
  b.num_events = 2;
  b.labels = {1, 0, 1, 0, 1, 0, 0, 0};
  data::SparseBatch user;
  user.ids = {3, 0, 9, 3};
  data::SparseBatch tags;
  tags.ids = {1, 2, 6, 1, 1, 4};  // row 1 empty, row 2 has id 1 twice
  tags.offsets = {0, 2, 2, 5, 6};
  tags.weights = {0.5f, 2.0f, 1.0f, -1.0f, 3.0f, 0.25f};
  data::SparseBatch cats;
  cats.ids = {4, 0, 1, 2, 3, 4, 2};
  cats.offsets = {0, 1, 3, 6, 7};
  b.sparse = {user, tags, cats};
  b.num_dense = 2;
  b.dense = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f, 0.7f, -0.8f};
  return b;
}

FeatureEmbeddingOptions options(embed::Pooling pooling, embed::OptimizerOptions opt) {
  FeatureEmbeddingOptions o;
  o.embedding_dim = 4;
  o.table.pooling = pooling;
  o.table.seed = 17;
  o.table.optimizer = opt;
  return o;
}

/// Naive pooled vector of field f, row b: sum_k w_k e[id_k] (divided by n for mean pooling).
std::vector<double> naive_pool(const FeatureEmbedding& fe, const data::Batch& batch, size_t f,
                               size_t b, bool mean) {
  const data::SparseBatch& s = batch.sparse[f];
  const size_t begin = s.offsets.empty() ? b : s.offsets[b];
  const size_t end = s.offsets.empty() ? b + 1 : s.offsets[b + 1];
  const int64_t dim = fe.field_dim(f);
  std::vector<double> v(dim, 0.0);
  for (size_t k = begin; k < end; ++k) {
    const double w = s.weights.empty() ? 1.0 : s.weights[k];
    for (int64_t d = 0; d < dim; ++d) v[d] += w * fe.table(f).row(s.ids[k])[d];
  }
  if (mean && end > begin) {
    for (auto& x : v) x /= static_cast<double>(end - begin);
  }
  return v;
}

TEST(FeatureEmbeddingTest, LookupLaysOutFieldsThenDense) {
  for (auto pooling : {embed::Pooling::kSum, embed::Pooling::kMean}) {
    const FeatureEmbedding fe(test_layout(), kVocab, options(pooling, embed::AdamOptions{}));
    ASSERT_EQ(fe.num_fields(), 3u);
    EXPECT_EQ(fe.field_dim(0), 4);  // schema dim 0 -> embedding_dim
    EXPECT_EQ(fe.field_dim(1), 3);
    EXPECT_EQ(fe.field_dim(2), 2);
    EXPECT_EQ(fe.field_offset(0), 0);
    EXPECT_EQ(fe.field_offset(1), 4);
    EXPECT_EQ(fe.field_offset(2), 7);
    EXPECT_EQ(fe.dense_offset(), 9);
    EXPECT_EQ(fe.input_dim(), 11);
    EXPECT_EQ(fe.table(0).num_rows(), 10u);
    EXPECT_EQ(fe.table(2).num_rows(), 5u);

    const data::Batch batch = test_batch();
    const torch::Tensor x = fe.lookup(batch);
    EXPECT_EQ(x.sizes(), (std::vector<int64_t>{4, 11}));
    EXPECT_TRUE(x.is_leaf());
    EXPECT_TRUE(x.requires_grad());
    EXPECT_EQ(x.scalar_type(), torch::kFloat32);
    const auto a = x.accessor<float, 2>();
    for (size_t b = 0; b < 4; ++b) {
      for (size_t f = 0; f < 3; ++f) {
        const auto ref = naive_pool(fe, batch, f, b, pooling == embed::Pooling::kMean);
        for (int64_t d = 0; d < fe.field_dim(f); ++d) {
          EXPECT_NEAR(a[b][fe.field_offset(f) + d], ref[d], 1e-6) << "row " << b << " field " << f;
        }
      }
      EXPECT_EQ(a[b][9], batch.dense[b * 2]);
      EXPECT_EQ(a[b][10], batch.dense[b * 2 + 1]);
    }
    // The empty tags row pools to zeros.
    for (int64_t d = 4; d < 7; ++d) EXPECT_EQ(a[1][d], 0.0f);
  }
}

TEST(FeatureEmbeddingTest, FieldsGetDifferentInitialRows) {
  const FeatureEmbedding fe(test_layout(), kVocab,
                            options(embed::Pooling::kSum, embed::SgdOptions{}));
  // Same seed option, different fields: the first rows differ.
  EXPECT_NE(fe.table(1).row(0)[0], fe.table(2).row(0)[0]);
  const FeatureEmbedding again(test_layout(), kVocab,
                               options(embed::Pooling::kSum, embed::SgdOptions{}));
  EXPECT_EQ(std::memcmp(fe.table(0).data(), again.table(0).data(), 10 * 4 * sizeof(float)), 0);
}

TEST(FeatureEmbeddingTest, ApplyGradientsRoutesEachSliceToItsTable) {
  for (auto pooling : {embed::Pooling::kSum, embed::Pooling::kMean}) {
    embed::SgdOptions sgd;
    sgd.lr = 0.1;
    FeatureEmbedding fe(test_layout(), kVocab, options(pooling, sgd));
    const data::Batch batch = test_batch();
    std::vector<std::vector<float>> before;
    for (size_t f = 0; f < 3; ++f) {
      before.emplace_back(fe.table(f).data(), fe.table(f).data() + kVocab[f] * fe.field_dim(f));
    }
    // Backward through a loss with a known gradient: d(sum(x * C))/dx = C.
    torch::manual_seed(5);
    const torch::Tensor c = torch::randn({4, 11});
    torch::Tensor x = fe.lookup(batch);
    (x * c).sum().backward();
    ASSERT_TRUE(torch::equal(x.grad(), c));
    fe.apply_gradients(batch, x.grad());

    const auto g = c.accessor<float, 2>();
    for (size_t f = 0; f < 3; ++f) {
      // Naive reference: every id occurrence gets w_k * G[b, field columns] (/ n for mean),
      // summed per id; SGD then moves the row by -lr * that sum.
      const data::SparseBatch& s = batch.sparse[f];
      const int64_t dim = fe.field_dim(f);
      std::vector<double> delta(kVocab[f] * dim, 0.0);
      for (size_t b = 0; b < 4; ++b) {
        const size_t begin = s.offsets.empty() ? b : s.offsets[b];
        const size_t end = s.offsets.empty() ? b + 1 : s.offsets[b + 1];
        const double n = pooling == embed::Pooling::kMean ? static_cast<double>(end - begin) : 1.0;
        for (size_t k = begin; k < end; ++k) {
          const double w = s.weights.empty() ? 1.0 : s.weights[k];
          for (int64_t d = 0; d < dim; ++d) {
            delta[s.ids[k] * dim + d] += w * g[b][fe.field_offset(f) + d] / n;
          }
        }
      }
      for (size_t i = 0; i < delta.size(); ++i) {
        EXPECT_NEAR(fe.table(f).data()[i], before[f][i] - 0.1 * delta[i], 1e-6)
            << "field " << f << " element " << i;
      }
    }
  }
}

TEST(FeatureEmbeddingTest, MatchesSeparateTablesBitwise) {
  // The same training step through FeatureEmbedding and through three standalone tables fed
  // with column slices of the gradient (lazy Adam).
  FeatureEmbedding fe(test_layout(), kVocab, options(embed::Pooling::kMean, embed::AdamOptions{}));
  std::vector<embed::EmbeddingTable> ref;
  for (size_t f = 0; f < 3; ++f) {
    embed::TableOptions t = fe.table(f).options();
    ref.emplace_back(kVocab[f], fe.field_dim(f), t);
    std::memcpy(ref[f].data(), fe.table(f).data(), kVocab[f] * fe.field_dim(f) * sizeof(float));
  }
  const data::Batch batch = test_batch();
  torch::manual_seed(6);
  for (int step = 0; step < 3; ++step) {
    const torch::Tensor grad = torch::randn({4, 11});
    fe.apply_gradients(batch, grad);
    for (size_t f = 0; f < 3; ++f) {
      ref[f].apply_gradients(fe.field_input(batch, f),
                             grad.narrow(1, fe.field_offset(f), fe.field_dim(f)).contiguous());
    }
  }
  for (size_t f = 0; f < 3; ++f) {
    EXPECT_EQ(
        std::memcmp(ref[f].data(), fe.table(f).data(), kVocab[f] * fe.field_dim(f) * sizeof(float)),
        0)
        << "field " << f;
  }
}

TEST(FeatureEmbeddingTest, UndefinedGradientIsNoOpAndBadInputThrows) {
  FeatureEmbedding fe(test_layout(), kVocab, options(embed::Pooling::kSum, embed::SgdOptions{}));
  const data::Batch batch = test_batch();
  const std::vector<float> before(fe.table(0).data(), fe.table(0).data() + 40);
  fe.apply_gradients(batch, torch::Tensor());
  EXPECT_EQ(std::memcmp(before.data(), fe.table(0).data(), 40 * sizeof(float)), 0);

  EXPECT_THROW(fe.apply_gradients(batch, torch::zeros({4, 10})), Error);
  EXPECT_THROW(fe.apply_gradients(batch, torch::zeros({4, 11}, torch::kFloat64)), Error);
  data::Batch bad = batch;
  bad.sparse.pop_back();
  EXPECT_THROW(fe.lookup(bad), Error);
  bad = batch;
  bad.num_dense = 1;
  EXPECT_THROW(fe.lookup(bad), Error);
  bad = batch;
  bad.sparse[0].ids[2] = 10;  // out of the 10-row vocabulary
  try {
    fe.lookup(bad);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'user'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(FeatureEmbedding(test_layout(), {10, 7}), Error);
}

TEST(FeatureEmbeddingTest, SaveLoadRoundTrip) {
  FeatureEmbedding fe(test_layout(), kVocab, options(embed::Pooling::kSum, embed::AdamOptions{}));
  const data::Batch batch = test_batch();
  fe.apply_gradients(batch, torch::ones({4, 11}));
  std::stringstream ss;
  fe.save(ss);
  FeatureEmbeddingOptions other = options(embed::Pooling::kSum, embed::AdamOptions{});
  other.table.seed = 99;
  FeatureEmbedding loaded(test_layout(), kVocab, other);
  EXPECT_FALSE(torch::equal(loaded.lookup(batch), fe.lookup(batch)));
  loaded.load(ss);
  EXPECT_TRUE(torch::equal(loaded.lookup(batch), fe.lookup(batch)));
  // Identical training afterwards (optimizer state restored).
  fe.apply_gradients(batch, torch::ones({4, 11}));
  loaded.apply_gradients(batch, torch::ones({4, 11}));
  EXPECT_TRUE(torch::equal(loaded.lookup(batch), fe.lookup(batch)));

  // A different layout is refused, naming the problem.
  std::stringstream again;
  fe.save(again);
  data::Layout renamed = test_layout();
  renamed.sparse[1].name = "labels";
  FeatureEmbedding wrong(renamed, kVocab, other);
  EXPECT_THROW(wrong.load(again), Error);
  std::stringstream full;
  fe.save(full);
  for (size_t len : {size_t{0}, size_t{10}, size_t{100}, full.str().size() - 4}) {
    std::stringstream cut(full.str().substr(0, len));
    EXPECT_THROW(loaded.load(cut), Error) << len;
  }
}

// ---- embedding.sharing = per_task: one table set per event, tower e reading set e.

FeatureEmbeddingOptions per_task(FeatureEmbeddingOptions o) {
  o.sharing = EmbeddingSharing::kPerTask;
  return o;
}

bool same_rows(const embed::EmbeddingTable& a, const embed::EmbeddingTable& b) {
  return a.num_rows() == b.num_rows() && a.dim() == b.dim() &&
         std::memcmp(a.data(), b.data(), a.num_rows() * a.dim() * sizeof(float)) == 0;
}

TEST(FeatureEmbeddingTest, PerTaskHoldsOneTableSetPerEventAndGivesEachTowerItsOwn) {
  const FeatureEmbeddingOptions o = options(embed::Pooling::kSum, embed::SgdOptions{});
  const FeatureEmbedding shared(test_layout(), kVocab, o);
  const FeatureEmbedding fe(test_layout(), kVocab, per_task(o));
  EXPECT_EQ(shared.num_sets(), 1u);
  EXPECT_EQ(shared.tower_input_dim(), shared.input_dim());
  ASSERT_EQ(fe.num_sets(), 2u);
  ASSERT_EQ(fe.num_fields(), 3u);
  ASSERT_EQ(fe.num_tables(), 6u);
  EXPECT_EQ(fe.input_dim(), 2 * 9 + 2);  // [set 0 | set 1 | dense]
  EXPECT_EQ(fe.tower_input_dim(), 9 + 2);
  EXPECT_EQ(fe.dense_offset(), 18);
  EXPECT_EQ(fe.field_offset(4), 9 + 4);  // tags of set 1
  EXPECT_EQ(fe.table_name(0), "user@click");
  EXPECT_EQ(fe.table_name(4), "tags@conversion");
  // Set 0 starts as the shared tables do; set 1 from its own draw.
  for (size_t f = 0; f < 3; ++f) {
    EXPECT_TRUE(same_rows(fe.table(f), shared.table(f))) << f;
    EXPECT_FALSE(same_rows(fe.table(3 + f), shared.table(f))) << f;
  }
  const data::Batch batch = test_batch();
  const torch::Tensor x = fe.lookup(batch);
  const torch::Tensor xs = shared.lookup(batch);
  EXPECT_TRUE(torch::equal(x.narrow(1, 0, 9), xs.narrow(1, 0, 9)));
  EXPECT_TRUE(torch::equal(x.narrow(1, 18, 2), xs.narrow(1, 9, 2)));
  const ModelInput in = fe.model_input(batch, x);
  ASSERT_EQ(in.tasks.size(), 2u);
  EXPECT_TRUE(torch::equal(in.task(0), xs));
  EXPECT_TRUE(torch::equal(in.task(1), torch::cat({x.narrow(1, 9, 9), x.narrow(1, 18, 2)}, 1)));
  EXPECT_TRUE(shared.model_input(batch, xs).tasks.empty());
  EXPECT_TRUE(torch::equal(shared.model_input(batch, xs).task(1), xs));
}

// A batch whose rows share fields (a scoring request's user and context): model_input names
// their columns in a tower's rows, and ESMM scores the same with or without knowing them.
TEST(FeatureEmbeddingTest, UniformFieldsNameTheirColumnsAndLeaveScoresUnchanged) {
  const FeatureEmbeddingOptions o = options(embed::Pooling::kSum, embed::SgdOptions{});
  data::Batch batch = test_batch();
  // Field 2 ("cats") and dense feature 1 the same in every row.
  batch.sparse[2].ids = {3, 4, 3, 4, 3, 4, 3, 4};
  batch.sparse[2].offsets = {0, 2, 4, 6, 8};
  for (size_t i = 0; i < batch.size; ++i) batch.dense[i * 2 + 1] = 0.25f;
  batch.uniform_sparse = {2};
  batch.uniform_dense = {1};
  const FunnelSpec funnel{{"click", "conversion"}, {-1, 0}};
  for (const bool tasks : {false, true}) {
    const FeatureEmbedding fe(test_layout(), kVocab, tasks ? per_task(o) : o);
    torch::NoGradGuard no_grad;
    const torch::Tensor x = fe.lookup(batch);
    const ModelInput in = fe.model_input(batch, x);
    ASSERT_TRUE(in.uniform.defined());
    // cats: columns 7, 8 of a tower's rows; dense 1: column 9 + 1.
    EXPECT_TRUE(torch::equal(in.uniform.shared, torch::tensor({7, 8, 10}, torch::kInt64)));
    EXPECT_EQ(in.uniform.varying.numel(), 8);
    for (size_t e = 0; e < 2; ++e) {
      const torch::Tensor rows = in.task(e);
      EXPECT_TRUE(torch::equal(rows.index_select(1, in.uniform.shared),
                               rows[0].index_select(0, in.uniform.shared).expand({4, 3})));
    }
    torch::manual_seed(5);
    auto net = make_model("esmm", funnel, fe.tower_input_dim(), {{"towers", {6, 5}}});
    net->eval();
    ModelInput plain = in;
    plain.uniform = UniformColumns{};
    const FunnelOutput a = net->forward(in), b = net->forward(plain);
    for (size_t e = 0; e < 2; ++e) {
      EXPECT_TRUE(torch::allclose(a.cond_log_p.at(e), b.cond_log_p.at(e), 1e-5, 1e-6)) << tasks << e;
    }
  }
  // One row, or no uniform fields: nothing to share.
  data::Batch none = test_batch();
  const FeatureEmbedding fe(test_layout(), kVocab, o);
  EXPECT_FALSE(fe.model_input(none, fe.lookup(none)).uniform.defined());
}

/// Columns [begin, begin + n) of x.grad() are all exactly zero.
bool zero_grad(const torch::Tensor& x, int64_t begin, int64_t n) {
  return x.grad().narrow(1, begin, n).abs().max().item<float>() == 0.0f;
}

// The loss of one event reaches only that event's tables in ESMM and DNN (one tower per
// event, no other path), and in AutoHERI the later event's loss reaches the earlier tables
// only through the integration edges: never the reverse.
TEST(FeatureEmbeddingTest, PerTaskGradientsOfOneEventReachOnlyItsTables) {
  const FeatureEmbeddingOptions o = per_task(options(embed::Pooling::kSum, embed::SgdOptions{}));
  const data::Layout layout = test_layout();
  const FunnelSpec funnel{layout.events, layout.event_parent};
  const data::Batch batch = test_batch();
  for (const std::string name : {"esmm", "dnn", "autoheri"}) {
    for (size_t event = 0; event < 2; ++event) {
      torch::manual_seed(1);
      FeatureEmbedding fe(layout, kVocab, o);
      auto net = make_model(name, funnel, fe.tower_input_dim(), {{"towers", {6, 5}}});
      const torch::Tensor x = fe.lookup(batch);
      const FunnelOutput out = net->forward(fe.model_input(batch, x));
      out.cond_log_p[event].sum().backward();
      const size_t other = 1 - event;
      const bool edge_path = name == "autoheri" && event == 1;  // conversion <- click edges
      EXPECT_FALSE(zero_grad(x, 9 * event, 9)) << name << " event " << event;
      EXPECT_EQ(zero_grad(x, 9 * other, 9), !edge_path) << name << " event " << event;
      EXPECT_FALSE(zero_grad(x, 18, 2)) << name;  // the dense columns every tower reads
      // The sparse step moves only the tables the gradient reached.
      std::vector<std::vector<float>> before;
      for (size_t t = 0; t < fe.num_tables(); ++t) {
        const auto& tab = fe.table(t);
        before.emplace_back(tab.data(), tab.data() + tab.num_rows() * tab.dim());
      }
      fe.apply_gradients(batch, x.grad());
      for (size_t t = 0; t < fe.num_tables(); ++t) {
        const auto& tab = fe.table(t);
        const bool moved =
            std::memcmp(before[t].data(), tab.data(), before[t].size() * sizeof(float)) != 0;
        EXPECT_EQ(moved, t / 3 == event || edge_path) << name << " event " << event << " t " << t;
      }
    }
  }
}

TEST(FeatureEmbeddingTest, PerTaskIsOnlyForTowerModelsAndRoundTrips) {
  EXPECT_NO_THROW(check_embedding_sharing("esmm", EmbeddingSharing::kPerTask));
  EXPECT_NO_THROW(check_embedding_sharing("mmoe", EmbeddingSharing::kShared));
  std::string msg;
  try {
    check_embedding_sharing("mmoe", EmbeddingSharing::kPerTask);
  } catch (const Error& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("embedding.sharing"), std::string::npos) << msg;
  EXPECT_NE(msg.find("esmm, dnn, autoheri"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'mmoe'"), std::string::npos) << msg;
  msg.clear();
  try {
    FeatureEmbeddingOptions::from_json(nlohmann::json{{"sharing", "per_tower"}});
  } catch (const Error& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("embedding.sharing: expected shared or per_task, got 'per_tower'"),
            std::string::npos)
      << msg;
  msg.clear();
  try {
    FeatureEmbeddingOptions::from_json(
        nlohmann::json{{"optimizer", "sgd"}, {"frequency_weight_decay", 0.1}});
  } catch (const Error& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("embedding.frequency_weight_decay: needs the per-row step counts of "
                     "optimizer adam, got optimizer 'sgd'"),
            std::string::npos)
      << msg;
  const FeatureEmbeddingOptions parsed = FeatureEmbeddingOptions::from_json(
      nlohmann::json{{"sharing", "per_task"}, {"frequency_weight_decay", 0.2}});
  EXPECT_EQ(parsed.frequency_weight_decay, 0.2);
  {
    // Every table's optimizer gets the decay.
    const FeatureEmbedding decayed(test_layout(), kVocab, parsed);
    ASSERT_EQ(decayed.num_sets(), 2u);
    for (size_t t = 0; t < decayed.num_tables(); ++t) {
      EXPECT_EQ(
          dynamic_cast<const embed::LazyAdam&>(decayed.table(t).optimizer()).frequency_decay(),
          0.2);
    }
  }
  EXPECT_EQ(parsed.sharing, EmbeddingSharing::kPerTask);
  EXPECT_EQ(FeatureEmbeddingOptions::from_json(parsed.to_json()).to_json(), parsed.to_json());

  // Save / load of both sets; a shared stream does not load into per_task tables.
  const FeatureEmbeddingOptions o = per_task(options(embed::Pooling::kSum, embed::AdamOptions{}));
  FeatureEmbedding fe(test_layout(), kVocab, o);
  fe.apply_gradients(test_batch(), torch::ones({4, 20}));
  std::stringstream ss;
  fe.save(ss);
  FeatureEmbeddingOptions other = o;
  other.table.seed = 99;
  FeatureEmbedding loaded(test_layout(), kVocab, other);
  loaded.load(ss);
  EXPECT_TRUE(torch::equal(loaded.lookup(test_batch()), fe.lookup(test_batch())));
  std::stringstream shared_stream;
  FeatureEmbedding(test_layout(), kVocab, options(embed::Pooling::kSum, embed::AdamOptions{}))
      .save(shared_stream);
  EXPECT_THROW(loaded.load(shared_stream), Error);
}

TEST(FeatureEmbeddingTest, CudaTrainingStepMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const FeatureEmbeddingOptions o = options(embed::Pooling::kMean, embed::AdamOptions{});
  FeatureEmbedding cpu(test_layout(), kVocab, o);
  FeatureEmbedding gpu(test_layout(), kVocab, o, torch::kCUDA);
  const FunnelSpec funnel = FunnelSpec::from_layout(test_layout());
  const nlohmann::json model_options = {{"towers", {8, 4}}};
  torch::manual_seed(7);
  auto cpu_model = make_model("esmm", funnel, cpu.input_dim(), model_options);
  torch::manual_seed(7);
  auto gpu_model = make_model("esmm", funnel, gpu.input_dim(), model_options);
  gpu_model->to(torch::kCUDA);
  const data::Batch batch = test_batch();
  const torch::Tensor y = torch::from_blob(const_cast<float*>(batch.labels.data()), {2, 4});
  auto step = [&](FeatureEmbedding& fe, FunnelModel& model) {
    torch::Tensor x = fe.lookup(batch);
    EXPECT_EQ(x.device().type(), fe.device().type());
    EXPECT_TRUE(x.is_leaf());
    const FunnelOutput out = model.forward(x);
    const auto log_p = entire_space_log_p(out, funnel.parents);
    const torch::Tensor yd = y.to(x.device());
    const torch::Tensor loss = -(yd[0] * log_p[0] + (1 - yd[0]) * out.cond_log_q[0]).mean() -
                               (yd[1] * log_p[1] + (1 - yd[1]) * log1mexp(log_p[1])).mean();
    loss.backward();
    fe.apply_gradients(batch, x.grad());
    return std::make_pair(loss.item<double>(), x.grad().cpu());
  };
  const auto [cpu_loss, cpu_grad] = step(cpu, *cpu_model);
  const auto [gpu_loss, gpu_grad] = step(gpu, *gpu_model);
  EXPECT_NEAR(cpu_loss, gpu_loss, 1e-5);
  EXPECT_TRUE(torch::allclose(cpu_grad, gpu_grad, 1e-4, 1e-6));
  for (size_t f = 0; f < 3; ++f) {
    for (size_t i = 0; i < kVocab[f] * cpu.field_dim(f); ++i) {
      EXPECT_NEAR(cpu.table(f).data()[i], gpu.table(f).data()[i], 1e-5) << f << " " << i;
    }
  }
}

}  // namespace
}  // namespace funnel::model
