// The list models: the packed layout, the runner against a per-list loop, the HEROES unit
// against hand-computed steps (update, summarize, copy, the Hawkes decay), the ablations, and
// batching and padding invariance of outputs and gradients.

#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/blocks/sequence.h"
#include "model/heroes.h"
#include "model/sequence_model.h"
#include "model/model.h"
#include "model/model_input.h"
#include "funnels.h"

namespace funnel::model {
namespace {

using nlohmann::json;

torch::Tensor offsets(std::vector<int64_t> v) { return torch::tensor(v, torch::kLong); }

TEST(PackedListsTest, OrdersStepsLongestListFirst) {
  // Lists of 2, 4 and 1 rows.
  const PackedLists p(offsets({0, 2, 6, 7}), 7, torch::kCPU);
  EXPECT_EQ(p.lists(), 3);
  ASSERT_EQ(p.steps(), 4);
  EXPECT_EQ(std::vector<int64_t>({p.active(0), p.active(1), p.active(2), p.active(3)}),
            std::vector<int64_t>({3, 2, 1, 1}));
  const torch::Tensor rows = torch::arange(7, torch::kLong);
  // Step 0: first items of the lists of 4, 2, 1; step 1: second of 4, 2; then 4's third, fourth.
  EXPECT_TRUE(torch::equal(p.pack(rows), torch::tensor({2, 0, 6, 3, 1, 4, 5}, torch::kLong)));
  EXPECT_TRUE(torch::equal(p.unpack(p.pack(rows)), rows));
  EXPECT_TRUE(torch::equal(p.step_index(), torch::tensor({0, 0, 0, 1, 1, 2, 3}, torch::kLong)));
  EXPECT_TRUE(torch::equal(p.step(p.pack(rows), 1), torch::tensor({3, 1}, torch::kLong)));

  const torch::Tensor ts = torch::tensor({10, 13, 100, 101, 105, 105, 7}, torch::kLong);
  const torch::Tensor dt = p.time_deltas(ListTime::kTimestamp, ts, 2.0, torch::kFloat32);
  EXPECT_TRUE(torch::allclose(p.unpack(dt).squeeze(1),
                              torch::tensor({0.f, 1.5f, 0.f, 0.5f, 2.f, 0.f, 0.f})));
  const torch::Tensor dp = p.time_deltas(ListTime::kPosition, ts, 1.0, torch::kFloat32);
  EXPECT_TRUE(torch::allclose(p.unpack(dp).squeeze(1),
                              torch::tensor({0.f, 1.f, 0.f, 1.f, 1.f, 1.f, 0.f})));
}

TEST(PackedListsTest, RejectsBrokenOffsetsAndTimes) {
  EXPECT_THROW(PackedLists(offsets({0, 2, 5}), 6, torch::kCPU), Error);
  EXPECT_THROW(PackedLists(offsets({1, 6}), 6, torch::kCPU), Error);
  EXPECT_THROW(PackedLists(offsets({0, 4, 3, 6}), 6, torch::kCPU), Error);
  EXPECT_THROW(PackedLists(torch::Tensor(), 6, torch::kCPU), Error);
  const PackedLists p(offsets({0, 3}), 3, torch::kCPU);
  EXPECT_THROW(p.time_deltas(ListTime::kTimestamp, torch::tensor({5, 4, 6}, torch::kLong), 1.0,
                             torch::kFloat32),
               Error);
  EXPECT_THROW(p.time_deltas(ListTime::kTimestamp, torch::Tensor(), 1.0, torch::kFloat32), Error);
}

TEST(SequenceRunnerTest, LstmEqualsAPerListLoop) {
  torch::manual_seed(5);
  const int64_t D = 3, H = 4;
  LstmCellImpl cell(D, H, /*positions=*/3);
  // Non-zero position biases, so that the per-step bias is exercised.
  {
    torch::NoGradGuard g;
    for (auto& p : cell.named_parameters()) {
      if (p.key() == "position_bias") p.value().normal_();
    }
  }
  const torch::Tensor off = offsets({0, 3, 4, 9});
  const torch::Tensor x = torch::randn({9, D});
  const PackedLists lists(off, 9, torch::kCPU);
  const torch::Tensor out = lists.unpack(
      run_lists(cell, lists, lists.pack(x),
                lists.time_deltas(ListTime::kPosition, {}, 1, torch::kFloat32)));
  torch::Tensor pos_bias;
  for (auto& p : cell.named_parameters()) {
    if (p.key() == "position_bias") pos_bias = p.value();
  }
  ASSERT_TRUE(pos_bias.defined());
  auto sig = [](const torch::Tensor& v) { return 1 / (1 + torch::exp(-v)); };
  const std::vector<int64_t> o = {0, 3, 4, 9};
  for (size_t k = 0; k + 1 < o.size(); ++k) {
    torch::Tensor h = torch::zeros({H}), c = torch::zeros({H});
    for (int64_t r = o[k]; r < o[k + 1]; ++r) {
      const int64_t step = std::min<int64_t>(r - o[k], 2);
      const torch::Tensor gates = torch::mv(cell.w_input, x[r]) + cell.b_input +
                                  torch::mv(cell.w_hidden, h) + pos_bias[step];
      const auto a = gates.chunk(4);
      c = sig(a[1]) * c + sig(a[0]) * torch::tanh(a[2]);
      h = sig(a[3]) * torch::tanh(c);
      EXPECT_TRUE(torch::allclose(out[r], h, 1e-5, 1e-6)) << "list " << k << " row " << r;
    }
  }
}

// ---- the HEROES unit against hand-computed steps ----

HeroesOptions small_options(HeroesVariant v = HeroesVariant::kFull) {
  HeroesOptions o;
  o.list.hidden = 2;
  o.list.positions = 0;
  o.list.encoder = {};
  o.variant = v;
  return o;
}

using S = HeroesCellImpl;

std::vector<torch::Tensor> random_state(int64_t n, int64_t H, double boundary) {
  std::vector<torch::Tensor> s(S::kParts);
  for (int p = 0; p < S::kParts; ++p) s[p] = torch::randn({n, p == S::kBoundary ? 1 : H});
  s[S::kDelta] = s[S::kDelta].abs() + 0.1;
  s[S::kBoundary].fill_(boundary);
  return s;
}

torch::Tensor sig(const torch::Tensor& v) { return torch::sigmoid(v); }

/// The expected step of the full unit, written out from the equations in heroes.h for one
/// row, with the boundary of the previous item `gp` (0 = update, 1 = summarize).
struct Expected {
  torch::Tensor logit_c, logit_v, logit_ci, logit_vi, g;
  torch::Tensor sc, sci, sv, hv, delta;
};
Expected hand_step(HeroesCellImpl& cell, const torch::Tensor& in, double dt,
                   const std::vector<torch::Tensor>& st, int64_t H, HeroesBoundary boundary) {
  auto row = [&](int part) { return st[part][0]; };
  const double gp = st[S::kBoundary][0][0].item<double>();
  auto gates = [&](int b, const torch::Tensor& top) {
    const torch::Tensor pre = in.narrow(0, 4 * H * b, 4 * H) + torch::mv(cell.w_top[b], top);
    const auto c = pre.chunk(4);
    return std::vector<torch::Tensor>{sig(c[0]), sig(c[1]), sig(c[2]), torch::tanh(c[3])};
  };
  Expected e;
  // CTR behavioural: eq. 16 top-down, eq. 11 Hawkes state, eq. 10 update/summarize.
  auto gc = gates(0, torch::cat({(1 - gp) * row(S::kHc), gp * row(S::kHv)}));
  const torch::Tensor s_t =
      row(S::kScI) + (row(S::kSc) - row(S::kScI)) * torch::exp(-row(S::kDelta) * dt);
  e.sc = gp == 0 ? gc[1] * s_t + gc[0] * gc[3] : gc[0] * gc[3];
  const torch::Tensor hc = gc[2] * torch::tanh(e.sc);
  const torch::Tensor item_c = in.narrow(0, 16 * H, 1), item_v = in.narrow(0, 16 * H + 1, 1);
  e.logit_c = cell.head_c->forward(hc.unsqueeze(0))[0] + item_c;
  auto gi = gates(1, torch::cat({(1 - gp) * row(S::kHcI), gp * row(S::kHvI)}));
  e.sci = gp == 0 ? gi[1] * row(S::kScI) + gi[0] * gi[3] : gi[0] * gi[3];
  const torch::Tensor hci = gi[2] * torch::tanh(e.sci);
  e.logit_ci = cell.head_c->forward(hci.unsqueeze(0))[0] + item_c;
  const double p = sig(e.logit_c).item<double>();
  const double g = boundary == HeroesBoundary::kSoft ? p : (p > 0.5 ? 1.0 : 0.0);
  e.g = torch::full({1}, g);
  e.delta = 5.0 * torch::log1p(torch::exp(cell.delta->forward(hc.unsqueeze(0))[0] / 5.0));
  // CVR: update <3> for the item's own output, copy <4> carried by 1 - g.
  auto gv = gates(2, torch::cat({row(S::kHv), hc}));
  const torch::Tensor sv = gv[1] * row(S::kSv) + gv[0] * gv[3];
  const torch::Tensor hv = gv[2] * torch::tanh(sv);
  e.logit_v = cell.head_v->forward(hv.unsqueeze(0))[0] + item_v;
  auto gvi = gates(3, torch::cat({row(S::kHvI), hci}));
  const torch::Tensor svi = gvi[1] * row(S::kSvI) + gvi[0] * gvi[3];
  e.logit_vi = cell.head_v->forward((gvi[2] * torch::tanh(svi)).unsqueeze(0))[0] + item_v;
  e.sv = g * sv + (1 - g) * row(S::kSv);
  e.hv = g * hv + (1 - g) * row(S::kHv);
  return e;
}

void expect_step(HeroesBoundary boundary, double gp, double bias_c) {
  torch::manual_seed(17);
  const int64_t H = 2, D = 3;
  HeroesOptions o = small_options();
  o.boundary = boundary;
  HeroesCellImpl cell(D, o);
  {
    torch::NoGradGuard ng;
    cell.head_c->bias.fill_(bias_c);  // steers P(c) below or above 0.5
  }
  const torch::Tensor x = torch::randn({1, D});
  const torch::Tensor in = cell.prepare(x, PackedLists(offsets({0, 1}), 1, torch::kCPU));
  std::vector<torch::Tensor> st = random_state(1, H, gp);
  const std::vector<torch::Tensor> before = st;
  const double dt = 0.7;
  torch::NoGradGuard ng;
  const torch::Tensor out = cell.step(in, torch::full({1, 1}, dt), 1, st);
  const Expected e = hand_step(cell, in[0], dt, before, H, boundary);
  const std::string what = "gp=" + std::to_string(gp) + " bias=" + std::to_string(bias_c);
  EXPECT_TRUE(torch::allclose(out[0][0], e.logit_c[0], 1e-5, 1e-6)) << what;
  EXPECT_TRUE(torch::allclose(out[0][1], e.logit_v[0], 1e-5, 1e-6)) << what;
  EXPECT_TRUE(torch::allclose(out[0][2], e.logit_ci[0], 1e-5, 1e-6)) << what;
  EXPECT_TRUE(torch::allclose(out[0][3], e.logit_vi[0], 1e-5, 1e-6)) << what;
  EXPECT_TRUE(torch::allclose(out[0][4], e.g[0], 1e-5, 1e-6)) << what;
  EXPECT_TRUE(torch::allclose(st[S::kSc][0], e.sc, 1e-5, 1e-6)) << what;
  EXPECT_TRUE(torch::allclose(st[S::kScI][0], e.sci, 1e-5, 1e-6)) << what;
  EXPECT_TRUE(torch::allclose(st[S::kSv][0], e.sv, 1e-5, 1e-6)) << what;
  EXPECT_TRUE(torch::allclose(st[S::kHv][0], e.hv, 1e-5, 1e-6)) << what;
  EXPECT_TRUE(torch::allclose(st[S::kDelta][0], e.delta, 1e-5, 1e-6)) << what;
  EXPECT_NEAR(st[S::kBoundary][0][0].item<double>(), e.g[0].item<double>(), 1e-6);
  if (boundary == HeroesBoundary::kHard && bias_c < 0) {
    // No click expected: the CVR layer copies its state (<4>).
    EXPECT_TRUE(torch::equal(st[S::kSv], before[S::kSv])) << what;
    EXPECT_TRUE(torch::equal(st[S::kHv], before[S::kHv])) << what;
  }
}

TEST(HeroesUnitTest, StepMatchesTheEquationsInEveryBranch) {
  for (const auto boundary : {HeroesBoundary::kSoft, HeroesBoundary::kHard}) {
    for (const double gp : {0.0, 1.0}) {  // update <1>, summarize <2>
      for (const double bias : {-6.0, 6.0}) expect_step(boundary, gp, bias);
    }
  }
}

TEST(HeroesUnitTest, HawkesStateDecaysToTheInherentOne) {
  torch::manual_seed(23);
  const int64_t H = 2, D = 3;
  HeroesCellImpl cell(D, small_options());
  const torch::Tensor in = cell.prepare(torch::randn({1, D}), PackedLists(offsets({0, 1}), 1,
                                                                           torch::kCPU));
  torch::NoGradGuard ng;
  // The same state twice, the behavioural cell state excited (+2) above the inherent one or not.
  auto run = [&](double dt, bool excited, torch::Tensor* sc) {
    torch::manual_seed(1);
    std::vector<torch::Tensor> st = random_state(1, H, 0.0);
    st[S::kSc] = excited ? st[S::kScI] + 2.0 : st[S::kScI].clone();
    const torch::Tensor out = cell.step(in, torch::full({1, 1}, dt), 1, st);
    if (sc) *sc = st[S::kSc];
    return out;
  };
  // The excitation shifts the next state, and the shift decays to nothing as the gap grows:
  // s^c(t) -> s~^c (eq. 11), so the state and the logit approach those of the unexcited unit.
  torch::Tensor last = torch::full({1, H}, 1e9);
  for (const double dt : {0.0, 1.0, 3.0, 10.0, 1000.0}) {
    torch::Tensor a, b;
    const double gap = (run(dt, true, &a)[0][0] - run(dt, false, &b)[0][0]).abs().item<double>();
    const torch::Tensor shift = (a - b).abs();
    EXPECT_TRUE((shift <= last + 1e-7).all().item<bool>()) << dt;
    last = shift;
    if (dt == 0.0) {
      EXPECT_GT(gap, 1e-3);
    }
    if (dt == 1000.0) {
      EXPECT_LT(gap, 1e-6);
    }
  }
  EXPECT_LT(last.max().item<double>(), 1e-6);
  // The inherent output never sees the behavioural state.
  EXPECT_TRUE(torch::equal(run(0.0, true, nullptr)[0][2], run(0.0, false, nullptr)[0][2]));
}

TEST(HeroesUnitTest, AblationsReduceAsStated) {
  torch::manual_seed(29);
  const int64_t H = 2, D = 3;
  torch::NoGradGuard ng;
  const torch::Tensor x = torch::randn({1, D});
  const PackedLists one(offsets({0, 1}), 1, torch::kCPU);
  const torch::Tensor dt = torch::full({1, 1}, 0.5);
  // unit: an LSTM cell per layer, no Hawkes decay, no inherent branch.
  {
    HeroesCellImpl cell(D, small_options(HeroesVariant::kUnit));
    const torch::Tensor in = cell.prepare(x, one);
    std::vector<torch::Tensor> st = random_state(1, H, 0.0);
    const std::vector<torch::Tensor> before = st;
    const torch::Tensor out = cell.step(in, dt, 1, st);
    EXPECT_TRUE(torch::equal(out.narrow(1, 0, 2), out.narrow(1, 2, 2)));
    const torch::Tensor pre = in[0].narrow(0, 0, 4 * H) +
                              torch::mv(cell.w_top[0], torch::cat({before[S::kHc][0],
                                                                   torch::zeros({H})}));
    const auto a = pre.chunk(4);
    const torch::Tensor c = sig(a[1]) * before[S::kSc][0] + sig(a[0]) * torch::tanh(a[3]);
    EXPECT_TRUE(torch::allclose(st[S::kSc][0], c, 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(st[S::kHc][0], sig(a[2]) * torch::tanh(c), 1e-5, 1e-6));
  }
  // intra: nothing of the own layer's past reaches the CTR layer.
  {
    HeroesCellImpl cell(D, small_options(HeroesVariant::kIntra));
    const torch::Tensor in = cell.prepare(x, one);
    std::vector<torch::Tensor> a = random_state(1, H, 0.0), b = a;
    b[S::kSc] = b[S::kSc] + 1;
    b[S::kHc] = b[S::kHc] - 1;
    b[S::kScI] = b[S::kScI] + 1;
    b[S::kSv] = b[S::kSv] + 1;
    const torch::Tensor oa = cell.step(in, dt, 1, a), ob = cell.step(in, dt, 1, b);
    EXPECT_TRUE(torch::allclose(oa.narrow(1, 0, 1), ob.narrow(1, 0, 1)));
    EXPECT_TRUE(torch::allclose(oa.narrow(1, 1, 1), ob.narrow(1, 1, 1)));
  }
  // inter: the CTR layer never reads the CVR layer, never summarizes.
  {
    HeroesCellImpl cell(D, small_options(HeroesVariant::kInter));
    const torch::Tensor in = cell.prepare(x, one);
    std::vector<torch::Tensor> a = random_state(1, H, 0.0), b = a;
    b[S::kHv] = b[S::kHv] + 1;
    b[S::kHvI] = b[S::kHvI] + 1;
    const torch::Tensor oa = cell.step(in, dt, 1, a), ob = cell.step(in, dt, 1, b);
    EXPECT_TRUE(torch::equal(oa.narrow(1, 0, 1), ob.narrow(1, 0, 1)));
    EXPECT_TRUE(torch::equal(oa.narrow(1, 2, 1), ob.narrow(1, 2, 1)));
    EXPECT_EQ(a[S::kBoundary].abs().sum().item<double>(), 0.0);
  }
  // full: the same perturbation does reach the CTR layer once a boundary fired.
  {
    HeroesCellImpl cell(D, small_options());
    const torch::Tensor in = cell.prepare(x, one);
    std::vector<torch::Tensor> a = random_state(1, H, 1.0), b = a;
    b[S::kHv] = b[S::kHv] + 1;
    EXPECT_FALSE(torch::allclose(cell.step(in, dt, 1, a).narrow(1, 0, 1),
                                 cell.step(in, dt, 1, b).narrow(1, 0, 1)));
  }
}

// ---- the models ----

ModelInput lists_input(const torch::Tensor& x, std::vector<int64_t> off) {
  ModelInput in(x);
  in.list_offsets = offsets(std::move(off));
  return in;
}

TEST(ListModelsTest, BatchingAndPaddingChangeNothing) {
  for (const std::string name : {"heroes", "lstm", "time_lstm", "nhp", "dupn", "narm"}) {
    for (const std::string variant : {"full", "intra", "inter", "unit"}) {
      if (name != "heroes" && variant != "full") continue;
      torch::manual_seed(31);
      json opt = {{"hidden", 5}, {"encoder", {6}}, {"positions", 4},
                  {"item_readout", variant != "inter"}};
      if (name == "heroes") opt["variant"] = variant;
      auto model = make_model(name, testing::two_events(), 7, opt);
      EXPECT_TRUE(model->reads_lists());
      // List A (5 items) alone, and between a list of 8 and a list of 2.
      const torch::Tensor a = torch::randn({5, 7}), before = torch::randn({8, 7}),
                          after = torch::randn({2, 7});
      auto grads = [&](const FunnelOutput& out, int64_t from) {
        model->zero_grad();
        (out.cond_log_p[0].narrow(0, from, 5).sum() + out.cond_log_p[1].narrow(0, from, 5).sum())
            .backward();
        std::vector<torch::Tensor> g;
        for (const auto& p : model->parameters()) {
          g.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
        }
        return g;
      };
      const FunnelOutput alone = model->forward(lists_input(a, {0, 5}));
      const std::vector<torch::Tensor> ga = grads(alone, 0);
      const FunnelOutput batch =
          model->forward(lists_input(torch::cat({before, a, after}), {0, 8, 13, 15}));
      const std::vector<torch::Tensor> gb = grads(batch, 8);
      for (int e = 0; e < 2; ++e) {
        EXPECT_TRUE(torch::allclose(alone.cond_log_p[e], batch.cond_log_p[e].narrow(0, 8, 5),
                                    1e-5, 1e-6))
            << name << " " << variant << " event " << e;
      }
      for (size_t k = 0; k < ga.size(); ++k) {
        EXPECT_TRUE(torch::allclose(ga[k], gb[k], 1e-4, 1e-6)) << name << " " << variant << " " << k;
      }
      // Causal: a change of the last item of A changes none of A's earlier outputs, and does
      // change its own; a change of the first item reaches the last.
      model->eval();
      torch::NoGradGuard ng;
      torch::Tensor a2 = a.clone();
      a2[4] += 1.0;
      const FunnelOutput o1 = model->forward(lists_input(a, {0, 5}));
      const FunnelOutput o2 = model->forward(lists_input(a2, {0, 5}));
      EXPECT_TRUE(torch::equal(o1.cond_log_p[0].narrow(0, 0, 4), o2.cond_log_p[0].narrow(0, 0, 4)));
      EXPECT_TRUE(torch::equal(o1.cond_log_p[1].narrow(0, 0, 4), o2.cond_log_p[1].narrow(0, 0, 4)));
      EXPECT_NE(o1.cond_log_p[0][4].item<float>(), o2.cond_log_p[0][4].item<float>());
      torch::Tensor a3 = a.clone();
      a3[0] += 1.0;
      const FunnelOutput o3 = model->forward(lists_input(a3, {0, 5}));
      if (!(name == "heroes" && variant == "intra")) {
        EXPECT_NE(o1.cond_log_p[0][4].item<float>(), o3.cond_log_p[0][4].item<float>())
            << name << " " << variant;
      }
    }
  }
}

TEST(ListModelsTest, HeroesPredictsInherentInEvalAndBehaviouralInTraining) {
  torch::manual_seed(37);
  const torch::Tensor x = torch::randn({6, 4});
  const ModelInput in = lists_input(x, {0, 2, 6});
  HeroesModel model(testing::two_events(), 4);
  const torch::Tensor all = model.forward_all(in);
  ASSERT_EQ(all.sizes(), (std::vector<int64_t>{6, 5}));
  model.train();
  const FunnelOutput tr = model.forward(in);
  EXPECT_TRUE(torch::allclose(tr.cond_log_p[0], torch::log_sigmoid(all.select(1, 0))));
  EXPECT_TRUE(torch::allclose(tr.cond_log_p[1], torch::log_sigmoid(all.select(1, 1))));
  model.eval();
  const FunnelOutput ev = model.forward(in);
  EXPECT_TRUE(torch::allclose(ev.cond_log_p[0], torch::log_sigmoid(all.select(1, 2))));
  EXPECT_TRUE(torch::allclose(ev.cond_log_p[1], torch::log_sigmoid(all.select(1, 3))));
  HeroesOptions b;
  b.predict = HeroesPredict::kBehavioural;
  HeroesModel mb(testing::two_events(), 4, b);
  mb.eval();
  torch::NoGradGuard ng;
  EXPECT_TRUE(torch::allclose(mb.forward(in).cond_log_p[0],
                              torch::log_sigmoid(mb.forward_all(in).select(1, 0))));
}

TEST(ListModelsTest, OptionsAndErrors) {
  const HeroesOptions d = HeroesOptions::from_json(json::object());
  EXPECT_EQ(d.variant, HeroesVariant::kFull);
  EXPECT_EQ(d.boundary, HeroesBoundary::kSoft);
  EXPECT_EQ(d.predict, HeroesPredict::kInherent);
  EXPECT_EQ(d.gamma, 5.0);
  const json all = HeroesOptions::from_json(json{{"variant", "unit"}, {"time", "timestamp"}}).to_json();
  EXPECT_EQ(all["variant"], "unit");
  EXPECT_EQ(all["time"], "timestamp");
  EXPECT_EQ(HeroesOptions::from_json(all).to_json(), all);
  EXPECT_THROW(HeroesOptions::from_json(json{{"variant", "half"}}), Error);
  EXPECT_THROW(HeroesOptions::from_json(json{{"gamma", 0}}), Error);
  EXPECT_THROW(HeroesOptions::from_json(json{{"time_scale", -1}}), Error);
  EXPECT_THROW(HeroesOptions::from_json(json{{"hiden", 3}}), Error);
  EXPECT_THROW(HeroesOptions::from_json(json{{"feedback", "labels"}}), Error);
  EXPECT_EQ(HeroesOptions::from_json(json{{"feedback", "observed"}}).list.feedback,
            ListFeedback::kObserved);
  EXPECT_THROW(LstmOptions::from_json(json{{"variant", "full"}}), Error);
  // HEROES is a two-layer model of click -> conversion.
  EXPECT_THROW(make_model("heroes", FunnelSpec{{"c", "a", "v"}, {-1, 0, 1}}, 4, json()), Error);
  EXPECT_NO_THROW(make_model("lstm", FunnelSpec{{"c", "a", "v"}, {-1, 0, 1}}, 4, json()));
  // Rows without lists are refused with a message that says what is missing.
  for (const std::string name : {"heroes", "lstm", "time_lstm", "nhp", "dupn", "narm"}) {
    auto m = make_model(name, testing::two_events(), 4, json());
    try {
      m->forward(torch::randn({3, 4}));
      FAIL() << name;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("list column"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace funnel::model
