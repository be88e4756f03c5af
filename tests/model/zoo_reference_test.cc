// Reference properties of the zoo: MMoE with one expert is Shared-Bottom, PLE without task
// experts is MMoE, AITM's attention is softmax(q.k / sqrt(d)) by hand, ESM2's composed pCVR is
// y2 y3 + (1 - y2) y4, the doubly robust loss equals its formula, DNN-OS's weights equal
// duplicated positives, marginal heads have the heads' own cross-entropy gradient.

#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/aitm.h"
#include "model/blocks/attention.h"
#include "model/dbmtl.h"
#include "model/dnn_os.h"
#include "model/esm2.h"
#include "model/marginal_heads.h"
#include "model/mmoe.h"
#include "model/multi_dr.h"
#include "model/ple.h"
#include "model/shared_bottom.h"
#include "funnels.h"

namespace funnel::model {
namespace {

using nlohmann::json;

using testing::chain;
using testing::esm2_graph;
using testing::two_events;

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

/// Copies every parameter of `src` into the parameter of `dst` with the same name.
void copy_parameters(torch::nn::Module& dst, const torch::nn::Module& src) {
  torch::NoGradGuard no_grad;
  auto d = dst.named_parameters();
  const auto s = src.named_parameters();
  ASSERT_EQ(d.size(), s.size());
  for (const auto& item : s) {
    ASSERT_TRUE(d.contains(item.key())) << item.key();
    d[item.key()].copy_(item.value());
  }
}

TEST(ZooReferenceTest, MmoeWithOneExpertIsSharedBottom) {
  torch::manual_seed(5);
  SharedBottomModel sb(chain(), 10, SharedBottomOptions{{12, 6}, {4}});
  MmoeOptions o;
  o.num_experts = 1;
  o.experts = {12, 6};
  o.towers = {4};
  MmoeModel mmoe(chain(), 10, o);
  copy_parameters(*mmoe.experts()->expert(0), *sb.bottom());
  for (size_t e = 0; e < 3; ++e) copy_parameters(*mmoe.tower(e), *sb.tower(e));
  const torch::Tensor x = torch::randn({17, 10});
  // One expert: the softmax gate is the constant 1 whatever its weights.
  EXPECT_TRUE(torch::equal(mmoe.gate(1)->weights(x), torch::ones({17, 1})));
  const FunnelOutput a = sb.forward(x), b = mmoe.forward(x);
  for (size_t e = 0; e < 3; ++e) {
    EXPECT_TRUE(torch::allclose(a.cond_log_p[e], b.cond_log_p[e], 1e-6, 1e-7)) << e;
    EXPECT_TRUE(torch::allclose(a.cond_log_q[e], b.cond_log_q[e], 1e-6, 1e-7)) << e;
  }
  // With two experts the gate matters: not the same model any more.
  o.num_experts = 2;
  MmoeModel two(chain(), 10, o);
  copy_parameters(*two.experts()->expert(0), *sb.bottom());
  for (size_t e = 0; e < 3; ++e) copy_parameters(*two.tower(e), *sb.tower(e));
  EXPECT_FALSE(torch::allclose(a.cond_log_p[2], two.forward(x).cond_log_p[2]));
}

TEST(ZooReferenceTest, PleWithoutTaskExpertsIsMmoe) {
  torch::manual_seed(6);
  MmoeOptions m;
  m.num_experts = 3;
  m.experts = {9, 5};
  m.towers = {4};
  MmoeModel mmoe(esm2_graph(), 8, m);
  PleOptions p;
  p.levels = 1;
  p.shared_experts = 3;
  p.task_experts = 0;
  p.experts = {9, 5};
  p.towers = {4};
  PleModel ple(esm2_graph(), 8, p);
  EXPECT_FALSE(ple.level(0)->shared_gate());  // the last level has no shared output
  copy_parameters(*ple.level(0)->shared_experts(), *mmoe.experts());
  for (size_t e = 0; e < 3; ++e) {
    copy_parameters(*ple.level(0)->task_gate(e), *mmoe.gate(e));
    copy_parameters(*ple.tower(e), *mmoe.tower(e));
  }
  const torch::Tensor x = torch::randn({21, 8});
  const FunnelOutput a = mmoe.forward(x), b = ple.forward(x);
  for (size_t e = 0; e < 3; ++e) {
    EXPECT_TRUE(torch::allclose(a.cond_log_p[e], b.cond_log_p[e], 1e-6, 1e-7)) << e;
  }
}

TEST(ZooReferenceTest, PleLevelsAndGatesHaveTheirShapes) {
  torch::manual_seed(7);
  PleOptions p;
  p.levels = 3;
  p.shared_experts = 2;
  p.task_experts = 2;
  p.experts = {6};
  p.towers = {3};
  PleModel ple(chain(), 5, p);
  EXPECT_EQ(ple.level(0)->task_gate(1)->num_experts(), 4);       // own 2 + shared 2
  EXPECT_EQ(ple.level(1)->shared_gate()->num_experts(), 3 * 2 + 2);  // every expert
  EXPECT_FALSE(ple.level(2)->shared_gate());
  EXPECT_EQ(ple.level(1)->shared_experts()->expert(0)->input_dim(), 6);
  // Event 0's output depends on event 2's experts only through the shared path of level 1.
  const FunnelOutput out = ple.forward(torch::randn({4, 5}));
  out.cond_log_p[0].sum().backward();
  EXPECT_GT(ple.level(0)->task_experts(2)->expert(0)->linear(0)->weight.grad().abs().sum()
                .item<double>(),
            0.0);
  EXPECT_FALSE(ple.level(2)->task_experts(2)->expert(0)->linear(0)->weight.grad().defined());
}

TEST(ZooReferenceTest, AttentionWeightsAreSoftmaxOfScaledQueryKey) {
  torch::manual_seed(8);
  const int64_t B = 5, n = 2, in = 6, d = 4;
  Attention att(in, d);
  const torch::Tensor u = torch::randn({B, n, in});
  const AttentionResult r = att->forward(u);
  ASSERT_EQ(r.weights.sizes(), (std::vector<int64_t>{B, n}));
  ASSERT_EQ(r.output.sizes(), (std::vector<int64_t>{B, d}));
  const auto W = [](torch::nn::Linear& l) { return l->weight.to(torch::kFloat64); };
  const auto bias = [](torch::nn::Linear& l) { return l->bias.to(torch::kFloat64); };
  const auto Wq = W(att->query()), Wk = W(att->key()), Wv = W(att->value());
  const auto bq = bias(att->query()), bk = bias(att->key()), bv = bias(att->value());
  const auto U = u.to(torch::kFloat64);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> score(n);
    std::vector<std::vector<double>> value(n, std::vector<double>(d));
    for (int64_t i = 0; i < n; ++i) {
      double dot = 0;
      for (int64_t k = 0; k < d; ++k) {
        double q = bq[k].item<double>(), kk = bk[k].item<double>(), v = bv[k].item<double>();
        for (int64_t j = 0; j < in; ++j) {
          const double x = U[b][i][j].item<double>();
          q += Wq[k][j].item<double>() * x;
          kk += Wk[k][j].item<double>() * x;
          v += Wv[k][j].item<double>() * x;
        }
        dot += q * kk;
        value[i][k] = v;
      }
      score[i] = dot / std::sqrt(static_cast<double>(d));
    }
    double norm = 0;
    for (int64_t i = 0; i < n; ++i) norm += std::exp(score[i]);
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_NEAR(r.weights[b][i].item<double>(), std::exp(score[i]) / norm, 1e-5);
    }
    for (int64_t k = 0; k < d; ++k) {
      double z = 0;
      for (int64_t i = 0; i < n; ++i) z += std::exp(score[i]) / norm * value[i][k];
      EXPECT_NEAR(r.output[b][k].item<double>(), z, 1e-5);
    }
  }
}

