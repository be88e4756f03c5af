// The cells and the attention of the sequential baselines (model/blocks/cells.h,
// model/blocks/list_attention.h) against the papers' equations written out per list with
// plain tensor operations, the continuous-time decay, and the models' options.

#include <gtest/gtest.h>
#include <torch/nn/functional/activation.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"
#include "funnels.h"
#include "model/blocks/cells.h"
#include "model/blocks/list_attention.h"
#include "model/blocks/sequence.h"
#include "model/model.h"
#include "model/model_input.h"
#include "model/sequence_model.h"

namespace funnel::model {
namespace {

using nlohmann::json;

torch::Tensor ref_sig(const torch::Tensor& v) { return 1 / (1 + torch::exp(-v)); }
torch::Tensor ref_softplus(const torch::Tensor& v) { return torch::log1p(torch::exp(v)); }

torch::Tensor param(torch::nn::Module& m, const std::string& name) {
  for (auto& p : m.named_parameters()) {
    if (p.key() == name) return p.value();
  }
  ADD_FAILURE() << "no parameter " << name;
  return {};
}

/// Three lists (3, 1 and 5 items) with time stamps that make uneven gaps.
struct Lists {
  std::vector<int64_t> off = {0, 3, 4, 9};
  torch::Tensor x;
  std::vector<int64_t> ts = {0, 2, 7, 5, 1, 1, 4, 10, 30};
  PackedLists lists{torch::tensor(off, torch::kLong), 9, torch::kCPU};
  torch::Tensor dt;  // packed
  explicit Lists(int64_t D) : x(torch::randn({9, D})) {
    dt = lists.time_deltas(ListTime::kTimestamp, torch::tensor(ts, torch::kLong), 2.0,
                           torch::kFloat32);
  }
  /// The gap before row r in its list, in time units (time scale 2).
  float gap(size_t k, int64_t r) const {
    return r == off[k] ? 0.f : static_cast<float>(ts[r] - ts[r - 1]) / 2.f;
  }
  torch::Tensor run(RecurrentCellImpl& cell) {
    return lists.unpack(run_lists(cell, lists, lists.pack(x), dt));
  }
};

void randomise_position_bias(torch::nn::Module& m) {
  torch::NoGradGuard g;
  for (auto& p : m.named_parameters()) {
    if (p.key() == "position_bias") p.value().normal_();
  }
}

TEST(SequenceCellsTest, GruEqualsItsEquationsPerList) {
  torch::manual_seed(11);
  const int64_t D = 3, H = 4;
  GruCellImpl cell(D, H, 2);
  randomise_position_bias(cell);
  Lists l(D);
  const torch::Tensor out = l.run(cell);
  const torch::Tensor pb = param(cell, "position_bias");
  for (size_t k = 0; k + 1 < l.off.size(); ++k) {
    torch::Tensor h = torch::zeros({H});
    for (int64_t r = l.off[k]; r < l.off[k + 1]; ++r) {
      const auto a =
          (torch::mv(cell.w_input, l.x[r]) + cell.b_input + pb[std::min<int64_t>(r - l.off[k], 1)])
              .chunk(3);
      const auto u = (torch::mv(cell.w_hidden, h) + cell.b_hidden).chunk(3);
      const torch::Tensor rg = ref_sig(a[0] + u[0]), z = ref_sig(a[1] + u[1]);
      const torch::Tensor n = torch::tanh(a[2] + rg * u[2]);
      h = (1 - z) * n + z * h;
      EXPECT_TRUE(torch::allclose(out[r], h, 1e-5, 1e-6)) << "list " << k << " row " << r;
    }
  }
}

TEST(SequenceCellsTest, TimeLstmEqualsItsEquationsPerList) {
  torch::manual_seed(12);
  const int64_t D = 3, H = 4;
  TimeLstmCellImpl cell(D, H, 0);
  Lists l(D);
  const torch::Tensor out = l.run(cell);
  for (size_t k = 0; k + 1 < l.off.size(); ++k) {
    torch::Tensor h = torch::zeros({H}), c = torch::zeros({H});
    for (int64_t r = l.off[k]; r < l.off[k + 1]; ++r) {
      const float dt = l.gap(k, r);
      const auto a = (torch::mv(cell.w_input, l.x[r]) + cell.b_input).chunk(5);
      const auto u = torch::mv(cell.w_hidden, h).chunk(3);
      const torch::Tensor w_t1 = -ref_softplus(cell.v_t1);
      ASSERT_TRUE((w_t1 <= 0).all().item<bool>());
      const torch::Tensor i = ref_sig(a[0] + u[0] + cell.peep_i * c);
      const torch::Tensor t1 = ref_sig(a[1] + ref_sig(dt * w_t1));
      const torch::Tensor t2 = ref_sig(a[2] + ref_sig(dt * cell.w_t2));
      const torch::Tensor g = torch::tanh(a[3] + u[1]);
      const torch::Tensor c_tilde = (1 - i * t1) * c + i * t1 * g;
      const torch::Tensor c_next = (1 - i) * c + i * t2 * g;
      const torch::Tensor o = ref_sig(a[4] + dt * cell.w_to + u[2] + cell.peep_o * c_tilde);
      h = o * torch::tanh(c_tilde);
      c = c_next;
      EXPECT_TRUE(torch::allclose(out[r], h, 1e-5, 1e-6)) << "list " << k << " row " << r;
    }
  }
  // The gaps reach the output: the same items with other time stamps score differently.
  Lists same = l;
  same.dt = same.dt * 3;
  EXPECT_FALSE(torch::allclose(same.run(cell), out));
}

TEST(SequenceCellsTest, ContinuousTimeLstmEqualsItsEquationsPerList) {
  torch::manual_seed(13);
  const int64_t D = 3, H = 4;
  CtLstmCellImpl cell(D, H, 3);
  randomise_position_bias(cell);
  Lists l(D);
  const torch::Tensor out = l.run(cell);
  const torch::Tensor pb = param(cell, "position_bias");
  for (size_t k = 0; k + 1 < l.off.size(); ++k) {
    torch::Tensor c = torch::zeros({H}), c_bar = torch::zeros({H}), delta = torch::zeros({H}),
                  o = torch::zeros({H});
    for (int64_t r = l.off[k]; r < l.off[k + 1]; ++r) {
      const float dt = l.gap(k, r);
      const torch::Tensor c_t = c_bar + (c - c_bar) * torch::exp(-delta * dt);
      const torch::Tensor h_t = o * (2 * ref_sig(2 * c_t) - 1);  // the paper's form of tanh
      const auto a = (torch::mv(cell.w_input, l.x[r]) + cell.b_input +
                      torch::mv(cell.w_hidden, h_t) + pb[std::min<int64_t>(r - l.off[k], 2)])
                         .chunk(7);
      const torch::Tensor z = 2 * ref_sig(2 * a[2]) - 1;
      c = ref_sig(a[1]) * c_t + ref_sig(a[0]) * z;
      c_bar = ref_sig(a[5]) * c_bar + ref_sig(a[4]) * z;
      delta = ref_softplus(a[6]);
      o = ref_sig(a[3]);
      const torch::Tensor h = o * (2 * ref_sig(2 * c) - 1);
      EXPECT_TRUE(torch::allclose(out[r], h, 1e-5, 1e-5)) << "list " << k << " row " << r;
    }
  }
}

TEST(SequenceCellsTest, ContinuousTimeCellDecaysToItsTarget) {
  torch::manual_seed(14);
  const int64_t H = 3;
  CtLstmCellImpl cell(2, H, 0);
  const torch::Tensor in = torch::randn({1, 7 * H});
  const torch::Tensor c = torch::randn({1, H}), c_bar = torch::randn({1, H}),
                      delta = torch::rand({1, H}) + 0.5, o = torch::rand({1, H});
  auto step = [&](torch::Tensor cc, float dt) {
    std::vector<torch::Tensor> s = {cc, c_bar, delta, o};
    return cell.step(in, torch::full({1, 1}, dt), 1, s);
  };
  // No gap: the cell as left; a long gap: the target c-bar, whatever c was.
  EXPECT_FALSE(torch::allclose(step(c, 0.f), step(c_bar, 0.f), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(step(c, 200.f), step(c_bar, 0.f), 1e-5, 1e-6));
  // In between, eq. 7 exactly: a gap dt from c is no gap from c(t) = c-bar + (c - c-bar) e^(-delta
  // dt).
  for (const float dt : {0.5f, 2.f}) {
    EXPECT_TRUE(torch::allclose(
        step(c, dt), step(c_bar + (c - c_bar) * torch::exp(-delta * dt), 0.f), 1e-5, 1e-6))
        << dt;
  }
}

TEST(ListAttentionTest, EqualsABruteForceSoftmaxOverEarlierItems) {
  torch::manual_seed(15);
  for (const AttentionScore act : {AttentionScore::kTanh, AttentionScore::kSigmoid}) {
    const int64_t Q = 3, K = 4, A = 5;
    ListAttentionImpl att(Q, K, A, act);
    Lists l(Q);
    const torch::Tensor k = torch::randn({9, K});
    torch::Tensor weights;
    const torch::Tensor out =
        l.lists.unpack(att.forward(l.lists.pack(l.x), l.lists.pack(k), l.lists, &weights));
    ASSERT_EQ(weights.sizes(), (std::vector<int64_t>{5, 5, 3}));
    const torch::Tensor wq = att.query_proj->weight, bq = att.query_proj->bias,
                        wk = att.key_proj->weight, v = att.score->weight[0];
    for (size_t n = 0; n + 1 < l.off.size(); ++n) {
      for (int64_t i = l.off[n]; i < l.off[n + 1]; ++i) {
        std::vector<float> e;
        for (int64_t j = l.off[n]; j <= i; ++j) {
          const torch::Tensor pre = torch::mv(wq, l.x[i]) + bq + torch::mv(wk, k[j]);
          e.push_back(torch::dot(v, act == AttentionScore::kTanh ? torch::tanh(pre) : ref_sig(pre))
                          .item<float>());
        }
        const float m = *std::max_element(e.begin(), e.end());
        double z = 0;
        for (float s : e) z += std::exp(s - m);
        torch::Tensor want = torch::zeros({K});
        for (int64_t j = l.off[n]; j <= i; ++j) {
          want += k[j] * static_cast<float>(std::exp(e[j - l.off[n]] - m) / z);
        }
        EXPECT_TRUE(torch::allclose(out[i], want, 1e-5, 1e-6)) << "list " << n << " item " << i;
      }
    }
    // The padded weights: rows sum to 1 over j <= i inside the list, zero elsewhere.
    EXPECT_TRUE(torch::allclose(weights.sum(1), torch::ones({5, 3})));
    EXPECT_EQ(weights.permute({2, 0, 1}).triu(1).abs().sum().item<float>(), 0.f);  // [n, i, j]
  }
}

TEST(SequenceModelsTest, OptionsPerName) {
  const json lstm = LstmOptions::from_json(json::object()).to_json();
  EXPECT_FALSE(lstm.contains("attention"));
  EXPECT_THROW(LstmOptions::from_json(json{{"attention", 8}}), Error);
  EXPECT_THROW(NhpOptions::from_json(json{{"attention", 8}}), Error);
  EXPECT_EQ(DupnOptions::from_json(json{{"attention", 8}}).attention, 8);
  EXPECT_THROW(NarmOptions::from_json(json{{"attention", 0}}), Error);
  const json narm = NarmOptions::from_json(json{{"attention", 9}, {"time", "timestamp"}}).to_json();
  EXPECT_EQ(narm["attention"], 9);
  EXPECT_EQ(NarmOptions::from_json(narm).to_json(), narm);
  EXPECT_EQ(TimeLstmOptions().cell, SequenceCell::kTimeLstm);
  EXPECT_EQ(NhpOptions().cell, SequenceCell::kCtLstm);
  EXPECT_EQ(DupnOptions().readout, SequenceReadout::kAttention);
  EXPECT_EQ(NarmOptions().cell, SequenceCell::kGru);
  // Each name builds the cell it names (dupn's is an LSTM cell, narm's a GRU).
  auto cell_of = [](const std::string& name) -> RecurrentCellImpl& {
    static std::vector<std::shared_ptr<FunnelModel>> keep;
    keep.push_back(make_model(name, testing::two_events(), 4, json()));
    return dynamic_cast<SequenceModel&>(*keep.back()).cell();
  };
  EXPECT_NE(dynamic_cast<LstmCellImpl*>(&cell_of("lstm")), nullptr);
  EXPECT_NE(dynamic_cast<TimeLstmCellImpl*>(&cell_of("time_lstm")), nullptr);
  EXPECT_NE(dynamic_cast<CtLstmCellImpl*>(&cell_of("nhp")), nullptr);
  EXPECT_NE(dynamic_cast<LstmCellImpl*>(&cell_of("dupn")), nullptr);
  EXPECT_NE(dynamic_cast<GruCellImpl*>(&cell_of("narm")), nullptr);
}

// feedback: observed. Item i reads the labels of items < i of its own list only: a list scored
// alone or after another list scores the same (the other list's last labels do not reach its
// first item), item i's own labels do not reach it, and item i-1's do.
TEST(SequenceModelsTest, ObservedFeedbackReadsOnlyEarlierItemsOfTheSameList) {
  for (const std::string name : {"lstm", "heroes"}) {
    torch::manual_seed(17);
    auto model = make_model(name, testing::two_events(), 5,
                            json{{"hidden", 4}, {"encoder", {6}}, {"feedback", "observed"}});
    ASSERT_TRUE(model->reads_feedback());
    model->eval();
    torch::NoGradGuard ng;
    const torch::Tensor a = torch::randn({4, 5}), before = torch::randn({3, 5});
    const torch::Tensor fa = torch::randint(0, 2, {4, 2}).to(torch::kFloat32);
    auto input = [](torch::Tensor x, std::vector<int64_t> off, torch::Tensor fb) {
      ModelInput in(std::move(x));
      in.list_offsets = torch::tensor(off, torch::kLong);
      in.feedback = std::move(fb);
      return in;
    };
    const FunnelOutput alone = model->forward(input(a, {0, 4}, fa));
    const FunnelOutput after = model->forward(
        input(torch::cat({before, a}), {0, 3, 7}, torch::cat({torch::ones({3, 2}), fa})));
    for (int e = 0; e < 2; ++e) {
      EXPECT_TRUE(
          torch::allclose(alone.cond_log_p[e], after.cond_log_p[e].narrow(0, 3, 4), 1e-5, 1e-6))
          << name;
    }
    torch::Tensor f2 = fa.clone();
    f2[2] = 1 - f2[2];
    const FunnelOutput moved = model->forward(input(a, {0, 4}, f2));
    EXPECT_TRUE(
        torch::equal(moved.cond_log_p[0].narrow(0, 0, 3), alone.cond_log_p[0].narrow(0, 0, 3)));
    EXPECT_TRUE(
        torch::equal(moved.cond_log_p[1].narrow(0, 0, 3), alone.cond_log_p[1].narrow(0, 0, 3)));
    EXPECT_NE(moved.cond_log_p[0][3].item<float>(), alone.cond_log_p[0][3].item<float>()) << name;
    // Without the labels the model refuses the input.
    EXPECT_THROW(model->forward(input(a, {0, 4}, torch::Tensor())), Error);
  }
}

}  // namespace
}  // namespace funnel::model
