// ESCM2 (escm2_ips, escm2_dr): the IPS and DR counterfactual risks against their formulas in
// plain double arithmetic (propensity floor, gradients with and without the detached
// propensity), the models' event terms on 2- and 3-event funnels, no CTR-tower gradient from the
// risk when detached, output shapes and probabilities, strict options.

#include "model/escm2.h"

#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "../common/error_of.h"
#include "core/error.h"
#include "funnels.h"
#include "model/funnel_output.h"
#include "model/model.h"

namespace funnel::model {
namespace {

using funnel::testing::error_of;
using nlohmann::json;
using testing::chain;
using testing::esm2_graph;
using testing::two_events;

torch::Tensor escm2_doubles(const std::vector<double>& v) {
  return torch::tensor(v, torch::kFloat64);
}

std::vector<double> escm2_values(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

double escm2_xent(double p, double y) { return -(y * std::log(p) + (1 - y) * std::log(1 - p)); }

// A batch by hand: pCVR, label, clicked, pCTR (row 1 below the floor), imputed error.
const std::vector<double> kCvr = {0.2, 0.7, 0.4, 0.9}, kConv = {0, 1, 0, 1}, kClick = {1, 1, 0, 1},
                          kCtr = {0.5, 0.004, 0.3, 0.8}, kEhat = {0.3, 0.1, 0.6, 0.05};
constexpr double kFloor = 0.01;

TEST(Escm2Test, IpsRiskEqualsItsFormula) {
  double risk = 0;
  for (size_t b = 0; b < 4; ++b) {
    risk += kClick[b] * escm2_xent(kCvr[b], kConv[b]) / std::max(kCtr[b], kFloor);
  }
  risk /= 4;
  for (const bool detach : {true, false}) {
    const torch::Tensor p = escm2_doubles(kCvr);
    const torch::Tensor logit = torch::log(p / (1 - p)).requires_grad_();
    const torch::Tensor propensity = escm2_doubles(kCtr).requires_grad_();
    const torch::Tensor r =
        escm2_ips_risk(torch::log_sigmoid(logit), torch::log_sigmoid(-logit), escm2_doubles(kConv),
                       escm2_doubles(kClick), propensity, kFloor, detach);
    EXPECT_NEAR(r.item<double>(), risk, 1e-12) << detach;
    r.backward();
    for (size_t b = 0; b < 4; ++b) {
      // d R / d z_b = o_b / phat_b (sigmoid(z_b) - y_b) / B.
      EXPECT_NEAR(logit.grad()[b].item<double>(),
                  kClick[b] / std::max(kCtr[b], kFloor) * (kCvr[b] - kConv[b]) / 4, 1e-12);
    }
    if (detach) {
      EXPECT_FALSE(propensity.grad().defined());
      continue;
    }
    // d R / d p_b = -o_b e_b / (B p_b^2) above the floor, 0 below it (row 1) and unclicked (row 2).
    const std::vector<double> g = escm2_values(propensity.grad());
    for (size_t b = 0; b < 4; ++b) {
      const double expected =
          kCtr[b] < kFloor ? 0.0
                           : -kClick[b] * escm2_xent(kCvr[b], kConv[b]) / (4 * kCtr[b] * kCtr[b]);
      EXPECT_NEAR(g[b], expected, 1e-12) << b;
    }
    EXPECT_EQ(g[1], 0.0);
    EXPECT_NE(g[0], 0.0);
  }
}

TEST(Escm2Test, DrRiskEqualsItsFormula) {
  const double w = 0.5;
  double dr = 0, imp = 0;
  for (size_t b = 0; b < 4; ++b) {
    const double e = escm2_xent(kCvr[b], kConv[b]), phat = std::max(kCtr[b], kFloor);
    dr += kEhat[b] + kClick[b] * (e - kEhat[b]) / phat;
    imp += kClick[b] * (kEhat[b] - e) * (kEhat[b] - e) / phat;
  }
  const double risk = (dr + w * imp) / 4;
  std::vector<double> values;
  for (const bool detach : {true, false}) {
    const torch::Tensor p = escm2_doubles(kCvr);
    const torch::Tensor logit = torch::log(p / (1 - p)).requires_grad_();
    const torch::Tensor propensity = escm2_doubles(kCtr).requires_grad_();
    const torch::Tensor imputed = escm2_doubles(kEhat).requires_grad_();
    const torch::Tensor r =
        escm2_dr_risk(torch::log_sigmoid(logit), torch::log_sigmoid(-logit), escm2_doubles(kConv),
                      escm2_doubles(kClick), propensity, imputed, kFloor, w, detach);
    EXPECT_NEAR(r.item<double>(), risk, 1e-12) << detach;
    values.push_back(r.item<double>());
    r.backward();
    for (size_t b = 0; b < 4; ++b) {
      const double e = escm2_xent(kCvr[b], kConv[b]), phat = std::max(kCtr[b], kFloor);
      // L_DR trains the CVR logit (ehat detached); L_imp the imputation (e detached).
      EXPECT_NEAR(logit.grad()[b].item<double>(), kClick[b] / phat * (kCvr[b] - kConv[b]) / 4,
                  1e-12);
      EXPECT_NEAR(imputed.grad()[b].item<double>(), w * 2 * kClick[b] * (kEhat[b] - e) / phat / 4,
                  1e-12);
    }
    if (detach) {
      EXPECT_FALSE(propensity.grad().defined());
      continue;
    }
    const std::vector<double> g = escm2_values(propensity.grad());
    for (size_t b = 0; b < 4; ++b) {
      const double e = escm2_xent(kCvr[b], kConv[b]);
      const double residual = (e - kEhat[b]) + w * (kEhat[b] - e) * (kEhat[b] - e);
      const double expected =
          kCtr[b] < kFloor ? 0.0 : -kClick[b] * residual / (4 * kCtr[b] * kCtr[b]);
      EXPECT_NEAR(g[b], expected, 1e-12) << b;
    }
    EXPECT_EQ(g[1], 0.0);  // floored
  }
  // The propensity path has value 0: both modes give the same number.
  EXPECT_EQ(values[0], values[1]);
}

/// The first event's ESCM2 term, L_CTR + lambda sum_e R(e), per row in double from the model's
/// probabilities; `ehat[e]` (DR) empty for IPS.
double escm2_expected_first_term(const FunnelSpec& f, const FunnelOutput& out,
                                 const torch::Tensor& y,
                                 const std::vector<std::vector<double>>& ehat, double lambda,
                                 double floor, double imputation_weight) {
  const size_t E = f.num_events();
  std::vector<std::vector<double>> cond(E), labels(E);
  for (size_t e = 0; e < E; ++e) {
    cond[e] = escm2_values(out.cond_log_p[e].exp());
    labels[e] = escm2_values(y[e]);
  }
  const size_t B = cond[0].size();
  double ctr = 0, cf = 0;
  for (size_t b = 0; b < B; ++b) {
    std::vector<double> marginal(E);
    for (size_t e = 0; e < E; ++e) {
      const int p = f.parents[e];
      marginal[e] = cond[e][b] * (p < 0 ? 1.0 : marginal[p]);
    }
    ctr += escm2_xent(cond[0][b], labels[0][b]);
    for (size_t e = 1; e < E; ++e) {
      const int p = f.parents[e];
      if (p < 0) continue;
      const double o = labels[p][b], phat = std::max(marginal[p], floor);
      const double err = escm2_xent(cond[e][b], labels[e][b]);
      if (ehat.empty()) {
        cf += o * err / phat;
      } else {
        const double h = ehat[e][b];
        cf += h + o * (err - h) / phat + imputation_weight * o * (h - err) * (h - err) / phat;
      }
    }
  }
  return ctr / B + lambda * cf / B;
}

/// Labels of a funnel: each event only where its parent happened.
torch::Tensor escm2_labels(const FunnelSpec& f, int64_t rows) {
  std::vector<torch::Tensor> y;
  for (size_t e = 0; e < f.num_events(); ++e) {
    torch::Tensor l = (torch::rand({rows}) > 0.45).to(torch::kFloat64);
    if (f.parents[e] >= 0) l = l * y[f.parents[e]];
    y.push_back(l);
  }
  return torch::stack(y);
}

TEST(Escm2Test, EventTermsAreCtrXentPlusWeightedRiskOnEveryFunnel) {
  const double lambda = 0.7, w = 0.4;
  for (const FunnelSpec& f : {two_events(), chain(), esm2_graph()}) {
    for (const std::string name : {"escm2_ips", "escm2_dr"}) {
      const auto build = [&](double floor) {
        torch::manual_seed(17);
        auto net = make_model(name, f, 6,
                              json{{"towers", {8, 4}},
                                   {"imputation_towers", {5}},
                                   {"counterfactual_weight", lambda},
                                   {"imputation_weight", w},
                                   {"min_propensity", floor}});
        net->to(torch::kFloat64);
        return net;
      };
      const torch::Tensor x = torch::randn({40, 6}, torch::kFloat64) * 3;
      const torch::Tensor y = escm2_labels(f, 40);
      // The floor at the median pCTR: half the rows floored (same seed, same weights).
      const double floor = build(0.5)->forward(x).cond_log_p[0].exp().median().item<double>();
      auto net = build(floor);
      const FunnelOutput out = net->forward(x);
      ASSERT_TRUE(static_cast<bool>(out.event_losses)) << name;
      EXPECT_FALSE(out.aux_loss.defined());
      const std::vector<torch::Tensor> terms = out.event_losses(y);
      ASSERT_EQ(terms.size(), f.num_events());
      for (size_t e = 1; e < terms.size(); ++e) {
        EXPECT_FALSE(terms[e].defined()) << name << ": the CTCVR terms stay generic";
      }
      std::vector<std::vector<double>> ehat;
      if (name == "escm2_dr") {
        auto* dr = dynamic_cast<Escm2DrModel*>(net.get());
        ASSERT_NE(dr, nullptr);
        ehat.resize(f.num_events());
        for (size_t e = 1; e < f.num_events(); ++e) {
          ehat[e] = escm2_values(torch::softplus(dr->imputation(e)(x)));
        }
      }
      // Some propensities are floored, some not.
      const torch::Tensor ctr = out.cond_log_p[0].exp();
      ASSERT_TRUE((ctr < floor).any().item<bool>() && (ctr > floor).any().item<bool>());
      EXPECT_NEAR(terms[0].item<double>(),
                  escm2_expected_first_term(f, out, y, ehat, lambda, floor, w), 1e-10)
          << name << " " << f.num_events();
    }
  }
}

/// Gradients of the CTR tower (event 0) and the CVR tower (event 1) from `loss`.
std::vector<torch::Tensor> escm2_tower_grads(FunnelModel& net, const torch::Tensor& loss,
                                             size_t e) {
  net.zero_grad();
  loss.backward();
  std::vector<torch::Tensor> g;
  const std::string prefix = "tower" + std::to_string(e) + ".";
  for (const auto& p : net.named_parameters()) {
    if (p.key().rfind(prefix, 0) == 0) {
      g.push_back(p.value().grad().defined() ? p.value().grad().clone()
                                             : torch::zeros_like(p.value()));
    }
  }
  return g;
}

double escm2_max_diff(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, (a[i] - b[i]).abs().max().item<double>());
  return d;
}

TEST(Escm2Test, DetachedPropensityGivesTheCtrTowerOnlyItsCrossEntropy) {
  for (const std::string name : {"escm2_ips", "escm2_dr"}) {
    for (const bool detach : {true, false}) {
      torch::manual_seed(23);
      auto net = make_model(name, two_events(), 5,
                            json{{"towers", {6}},
                                 {"imputation_towers", {4}},
                                 {"counterfactual_weight", 2.0},
                                 {"detach_propensity", detach}});
      net->to(torch::kFloat64);
      const torch::Tensor x = torch::randn({32, 5}, torch::kFloat64);
      const torch::Tensor y = escm2_labels(two_events(), 32);
      // One forward per backward (each backward frees its graph).
      const auto ctr_grads = escm2_tower_grads(*net, net->forward(x).event_losses(y)[0], 0);
      const auto cvr_grads = escm2_tower_grads(*net, net->forward(x).event_losses(y)[0], 1);
      // The generic CTR cross-entropy alone.
      const FunnelOutput again = net->forward(x);
      const torch::Tensor xent =
          -(y[0] * again.cond_log_p[0] + (1 - y[0]) * again.cond_log_q[0]).mean();
      const auto xent_grads = escm2_tower_grads(*net, xent, 0);
      if (detach) {
        EXPECT_LT(escm2_max_diff(ctr_grads, xent_grads), 1e-12) << name;
      } else {
        EXPECT_GT(escm2_max_diff(ctr_grads, xent_grads), 1e-6) << name;
      }
      // The risk trains the CVR tower either way.
      double cvr = 0;
      for (const auto& g : cvr_grads) cvr = std::max(cvr, g.abs().max().item<double>());
      EXPECT_GT(cvr, 1e-6) << name << " " << detach;
    }
  }
}

TEST(Escm2Test, OutputsAreProbabilitiesAndFunnelOrdered) {
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({33, 12}) * 3;
  const FunnelSpec two_roots{{"a", "b", "c"}, {-1, -1, 1}};
  for (const std::string name : {"escm2_ips", "escm2_dr"}) {
    for (const FunnelSpec& f : {two_events(), chain(), esm2_graph(), two_roots}) {
      auto net = make_model(name, f, 12,
                            json{{"towers", {8, 4}}, {"imputation_towers", {6}}, {"dropout", 0.2}});
      net->eval();
      EXPECT_EQ(net->training_space(), TrainingSpace::kEntireSpace);
      const FunnelOutput out = net->forward(x);
      ASSERT_EQ(out.num_events(), f.num_events()) << name;
      ASSERT_EQ(out.cond_log_q.size(), f.num_events());
      for (size_t e = 0; e < out.num_events(); ++e) {
        EXPECT_EQ(out.cond_log_p[e].sizes(), (std::vector<int64_t>{33})) << name;
        const torch::Tensor p = out.cond_log_p[e].exp();
        EXPECT_TRUE((p > 0).all().item<bool>() && (p < 1).all().item<bool>()) << name;
        EXPECT_TRUE(torch::allclose(p + out.cond_log_q[e].exp(), torch::ones_like(p)));
      }
      const auto log_p = entire_space_log_p(out, f.parents);
      for (size_t e = 1; e < log_p.size(); ++e) {
        if (f.parents[e] < 0) continue;
        EXPECT_TRUE((log_p[e] <= log_p[f.parents[e]]).all().item<bool>()) << name;
      }
      const torch::Tensor y = escm2_labels(f, 33).to(torch::kFloat32);
      const auto terms = out.event_losses(y);
      ASSERT_EQ(terms.size(), f.num_events());
      ASSERT_TRUE(terms[0].defined());
      EXPECT_EQ(terms[0].dim(), 0);
      EXPECT_TRUE(std::isfinite(terms[0].item<double>())) << name;
      for (size_t e = 1; e < terms.size(); ++e) EXPECT_FALSE(terms[e].defined());
    }
  }
}

TEST(Escm2Test, ModelsAreBuiltFromTheSharedTowers) {
  auto ips = make_model("escm2_ips", chain(), 7, json{{"towers", {5}}});
  auto dr = make_model("escm2_dr", chain(), 7, json{{"towers", {5}}, {"imputation_towers", {3}}});
  ASSERT_NE(dynamic_cast<EsmmModel*>(ips.get()), nullptr);
  ASSERT_NE(dynamic_cast<MultiDrModel*>(dr.get()), nullptr);
  size_t ips_imputation = 0, dr_imputation = 0, dr_towers = 0;
  for (const auto& p : ips->named_parameters()) {
    ips_imputation += p.key().find("imputation") != std::string::npos;
  }
  for (const auto& p : dr->named_parameters()) {
    dr_imputation += p.key().find("imputation") != std::string::npos;
    dr_towers += p.key().rfind("tower", 0) == 0;
  }
  EXPECT_EQ(ips_imputation, 0u);
  EXPECT_EQ(dr_towers, 3u * 4u);      // 3 towers: one hidden Linear + head, weight and bias
  EXPECT_EQ(dr_imputation, 2u * 4u);  // no imputation tower for the root
  auto* m = dynamic_cast<Escm2DrModel*>(dr.get());
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->options().imputation_towers, (std::vector<int64_t>{3}));
  EXPECT_EQ(m->escm2_options().towers, (std::vector<int64_t>{5}));
}

TEST(Escm2Test, OptionsDefaultsAndStrictParsing) {
  const Escm2Options d = Escm2Options::from_json(json());
  EXPECT_EQ(d.towers, (std::vector<int64_t>{200, 80, 20}));
  EXPECT_EQ(d.imputation_towers, (std::vector<int64_t>{200, 80, 20}));
  EXPECT_DOUBLE_EQ(d.counterfactual_weight, 0.5);
  EXPECT_DOUBLE_EQ(d.imputation_weight, 1.0);
  EXPECT_DOUBLE_EQ(d.min_propensity, 0.01);
  EXPECT_TRUE(d.detach_propensity);
  EXPECT_DOUBLE_EQ(d.dropout, 0.0);
  EXPECT_EQ(d.activation, Activation::kRelu);
  EXPECT_EQ(Escm2Options::from_json(json::object()).to_json(), d.to_json());
  EXPECT_EQ(d.to_json().size(), 8u);

  const json full = {
      {"towers", {6, 3}},         {"imputation_towers", {4}}, {"counterfactual_weight", 0.1},
      {"imputation_weight", 2.0}, {"min_propensity", 0.05},   {"detach_propensity", false},
      {"dropout", 0.1},           {"activation", "tanh"}};
  const Escm2Options o = Escm2Options::from_json(full, "x");
  EXPECT_EQ(o.towers, (std::vector<int64_t>{6, 3}));
  EXPECT_FALSE(o.detach_propensity);
  EXPECT_DOUBLE_EQ(o.counterfactual_weight, 0.1);
  EXPECT_EQ(o.to_json(), full);
  EXPECT_EQ(Escm2Options::from_json(o.to_json()).to_json(), full);

  const auto message = [](const std::string& name, const json& j) {
    return error_of([&] { parse_model_options(name, j); });
  };
  const std::vector<std::pair<json, std::string>> bad = {
      {json{{"lambda_c", 0.5}}, "lambda_c"},
      {json{{"detach_propensity", "yes"}}, "model.detach_propensity"},
      {json{{"detach_propensity", 1}}, "model.detach_propensity"},
      {json{{"counterfactual_weight", -1}}, "model.counterfactual_weight"},
      {json{{"counterfactual_weight", "0.5"}}, "model.counterfactual_weight"},
      {json{{"imputation_weight", -0.5}}, "model.imputation_weight"},
      {json{{"min_propensity", 0}}, "model.min_propensity"},
      {json{{"min_propensity", 1.5}}, "model.min_propensity"},
      {json{{"imputation_towers", {4, 0}}}, "model.imputation_towers"},
      {json{{"towers", 8}}, "model.towers"},
      {json{{"dropout", 1.0}}, "model.dropout"},
      {json{{"activation", "swish"}}, "relu, leaky_relu or tanh"},
      {json::array(), "model"}};
  for (const std::string name : {"escm2_ips", "escm2_dr"}) {
    for (const auto& [j, needle] : bad) {
      const std::string m = message(name, j);
      EXPECT_NE(m.find(needle), std::string::npos) << name << " " << j.dump() << ": " << m;
    }
    EXPECT_EQ(parse_model_options(name, full).options.to_json(), full);
    EXPECT_NO_THROW(make_model(name, two_events(), 4, json()));
  }
  // The unknown key's message lists the known ones.
  EXPECT_NE(message("escm2_ips", json{{"lambda_c", 1}}).find("counterfactual_weight"),
            std::string::npos);
}

}  // namespace
}  // namespace funnel::model