TEST(ZooReferenceTest, AitmUsesItsAttentionAndCalibrator) {
  torch::manual_seed(9);
  AitmOptions o;
  o.towers = {8, 4};
  o.calibration_weight = 0.7;
  AitmModel model(chain(), 6, o);
  const torch::Tensor x = torch::randn({13, 6});
  const AitmForward r = model.forward_detailed(x);
  EXPECT_FALSE(r.attention_weights[0].defined());
  for (size_t e = 1; e < 3; ++e) {
    ASSERT_EQ(r.attention_inputs[e].sizes(), (std::vector<int64_t>{13, 2, 4}));
    auto& a = model.attention(e);
    const torch::Tensor u = r.attention_inputs[e];
    const torch::Tensor q = torch::matmul(u, a->query()->weight.t()) + a->query()->bias;
    const torch::Tensor k = torch::matmul(u, a->key()->weight.t()) + a->key()->bias;
    const torch::Tensor expected = torch::softmax((q * k).sum(-1) / std::sqrt(4.0), 1);
    EXPECT_TRUE(torch::allclose(r.attention_weights[e], expected, 1e-5, 1e-6)) << e;
  }
  // Calibrator: 0.7 * sum_e mean max(yhat_e - yhat_parent, 0).
  const FunnelOutput out = model.forward(x);
  double penalty = 0;
  for (size_t e = 1; e < 3; ++e) {
    double sum = 0;
    for (int64_t b = 0; b < 13; ++b) {
      sum += std::max(sigmoid(r.logits[e][b].item<double>()) -
                          sigmoid(r.logits[e - 1][b].item<double>()),
                      0.0);
    }
    penalty += sum / 13;
  }
  EXPECT_NEAR(out.aux_loss.item<double>(), 0.7 * penalty, 1e-6);
  // pCVR = pCTCVR / pCTR, capped at 1.
  for (int64_t b = 0; b < 13; ++b) {
    const double ratio =
        sigmoid(r.logits[1][b].item<double>()) / sigmoid(r.logits[0][b].item<double>());
    EXPECT_NEAR(out.cond_log_p[1][b].exp().item<double>(), std::min(ratio, 1.0), 1e-5);
  }
}

