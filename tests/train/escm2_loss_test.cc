// ESCM2 through the funnel loss: the total is w_0 (L_CTR + lambda_c R_cf) + w_conv L_CTCVR with
// the generic CTCVR term kept (unlike Multi-DR), stop_ctcvr_grad_to_ctr still applies, and both
// variants learn a tiny problem, bit-identically on a seeded rerun.

#include <gtest/gtest.h>
#include <torch/nn/module.h>
#include <torch/optim/adam.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/escm2.h"
#include "model/funnel_output.h"
#include "model/model.h"
#include "train/funnel_loss.h"

namespace funnel::train {
namespace {

using model::FunnelOutput;
using model::FunnelSpec;
using nlohmann::json;

FunnelSpec escm2_click_conversion() { return {{"click", "conversion"}, {-1, 0}}; }

std::vector<double> escm2_doubles_of(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

/// Seeded labels: clicks, conversions only on clicks.
torch::Tensor escm2_click_conversion_labels(int64_t rows) {
  const torch::Tensor c = (torch::rand({rows}) > 0.5).to(torch::kFloat64);
  return torch::stack({c, c * (torch::rand({rows}) > 0.5).to(torch::kFloat64)});
}

TEST(Escm2LossTest, TotalKeepsTheCtcvrTermAndAddsTheWeightedRisk) {
  const double lambda = 0.3, floor = 0.05;
  for (const std::string name : {"escm2_ips", "escm2_dr"}) {
    for (const std::vector<double>& w : {std::vector<double>{}, std::vector<double>{2.0, 0.5}}) {
      torch::manual_seed(31);
      auto net = model::make_model(name, escm2_click_conversion(), 6,
                                   json{{"towers", {5}},
                                        {"imputation_towers", {4}},
                                        {"counterfactual_weight", lambda},
                                        {"min_propensity", floor}});
      net->to(torch::kFloat64);
      const torch::Tensor x = torch::randn({24, 6}, torch::kFloat64);
      const torch::Tensor y = escm2_click_conversion_labels(24);
      const FunnelOutput out = net->forward(x);
      const FunnelLoss loss(escm2_click_conversion(), FunnelLossOptions{w, false});
      const FunnelLossValue v = loss.compute(out, y, net->training_space());

      // By hand, per row: CTR xent, CTCVR xent of pCTR pCVR, the IPS / DR risk.
      const std::vector<double> ctr = escm2_doubles_of(out.cond_log_p[0].exp());
      const std::vector<double> cvr = escm2_doubles_of(out.cond_log_p[1].exp());
      const std::vector<double> click = escm2_doubles_of(y[0]), conv = escm2_doubles_of(y[1]);
      std::vector<double> ehat(ctr.size(), 0.0);
      if (name == "escm2_dr") {
        auto* dr = dynamic_cast<model::Escm2DrModel*>(net.get());
        ASSERT_NE(dr, nullptr);
        ehat = escm2_doubles_of(torch::softplus(dr->imputation(1)(x)));
      }
      const auto xent = [](double p, double l) {
        return -(l * std::log(p) + (1 - l) * std::log(1 - p));
      };
      double l_ctr = 0, l_ctcvr = 0, risk = 0;
      const double n = static_cast<double>(ctr.size());
      for (size_t b = 0; b < ctr.size(); ++b) {
        l_ctr += xent(ctr[b], click[b]) / n;
        l_ctcvr += xent(ctr[b] * cvr[b], conv[b]) / n;
        const double e = xent(cvr[b], conv[b]), phat = std::max(ctr[b], floor);
        risk += (name == "escm2_ips" ? click[b] * e / phat
                                     : ehat[b] + click[b] * (e - ehat[b]) / phat +
                                           click[b] * (ehat[b] - e) * (ehat[b] - e) / phat) /
                n;
      }
      const double w0 = w.empty() ? 1.0 : w[0], w1 = w.empty() ? 5.0 : w[1];
      EXPECT_NEAR(v.per_event[0], l_ctr + lambda * risk, 1e-10) << name;
      EXPECT_NEAR(v.per_event[1], l_ctcvr, 1e-10) << name << ": the generic CTCVR term";
      EXPECT_NEAR(v.total.item<double>(), w0 * (l_ctr + lambda * risk) + w1 * l_ctcvr, 1e-10)
          << name;
      EXPECT_EQ(v.aux, 0.0);
    }
  }
}

/// Gradient of `loss` w.r.t. the CTR tower's parameters, flattened.
torch::Tensor escm2_ctr_tower_grad(model::FunnelModel& net, const torch::Tensor& loss) {
  net.zero_grad();
  loss.backward();
  std::vector<torch::Tensor> g;
  for (const auto& p : net.named_parameters()) {
    if (p.key().rfind("tower0.", 0) == 0) g.push_back(p.value().grad().flatten().clone());
  }
  return torch::cat(g);
}

TEST(Escm2LossTest, StopCtcvrGradToCtrStillApplies) {
  // With the propensity detached and the CTCVR gradient stopped at pCTR, the CTR tower learns
  // from w_0 L_CTR only; without the stop the CTCVR term reaches it.
  for (const std::string name : {"escm2_ips", "escm2_dr"}) {
    torch::manual_seed(37);
    auto net = model::make_model(name, escm2_click_conversion(), 5,
                                 json{{"towers", {6}}, {"imputation_towers", {4}}});
    net->to(torch::kFloat64);
    const torch::Tensor x = torch::randn({20, 5}, torch::kFloat64);
    const torch::Tensor y = escm2_click_conversion_labels(20);
    const auto total = [&](bool stop) {
      const FunnelLoss loss(escm2_click_conversion(), FunnelLossOptions{{}, stop});
      return loss.compute(net->forward(x), y, net->training_space()).total;
    };
    const torch::Tensor stopped = escm2_ctr_tower_grad(*net, total(true));
    const torch::Tensor full = escm2_ctr_tower_grad(*net, total(false));
    const FunnelOutput out = net->forward(x);
    const torch::Tensor ctr_xent =
        -(y[0] * out.cond_log_p[0] + (1 - y[0]) * out.cond_log_q[0]).mean();
    const torch::Tensor own = escm2_ctr_tower_grad(*net, ctr_xent);
    EXPECT_LT((stopped - own).abs().max().item<double>(), 1e-12) << name;
    EXPECT_GT((full - own).abs().max().item<double>(), 1e-6) << name;
  }
}

}  // namespace
}  // namespace funnel::train
