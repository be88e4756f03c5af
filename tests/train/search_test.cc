// AutoHERI's search driver: which side each bi-level step changes, determinism by seed, the
// logs and the derived architecture, the fixed-architecture hook and an AutoHERI bundle.

#include "train/search.h"

#include <gtest/gtest.h>
#include <torch/autograd.h>
#include <torch/nn/module.h>
#include <unistd.h>

#include <cmath>
#include <sstream>
#include <string>

#include "core/file.h"
#include "core/rng.h"
#include "data/converter.h"
#include "data/loader.h"
#include "data/schema.h"
#include "model/bundle.h"
#include "train/arch_plot.h"
#include "test_util.h"

namespace funnel::train {
namespace {

using testing::sigmoid;

using nlohmann::json;

/// 6 k impressions of click -> arrival -> conversion driven by user and item effects.
std::string generate_search_data(const std::string& dir) {
  make_dirs(dir);
  Rng rng(17);
  const int users = 100, items = 120, n = 6000;
  std::vector<double> ua(users), ub(users), ia(items), ib(items);
  for (auto* v : {&ua, &ub, &ia, &ib}) {
    for (auto& x : *v) x = 1.5 * (rng.uniform() * 2 - 1);
  }
  std::string csv = "click,arrive,buy,user,item,ctx\n";
  for (int i = 0; i < n; ++i) {
    const int u = static_cast<int>(rng.below(users)), it = static_cast<int>(rng.below(items));
    const int click = rng.uniform() < sigmoid(ua[u] + ia[it] - 1.0);
    const int arrive = click && rng.uniform() < sigmoid(ub[u] + 0.5);
    const int buy = arrive && rng.uniform() < sigmoid(ib[it] + ua[u] - 0.5);
    csv += std::to_string(click) + "," + std::to_string(arrive) + "," + std::to_string(buy) +
           ",u" + std::to_string(u) + ",i" + std::to_string(it) + ",c" +
           std::to_string(rng.below(4)) + "\n";
  }
  write_text_file_atomic(join_path(dir, "data.csv"), csv);
  json data = {{"train", {join_path(dir, "data.csv")}},
               {"validation_ratio", 0.2},
               {"labels", {"click", "arrive", "buy"}},
               {"categorical", {"user", "item", "ctx"}}};
  data::ConvertOptions co;
  co.progress = false;
  data::convert_to_cache(data::parse_data_config(data, ""), join_path(dir, "cache"), co);
  return dir;
}

class SearchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(generate_search_data(
        join_path(::testing::TempDir(), "funnel_search_" + std::to_string(::getpid()))));
    cache_ = new data::Cache(join_path(*dir_, "cache"));
  }
  static void TearDownTestSuite() {
    delete cache_;
    remove_all(*dir_);
    delete dir_;
  }

  struct Setup {
    std::shared_ptr<model::AutoHeriModel> net;
    std::shared_ptr<model::FeatureEmbedding> embedding;
  };
  static Setup setup(uint64_t seed, const json& model_options = json{{"towers", {16, 8}},
                                                                     {"skip", true}}) {
    torch::manual_seed(seed);
    Setup s;
    model::FeatureEmbeddingOptions eo;
    eo.embedding_dim = 4;
    eo.table.seed = seed;
    s.embedding = std::make_shared<model::FeatureEmbedding>(cache_->layout(), cache_->vocab_sizes(), eo);
    s.net = std::make_shared<model::AutoHeriModel>(
        model::FunnelSpec::from_layout(cache_->layout()), s.embedding->input_dim(),
        model::AutoHeriOptions::from_json(model_options));
    return s;
  }
  /// The Theta side of every search here.
  static TrainerOptions theta() {
    TrainerOptions t;
    t.batch_size = 256;
    t.progress = false;
    t.max_steps = 25;
    return t;
  }
  static SearchOptions options() {
    SearchOptions o;
    o.alpha_lr = 0.05;
    o.alpha_log_every = 5;
    return o;
  }
  static data::Batch first_batch(const std::string& split) {
    data::LoaderOptions lo;
    lo.batch_size = 256;
    lo.shuffle = false;
    data::Loader loader(*cache_, cache_->split(split), lo);
    loader.start_epoch(0);
    data::Batch b;
    EXPECT_TRUE(loader.next(b));
    return b;
  }
  static std::vector<torch::Tensor> snapshot(const std::vector<torch::Tensor>& params) {
    std::vector<torch::Tensor> out;
    for (const auto& p : params) out.push_back(p.detach().clone());
    return out;
  }
  static bool same(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (!torch::equal(a[i], b[i])) return false;
    }
    return a.size() == b.size();
  }

  static std::string* dir_;
  static data::Cache* cache_;
};
std::string* SearchTest::dir_ = nullptr;
data::Cache* SearchTest::cache_ = nullptr;