TEST(ZooReferenceTest, MarginalHeadsHaveTheHeadsOwnGradient) {
  const torch::Tensor z0 = torch::tensor({0.5, -1.0, 2.0, 0.0}, torch::kFloat64).requires_grad_();
  const torch::Tensor z1 = torch::tensor({-2.0, 1.0, 3.0, 0.0}, torch::kFloat64).requires_grad_();
  const FunnelOutput out = output_from_marginal_logits({z0, z1}, {-1, 0});
  const auto log_p = entire_space_log_p(out, {-1, 0});
  for (int64_t b = 0; b < 4; ++b) {
    const double p0 = sigmoid(z0[b].item<double>()), p1 = sigmoid(z1[b].item<double>());
    EXPECT_NEAR(log_p[1][b].exp().item<double>(), std::min(p1, p0), 1e-12);
  }
  // d log P(e) / d z_e = d log sigmoid(z_e) = 1 - sigmoid(z_e), nothing into z_parent.
  log_p[1].sum().backward();
  for (int64_t b = 0; b < 4; ++b) {
    EXPECT_NEAR(z1.grad()[b].item<double>(), 1 - sigmoid(z1[b].item<double>()), 1e-12);
    EXPECT_NEAR(z0.grad()[b].item<double>(), 0.0, 1e-12);
  }
}

