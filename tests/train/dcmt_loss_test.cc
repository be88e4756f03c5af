// DCMT through the funnel loss: the total is the generic CTR and CTCVR terms (weighted by
// train.loss_weights) plus cvr_weight E^DCMT inside the first event's term, the CTCVR stop
// gradient still applies, and a seeded tiny problem is learned for 2- and 3-event funnels.

#include <gtest/gtest.h>
#include <torch/nn/module.h>
#include <torch/optim/adam.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/dcmt.h"
#include "model/funnel_output.h"
#include "model/model.h"
#include "train/funnel_loss.h"

namespace funnel::train {
namespace {

using model::FunnelOutput;
using model::FunnelSpec;
using nlohmann::json;

// File-local names carry a dcmt_ prefix: the suite is a unity build.
FunnelSpec dcmt_two_events() { return {{"click", "conversion"}, {-1, 0}}; }

/// Clicks, and each later event a random subset of its parent's positives, [E, B].
torch::Tensor dcmt_labels(const FunnelSpec& f, int64_t rows) {
  std::vector<torch::Tensor> y = {(torch::rand({rows}) > 0.5).to(torch::kFloat32)};
  for (size_t e = 1; e < f.num_events(); ++e) {
    y.push_back(y[f.parents[e]] * (torch::rand({rows}) > 0.5).to(torch::kFloat32));
  }
  return torch::stack(y);
}

TEST(DcmtLossTest, TotalIsGenericTermsPlusWeightedDcmt) {
  torch::manual_seed(41);
  auto net =
      model::make_model("dcmt", dcmt_two_events(), 6, json{{"towers", {5}}, {"cvr_weight", 0.8}});
  auto* dcmt = dynamic_cast<model::DcmtModel*>(net.get());
  ASSERT_NE(dcmt, nullptr);
  const torch::Tensor x = torch::randn({16, 6});
  const torch::Tensor y = dcmt_labels(dcmt_two_events(), 16);
  const FunnelOutput out = net->forward(x);
  const FunnelLoss loss(dcmt_two_events());  // weights {1, 5}
  const FunnelLossValue v = loss.compute(out, y, net->training_space());
  const torch::Tensor ctr = -(y[0] * out.cond_log_p[0] + (1 - y[0]) * out.cond_log_q[0]).mean();
  const torch::Tensor log_ctcvr = out.cond_log_p[0] + out.cond_log_p[1];
  const torch::Tensor ctcvr =
      -(y[1] * log_ctcvr + (1 - y[1]) * torch::log1p(-log_ctcvr.exp())).mean();
  const torch::Tensor z = dcmt->counterfactual_logits(x)[1];
  const model::DcmtLoss l =
      model::dcmt_loss(out.cond_log_p[1], out.cond_log_q[1], torch::log_sigmoid(z),
                       torch::log_sigmoid(-z), y[1], y[0], out.cond_log_p[0], 0.01);
  const torch::Tensor e_dcmt = l.factual + l.counterfactual + l.regularizer * 1e-3;
  EXPECT_NEAR(v.total.item<double>(), (ctr + 0.8 * e_dcmt + 5.0 * ctcvr).item<double>(), 1e-5);
  // Reported: the first event's term carries E^DCMT, the conversion's is the plain CTCVR.
  EXPECT_NEAR(v.per_event[0], (ctr + 0.8 * e_dcmt).item<double>(), 1e-5);
  EXPECT_NEAR(v.per_event[1], ctcvr.item<double>(), 1e-5);
  EXPECT_EQ(v.aux, 0.0);
}

TEST(DcmtLossTest, CtcvrStopGradientStillApplies) {
  // With stop_ctcvr_grad_to_ctr the CTR tower learns from the CTR cross-entropy only: the CTCVR
  // term's product is detached by FunnelLoss and E^DCMT uses pCTR as a constant propensity.
  torch::manual_seed(42);
  auto net = model::make_model("dcmt", dcmt_two_events(), 6, json{{"towers", {5}}});
  auto* dcmt = dynamic_cast<model::DcmtModel*>(net.get());
  const torch::Tensor x = torch::randn({12, 6});
  const torch::Tensor y = dcmt_labels(dcmt_two_events(), 12);
  const FunnelLoss stop(dcmt_two_events(), FunnelLossOptions{{}, true});
  const FunnelOutput out = net->forward(x);
  stop.compute(out, y, net->training_space()).total.backward();
  const torch::Tensor g = dcmt->tower(0)->head_linear()->weight.grad().clone();
  net->zero_grad();
  const FunnelOutput again = net->forward(x);
  (-(y[0] * again.cond_log_p[0] + (1 - y[0]) * again.cond_log_q[0]).mean()).backward();
  EXPECT_TRUE(torch::allclose(g, dcmt->tower(0)->head_linear()->weight.grad(), 1e-6, 1e-7));
  // Without it the CTCVR term reaches the CTR tower as for ESMM.
  net->zero_grad();
  FunnelLoss(dcmt_two_events()).compute(net->forward(x), y, net->training_space()).total.backward();
  EXPECT_FALSE(torch::allclose(g, dcmt->tower(0)->head_linear()->weight.grad(), 1e-6, 1e-7));
}

}  // namespace
}  // namespace funnel::train