TEST_F(SearchTest, ThetaStepFixesAlphaAndAlphaStepFixesTheta) {
  Setup s = setup(3);
  ArchSearch search(*cache_, s.net, s.embedding, options(), theta());
  const data::Batch train = first_batch("train"), held = first_batch("validation");
  auto rows = [&] { return s.embedding->lookup(train).detach().clone(); };

  auto alpha0 = snapshot(s.net->arch_parameters());
  auto theta0 = snapshot(s.net->weight_parameters());
  auto emb0 = rows();
  EXPECT_TRUE(std::isfinite(search.theta_step(train)));
  EXPECT_TRUE(same(alpha0, snapshot(s.net->arch_parameters())));   // alpha untouched
  EXPECT_FALSE(same(theta0, snapshot(s.net->weight_parameters())));  // Theta moved
  EXPECT_FALSE(torch::equal(emb0, rows()));                          // and the embeddings

  auto theta1 = snapshot(s.net->weight_parameters());
  auto emb1 = rows();
  EXPECT_TRUE(std::isfinite(search.alpha_step(held)));
  EXPECT_TRUE(same(theta1, snapshot(s.net->weight_parameters())));  // Theta untouched
  EXPECT_TRUE(torch::equal(emb1, rows()));                          // embeddings too
  EXPECT_FALSE(same(alpha0, snapshot(s.net->arch_parameters())));   // alpha moved
  // Both sides trainable again afterwards.
  for (const auto& p : s.net->parameters()) EXPECT_TRUE(p.requires_grad());
}

/// Through the loop: during every Theta step alpha has no gradient (frozen), and the alpha
/// step that the search's hook runs after it sends no gradient into Theta (its gradients are
/// still the Theta step's) while it moves alpha. A spy hook added after the search's sees both.
class ThetaAlphaSpy : public TrainerHook {
 public:
  explicit ThetaAlphaSpy(model::AutoHeriModel& net)
      : net_(net), alpha_grads_(snap(net.arch_parameters(), true)) {}
  void after_backward(const data::Batch&, const torch::Tensor&) override {
    // The Theta step's backward put nothing into alpha's gradient (still the last alpha
    // step's, zero before the first).
    for (const auto& a : net_.arch_parameters()) EXPECT_FALSE(a.requires_grad());
    EXPECT_TRUE(same(alpha_grads_, snap(net_.arch_parameters(), true)));
    alpha_ = snap(net_.arch_parameters(), false);
    theta_grads_ = snap(net_.weight_parameters(), true);
  }
  void after_step(int64_t step) override {
    ++steps;
    // The Theta step changed no alpha: whatever moved alpha since, it was the alpha step.
    alpha_moved += !same(alpha_, snap(net_.arch_parameters(), false));
    EXPECT_TRUE(same(theta_grads_, snap(net_.weight_parameters(), true))) << step;
    for (const auto& p : net_.parameters()) EXPECT_TRUE(p.requires_grad());
    alpha_grads_ = snap(net_.arch_parameters(), true);
  }
  int steps = 0;
  int alpha_moved = 0;

