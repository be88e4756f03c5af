// AutoHERI: eq. 1 against a naive reference, alpha = 0 equals ESMM exactly, the entropy
// regulariser and its gradient against finite differences, the architecture JSON round trip
// and derivation, fixed architectures and searched weights.

#include "model/autoheri.h"

#include <gtest/gtest.h>
#include <torch/nn/module.h>
#include <unistd.h>

#include <cmath>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "model/autoheri_arch.h"
#include "model/esmm.h"
#include "funnels.h"

namespace funnel::model {
namespace {

using nlohmann::json;

using testing::two_events;
FunnelSpec three_events() { return {{"click", "arrival", "conversion"}, {-1, 0, 1}}; }

std::shared_ptr<AutoHeriModel> make(const FunnelSpec& f, int64_t in, const json& options) {
  return std::make_shared<AutoHeriModel>(f, in, AutoHeriOptions::from_json(options));
}

void set_all_alpha_logits(AutoHeriModel& m, double v) {
  torch::NoGradGuard g;
  for (auto& a : m.arch_parameters()) a.fill_(v);
}

void expect_outputs_equal(const FunnelOutput& a, const FunnelOutput& b) {
  ASSERT_EQ(a.num_events(), b.num_events());
  for (size_t e = 0; e < a.num_events(); ++e) {
    EXPECT_TRUE(torch::equal(a.cond_log_p[e], b.cond_log_p[e])) << "event " << e;
    EXPECT_TRUE(torch::equal(a.cond_log_q[e], b.cond_log_q[e])) << "event " << e;
  }
}

TEST(AutoHeriTest, IsRegisteredAndParsesOptionsStrictly) {
  EXPECT_NO_THROW(make_model("autoheri", two_events(), 8, json()));
  const AutoHeriOptions d = AutoHeriOptions::from_json(json::object());
  EXPECT_EQ(d.towers, (std::vector<int64_t>{200, 80, 20}));
  EXPECT_EQ(d.scheme, IntegrationScheme::kHierarchical);
  EXPECT_FALSE(d.skip);
  EXPECT_EQ(d.alpha, AlphaMode::kSearch);
  EXPECT_DOUBLE_EQ(d.alpha_init, 0.5);
  for (const json& bad :
       {json{{"scheme", "sideways"}}, json{{"alpha", "learned"}}, json{{"alpha_init", 1.0}},
        json{{"alpha_init", 0.0}}, json{{"entropy_weight", -1}}, json{{"alpha", "fixed"}},
        json{{"scheme", "parallel"}, {"skip", true}}, json{{"towers", json::array()}},
        json{{"tower", json::array({8})}}, json{{"arch", json{{"format", "x"}}}},
        json{{"edge_init", "ones"}}}) {
    EXPECT_THROW(make_model("autoheri", two_events(), 8, bad), Error) << bad.dump();
  }
}

TEST(AutoHeriTest, CandidateEdgeGroups) {
  auto pairs = [](const std::vector<ArchEdge>& edges) {
    std::vector<std::pair<int, int>> p;
    for (const auto& e : edges) p.emplace_back(e.from, e.to);
    return p;
  };
  using P = std::vector<std::pair<int, int>>;
  EXPECT_EQ(pairs(candidate_edges(two_events(), IntegrationScheme::kHierarchical, false)),
            (P{{0, 1}}));
  EXPECT_EQ(pairs(candidate_edges(three_events(), IntegrationScheme::kHierarchical, false)),
            (P{{0, 1}, {1, 2}}));
  EXPECT_EQ(pairs(candidate_edges(three_events(), IntegrationScheme::kHierarchical, true)),
            (P{{0, 1}, {0, 2}, {1, 2}}));
  EXPECT_EQ(pairs(candidate_edges(two_events(), IntegrationScheme::kParallel, false)),
            (P{{1, 0}, {0, 1}}));
  // ESM2-shaped funnel (click -> action, click -> purchase): siblings are not connected.
  EXPECT_EQ(pairs(candidate_edges({{"c", "a", "p"}, {-1, 0, 0}}, IntegrationScheme::kHierarchical,
                                  true)),
            (P{{0, 1}, {0, 2}}));
  EXPECT_TRUE(is_candidate(IntegrationScheme::kHierarchical, 2, 0));
  EXPECT_FALSE(is_candidate(IntegrationScheme::kParallel, 1, 1));
  EXPECT_TRUE(is_candidate(IntegrationScheme::kParallel, 0, 1));
}

TEST(AutoHeriTest, ArchAndWeightParametersPartitionTheModel) {
  auto m = make(three_events(), 6, json{{"towers", {5, 4, 3}}, {"skip", true}});
  EXPECT_EQ(m->arch_parameters().size(), 3u);
  for (const auto& a : m->arch_parameters()) EXPECT_EQ(a.sizes().vec(), (std::vector<int64_t>{3, 3}));
  const auto w = m->weight_parameters();
  EXPECT_EQ(w.size() + 3, m->parameters().size());
  for (const auto& p : w) {
    for (const auto& a : m->arch_parameters()) EXPECT_FALSE(p.is_same(a));
  }
  // Towers (3 x (3 linear + head) x 2) + 3 edge groups x 9 U_ij.
  EXPECT_EQ(w.size(), 3u * 8 + 27);
  EXPECT_NEAR(torch::sigmoid(m->arch_parameters()[0]).mean().item<double>(), 0.5, 1e-7);
}

/// Eq. 1 element by element: h_s^j = relu(W_j h_s^{j-1} + b_j) + sum_i alpha_ij U_ij h_t^i.
TEST(AutoHeriTest, ForwardMatchesEquationOne) {
  torch::manual_seed(3);
  auto m = make(two_events(), 4, json{{"towers", {3, 2}}, {"entropy_weight", 0.0}});
  m->to(torch::kDouble);
  {
    torch::NoGradGuard g;
    m->arch_parameters()[0].copy_(torch::randn({2, 2}, torch::kDouble));
  }
  const torch::Tensor x = torch::randn({5, 4}, torch::kDouble);
  const FunnelOutput out = m->forward(x);
  const torch::Tensor alpha = torch::sigmoid(m->arch_parameters()[0]);
  auto layer = [&](size_t e, size_t l, const torch::Tensor& in) {
    auto& lin = m->tower(e)->mlp()->linear(l);
    return torch::relu(torch::matmul(in, lin->weight.t()) + lin->bias);
  };
  std::vector<torch::Tensor> ht;
  ht.push_back(layer(0, 0, x));
  ht.push_back(layer(0, 1, ht[0]));
  torch::Tensor hs = x;
  for (int64_t j = 0; j < 2; ++j) {
    torch::Tensor v = layer(1, j, hs);
    for (int64_t i = 0; i < 2; ++i) {
      v = v + alpha[i][j] * torch::matmul(ht[i], m->edge(0)->u(i, j)->weight.t());
    }
    hs = v;
  }
  auto head = [&](size_t e, const torch::Tensor& h) {
    auto& lin = m->tower(e)->head_linear();
    return (torch::matmul(h, lin->weight.t()) + lin->bias).squeeze(-1);
  };
  EXPECT_TRUE(torch::allclose(out.cond_log_p[0], torch::log_sigmoid(head(0, ht[1])), 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(out.cond_log_p[1], torch::log_sigmoid(head(1, hs)), 1e-12, 1e-12));
  EXPECT_FALSE(out.aux_loss.defined());
}

/// With every alpha exactly 0 (logit -inf), AutoHERI is ESMM with the same tower weights,
/// bit for bit: Trans keeps the tower's own representation unchanged (identity block).
TEST(AutoHeriTest, AlphaZeroEqualsPlainTowersExactly) {
  for (const json& opt : {json{{"towers", {6, 5, 4}}},
                          json{{"towers", {6, 5, 4}}, {"skip", true}},
                          json{{"towers", {6, 5, 4}}, {"scheme", "parallel"}}}) {
    for (const FunnelSpec& f : {two_events(), three_events()}) {
      if (opt.contains("skip") && f.num_events() == 2) continue;
      torch::manual_seed(11);
      auto m = make(f, 7, opt);
      EsmmModel esmm(f, 7, EsmmOptions::from_json(json{{"towers", {6, 5, 4}}}));
      copy_weights_by_name(*m, esmm);
      const torch::Tensor x = torch::randn({9, 7});
      // Nonzero alpha: the towers differ (the connections act) ...
      const FunnelOutput a = m->forward(x);
      EXPECT_FALSE(torch::equal(a.cond_log_p.back(), esmm.forward(x).cond_log_p.back()));
      // ... alpha = 0: identical outputs.
      set_all_alpha_logits(*m, -std::numeric_limits<double>::infinity());
      EXPECT_EQ(torch::sigmoid(m->arch_parameters()[0]).abs().sum().item<double>(), 0.0);
      const FunnelOutput z = m->forward(x);
      expect_outputs_equal(z, esmm.forward(x));
      EXPECT_TRUE(std::isfinite(z.aux_loss.item<double>())) << opt.dump();
    }
  }
}

TEST(AutoHeriTest, ZeroInitialisedEdgesStartAsPlainTowersAndStillLearn) {
  for (const FunnelSpec& f : {two_events(), three_events()}) {
    torch::manual_seed(3);
    auto m = make(f, 7, json{{"towers", {6, 5, 4}}, {"edge_init", "zero"}});
    EsmmModel esmm(f, 7, EsmmOptions::from_json(json{{"towers", {6, 5, 4}}}));
    copy_weights_by_name(*m, esmm);
    const torch::Tensor x = torch::randn({9, 7});
    // alpha = 0.5 everywhere, yet every U_ij is 0: exactly the plain towers.
    const FunnelOutput a = m->forward(x);
    expect_outputs_equal(a, esmm.forward(x));
    // The connections are not dead: the last tower's output has a gradient on its U_ij
    // (alpha * dL/dm * h_t), and one step away from zero the towers differ.
    a.cond_log_p.back().sum().backward();
    const size_t last = m->edges().size() - 1;
    const torch::Tensor g = m->edge(last)->u(0, 2)->weight.grad();
    ASSERT_TRUE(g.defined());
    EXPECT_GT(g.abs().sum().item<double>(), 0.0);
    {
      torch::NoGradGuard no_grad;
      m->edge(last)->u(0, 2)->weight.add_(g, -0.1);
    }
    EXPECT_FALSE(torch::equal(m->forward(x).cond_log_p.back(), esmm.forward(x).cond_log_p.back()));
  }
  // The default initialisation is LibTorch's (nonzero).
  torch::manual_seed(3);
  auto d = make(two_events(), 7, json{{"towers", {6, 5, 4}}});
  EXPECT_GT(d->edge(0)->u(0, 2)->weight.abs().sum().item<double>(), 0.0);
}

TEST(AutoHeriTest, ParallelConnectsBothWaysFromLowerLayersOnly) {
  torch::manual_seed(5);
  auto m = make(two_events(), 4, json{{"towers", {3, 3}}, {"scheme", "parallel"}});
  ASSERT_EQ(m->edges().size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_TRUE(m->edge(k)->connected(0, 1));
    EXPECT_FALSE(m->edge(k)->connected(0, 0));
    EXPECT_FALSE(m->edge(k)->connected(1, 1));
    EXPECT_FALSE(m->edge(k)->connected(1, 0));
  }
  // Tower 0 (the CTR tower) now depends on tower 1: change tower 1's first layer.
  const torch::Tensor x = torch::randn({4, 4});
  const torch::Tensor before = m->forward(x).cond_log_p[0];
  {
    torch::NoGradGuard g;
    m->tower(1)->mlp()->linear(0)->weight.add_(0.5);
  }
  EXPECT_FALSE(torch::equal(before, m->forward(x).cond_log_p[0]));
  // Hierarchical: the CTR tower never depends on the CVR tower.
  auto h = make(two_events(), 4, json{{"towers", {3, 3}}});
  const torch::Tensor hb = h->forward(x).cond_log_p[0];
  {
    torch::NoGradGuard g;
    h->tower(1)->mlp()->linear(0)->weight.add_(0.5);
  }
  EXPECT_TRUE(torch::equal(hb, h->forward(x).cond_log_p[0]));
}

/// sum -a log a - (1 - a) log(1 - a) and its gradient w.r.t. the logits, against a naive
/// formula and central differences (double, h = 1e-6).
TEST(AutoHeriTest, EntropyAndItsGradientMatchFiniteDifferences) {
  torch::manual_seed(2);
  auto m = make(three_events(), 4,
                json{{"towers", {3, 2, 2}}, {"skip", true}, {"entropy_weight", 0.25}});
  m->to(torch::kDouble);
  {
    torch::NoGradGuard g;
    for (auto& a : m->arch_parameters()) a.copy_(torch::randn(a.sizes(), torch::kDouble) * 3);
  }
  auto naive = [&] {
    double s = 0;
    for (const auto& t : m->arch_parameters()) {
      const torch::Tensor c = t.detach().contiguous();
      for (int64_t k = 0; k < c.numel(); ++k) {
        const double a = 1 / (1 + std::exp(-c.data_ptr<double>()[k]));
        s += -a * std::log(a) - (1 - a) * std::log(1 - a);
      }
    }
    return s;
  };
  const torch::Tensor h = m->entropy();
  EXPECT_NEAR(h.item<double>(), naive(), 1e-12);
  // aux_loss = weight * entropy.
  EXPECT_NEAR(m->forward(torch::randn({2, 4}, torch::kDouble)).aux_loss.item<double>(),
              0.25 * naive(), 1e-12);
  h.backward();
  const double eps = 1e-6;
  for (auto& t : m->arch_parameters()) {
    const torch::Tensor grad = t.grad().clone();
    for (int64_t k = 0; k < t.numel(); ++k) {
      double* p = t.data_ptr<double>() + k;
      const double v = *p;
      *p = v + eps;
      const double up = naive();
      *p = v - eps;
      const double down = naive();
      *p = v;
      EXPECT_NEAR(grad.view(-1)[k].item<double>(), (up - down) / (2 * eps), 1e-7);
    }
  }
  // Logits of +-inf: finite entropy (0) and gradient.
  set_all_alpha_logits(*m, std::numeric_limits<double>::infinity());
  EXPECT_NEAR(m->entropy().item<double>(), 0.0, 1e-18);
}

TEST(AutoHeriTest, ParallelEntropyCountsCandidatesOnly) {
  auto m = make(two_events(), 4, json{{"towers", {3, 3, 3}}, {"scheme", "parallel"}});
  // 2 groups x 3 candidates (i < j) at alpha = 0.5.
  EXPECT_NEAR(m->entropy().item<double>(), 6 * std::log(2.0), 1e-5);
}

AutoHeriArch hand_arch() {
  AutoHeriArch a;
  a.events = {"click", "arrival", "conversion"};
  a.parents = {-1, 0, 1};
  a.towers = {4, 3};
  a.edges = candidate_edges(a.funnel(), a.scheme, a.skip);
  a.edges[0].alpha = {0.9, 0.2, 0.6, 0.4};
  a.edges[1].alpha = {0.1, 0.7, 0.3, 0.45};
  return a;
}

TEST(AutoHeriArchTest, DerivesByThresholdAndTopK) {
  AutoHeriArch a = hand_arch();
  a.derive(DeriveOptions());
  EXPECT_EQ(a.edges[0].z, (std::vector<uint8_t>{1, 0, 1, 0}));
  EXPECT_EQ(a.edges[1].z, (std::vector<uint8_t>{0, 1, 0, 0}));
  EXPECT_EQ(a.num_connections(), 3u);
  DeriveOptions top;
  top.rule = DeriveOptions::Rule::kTopK;
  top.top_k = 1;
  a.derive(top);
  // Per target layer of each tower, the single largest alpha.
  EXPECT_EQ(a.edges[0].z, (std::vector<uint8_t>{1, 0, 0, 1}));
  EXPECT_EQ(a.edges[1].z, (std::vector<uint8_t>{0, 1, 1, 0}));
  top.top_k = 2;
  a.derive(top);
  EXPECT_EQ(a.num_connections(), 8u);
  EXPECT_EQ(json::parse(a.derived_by), (json{{"rule", "top_k"}, {"k", 2}}));
}

TEST(AutoHeriArchTest, JsonRoundTrip) {
  AutoHeriArch a = hand_arch();
  a.derive(DeriveOptions());
  const json j = a.to_json();
  EXPECT_EQ(j["format"], "funnel.autoheri.arch");
  EXPECT_EQ(j["edges"][0]["z"], json::parse("[[1,0],[1,0]]"));
  EXPECT_EQ(j["edges"][0]["from_event"], "click");
  const AutoHeriArch b = AutoHeriArch::from_json(j);
  EXPECT_EQ(b.to_json(), j);
  EXPECT_EQ(b.edges[1].alpha, a.edges[1].alpha);
  EXPECT_EQ(b.edges[1].z, a.edges[1].z);
  const std::string file = join_path(::testing::TempDir(), "arch_" + std::to_string(::getpid()) + ".json");
  a.save(file);
  EXPECT_EQ(AutoHeriArch::load(file).to_json(), j);
  remove_all(file);
  // From a searched model (parallel: non-candidates are null in alpha and 0 in z).
  auto m = make(two_events(), 4, json{{"towers", {3, 3}}, {"scheme", "parallel"}});
  const json mj = m->arch().to_json();
  EXPECT_TRUE(mj["edges"][0]["alpha"][1][1].is_null());
  EXPECT_EQ(AutoHeriArch::from_json(mj).to_json(), mj);
  // Hand-written: no alpha at all.
  json no_alpha = j;
  for (auto& e : no_alpha["edges"]) e.erase("alpha");
  EXPECT_TRUE(AutoHeriArch::from_json(no_alpha).edges[0].alpha.empty());
}

TEST(AutoHeriArchTest, RejectsMalformedArchitectures) {
  AutoHeriArch a = hand_arch();
  a.derive(DeriveOptions());
  const json good = a.to_json();
  auto expect_bad = [&](const std::function<void(json&)>& edit, const std::string& needle) {
    json j = good;
    edit(j);
    try {
      AutoHeriArch::from_json(j);
      FAIL() << "accepted " << j.dump();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_bad([](json& j) { j["version"] = 2; }, "version");
  expect_bad([](json& j) { j["format"] = "other"; }, "format");
  expect_bad([](json& j) { j["edges"][0]["z"][0][0] = 2; }, "0 or 1");
  expect_bad([](json& j) { j["edges"][0]["z"][0] = {1}; }, "matrix");
  expect_bad([](json& j) { j["edges"].erase(1); }, "edge groups");
  expect_bad([](json& j) { std::swap(j["edges"][0], j["edges"][1]); }, "edge group");
  expect_bad([](json& j) { j["parents"] = {-1, 2, 1}; }, "arch");
  expect_bad([](json& j) { j["extra"] = 1; }, "extra");
  expect_bad(
      [](json& j) {
        j["scheme"] = "parallel";
        j["edges"] = json::array();
      },
      "edge groups");
  // Parallel: a connection from a layer to the same or a lower layer does not exist.
  auto p = make(two_events(), 4, json{{"towers", {3, 3}}, {"scheme", "parallel"}});
  json pj = p->arch().to_json();
  pj["edges"][0]["z"][1][0] = 1;
  EXPECT_THROW(AutoHeriArch::from_json(pj), Error);
}

/// A fixed architecture has U_ij only where z = 1; loaded with the searched weights it
/// computes exactly what the search model computes with alpha forced to z.
TEST(AutoHeriTest, FixedArchitectureKeepsOnlyChosenConnections) {
  torch::manual_seed(8);
  auto search = make(three_events(), 5, json{{"towers", {4, 3}}, {"skip", true}});
  AutoHeriArch arch = search->arch();
  arch.edges[0].z = {1, 0, 0, 1};
  arch.edges[1].z = {0, 0, 0, 0};
  arch.edges[2].z = {0, 1, 1, 1};
  json fixed_opts{{"alpha", "fixed"}, {"arch", arch.to_json()}, {"dropout", 0.0}};
  auto fixed = make(three_events(), 5, fixed_opts);
  EXPECT_TRUE(fixed->arch_parameters().empty());
  EXPECT_EQ(fixed->options().towers, (std::vector<int64_t>{4, 3}));
  EXPECT_TRUE(fixed->edge(0)->connected(0, 0));
  EXPECT_FALSE(fixed->edge(0)->connected(0, 1));
  EXPECT_FALSE(fixed->edge(1)->connected(0, 0));
  EXPECT_EQ(fixed->parameters().size(), 3u * 6 + 5);
  EXPECT_EQ(fixed->entropy().item<double>(), 0.0);
  copy_weights_by_name(*search, *fixed);
  {
    torch::NoGradGuard g;
    const double inf = std::numeric_limits<double>::infinity();
    for (size_t k = 0; k < 3; ++k) {
      torch::Tensor t = search->arch_parameters()[k];
      for (int64_t i = 0; i < 4; ++i) t.view(-1)[i] = arch.edges[k].z[i] ? inf : -inf;
    }
  }
  const torch::Tensor x = torch::randn({6, 5});
  const FunnelOutput a = search->forward(x), b = fixed->forward(x);
  for (size_t e = 0; e < 3; ++e) {
    EXPECT_TRUE(torch::allclose(a.cond_log_p[e], b.cond_log_p[e], 1e-6, 1e-6)) << e;
  }
  // The model's arch() in fixed mode is the architecture itself.
  EXPECT_EQ(fixed->arch().to_json(), arch.to_json());
  // A fixed architecture for another funnel or other widths is refused.
  EXPECT_THROW(make(two_events(), 5, fixed_opts), Error);
  // Copying from a model lacking a parameter names it.
  EsmmModel esmm(three_events(), 5, EsmmOptions::from_json(json{{"towers", {4, 3}}}));
  EXPECT_THROW(copy_weights_by_name(esmm, *fixed), Error);
}

}  // namespace
}  // namespace funnel::model