TEST(ZooReferenceTest, DbmtlConditionsOnTheParent) {
  torch::manual_seed(10);
  DbmtlOptions o;
  o.bottom = {8};
  o.towers = {5};
  o.relation = {3};
  DbmtlModel model(chain(), 6, o);
  EXPECT_EQ(model.relation(1)->mlp()->input_dim(), 5 + 3);
  EXPECT_EQ(model.relation(0)->mlp()->input_dim(), 5);
  const auto z = model.logits(torch::randn({7, 6}));
  z[2].sum().backward();
  // The conversion's logit reaches the click's and arrival's relation networks...
  EXPECT_GT(model.relation(0)->mlp()->linear(0)->weight.grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(model.relation(1)->mlp()->linear(0)->weight.grad().abs().sum().item<double>(), 0.0);
  // ...but not their heads.
  EXPECT_FALSE(model.relation(0)->head_linear()->weight.grad().defined());
}

TEST(ZooReferenceTest, Esm2ComposesPcvrFromFourSubNetworks) {
  torch::manual_seed(12);
  Esm2Model model(esm2_graph(), 7, EsmmOptions{{6, 3}});
  const torch::Tensor x = torch::randn({19, 7}) * 2;
  const auto z = model.sub_logits(x);
  ASSERT_EQ(z.size(), 4u);
  const FunnelOutput out = model.forward(x);
  for (int64_t b = 0; b < 19; ++b) {
    const double y1 = sigmoid(z[0][b].item<double>()), y2 = sigmoid(z[1][b].item<double>()),
                 y3 = sigmoid(z[2][b].item<double>()), y4 = sigmoid(z[3][b].item<double>());
    EXPECT_NEAR(out.cond_log_p[0][b].exp().item<double>(), y1, 1e-6);
    EXPECT_NEAR(out.cond_log_p[1][b].exp().item<double>(), y2, 1e-6);
    // ESM2 eq. 3: pCVR = y2 y3 + (1 - y2) y4; eq. 4: pCTCVR = y1 pCVR.
    const double cvr = y2 * y3 + (1 - y2) * y4;
    EXPECT_NEAR(out.cond_log_p[2][b].exp().item<double>(), cvr, 1e-6);
    EXPECT_NEAR(out.cond_log_q[2][b].exp().item<double>(), 1 - cvr, 1e-6);
    const auto log_p = entire_space_log_p(out, {-1, 0, 0});
    EXPECT_NEAR(log_p[2][b].exp().item<double>(), y1 * cvr, 1e-6);
    EXPECT_NEAR(log_p[1][b].exp().item<double>(), y1 * y2, 1e-6);  // eq. 2: pCTAVR
  }
  // Far outside float's product range the logs stay exact: log(y2 y3) with both tiny.
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < 4; ++k) {
    model.tower(k)->head_linear()->weight.zero_();
    model.tower(k)->head_linear()->bias.fill_(k == 1 ? 0.0 : -60.0);
  }
  const FunnelOutput tiny = model.forward(x);
  // log(0.5 e^-60 + 0.5 e^-60) = -60 (to float precision).
  EXPECT_NEAR(tiny.cond_log_p[2][0].item<double>(), -60.0, 1e-4);
  EXPECT_TRUE(torch::isfinite(tiny.cond_log_q[2]).all().item<bool>());
}

TEST(ZooReferenceTest, DoublyRobustLossEqualsItsFormula) {
  // Four rows by hand: pCVR, label, clicked, pCTR, imputed error.
  const std::vector<double> p = {0.2, 0.7, 0.4, 0.9}, y = {0, 1, 0, 1}, o = {1, 1, 0, 1},
                            ctr = {0.5, 0.004, 0.3, 0.8}, ehat = {0.3, 0.1, 0.6, 0.05};
  const double floor = 0.01;
  const auto T = [](const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64); };
  const torch::Tensor logit = torch::log(T(p) / (1 - T(p))).requires_grad_();
  const torch::Tensor imputed = T(ehat).requires_grad_();
  const torch::Tensor propensity = T(ctr).requires_grad_();
  const DoublyRobustLoss l =
      doubly_robust_loss(torch::log_sigmoid(logit), torch::log_sigmoid(-logit), T(y), T(o),
                         propensity, imputed, floor);
  double dr = 0, imp = 0;
  for (size_t b = 0; b < 4; ++b) {
    const double e = -(y[b] * std::log(p[b]) + (1 - y[b]) * std::log(1 - p[b]));
    const double phat = std::max(ctr[b], floor);  // row 1: 0.004 -> 0.01
    dr += ehat[b] + o[b] * (e - ehat[b]) / phat;
    imp += o[b] * (ehat[b] - e) * (ehat[b] - e) / phat;
  }
  EXPECT_NEAR(l.dr.item<double>(), dr / 4, 1e-12);
  EXPECT_NEAR(l.imputation.item<double>(), imp / 4, 1e-12);
  // L_DR trains the CVR tower only, L_imp the imputation tower only; no gradient into pCTR.
  l.dr.backward();
  EXPECT_FALSE(imputed.grad().defined());
  EXPECT_FALSE(propensity.grad().defined());
  // d L_DR / d z_b = o_b / phat_b (sigmoid(z_b) - y_b) / 4.
  for (size_t b = 0; b < 4; ++b) {
    EXPECT_NEAR(logit.grad()[b].item<double>(), o[b] / std::max(ctr[b], floor) * (p[b] - y[b]) / 4,
                1e-12);
  }
  const torch::Tensor g = logit.grad().clone();
  l.imputation.backward();
  EXPECT_TRUE(torch::equal(logit.grad(), g));
  EXPECT_TRUE(imputed.grad().defined());
}

