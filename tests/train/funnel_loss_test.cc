#include "train/funnel_loss.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/nn/module.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "model/funnel_output.h"
#include "test_util.h"

namespace funnel::train {
namespace {

using testing::sigmoid;

using model::FunnelOutput;
using model::FunnelSpec;
using model::TrainingSpace;

FunnelSpec spec(std::vector<int> parents) {
  FunnelSpec s;
  for (size_t e = 0; e < parents.size(); ++e) s.events.push_back("e" + std::to_string(e));
  s.parents = std::move(parents);
  return s;
}

FunnelOutput output_of(const std::vector<torch::Tensor>& logits) {
  FunnelOutput out;
  for (const auto& l : logits) out.add_logit(l);
  return out;
}

double xent(double p, double y) { return -(y * std::log(p) + (1.0 - y) * std::log(1.0 - p)); }

/// The textbook formula in double precision: products of probabilities, then logs.
struct Naive {
  std::vector<double> per_event;
  double total = 0.0;
};

Naive naive_entire(const std::vector<std::vector<double>>& logits,
                   const std::vector<std::vector<double>>& labels, const std::vector<int>& parents,
                   const std::vector<double>& weights) {
  const size_t n = logits[0].size();
  Naive r;
  std::vector<std::vector<double>> p(logits.size(), std::vector<double>(n));
  for (size_t e = 0; e < logits.size(); ++e) {
    double sum = 0.0;
    for (size_t b = 0; b < n; ++b) {
      p[e][b] = sigmoid(logits[e][b]) * (parents[e] < 0 ? 1.0 : p[parents[e]][b]);
      sum += xent(p[e][b], labels[e][b]);
    }
    r.per_event.push_back(sum / n);
    r.total += weights[e] * sum / n;
  }
  return r;
}

Naive naive_click(const std::vector<std::vector<double>>& logits,
                  const std::vector<std::vector<double>>& labels, const std::vector<int>& parents,
                  const std::vector<double>& weights) {
  const size_t n = logits[0].size();
  Naive r;
  for (size_t e = 0; e < logits.size(); ++e) {
    double sum = 0.0;
    double count = 0.0;
    for (size_t b = 0; b < n; ++b) {
      if (parents[e] >= 0 && labels[parents[e]][b] != 1.0) continue;
      sum += xent(sigmoid(logits[e][b]), labels[e][b]);
      count += 1.0;
    }
    const double mean = count > 0 ? sum / count : 0.0;
    r.per_event.push_back(mean);
    r.total += weights[e] * mean;
  }
  return r;
}

torch::Tensor tensor_of(const std::vector<double>& v, torch::Dtype dtype = torch::kFloat64) {
  return torch::tensor(v, torch::TensorOptions().dtype(torch::kFloat64)).to(dtype);
}

torch::Tensor labels_of(const std::vector<std::vector<double>>& y) {
  std::vector<torch::Tensor> rows;
  for (const auto& r : y) rows.push_back(tensor_of(r));
  return torch::stack(rows);
}

// A hand-made batch: clicked/unclicked, converted/unconverted, and one row that converts
// without a recorded click (the formula must not care).
const std::vector<std::vector<double>> kLogits2 = {{0.3, -1.2, 2.5, -4.0, 0.0, 1.1},
                                                   {-0.7, 1.5, -2.0, 0.4, 3.0, -0.2}};
const std::vector<std::vector<double>> kLabels2 = {{1, 0, 1, 0, 1, 0}, {1, 0, 0, 0, 1, 1}};

TEST(FunnelLossTest, DefaultWeightsAreAutoHeris) {
  EXPECT_EQ(default_event_weights(1), (std::vector<double>{1}));
  EXPECT_EQ(default_event_weights(2), (std::vector<double>{1, 5}));
  EXPECT_EQ(default_event_weights(3), (std::vector<double>{1, 1, 5}));
  EXPECT_EQ(FunnelLoss(spec({-1, 0})).weights(), (std::vector<double>{1, 5}));
}

TEST(FunnelLossTest, TwoEventsEqualNaiveFormula) {
  const std::vector<int> parents = {-1, 0};
  const FunnelLoss loss(spec(parents));
  for (auto dtype : {torch::kFloat64, torch::kFloat32}) {
    const FunnelOutput out =
        output_of({tensor_of(kLogits2[0], dtype), tensor_of(kLogits2[1], dtype)});
    const FunnelLossValue v = loss.compute(out, labels_of(kLabels2), TrainingSpace::kEntireSpace);
    const Naive ref = naive_entire(kLogits2, kLabels2, parents, {1, 5});
    const double tol = dtype == torch::kFloat64 ? 1e-12 : 2e-6;
    EXPECT_NEAR(v.total.item<double>(), ref.total, tol * ref.total);
    ASSERT_EQ(v.per_event.size(), 2u);
    EXPECT_NEAR(v.per_event[0], ref.per_event[0], tol * ref.per_event[0]);
    EXPECT_NEAR(v.per_event[1], ref.per_event[1], tol * ref.per_event[1]);
    EXPECT_EQ(v.total.scalar_type(), dtype);
  }
}

TEST(FunnelLossTest, ThreeEventsEqualNaiveFormula) {
  const std::vector<std::vector<double>> logits = {
      {0.3, -1.2, 2.5, -4.0, 0.0}, {-0.7, 1.5, -2.0, 0.4, 3.0}, {1.3, -0.5, 0.8, -2.2, 0.1}};
  const std::vector<std::vector<double>> labels = {
      {1, 0, 1, 1, 1}, {1, 0, 1, 0, 1}, {0, 0, 1, 0, 1}};
  // A chain (AutoHERI eq. 4, weights {1, 1, 5}) and ESM2's shape where the last event hangs
  // off the first; plus explicit weights.
  for (const auto& parents : {std::vector<int>{-1, 0, 1}, std::vector<int>{-1, 0, 0}}) {
    for (const auto& weights : {std::vector<double>{}, std::vector<double>{0.5, 2.0, 3.0}}) {
      FunnelLossOptions o;
      o.weights = weights;
      const FunnelLoss loss(spec(parents), o);
      const FunnelOutput out =
          output_of({tensor_of(logits[0]), tensor_of(logits[1]), tensor_of(logits[2])});
      const FunnelLossValue v = loss.compute(out, labels_of(labels), TrainingSpace::kEntireSpace);
      const Naive ref = naive_entire(logits, labels, parents,
                                     weights.empty() ? std::vector<double>{1, 1, 5} : weights);
      EXPECT_NEAR(v.total.item<double>(), ref.total, 1e-12 * ref.total);
      for (size_t e = 0; e < 3; ++e) EXPECT_NEAR(v.per_event[e], ref.per_event[e], 1e-12);
    }
  }
}

/// Central differences of the total loss w.r.t. every logit against autograd.
void check_gradients(const std::vector<int>& parents, TrainingSpace space, uint64_t seed) {
  torch::manual_seed(seed);
  const int64_t rows = 7;
  const size_t events = parents.size();
  torch::Tensor logits = torch::randn({static_cast<int64_t>(events), rows}, torch::kFloat64) * 3.0;
  logits[0][0] = 9.0;  // near-certain click: log P close to 0 exercises log(-expm1)
  logits[events - 1][1] = -12.0;
  torch::Tensor labels = (torch::rand({static_cast<int64_t>(events), rows}, torch::kFloat64) > 0.5)
                             .to(torch::kFloat64);
  labels[0][2] = 1.0;  // at least one click for click space
  const FunnelLoss loss(spec(parents));
  auto total = [&](const torch::Tensor& l) {
    std::vector<torch::Tensor> per_event;
    for (size_t e = 0; e < events; ++e) per_event.push_back(l[e]);
    return loss.compute(output_of(per_event), labels, space).total;
  };
  torch::Tensor leaf = logits.clone().requires_grad_(true);
  total(leaf).backward();
  const torch::Tensor analytic = leaf.grad();

  const double h = 1e-5;
  torch::Tensor numeric = torch::zeros_like(logits);
  for (size_t e = 0; e < events; ++e) {
    for (int64_t b = 0; b < rows; ++b) {
      torch::Tensor plus = logits.clone(), minus = logits.clone();
      plus[e][b] += h;
      minus[e][b] -= h;
      numeric[e][b] = (total(plus).item<double>() - total(minus).item<double>()) / (2 * h);
    }
  }
  const double rel = (numeric - analytic).norm().item<double>() / analytic.norm().item<double>();
  EXPECT_LT(rel, 1e-6) << "analytic " << analytic << "\nnumeric " << numeric;
  EXPECT_LT((numeric - analytic).abs().max().item<double>(), 1e-8);
}

TEST(FunnelLossTest, GradientsMatchFiniteDifferences) {
  check_gradients({-1, 0}, TrainingSpace::kEntireSpace, 1);
  check_gradients({-1, 0, 1}, TrainingSpace::kEntireSpace, 2);
  check_gradients({-1, 0, 0}, TrainingSpace::kEntireSpace, 3);
  check_gradients({-1, 0}, TrainingSpace::kClickSpace, 4);
  check_gradients({-1, 0, 1}, TrainingSpace::kClickSpace, 5);
}

TEST(FunnelLossTest, ExtremeLogitsStayFinite) {
  const FunnelLoss loss(spec({-1, 0, 1}));
  // Naively, in float: sigmoid(-60)^2 underflows to 0 and its log is -inf.
  const float p = 1.0f / (1.0f + std::exp(60.0f));
  EXPECT_TRUE(std::isinf(std::log(p * p * p)));
  for (float z : {-60.0f, -200.0f, 60.0f, 200.0f}) {
    std::vector<torch::Tensor> leaves;
    for (int e = 0; e < 3; ++e) leaves.push_back(torch::full({4}, z).requires_grad_(true));
    const torch::Tensor labels =
        torch::tensor({1.f, 1.f, 0.f, 0.f, 1.f, 0.f, 0.f, 0.f, 1.f, 0.f, 0.f, 0.f}).reshape({3, 4});
    const FunnelLossValue v = loss.compute(output_of(leaves), labels, TrainingSpace::kEntireSpace);
    v.total.backward();
    EXPECT_TRUE(std::isfinite(v.total.item<double>())) << "logit " << z;
    for (int e = 0; e < 3; ++e) {
      EXPECT_TRUE(torch::isfinite(leaves[e].grad()).all().item<bool>()) << "logit " << z;
    }
    if (z == -60.0f) {
      // Row 0 converts: -log P(conv) = 3 * log(1 + e^60) ~ 180, exact in log space.
      EXPECT_NEAR(v.per_event[2], 180.0 / 4, 1e-3);
    }
  }
}

TEST(FunnelLossTest, StopGradientCutsCtcvrLossFromCtr) {
  const torch::Tensor labels = labels_of(kLabels2);
  auto grads = [&](bool stop, std::vector<double> weights) {
    FunnelLossOptions o;
    o.weights = std::move(weights);
    o.stop_ctcvr_grad_to_ctr = stop;
    const FunnelLoss loss(spec({-1, 0}), o);
    torch::Tensor ctr = tensor_of(kLogits2[0]).requires_grad_(true);
    torch::Tensor cvr = tensor_of(kLogits2[1]).requires_grad_(true);
    loss.compute(output_of({ctr, cvr}), labels, TrainingSpace::kEntireSpace).total.backward();
    return std::make_pair(ctr.grad(), cvr.grad());
  };
  // The CTCVR term alone.
  const auto [ctr_on, cvr_on] = grads(true, {0.0, 1.0});
  const auto [ctr_off, cvr_off] = grads(false, {0.0, 1.0});
  EXPECT_EQ(ctr_on.abs().max().item<double>(), 0.0);
  EXPECT_GT(ctr_off.abs().min().item<double>(), 1e-4);
  EXPECT_TRUE(torch::allclose(cvr_on, cvr_off, 0, 0));
  // With both terms, the CTR logit gets exactly the CTR term's gradient.
  const auto [ctr_both, cvr_both] = grads(true, {1.0, 5.0});
  const auto [ctr_alone, cvr_unused] = grads(false, {1.0, 0.0});
  EXPECT_TRUE(torch::allclose(ctr_both, ctr_alone, 1e-12, 1e-15));
}

TEST(FunnelLossTest, ClickSpaceEqualsNaiveAndIgnoresUnclickedConversions) {
  const std::vector<int> parents = {-1, 0};
  const FunnelLoss loss(spec(parents));
  const FunnelOutput out = output_of({tensor_of(kLogits2[0]), tensor_of(kLogits2[1])});
  const FunnelLossValue v = loss.compute(out, labels_of(kLabels2), TrainingSpace::kClickSpace);
  const Naive ref = naive_click(kLogits2, kLabels2, parents, {1, 5});
  EXPECT_NEAR(v.total.item<double>(), ref.total, 1e-12 * ref.total);
  EXPECT_NEAR(v.per_event[1], ref.per_event[1], 1e-12);

  // Flip every conversion label on unclicked rows: nothing changes.
  auto flipped = kLabels2;
  for (size_t b = 0; b < flipped[0].size(); ++b) {
    if (flipped[0][b] == 0) flipped[1][b] = 1 - flipped[1][b];
  }
  const FunnelLossValue w = loss.compute(out, labels_of(flipped), TrainingSpace::kClickSpace);
  EXPECT_EQ(w.total.item<double>(), v.total.item<double>());
  // ... while the entire-space loss does see them.
  EXPECT_NE(
      loss.compute(out, labels_of(flipped), TrainingSpace::kEntireSpace).total.item<double>(),
      loss.compute(out, labels_of(kLabels2), TrainingSpace::kEntireSpace).total.item<double>());
}

TEST(FunnelLossTest, ClickSpaceWithoutClicksGivesZeroConditionalLoss) {
  const FunnelLoss loss(spec({-1, 0}));
  torch::Tensor cvr = torch::tensor({0.5, -0.5, 2.0}, torch::kFloat64).requires_grad_(true);
  const FunnelOutput out = output_of({torch::tensor({0.1, 0.2, 0.3}, torch::kFloat64), cvr});
  const torch::Tensor labels = torch::tensor({0.0, 0.0, 0.0, 1.0, 0.0, 1.0}).reshape({2, 3});
  const FunnelLossValue v = loss.compute(out, labels, TrainingSpace::kClickSpace);
  EXPECT_EQ(v.per_event[1], 0.0);
  v.total.backward();
  EXPECT_EQ(cvr.grad().abs().max().item<double>(), 0.0);
}

TEST(FunnelLossTest, AuxLossIsAdded) {
  const FunnelLoss loss(spec({-1, 0}));
  FunnelOutput out = output_of({tensor_of(kLogits2[0]), tensor_of(kLogits2[1])});
  const double base =
      loss.compute(out, labels_of(kLabels2), TrainingSpace::kEntireSpace).total.item<double>();
  out.aux_loss = torch::tensor(0.25, torch::kFloat64);
  const FunnelLossValue v = loss.compute(out, labels_of(kLabels2), TrainingSpace::kEntireSpace);
  EXPECT_NEAR(v.total.item<double>(), base + 0.25, 1e-14);
  EXPECT_EQ(v.aux, 0.25);
}

TEST(FunnelLossTest, RejectsMismatchedShapesAndWeights) {
  FunnelLossOptions o;
  o.weights = {1.0};
  EXPECT_THROW(FunnelLoss(spec({-1, 0}), o), Error);
  o.weights = {1.0, -1.0};
  EXPECT_THROW(FunnelLoss(spec({-1, 0}), o), Error);
  EXPECT_THROW(FunnelLoss(spec({-1, 1})), Error);
  const FunnelLoss loss(spec({-1, 0}));
  const FunnelOutput out = output_of({tensor_of(kLogits2[0]), tensor_of(kLogits2[1])});
  EXPECT_THROW(loss.compute(out, torch::zeros({2, 5}), TrainingSpace::kEntireSpace), Error);
  EXPECT_THROW(loss.compute(output_of({tensor_of(kLogits2[0])}), torch::zeros({2, 6}),
                            TrainingSpace::kEntireSpace),
               Error);
}

TEST(FunnelLossTest, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (auto space : {TrainingSpace::kEntireSpace, TrainingSpace::kClickSpace}) {
    FunnelLossOptions o;
    o.stop_ctcvr_grad_to_ctr = true;
    const FunnelLoss loss(spec({-1, 0}), o);
    auto run = [&](torch::Device device) {
      torch::Tensor ctr = tensor_of(kLogits2[0], torch::kFloat32).to(device).requires_grad_(true);
      torch::Tensor cvr = tensor_of(kLogits2[1], torch::kFloat32).to(device).requires_grad_(true);
      // Labels stay on the CPU: compute() moves them.
      const FunnelLossValue v = loss.compute(output_of({ctr, cvr}), labels_of(kLabels2), space);
      EXPECT_EQ(v.total.device().type(), device.type());
      v.total.backward();
      return std::make_tuple(v.per_event, ctr.grad().cpu(), cvr.grad().cpu());
    };
    const auto [cpu_loss, cpu_ctr, cpu_cvr] = run(torch::kCPU);
    const auto [gpu_loss, gpu_ctr, gpu_cvr] = run(torch::kCUDA);
    for (size_t e = 0; e < 2; ++e) EXPECT_NEAR(cpu_loss[e], gpu_loss[e], 1e-6);
    EXPECT_TRUE(torch::allclose(cpu_ctr, gpu_ctr, 1e-5, 1e-7));
    EXPECT_TRUE(torch::allclose(cpu_cvr, gpu_cvr, 1e-5, 1e-7));
  }
}

TEST(FunnelOutputTest, Log1mexpIsAccurateOnBothBranches) {
  const std::vector<double> xs = {-1e-20, -1e-10, -1e-3, -0.5, -0.6931, -0.7, -2.0, -30.0, -700.0};
  const torch::Tensor x = torch::tensor(xs, torch::kFloat64);
  const torch::Tensor y = model::log1mexp(x);
  for (size_t i = 0; i < xs.size(); ++i) {
    // Reference: log(-expm1(x)) is exact enough away from 0 from below -1; further out,
    // the series log(1 - e^x) = -sum_k e^{kx} / k (the direct formula loses digits there).
    double ref = 0.0;
    if (xs[i] > -1.0) {
      ref = std::log(-std::expm1(xs[i]));
    } else {
      for (int k = 60; k >= 1; --k) ref -= std::exp(k * xs[i]) / k;
    }
    EXPECT_NEAR(y[i].item<double>(), ref, 1e-14 * std::abs(ref)) << xs[i];
  }
  // p = 1 exactly: large but finite, with a finite gradient.
  torch::Tensor zero = torch::zeros({1}, torch::kFloat32).requires_grad_(true);
  torch::Tensor v = model::log1mexp(zero);
  v.sum().backward();
  EXPECT_TRUE(std::isfinite(v.item<double>()));
  EXPECT_LT(v.item<double>(), -80.0);
  EXPECT_TRUE(std::isfinite(zero.grad().item<double>()));
}

}  // namespace
}  // namespace funnel::train
