// TAML against reduced models and hand-computed values: with one learner, only general experts
// and no distillation it is MMoE with one gate per task; eq. 2-3's distillation loss and its
// gradient; gates that mix to 1; the Fig. 3 ablations as options.

#include "model/taml.h"

#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "funnels.h"
#include "model/mmoe.h"

namespace funnel::model {
namespace {

using nlohmann::json;
using testing::chain;
using testing::two_events;

double sig(double z) { return 1.0 / (1.0 + std::exp(-z)); }

std::shared_ptr<TamlModel> taml(const FunnelSpec& f, int64_t in, const json& options) {
  return std::make_shared<TamlModel>(f, in, TamlOptions::from_json(options));
}

TEST(TamlTest, OneLearnerOfGeneralExpertsWithoutDistillationIsMmoe) {
  torch::manual_seed(1);
  const int64_t in = 7;
  MmoeModel mmoe(chain(), in,
                 MmoeOptions::from_json(
                     json{{"num_experts", 3}, {"experts", {6}}, {"towers", {5, 3}}}));
  auto t = taml(chain(), in,
                {{"learners", 1}, {"general_experts", 3}, {"task_experts", 0},
                 {"learner_experts", 0}, {"experts", {6}}, {"learner_towers", {5, 3}},
                 {"distill_first", 0.0}, {"distill_later", 0.0}});
  // Same weights: MMoE's shared experts are TAML's general ones, its gate and tower of task t
  // TAML's gate and learner of (t, 0).
  torch::NoGradGuard no_grad;
  auto src = mmoe.named_parameters();
  size_t copied = 0;
  for (auto& item : t->named_parameters()) {
    std::string name = item.key();
    auto replace = [&](const std::string& from, const std::string& to) {
      if (name.rfind(from, 0) == 0) name = to + name.substr(from.size());
    };
    replace("general.", "experts.");
    for (int e = 0; e < 3; ++e) {
      replace("gate" + std::to_string(e) + "_0.", "gate" + std::to_string(e) + ".");
      replace("learner" + std::to_string(e) + "_0.", "tower" + std::to_string(e) + ".");
    }
    ASSERT_TRUE(src.contains(name)) << item.key() << " -> " << name;
    item.value().copy_(src[name]);
    ++copied;
  }
  EXPECT_EQ(copied, src.size());
  const torch::Tensor x = torch::randn({9, in});
  const FunnelOutput a = t->forward(x), b = mmoe.forward(x);
  ASSERT_EQ(a.num_events(), 3u);
  for (size_t e = 0; e < 3; ++e) EXPECT_TRUE(torch::allclose(a.cond_log_p[e], b.cond_log_p[e]));
  EXPECT_FALSE(a.aux_loss.defined());
}

TEST(TamlTest, DistillationLossIsTheCrossEntropyToTheFusedScore) {
  // Two learners, two rows; expected values in plain double arithmetic.
  const std::vector<std::vector<double>> z = {{0.5, -1.0}, {2.0, 0.0}};
  double expected = 0;
  std::vector<std::vector<double>> grad(2, std::vector<double>(2));
  for (size_t b = 0; b < 2; ++b) {
    const double p = sig((z[0][b] + z[1][b]) / 2);
    for (size_t l = 0; l < 2; ++l) {
      const double q = sig(z[l][b]);
      expected += -(p * std::log(q) + (1 - p) * std::log(1 - q)) / 2;
      grad[l][b] = (q - p) / 2;  // d/dz of the mean over rows, teacher constant
    }
  }
  for (bool detach : {true, false}) {
    std::vector<torch::Tensor> logits;
    for (const auto& row : z) {
      logits.push_back(torch::tensor({row[0], row[1]}, torch::kFloat64).requires_grad_(true));
    }
    const torch::Tensor loss = self_distillation_loss(logits, detach);
    EXPECT_NEAR(loss.item<double>(), expected, 1e-12);
    loss.backward();
    for (size_t l = 0; l < 2; ++l) {
      for (size_t b = 0; b < 2; ++b) {
        const double g = logits[l].grad()[b].item<double>();
        if (detach) {
          EXPECT_NEAR(g, grad[l][b], 1e-12) << l << " " << b;
        } else {
          // The teacher's path adds d/dp (p = sigmoid(mean z)) of every learner's term.
          const double p = sig((z[0][b] + z[1][b]) / 2);
          double dp = 0;
          for (size_t m = 0; m < 2; ++m) {
            dp += -(std::log(sig(z[m][b])) - std::log(1 - sig(z[m][b]))) / 2;
          }
          EXPECT_NEAR(g, grad[l][b] + dp * p * (1 - p) / 2, 1e-12) << l << " " << b;
        }
      }
    }
  }
}

TEST(TamlTest, ADetachedTeacherOfOneLearnerTeachesNothing) {
  // With one learner the student is the teacher: detached, eq. 2 has zero gradient everywhere;
  // through the teacher it has some.
  const torch::Tensor x = torch::randn({16, 5});
  for (bool detach : {true, false}) {
    torch::manual_seed(2);
    auto t = taml(two_events(), 5, {{"learners", 1}, {"detach_teacher", detach}});
    const FunnelOutput out = t->forward(x);
    ASSERT_TRUE(out.aux_loss.defined());
    EXPECT_GT(out.aux_loss.item<double>(), 0);  // the entropy of the fused scores
    out.aux_loss.backward();
    double norm = 0;
    for (const auto& p : t->parameters()) {
      if (p.grad().defined()) norm += p.grad().abs().sum().item<double>();
    }
    if (detach) {
      EXPECT_LT(norm, 1e-6);
    } else {
      EXPECT_GT(norm, 1e-4);
    }
  }
}

TEST(TamlTest, GatesMixTheThreeExpertGroupsToOne) {
  torch::manual_seed(3);
  auto t =
      taml(chain(), 6, {{"general_experts", 2}, {"task_experts", 3}, {"learner_experts", 1}});
  const torch::Tensor x = torch::randn({10, 6});
  const auto w = t->gate_weights(x);
  ASSERT_EQ(w.size(), 3u);
  for (const auto& task : w) {
    ASSERT_EQ(task.size(), 2u);  // two learners by default
    for (const auto& g : task) {
      ASSERT_EQ(g.size(1), 6);
      EXPECT_TRUE(torch::allclose(g.sum(1), torch::ones({10})));
      EXPECT_TRUE((g >= 0).all().item<bool>());
    }
  }
  EXPECT_EQ(t->experts_of(ExpertKind::kGeneral), 2);
  EXPECT_EQ(t->experts_of(ExpertKind::kTask), 3);
  EXPECT_EQ(t->experts_of(ExpertKind::kLearner), 1);
  // Learners of one task differ (their own experts and gates), and the task's logit is their
  // mean.
  const auto logits = t->learner_logits(x);
  EXPECT_FALSE(torch::allclose(logits[1][0], logits[1][1]));
  const FunnelOutput out = t->forward(x);
  const torch::Tensor mean = (logits[1][0] + logits[1][1]) / 2;
  EXPECT_TRUE(torch::allclose(out.cond_log_p[1], torch::log_sigmoid(mean), 1e-5, 1e-6));
}

TEST(TamlTest, AblationsAreOptionsOfTheOneModel) {
  torch::manual_seed(4);
  const torch::Tensor x = torch::randn({8, 5});
  // Without HTAKR: one shared bottom, no gates.
  auto flat = taml(two_events(), 5, {{"htakr", false}});
  EXPECT_TRUE(flat->gate_weights(x)[0].empty());
  EXPECT_EQ(flat->experts_of(ExpertKind::kGeneral), 0);
  for (const auto& item : flat->named_parameters()) {
    EXPECT_EQ(item.key().find("gate"), std::string::npos) << item.key();
  }
  // Without self-distillation: no auxiliary loss.
  EXPECT_FALSE(taml(two_events(), 5, {{"distill_first", 0.0}, {"distill_later", 0.0}})
                   ->forward(x)
                   .aux_loss.defined());
  // One learner per task.
  EXPECT_EQ(taml(two_events(), 5, {{"learners", 1}})->learner_logits(x)[1].size(), 1u);
  // Options are strict.
  for (const json& bad : {json{{"learners", 0}}, json{{"general_experts", -1}},
                          json{{"distill_later", -0.1}}, json{{"experts", json::array()}},
                          json{{"general_experts", 0}, {"task_experts", 0},
                               {"learner_experts", 0}},
                          json{{"learner", 2}}}) {
    EXPECT_THROW(TamlOptions::from_json(bad), Error) << bad.dump();
  }
}

}  // namespace
}  // namespace funnel::model
