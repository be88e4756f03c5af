// DCMT against hand-computed values: the factual and counterfactual IPS terms and the
// counterfactual regulariser (values and gradients, floors on both propensities, no gradient
// into the propensity), the model's event losses for 2- and 3-event funnels recomputed in plain
// double arithmetic, output shapes and probability ranges, strict options.

#include "model/dcmt.h"

#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../common/error_of.h"
#include "core/error.h"
#include "funnels.h"

namespace funnel::model {
namespace {

using nlohmann::json;

// File-local names carry a dcmt_ prefix: the suite is a unity build.
double dcmt_sig(double z) { return 1.0 / (1.0 + std::exp(-z)); }
double dcmt_xent_ref(double p, double y) { return -(y * std::log(p) + (1 - y) * std::log(1 - p)); }
std::vector<double> dcmt_values(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}
torch::Tensor dcmt_t(const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64); }
torch::Tensor dcmt_logit(const std::vector<double>& p) {
  const torch::Tensor t = dcmt_t(p);
  return torch::log(t / (1 - t));
}
void dcmt_expect_contains(const std::string& text, const std::vector<std::string>& needles) {
  for (const auto& n : needles) EXPECT_NE(text.find(n), std::string::npos) << n << " in: " << text;
}

TEST(DcmtTest, LossTermsEqualTheirFormulaOnAHandComputedBatch) {
  // Six rows by hand: factual r, counterfactual r*, conversion label (row 0 soft), click o,
  // pCTR. Row 1's pCTR 0.004 is floored to 0.01 (factual weight 100, not 250); row 4's
  // 1 - pCTR = 0.005 is floored to 0.01 (counterfactual weight 100, not 200).
  const std::vector<double> r = {0.2, 0.7, 0.4, 0.9, 0.05, 0.6},
                            rs = {0.7, 0.1, 0.5, 0.3, 0.9, 0.3}, y = {0.25, 1, 0, 1, 0, 0},
                            o = {1, 1, 0, 1, 0, 0}, ctr = {0.5, 0.004, 0.3, 0.8, 0.995, 0.1};
  const double floor = 0.01, lambda = 0.5;
  const size_t B = r.size();
  const torch::Tensor z = dcmt_logit(r).requires_grad_();
  const torch::Tensor zs = dcmt_logit(rs).requires_grad_();
  const torch::Tensor log_ctr = torch::log(dcmt_t(ctr)).requires_grad_();
  const DcmtLoss l =
      dcmt_loss(torch::log_sigmoid(z), torch::log_sigmoid(-z), torch::log_sigmoid(zs),
                torch::log_sigmoid(-zs), dcmt_t(y), dcmt_t(o), log_ctr, floor);
  double factual = 0, counterfactual = 0, reg = 0;
  std::vector<double> grad_z(B), grad_zs(B);
  for (size_t b = 0; b < B; ++b) {
    const double w = o[b] / std::max(ctr[b], floor);
    const double ws = (1 - o[b]) / std::max(1 - ctr[b], floor);
    factual += w * dcmt_xent_ref(r[b], y[b]);
    counterfactual += ws * dcmt_xent_ref(rs[b], 1 - y[b]);  // label r* = 1 - r
    const double gap = 1 - (r[b] + rs[b]);
    reg += std::abs(gap);
    // d/dz of the three terms (sigmoid' = p (1 - p); d|1 - s| / ds = -sign(1 - s)).
    const double sign = gap > 0 ? 1.0 : -1.0;
    grad_z[b] = (w * (r[b] - y[b]) - lambda * sign * r[b] * (1 - r[b])) / B;
    grad_zs[b] = (ws * (rs[b] - (1 - y[b])) - lambda * sign * rs[b] * (1 - rs[b])) / B;
  }
  EXPECT_NEAR(l.factual.item<double>(), factual / B, 1e-12);
  EXPECT_NEAR(l.counterfactual.item<double>(), counterfactual / B, 1e-12);
  EXPECT_NEAR(l.regularizer.item<double>(), reg / B, 1e-12);
  // The floors matter: unfloored, the weights of rows 1 and 4 would be 250 and 200.
  double unfloored_f = 0, unfloored_cf = 0;
  for (size_t b = 0; b < B; ++b) {
    unfloored_f += o[b] / ctr[b] * dcmt_xent_ref(r[b], y[b]) / B;
    unfloored_cf += (1 - o[b]) / (1 - ctr[b]) * dcmt_xent_ref(rs[b], 1 - y[b]) / B;
  }
  EXPECT_GT(unfloored_f - l.factual.item<double>(), 1.0);
  EXPECT_GT(unfloored_cf - l.counterfactual.item<double>(), 0.1);

  (l.factual + l.counterfactual + l.regularizer * lambda).backward();
  for (size_t b = 0; b < B; ++b) {
    EXPECT_NEAR(z.grad()[b].item<double>(), grad_z[b], 1e-12) << b;
    EXPECT_NEAR(zs.grad()[b].item<double>(), grad_zs[b], 1e-12) << b;
  }
  // The propensity is a constant of the loss: no gradient into the CTR tower.
  EXPECT_FALSE(log_ctr.grad().defined());
}

TEST(DcmtTest, EachTermSeesOnlyItsSpace) {
  // Clicked rows only in the factual term, unclicked only in the counterfactual one.
  const torch::Tensor z = dcmt_logit({0.3, 0.6, 0.2}).requires_grad_();
  const torch::Tensor zs = dcmt_logit({0.4, 0.5, 0.8}).requires_grad_();
  const torch::Tensor o = dcmt_t({1, 0, 0}), y = dcmt_t({1, 0, 0});
  const DcmtLoss l =
      dcmt_loss(torch::log_sigmoid(z), torch::log_sigmoid(-z), torch::log_sigmoid(zs),
                torch::log_sigmoid(-zs), y, o, torch::log(dcmt_t({0.5, 0.5, 0.5})), 0.01);
  l.factual.backward();
  EXPECT_FALSE(zs.grad().defined());
  EXPECT_NE(z.grad()[0].item<double>(), 0.0);
  EXPECT_EQ(z.grad()[1].item<double>(), 0.0);
  EXPECT_EQ(z.grad()[2].item<double>(), 0.0);
  l.counterfactual.backward();
  EXPECT_EQ(zs.grad()[0].item<double>(), 0.0);
  EXPECT_NE(zs.grad()[1].item<double>(), 0.0);
  // Unclicked row 2 with r* = 0.8 < 1: pushed up (label 1 - 0 = 1), gradient negative.
  EXPECT_LT(zs.grad()[2].item<double>(), 0.0);
}

/// The first event's term of `model` on (x, y) recomputed in double: xent(pCTR, y_0) + w sum_e
/// E^DCMT_e, each E^DCMT from the towers' probabilities with o = y_parent, ohat = P(parent).
double dcmt_reference_term(DcmtModel& model, const FunnelSpec& f, const torch::Tensor& x,
                           const torch::Tensor& y) {
  const DcmtOptions& opt = model.options();
  const FunnelOutput out = model.forward(x);
  const std::vector<torch::Tensor> cf = model.counterfactual_logits(x);
  const size_t E = f.num_events();
  const int64_t B = x.size(0);
  std::vector<std::vector<double>> cond(E), cfp(E), lab(E), marg(E);
  for (size_t e = 0; e < E; ++e) {
    cond[e] = dcmt_values(out.cond_log_p[e].exp());
    lab[e] = dcmt_values(y[e]);
    if (f.parents[e] >= 0) {
      for (double z : dcmt_values(cf[e])) cfp[e].push_back(dcmt_sig(z));
    }
    marg[e] = cond[e];
    if (f.parents[e] >= 0) {
      for (int64_t b = 0; b < B; ++b) marg[e][b] *= marg[f.parents[e]][b];  // P(e), a product
    }
  }
  double ctr = 0, dcmt = 0;
  for (int64_t b = 0; b < B; ++b) ctr += dcmt_xent_ref(cond[0][b], lab[0][b]) / B;
  for (size_t e = 0; e < E; ++e) {
    const int p = f.parents[e];
    if (p < 0) continue;
    double fact = 0, cfl = 0, reg = 0;
    for (int64_t b = 0; b < B; ++b) {
      const double click = lab[p][b], ohat = marg[p][b];
      fact += click / std::max(ohat, opt.min_propensity) * dcmt_xent_ref(cond[e][b], lab[e][b]);
      cfl += (1 - click) / std::max(1 - ohat, opt.min_propensity) *
             dcmt_xent_ref(cfp[e][b], 1 - lab[e][b]);
      reg += std::abs(1 - (cond[e][b] + cfp[e][b]));
    }
    dcmt += (fact + cfl + opt.regularizer_weight * reg) / B;
  }
  return ctr + opt.cvr_weight * dcmt;
}

TEST(DcmtTest, FirstEventTermIsCtrPlusWeightedDcmtOfEveryLaterEvent) {
  torch::manual_seed(31);
  for (const FunnelSpec& f : {testing::two_events(), testing::chain(), testing::esm2_graph()}) {
    const DcmtOptions opt = DcmtOptions::from_json(json{{"towers", {5}},
                                                        {"cvr_weight", 0.7},
                                                        {"regularizer_weight", 0.2},
                                                        {"min_propensity", 0.05}});
    DcmtModel model(f, 4, opt);
    const int64_t B = 13;
    const torch::Tensor x = torch::randn({B, 4});
    std::vector<torch::Tensor> labels = {(torch::rand({B}) > 0.4).to(torch::kFloat32)};
    for (size_t e = 1; e < f.num_events(); ++e) {
      labels.push_back(labels[f.parents[e]] * (torch::rand({B}) > 0.5).to(torch::kFloat32));
    }
    const torch::Tensor y = torch::stack(labels);
    const std::vector<torch::Tensor> terms = model.forward(x).event_losses(y);
    ASSERT_EQ(terms.size(), f.num_events());
    EXPECT_NEAR(terms[0].item<double>(), dcmt_reference_term(model, f, x, y), 1e-5);
    // Later events keep the generic CTCVR cross-entropy.
    for (size_t e = 1; e < f.num_events(); ++e) EXPECT_FALSE(terms[e].defined()) << e;
  }
}

TEST(DcmtTest, DcmtTermsNeverReachTheCtrTower) {
  torch::manual_seed(32);
  DcmtModel model(testing::chain(), 4, DcmtOptions::from_json(json{{"towers", {5}}}));
  const torch::Tensor x = torch::randn({10, 4});
  const torch::Tensor c = (torch::rand({10}) > 0.5).to(torch::kFloat32);
  const torch::Tensor a = c * (torch::rand({10}) > 0.5).to(torch::kFloat32);
  const torch::Tensor y = torch::stack({c, a, a * (torch::rand({10}) > 0.5)});
  const FunnelOutput out = model.forward(x);
  const torch::Tensor ctr = -(y[0] * out.cond_log_p[0] + (1 - y[0]) * out.cond_log_q[0]).mean();
  (out.event_losses(y)[0] - ctr).backward();  // cvr_weight sum_e E^DCMT_e alone
  // Event 1's tower is event 2's propensity: detached, it gets E^DCMT_1's gradient only; the CTR
  // tower is only a propensity.
  EXPECT_EQ(model.tower(0)->head_linear()->weight.grad().abs().sum().item<double>(), 0.0);
  for (size_t e = 1; e < 3; ++e) {
    EXPECT_GT(model.tower(e)->head_linear()->weight.grad().abs().sum().item<double>(), 0.0) << e;
    EXPECT_GT(model.counterfactual(e)->head_linear()->weight.grad().abs().sum().item<double>(), 0.0)
        << e;
  }
}

TEST(DcmtTest, OutputsAreFactualConditionalsWithShapesAndRanges) {
  torch::manual_seed(33);
  const int64_t B = 7;
  for (const FunnelSpec& f : {testing::two_events(), testing::chain(), testing::esm2_graph()}) {
    const size_t E = f.num_events();
    DcmtModel model(f, 6, DcmtOptions::from_json(json{{"towers", {5, 3}}}));
    // One tower per event plus a counterfactual twin per event with a parent, 3 linears each.
    EXPECT_EQ(model.parameters().size(), (2 * E - 1) * 6);
    EXPECT_TRUE(model.counterfactual(0).is_empty());
    const torch::Tensor x = torch::randn({B, 6});
    const FunnelOutput out = model.forward(x);
    ASSERT_EQ(out.num_events(), E);
    EXPECT_FALSE(out.aux_loss.defined());
    ASSERT_TRUE(static_cast<bool>(out.event_losses));
    const std::vector<torch::Tensor> cf = model.counterfactual_logits(x);
    const std::vector<torch::Tensor> marginal = entire_space_log_p(out, f.parents);
    for (size_t e = 0; e < E; ++e) {
      ASSERT_EQ(out.cond_log_p[e].sizes(), torch::IntArrayRef({B})) << e;
      ASSERT_EQ(out.cond_log_q[e].sizes(), torch::IntArrayRef({B})) << e;
      const torch::Tensor p = out.cond_log_p[e].exp();
      EXPECT_TRUE((p > 0).all().item<bool>() && (p <= 1).all().item<bool>()) << e;
      EXPECT_TRUE(torch::allclose(p + out.cond_log_q[e].exp(), torch::ones({B}), 1e-6, 1e-6));
      // The output is the CTR or factual tower, never the counterfactual one.
      EXPECT_TRUE(torch::allclose(out.cond_log_p[e], torch::log_sigmoid(model.tower(e)(x))));
      if (f.parents[e] < 0) {
        EXPECT_FALSE(cf[e].defined());
        continue;
      }
      ASSERT_EQ(cf[e].sizes(), torch::IntArrayRef({B})) << e;
      EXPECT_FALSE(model.counterfactual(e).is_empty());
      EXPECT_TRUE((marginal[e] <= marginal[f.parents[e]] + 1e-7).all().item<bool>()) << e;
    }
  }
}

TEST(DcmtTest, OptionsParseStrictly) {
  const DcmtOptions d = DcmtOptions::from_json(json());
  EXPECT_EQ(d.towers, (std::vector<int64_t>{200, 80, 20}));
  EXPECT_EQ(d.cvr_weight, 1.0);
  EXPECT_EQ(d.regularizer_weight, 1e-3);
  EXPECT_EQ(d.min_propensity, 0.01);
  EXPECT_EQ(d.dropout, 0.0);
  EXPECT_EQ(d.activation, Activation::kRelu);
  EXPECT_EQ(DcmtOptions::from_json(json::object()).to_json(), d.to_json());
  const json full = {{"towers", {8, 4}},       {"cvr_weight", 0.5}, {"regularizer_weight", 0.1},
                     {"min_propensity", 0.05}, {"dropout", 0.2},    {"activation", "tanh"}};
  const DcmtOptions o = DcmtOptions::from_json(full);
  EXPECT_EQ(o.to_json(), full);
  EXPECT_EQ(DcmtOptions::from_json(o.to_json()).to_json(), full);
  EXPECT_EQ(DcmtOptions::from_json(json{{"cvr_weight", 0.0}}).cvr_weight, 0.0);  // = ESMM
  EXPECT_EQ(DcmtOptions::from_json(json{{"min_propensity", 1.0}}).min_propensity, 1.0);

  const auto error = [](const json& j) {
    return funnel::testing::error_of([&] { DcmtOptions::from_json(j, "run.model"); });
  };
  dcmt_expect_contains(error(json{{"ctcvr_weight", 1.0}}),
                       {"run.model", "unknown key", "ctcvr_weight", "cvr_weight"});
  dcmt_expect_contains(error(json{{"cvr_weight", -1.0}}), {"run.model.cvr_weight", ">= 0", "-1"});
  dcmt_expect_contains(error(json{{"cvr_weight", "1"}}), {"run.model.cvr_weight", "number"});
  dcmt_expect_contains(error(json{{"regularizer_weight", -0.1}}),
                       {"run.model.regularizer_weight", ">= 0"});
  dcmt_expect_contains(error(json{{"min_propensity", 0.0}}),
                       {"run.model.min_propensity", "(0, 1]"});
  dcmt_expect_contains(error(json{{"min_propensity", 1.5}}), {"run.model.min_propensity", "1.5"});
  dcmt_expect_contains(error(json{{"towers", {8, 0}}}), {"run.model.towers", "layer widths in [1, 65536]"});
  dcmt_expect_contains(error(json{{"dropout", 1.0}}), {"run.model.dropout"});
  dcmt_expect_contains(error(json{{"activation", "swish"}}),
                       {"run.model.activation", "relu, leaky_relu or tanh", "'swish'"});
  EXPECT_THROW(DcmtOptions::from_json(json::array()), Error);

  // Through the registry, and only on a funnel with a conversion after its click.
  EXPECT_NO_THROW(make_model("dcmt", testing::two_events(), 8, json()));
  const std::string roots = funnel::testing::error_of([] {
    DcmtModel lone(FunnelSpec{{"click"}, {-1}}, 8, DcmtOptions());
  });
  dcmt_expect_contains(roots, {"dcmt", "parent", "click"});
  EXPECT_THROW(make_model("dcmt", FunnelSpec{{"a", "b"}, {-1, -1}}, 8, json()), Error);
}

}  // namespace
}  // namespace funnel::model