 private:
  static std::vector<torch::Tensor> snap(const std::vector<torch::Tensor>& ps, bool grads) {
    std::vector<torch::Tensor> out;
    for (const auto& p : ps) {
      const torch::Tensor t = grads ? p.grad() : p;
      out.push_back(t.defined() ? t.detach().clone() : torch::zeros_like(p));
    }
    return out;
  }
  static bool same(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (!torch::equal(a[i], b[i])) return false;
    }
    return true;
  }
  model::AutoHeriModel& net_;
  std::vector<torch::Tensor> alpha_, theta_grads_, alpha_grads_;
};

TEST_F(SearchTest, TheAlphaStepRunsAsAHookAfterEveryThetaStep) {
  Setup s = setup(8);
  TrainerOptions t = theta();
  t.max_steps = 4;
  ArchSearch search(*cache_, s.net, s.embedding, options(), t);
  ThetaAlphaSpy spy(*s.net);
  search.trainer().add_hook(&spy);
  const SearchResult r = search.run("train", "");
  EXPECT_EQ(r.steps, 4);
  EXPECT_EQ(spy.steps, 4);
  EXPECT_EQ(spy.alpha_moved, 4);  // one alpha step per iteration, after the Theta step
  EXPECT_GT(r.alpha_samples, 3u * 128);  // four batches of the held-out tail
  EXPECT_LE(r.alpha_samples, 4u * 256);
}

