// The zoo through the funnel loss: FunnelOutput::event_losses replaces generic terms (weighted,
// reported), AITM's calibrator arrives as aux, and every zoo model learns a tiny problem.

#include <gtest/gtest.h>
#include <torch/nn/module.h>
#include <torch/optim/adam.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"
#include "model/funnel_output.h"
#include "model/marginal_heads.h"
#include "model/model.h"
#include "model/multi_dr.h"
#include "train/funnel_loss.h"

namespace funnel::train {
namespace {

using model::FunnelOutput;
using model::FunnelSpec;
using model::TrainingSpace;
using nlohmann::json;

FunnelSpec two_events() { return {{"click", "conversion"}, {-1, 0}}; }
FunnelSpec esm2_graph() { return {{"click", "action", "purchase"}, {-1, 0, 0}}; }

TEST(ZooLossTest, EventLossesReplaceGenericTerms) {
  const FunnelSpec f = two_events();
  FunnelOutput out;
  const torch::Tensor z0 = torch::tensor({0.3, -1.0, 2.0}, torch::kFloat64);
  const torch::Tensor z1 = torch::tensor({-0.5, 0.2, 1.5}, torch::kFloat64).requires_grad_();
  out.add_logit(z0);
  out.add_logit(z1);
  const torch::Tensor y = torch::tensor({1.0, 0.0, 1.0, 0.0, 0.0, 1.0}).reshape({2, 3});
  const FunnelLoss loss(f, FunnelLossOptions{{1.0, 4.0}, false});
  const FunnelLossValue generic = loss.compute(out, y, TrainingSpace::kEntireSpace);

  torch::Tensor seen;
  out.event_losses = [&seen, z1](const torch::Tensor& labels) {
    seen = labels;
    return std::vector<torch::Tensor>{torch::Tensor(), (z1 * z1).sum()};
  };
  for (const auto space : {TrainingSpace::kEntireSpace, TrainingSpace::kClickSpace}) {
    const FunnelLossValue v = loss.compute(out, y, space);
    const double own = (z1 * z1).sum().item<double>();
    EXPECT_NEAR(v.per_event[1], own, 1e-12);
    // Event 0 keeps its generic term (the same in both spaces for a root).
    EXPECT_NEAR(v.per_event[0], generic.per_event[0], 1e-12);
    EXPECT_NEAR(v.total.item<double>(), generic.per_event[0] + 4.0 * own, 1e-12);
    ASSERT_TRUE(seen.defined());
    EXPECT_EQ(seen.scalar_type(), torch::kFloat64);  // converted to the output's type
    EXPECT_TRUE(torch::equal(seen, y.to(torch::kFloat64)));
  }
  out.event_losses = [](const torch::Tensor&) { return std::vector<torch::Tensor>(1); };
  EXPECT_THROW(loss.compute(out, y, TrainingSpace::kEntireSpace), Error);
}

TEST(ZooLossTest, MultiDrTotalIsCtrXentPlusWeightedDrTerms) {
  torch::manual_seed(21);
  auto net = model::make_model("multi_dr", two_events(), 6,
                               json{{"towers", {5}}, {"imputation_towers", {4}}});
  auto* dr = dynamic_cast<model::MultiDrModel*>(net.get());
  ASSERT_NE(dr, nullptr);
  const torch::Tensor x = torch::randn({16, 6});
  const torch::Tensor c = (torch::rand({16}) > 0.5).to(torch::kFloat32);
  const torch::Tensor y = torch::stack({c, c * (torch::rand({16}) > 0.5).to(torch::kFloat32)});
  const FunnelOutput out = net->forward(x);
  const FunnelLoss loss(two_events());  // weights {1, 5}
  const FunnelLossValue v = loss.compute(out, y, net->training_space());
  const torch::Tensor ctr = -(y[0] * out.cond_log_p[0] + (1 - y[0]) * out.cond_log_q[0]).mean();
  const model::DoublyRobustLoss l = model::doubly_robust_loss(
      out.cond_log_p[1], out.cond_log_q[1], y[1], y[0], out.cond_log_p[0].exp(),
      torch::softplus(dr->imputation(1)(x)), 0.01);
  EXPECT_NEAR(v.total.item<double>(), (ctr + 5.0 * (l.dr + l.imputation)).item<double>(), 1e-5);
}

TEST(ZooLossTest, MarginalHeadsAreTrainedByTheirOwnCrossEntropy) {
  // AITM / DBMTL: each head's gradient is xent(sigmoid(z_e), y_e)'s, sigmoid(z_e) - y_e, also
  // on rows where the reported P(e) is capped at P(parent) (z1 > z0 in rows 0, 1, 3) and the
  // label is negative (the row a capped generic term trained ~P(parent)/yhat too weakly).
  const torch::Tensor z0 = torch::tensor({-3.0, -1.0, 2.0, -2.5}, torch::kFloat64).requires_grad_();
  const torch::Tensor z1 = torch::tensor({0.0, 1.0, -4.0, -2.0}, torch::kFloat64).requires_grad_();
  const torch::Tensor y = torch::tensor({0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0}).reshape({2, 4});
  const FunnelOutput out = model::output_from_marginal_logits({z0, z1}, {-1, 0});
  const FunnelLoss loss(two_events(), FunnelLossOptions{{1.0, 5.0}, false});
  loss.compute(out, y, TrainingSpace::kEntireSpace).total.backward();
  for (int64_t b = 0; b < 4; ++b) {
    const double s0 = 1 / (1 + std::exp(-z0[b].item<double>()));
    const double s1 = 1 / (1 + std::exp(-z1[b].item<double>()));
    EXPECT_NEAR(z0.grad()[b].item<double>(), (s0 - y[0][b].item<double>()) / 4, 1e-12) << b;
    EXPECT_NEAR(z1.grad()[b].item<double>(), 5.0 * (s1 - y[1][b].item<double>()) / 4, 1e-12) << b;
  }
}

/// Entire-space loss of `name` over 60 Adam steps on a separable problem.
std::vector<double> train_losses(const std::string& name, const FunnelSpec& funnel, int steps) {
  torch::manual_seed(11);
  const torch::Tensor x = torch::randn({256, 6});
  const torch::Tensor click = (x.select(1, 0) + x.select(1, 1) > 0).to(torch::kFloat32);
  const torch::Tensor mid = click * (x.select(1, 2) > 0).to(torch::kFloat32);
  std::vector<torch::Tensor> labels = {click, mid};
  if (funnel.num_events() == 3) {
    // ESM2: purchase after the action mostly, sometimes without it.
    labels.push_back(click * (x.select(1, 3) + 2 * mid - 1 > 0).to(torch::kFloat32));
  }
  const torch::Tensor y = torch::stack(labels);
  json options = {{"towers", {16, 8}}};
  if (name == "mmoe") options = {{"experts", {16}}, {"towers", {8}}};
  if (name == "ple") options = {{"experts", {16}}, {"towers", {8}}};
  if (name == "dbmtl") options = {{"bottom", {16}}, {"towers", {8}}, {"relation", {8}}};
  if (name == "taml") options = {{"experts", {16}}, {"learner_towers", {8}}};
  if (name == "escm2_dr") options = {{"towers", {16, 8}}, {"imputation_towers", {8}}};
  auto net = model::make_model(name, funnel, 6, options);
  const FunnelLoss loss(funnel);
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(0.01));
  std::vector<double> losses;
  for (int s = 0; s < steps; ++s) {
    adam.zero_grad();
    const FunnelLossValue v = loss.compute(net->forward(x), y, net->training_space());
    v.total.backward();
    adam.step();
    losses.push_back(v.total.item<double>());
  }
  return losses;
}

TEST(ZooLossTest, EveryZooModelLearnsATinyProblem) {
  torch::set_num_threads(1);
  for (const std::string name : {"esm2", "mmoe", "ple", "aitm", "dbmtl", "multi_dr", "dnn_os",
                                 "taml", "escm2_ips", "escm2_dr", "dcmt"}) {
    const FunnelSpec funnel = name == "esm2" ? esm2_graph() : two_events();
    const std::vector<double> losses = train_losses(name, funnel, 60);
    for (double l : losses) ASSERT_TRUE(std::isfinite(l)) << name;
    EXPECT_LT(losses.back(), 0.5 * losses.front())
        << name << ": " << losses.front() << " -> " << losses.back();
    EXPECT_EQ(train_losses(name, funnel, 60), losses) << name;  // seeded: bit-identical
  }
}

}  // namespace
}  // namespace funnel::train