TEST(ZooReferenceTest, MultiDrEventLossUsesPctrAsPropensity) {
  torch::manual_seed(13);
  MultiDrOptions opt;
  opt.towers = {5};
  opt.imputation_towers = {4};
  opt.imputation_weight = 0.5;
  MultiDrModel model(two_events(), 6, opt);
  const torch::Tensor x = torch::randn({11, 6});
  const torch::Tensor click = (torch::rand({11}) > 0.4).to(torch::kFloat32);
  const torch::Tensor y = torch::stack({click, click * (torch::rand({11}) > 0.5)});
  const FunnelOutput out = model.forward(x);
  const auto terms = out.event_losses(y);
  ASSERT_EQ(terms.size(), 2u);
  EXPECT_FALSE(terms[0].defined());  // the CTR tower keeps the generic cross-entropy
  const torch::Tensor ehat = torch::softplus(model.imputation(1)(x));
  const DoublyRobustLoss l = doubly_robust_loss(out.cond_log_p[1], out.cond_log_q[1], y[1], y[0],
                                                out.cond_log_p[0].exp(), ehat, 0.01);
  EXPECT_NEAR(terms[1].item<double>(), (l.dr + 0.5 * l.imputation).item<double>(), 1e-6);
}

TEST(ZooReferenceTest, DnnOsWeightsEqualDuplicatedPositives) {
  torch::manual_seed(14);
  DnnOsOptions opt;
  opt.towers.towers = {6};
  opt.oversample = 3;
  DnnOsModel model(chain(), 5, opt);
  const int64_t B = 24;
  const torch::Tensor x = torch::randn({B, 5});
  const torch::Tensor c = (torch::rand({B}) > 0.3).to(torch::kFloat32);
  const torch::Tensor a = c * (torch::rand({B}) > 0.3).to(torch::kFloat32);
  const torch::Tensor v = a * (torch::rand({B}) > 0.5).to(torch::kFloat32);
  const torch::Tensor y = torch::stack({c, a, v});
  ASSERT_GT(v.sum().item<double>(), 0);
  // The batch with every converted row repeated 3 times.
  std::vector<int64_t> rows;
  for (int64_t b = 0; b < B; ++b) {
    for (int k = 0; k < (v[b].item<float>() > 0.5f ? 3 : 1); ++k) rows.push_back(b);
  }
  const torch::Tensor idx = torch::tensor(rows);
  const FunnelOutput dup = model.forward(x.index_select(0, idx));
  const torch::Tensor ydup = y.index_select(1, idx);
  const auto terms = model.forward(x).event_losses(y);
  const std::vector<int> parents = {-1, 0, 1};
  for (size_t e = 0; e < 3; ++e) {
    const torch::Tensor nll =
        -(ydup[e] * dup.cond_log_p[e] + (1 - ydup[e]) * dup.cond_log_q[e]);
    const torch::Tensor mask =
        parents[e] < 0 ? torch::ones_like(nll) : (ydup[parents[e]] > 0.5).to(torch::kFloat32);
    const double expected = ((nll * mask).sum() / mask.sum()).item<double>();
    EXPECT_NEAR(terms[e].item<double>(), expected, 1e-5) << e;
  }
}

}  // namespace
}  // namespace funnel::model