// search.alpha_space = click: the alpha step minimises the post-click events' conditional
// losses on the rows where their parent happened, not the entire-space loss of eq. 3.
TEST_F(SearchTest, ClickSpaceAlphaStepMinimisesTheClickSpaceLoss) {
  const data::Batch held = first_batch("validation");
  SearchOptions o = options();
  o.alpha_space = model::TrainingSpace::kClickSpace;
  Setup s = setup(4);
  ArchSearch search(*cache_, s.net, s.embedding, o, theta());
  // Reference: the click-space loss of the same batch and its gradient in the alpha logits.
  const torch::Tensor x = s.embedding->lookup(held).detach();
  const torch::Tensor labels =
      torch::from_blob(const_cast<float*>(held.labels.data()),
                       {int64_t(held.num_events), int64_t(held.size)}, torch::kFloat32);
  FunnelLoss loss(s.net->funnel(), theta().loss);
  const torch::Tensor click =
      loss.compute(s.net->forward(x), labels, model::TrainingSpace::kClickSpace).total;
  const double entire =
      loss.compute(s.net->forward(x), labels, model::TrainingSpace::kEntireSpace).total.item<double>();
  const std::vector<torch::Tensor> grads = torch::autograd::grad({click}, s.net->arch_parameters());
  auto alpha0 = snapshot(s.net->arch_parameters());
  EXPECT_NEAR(search.alpha_step(held), click.item<double>(), 1e-6);
  EXPECT_GT(std::abs(entire - click.item<double>()), 1e-3);
  // Adam's first step moves every logit by about alpha_lr against its gradient's sign.
  const auto alpha1 = snapshot(s.net->arch_parameters());
  int64_t checked = 0;
  for (size_t k = 0; k < grads.size(); ++k) {
    const torch::Tensor g = grads[k].flatten(), d = (alpha1[k] - alpha0[k]).flatten();
    for (int64_t i = 0; i < g.numel(); ++i) {
      const double gi = g[i].item<double>();
      if (std::abs(gi) < 1e-4) continue;  // Adam: |step| = lr |g| / (|g| + 1e-8)
      EXPECT_NEAR(d[i].item<double>(), gi > 0 ? -o.alpha_lr : o.alpha_lr, 1e-3 * o.alpha_lr)
          << "edge group " << k << " entry " << i;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
}

// The validated derivation: nested candidates along alpha's ranking, the best by fitness.
TEST_F(SearchTest, ValidatedDerivationKeepsTheBestPrefixOfTheAlphaRanking) {
  Setup s = setup(2);
  model::AutoHeriArch a = s.net->arch();
  ASSERT_EQ(a.edges.size(), 3u);  // click -> arrive, click -> buy (skip), arrive -> buy
  // alpha: three connections above 0.5, in the order (edge 2, [0][1]) 0.9, (0, [1][1]) 0.8,
  // (1, [0][0]) 0.7; everything else 0.2.
  for (auto& e : a.edges) {
    for (double& v : e.alpha) {
      if (!std::isnan(v)) v = 0.2;
    }
  }
  const size_t L = a.num_layers();
  a.edges[2].alpha[0 * L + 1] = 0.9;
  a.edges[0].alpha[1 * L + 1] = 0.8;
  a.edges[1].alpha[0 * L + 0] = 0.7;
  a.derive(model::DeriveOptions());
  ASSERT_EQ(a.num_connections(), 3u);

  const std::vector<model::AutoHeriArch> nested = nested_by_alpha(a);
  ASSERT_EQ(nested.size(), 4u);
  for (size_t m = 0; m < nested.size(); ++m) EXPECT_EQ(nested[m].num_connections(), m);
  EXPECT_EQ(nested[1].edges[2].z[0 * L + 1], 1);
  EXPECT_EQ(nested[2].edges[0].z[1 * L + 1], 1);
  EXPECT_EQ(nested[2].edges[1].z[0 * L + 0], 0);
  EXPECT_EQ(nested[3].to_json()["edges"], a.to_json()["edges"]);

  // Fitness peaks at 2 connections; 3 ties with 2 (the smaller one is kept).
  std::vector<size_t> scored;
  auto fitness = [&](const model::AutoHeriArch& arch, json* detail) {
    scored.push_back(arch.num_connections());
    *detail = {{"n", arch.num_connections()}};
    const double f[] = {0.60, 0.62, 0.65, 0.65};
    return f[arch.num_connections()];
  };
  const ValidatedDerivation v = validate_derivation(a, fitness);
  EXPECT_EQ(scored, (std::vector<size_t>{0, 1, 2, 3}));
  EXPECT_EQ(v.chosen, 2u);
  EXPECT_EQ(v.arch.to_json()["edges"], nested[2].to_json()["edges"]);
  ASSERT_EQ(v.candidates.size(), 4u);
  EXPECT_DOUBLE_EQ(v.candidates[1]["fitness"].get<double>(), 0.62);
  EXPECT_EQ(v.candidates[3]["detail"]["n"], 3);
  const json by = json::parse(v.arch.derived_by);
  EXPECT_EQ(by["rule"], "threshold");
  EXPECT_EQ(by["validated"]["kept"], 2);
  EXPECT_EQ(by["validated"]["of"], 3);
  // The plain towers win when no connection pays.
  EXPECT_EQ(validate_derivation(a, [](const model::AutoHeriArch& arch, json*) {
              return 0.7 - 0.01 * arch.num_connections();
            }).arch.num_connections(), 0u);
  // Nothing derived: nothing to train.
  scored.clear();
  const ValidatedDerivation none = validate_derivation(nested[0], fitness);
  EXPECT_TRUE(scored.empty());
  EXPECT_TRUE(none.candidates.empty());
  EXPECT_EQ(none.arch.num_connections(), 0u);
}

TEST_F(SearchTest, DeterministicBySeedWithOneThread) {
  auto run = [&](const std::string& out) {
    Setup s = setup(5);
    ArchSearch search(*cache_, s.net, s.embedding, options(), theta());
    SearchResult r = search.run("train", "validation", out);
    return std::make_pair(r, snapshot(s.net->parameters()));
  };
  const std::string a = join_path(*dir_, "det_a"), b = join_path(*dir_, "det_b");
  const auto ra = run(a), rb = run(b);
  EXPECT_TRUE(same(ra.second, rb.second));
  EXPECT_EQ(ra.first.arch.to_json(), rb.first.arch.to_json());
  EXPECT_EQ(read_text_file(join_path(a, "alpha.jsonl")), read_text_file(join_path(b, "alpha.jsonl")));
  EXPECT_EQ(ra.first.last_validation, rb.first.last_validation);
  // A different seed gives a different search.
  Setup s = setup(6);
  TrainerOptions t = theta();
  t.seed = 6;
  ArchSearch other(*cache_, s.net, s.embedding, options(), t);
  EXPECT_NE(other.run("train", "").arch.to_json(), ra.first.arch.to_json());
}

TEST_F(SearchTest, WritesTheAlphaTrajectoryAndDerivesTheArchitecture) {
  Setup s = setup(7);
  SearchOptions o = options();
  TrainerOptions t = theta();
  t.eval_every_steps = 10;
  t.epochs = 2;  // 17 iterations per epoch here; max_steps = 25 cuts the second
  o.derive.rule = model::DeriveOptions::Rule::kTopK;
  o.derive.top_k = 1;
  ArchSearch search(*cache_, s.net, s.embedding, o, t);
  const std::string out = join_path(*dir_, "logs");
  const SearchResult r = search.run("train", "validation", out);
  EXPECT_EQ(r.steps, 25);
  EXPECT_GT(r.theta_samples, 24u * 256);  // the first epoch's last batch is smaller
  EXPECT_GT(r.alpha_samples, 0u);
  // alpha at the start, every 5 iterations (5 lines), and nothing extra at 25.
  std::istringstream lines(read_text_file(join_path(out, "alpha.jsonl")));
  std::string line;
  std::vector<json> traj;
  while (std::getline(lines, line)) traj.push_back(json::parse(line));
  ASSERT_EQ(traj.size(), 6u);
  EXPECT_EQ(traj.front()["step"], 0);
  EXPECT_EQ(traj.back()["step"], 25);
  EXPECT_EQ(traj.front()["edges"].size(), 3u);  // 0->1, 0->2 (skip), 1->2
  EXPECT_DOUBLE_EQ(traj.front()["edges"][0]["alpha"][0][0].get<double>(), 0.5);
  EXPECT_NE(traj.back()["edges"][0]["alpha"], traj.front()["edges"][0]["alpha"]);
  // Evaluations at iterations 10, 17 (end of epoch 1), 20 and 25 (end of the cut epoch 2).
  ASSERT_EQ(r.log.size(), 4u);
  EXPECT_EQ(r.log[1]["step"], 17);
  EXPECT_EQ(r.log[3]["epoch"], 2);  // epochs count from 1
  EXPECT_TRUE(r.log.back()["validation"]["cvr"].contains("auc"));
  // Top-1 per target layer of towers 1 and 2: 2 + 2 connections.
  EXPECT_EQ(r.arch.num_connections(), 4u);
  EXPECT_EQ(r.arch.edges[2].alpha, model::AutoHeriArch::from_json(r.arch.to_json()).edges[2].alpha);
  // The heatmap: one cell per connection of every edge group, one frame per kept one.
  const std::string svg = arch_to_svg(r.arch);
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t p = svg.find(needle); p != std::string::npos; p = svg.find(needle, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("class=\"cell\""), 3u * 4);
  EXPECT_EQ(count("class=\"kept\""), 4u);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(svg.find("http://www.w3.org/2000/svg\" width") != std::string::npos, true);
}

TEST_F(SearchTest, AlphaDataIsDistinctFromThetaData) {
  Setup s = setup(9);
  SearchOptions o = options();
  o.alpha_split = "train";
  ArchSearch bad(*cache_, s.net, s.embedding, o, theta());
  EXPECT_THROW(bad.run("train", ""), Error);
  o.alpha_split = "validation";
  TrainerOptions t = theta();
  t.max_steps = 3;
  ArchSearch good(*cache_, s.net, s.embedding, o, t);
  EXPECT_EQ(good.run("train", "").steps, 3);
  // Fixed models have nothing to search.
  model::AutoHeriArch arch = s.net->arch();
  auto fixed = std::make_shared<model::AutoHeriModel>(
      s.net->funnel(), s.embedding->input_dim(),
      model::AutoHeriOptions::from_json(json{{"alpha", "fixed"}, {"arch", arch.to_json()}}));
  EXPECT_THROW(ArchSearch(*cache_, fixed, s.embedding, options(), theta()), Error);
}

TEST_F(SearchTest, ParsesOptionsStrictly) {
  const SearchOptions d = SearchOptions::from_json(json());
  EXPECT_EQ(d.alpha_split, "holdout");
  EXPECT_DOUBLE_EQ(d.holdout_fraction, 0.1);
  const SearchOptions o = SearchOptions::from_json(
      json{{"alpha_lr", 0.01}, {"alpha_split", "validation"}, {"derive", {{"rule", "top_k"}, {"k", 2}}}});
  EXPECT_DOUBLE_EQ(o.alpha_lr, 0.01);
  EXPECT_EQ(o.derive.rule, model::DeriveOptions::Rule::kTopK);
  EXPECT_EQ(o.derive.top_k, 2);
  EXPECT_EQ(d.alpha_space, model::TrainingSpace::kEntireSpace);
  EXPECT_FALSE(d.validate);
  EXPECT_TRUE(SearchOptions::from_json(json{{"validate", true}}).validate);
  EXPECT_EQ(SearchOptions::from_json(json{{"alpha_space", "click"}}).alpha_space,
            model::TrainingSpace::kClickSpace);
  for (const json& bad : {json{{"alpha_lr", 0}}, json{{"holdout_fraction", 1.0}},
                          json{{"alpha_space", "impression"}},
                          json{{"derive", {{"rule", "best"}}}}, json{{"alpha_rate", 1}},
                          json{{"derive", {{"k", 0}, {"rule", "top_k"}}}}}) {
    EXPECT_THROW(SearchOptions::from_json(bad), Error) << bad.dump();
  }
}

/// The evolutionary variant's hook, and a fixed AutoHERI model through the bundle format.
TEST_F(SearchTest, FixedArchitectureTrainsAndRoundTripsThroughABundle) {
  Setup s = setup(4);
  model::AutoHeriArch arch = s.net->arch();
  arch.edges[0].z = {1, 0, 0, 1};
  arch.edges[1].z = {0, 0, 0, 0};
  arch.edges[2].z = {0, 1, 1, 0};
  model::FeatureEmbeddingOptions eo;
  eo.embedding_dim = 4;
  TrainerOptions to;
  to.batch_size = 256;
  to.max_steps = 15;
  to.progress = false;
  const FixedArchRun run =
      train_fixed_arch(*cache_, arch, model::AutoHeriOptions::from_json(json{{"dropout", 0.0}}),
                       eo, to, "train", "validation");
  EXPECT_EQ(run.result.steps, 15);
  EXPECT_TRUE(run.result.best_validation["cvr"]["auc"].is_number());
  EXPECT_EQ(run.net->arch().num_connections(), 4u);

  const model::ModelConfig model_config = model::parse_model_options(
      "autoheri", json{{"alpha", "fixed"}, {"arch", arch.to_json()}});
  const std::string file = join_path(*dir_, "autoheri.bundle");
  model::write_bundle(
      file, model::make_bundle(model::BundleSpec::of_cache(
                                   *cache_, data::DataConfig(), model_config,
                                   model::FeatureEmbeddingOptions::from_json(json{{"dim", 4}})),
                               *run.net, *run.embedding));
  const model::LoadedBundle b = model::load_bundle(file);
  auto* loaded = dynamic_cast<model::AutoHeriModel*>(b.net.get());
  ASSERT_NE(loaded, nullptr);
  EXPECT_EQ(loaded->arch().to_json(), arch.to_json());
  const data::Batch batch = first_batch("validation");
  torch::NoGradGuard no_grad;
  run.net->eval();
  const model::FunnelOutput x = run.net->forward(run.embedding->lookup(batch));
  const model::FunnelOutput y = b.net->forward(b.embedding->lookup(batch));
  for (size_t e = 0; e < 3; ++e) EXPECT_TRUE(torch::equal(x.cond_log_p[e], y.cond_log_p[e])) << e;
}

}  // namespace
}  // namespace funnel::train
