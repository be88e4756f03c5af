// The survival terms of HEROES+ (model/survival.h, HEROES eq. 19-28): the probabilities against
// brute-force products, each loss term against hand-computed lists, a finite-difference gradient
// check in double precision, stability on a 500-item list, and the HEROES objective wiring.

#include "model/survival.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/error.h"
#include "funnels.h"
#include "model/heroes.h"
#include "model/model.h"

namespace funnel::model {
namespace survival_tests {  // named: the tests build as unity batches

using nlohmann::json;

torch::Tensor offsets(std::vector<int64_t> v) { return torch::tensor(v, torch::kLong); }
torch::Tensor d(std::vector<double> v) { return torch::tensor(v, torch::kFloat64); }

struct Hazards {
  torch::Tensor logit, log_h, log_q;
};
Hazards hazards_of(const torch::Tensor& logit) {
  return {logit, torch::log_sigmoid(logit), torch::log_sigmoid(-logit)};
}

TEST(SurvivalTest, ProbabilitiesEqualBruteForceProducts) {
  // Lists of 3, 1, 0 and 4 items.
  const std::vector<double> h = {0.2, 0.5, 0.9, 0.3, 0.01, 0.6, 0.4, 0.7};
  const std::vector<int64_t> off = {0, 3, 4, 4, 8};
  std::vector<double> logit;
  for (double x : h) logit.push_back(std::log(x / (1 - x)));
  const Hazards z = hazards_of(d(logit));
  const SurvivalProbs p = survival_probs(z.log_h, z.log_q, offsets(off));
  ASSERT_EQ(p.log_tail.size(0), 4);
  for (size_t k = 0; k + 1 < off.size(); ++k) {
    double sum_pdf = 0, surv = 1;
    for (int64_t i = off[k]; i < off[k + 1]; ++i) {
      // eq. 23-24 by explicit products over the earlier items of the list.
      double brute = 1;
      for (int64_t t = off[k]; t < i; ++t) brute *= 1 - h[static_cast<size_t>(t)];
      EXPECT_NEAR(std::exp(p.log_survival[i].item<double>()), brute, 1e-12) << "row " << i;
      EXPECT_NEAR(std::exp(p.log_pdf[i].item<double>()), h[static_cast<size_t>(i)] * brute, 1e-12);
      sum_pdf += h[static_cast<size_t>(i)] * brute;
      surv *= 1 - h[static_cast<size_t>(i)];
    }
    const double tail = std::exp(p.log_tail[static_cast<int64_t>(k)].item<double>());
    EXPECT_NEAR(tail, surv, 1e-12) << "list " << k;
    EXPECT_NEAR(sum_pdf + tail, 1.0, 1e-12) << "list " << k << ": sum P(z = i) + P(z > I)";
  }
}

TEST(SurvivalTest, TermsEqualHandComputedLists) {
  // List A: 4 items, a click at item 2 (1-based); list B: 3 items, no click; list C: 5 items,
  // clicks at items 1 and 4.
  const std::vector<double> h = {0.1, 0.6, 0.3, 0.2, 0.4, 0.5, 0.7, 0.8, 0.2, 0.3, 0.9, 0.25};
  const std::vector<double> y = {0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0};
  const torch::Tensor off = offsets({0, 4, 7, 12});
  std::vector<double> logit;
  for (double x : h) logit.push_back(std::log(x / (1 - x)));
  const Hazards z = hazards_of(d(logit));
  const torch::Tensor ones = torch::ones({12}, torch::kFloat64);
  auto q = [&](size_t i) { return std::log(1 - h[i]); };

  // Renewal: A's segment [1, 2] closes at 2, [3, 4] is censored; B censored; C: [1] closes at 1,
  // [2, 4] closes at 4, [5] censored.
  const SurvivalTerms r =
      survival_terms(z.log_h, z.log_q, d(y), ones, off, SurvivalSegments::kRenewal);
  const double pdf_r = -(std::log(h[1]) + q(0)) - std::log(h[7]) - (std::log(h[10]) + q(8) + q(9));
  const double occur_r = -std::log(1 - (1 - h[0]) * (1 - h[1])) - std::log(h[7]) -
                         std::log(1 - (1 - h[8]) * (1 - h[9]) * (1 - h[10]));
  const double non_r = -(q(2) + q(3)) - (q(4) + q(5) + q(6)) - q(11);
  EXPECT_NEAR(r.pdf.item<double>(), pdf_r, 1e-12);
  EXPECT_NEAR(r.occur.item<double>(), occur_r, 1e-12);
  EXPECT_NEAR(r.non_occur.item<double>(), non_r, 1e-12);
  EXPECT_NEAR(r.total(0.5).item<double>(), pdf_r + 0.5 * (occur_r + non_r), 1e-12);
  // The renewal PDF and censored terms together are the cross-entropy of every step.
  double bce = 0;
  for (size_t i = 0; i < h.size(); ++i) bce -= y[i] > 0 ? std::log(h[i]) : q(i);
  EXPECT_NEAR((r.pdf + r.non_occur).item<double>(), bce, 1e-12);

  // First: A's click at 2, items 3-4 no steps, the CDF window the whole list; B censored; C's
  // first click at 1, the rest of C no steps.
  const SurvivalTerms f =
      survival_terms(z.log_h, z.log_q, d(y), ones, off, SurvivalSegments::kFirst);
  const double pdf_f = -(std::log(h[1]) + q(0)) - std::log(h[7]);
  double all_a = 1, all_c = 1;
  for (size_t i = 0; i < 4; ++i) all_a *= 1 - h[i];
  for (size_t i = 7; i < 12; ++i) all_c *= 1 - h[i];
  const double occur_f = -std::log(1 - all_a) - std::log(1 - all_c);
  const double non_f = -(q(4) + q(5) + q(6));
  EXPECT_NEAR(f.pdf.item<double>(), pdf_f, 1e-12);
  EXPECT_NEAR(f.occur.item<double>(), occur_f, 1e-12);
  EXPECT_NEAR(f.non_occur.item<double>(), non_f, 1e-12);

  // The step mask (the CVR layer: the clicked items): in A only items 2 and 4 are steps, the
  // purchase at 4; an occurrence where there is no step is ignored (item 1).
  const std::vector<double> step = {0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  const std::vector<double> buy = {1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  const SurvivalTerms v =
      survival_terms(z.log_h, z.log_q, d(buy), d(step), off, SurvivalSegments::kRenewal);
  EXPECT_NEAR(v.pdf.item<double>(), -(std::log(h[3]) + q(1)), 1e-12);
  EXPECT_NEAR(v.occur.item<double>(), -std::log(1 - (1 - h[1]) * (1 - h[3])), 1e-12);
  EXPECT_NEAR(v.non_occur.item<double>(), 0.0, 1e-12);  // B and C have no steps
}

TEST(SurvivalTest, ListWithoutOccurrenceIsOnlyCensored) {
  const std::vector<double> h = {0.3, 0.2, 0.6};
  std::vector<double> logit;
  for (double x : h) logit.push_back(std::log(x / (1 - x)));
  const Hazards z = hazards_of(d(logit));
  for (SurvivalSegments s : {SurvivalSegments::kRenewal, SurvivalSegments::kFirst}) {
    const SurvivalTerms t = survival_terms(z.log_h, z.log_q, torch::zeros({3}, torch::kFloat64),
                                           torch::ones({3}, torch::kFloat64), offsets({0, 3}), s);
    EXPECT_EQ(t.pdf.item<double>(), 0.0);
    EXPECT_EQ(t.occur.item<double>(), 0.0);
    EXPECT_NEAR(t.non_occur.item<double>(), -std::log(0.7 * 0.8 * 0.4), 1e-12);
  }
}

TEST(SurvivalTest, GradientOfLbMatchesFiniteDifferences) {
  // Two lists with several clicks, double precision, both readings, beta = 0.7.
  const std::vector<double> y = {0, 1, 0, 1, 1, 0, 0, 1, 0, 0};
  const torch::Tensor off = offsets({0, 6, 10});
  for (SurvivalSegments s : {SurvivalSegments::kRenewal, SurvivalSegments::kFirst}) {
    torch::manual_seed(3);
    const torch::Tensor base = torch::randn({10}, torch::kFloat64) * 2;
    auto loss = [&](const torch::Tensor& logit) {
      const Hazards z = hazards_of(logit);
      return survival_terms(z.log_h, z.log_q, d(y), torch::ones({10}, torch::kFloat64), off, s)
          .total(0.7);
    };
    const torch::Tensor x = base.clone().requires_grad_(true);
    loss(x).backward();
    const torch::Tensor g = x.grad();
    const double eps = 1e-6;
    for (int64_t i = 0; i < 10; ++i) {
      torch::Tensor up = base.clone(), down = base.clone();
      up[i] += eps;
      down[i] -= eps;
      const double fd = (loss(up).item<double>() - loss(down).item<double>()) / (2 * eps);
      EXPECT_NEAR(g[i].item<double>(), fd, 1e-6 * std::max(1.0, std::abs(fd))) << "logit " << i;
    }
  }
}

TEST(SurvivalTest, LongListWithExtremeHazardsStaysFinite) {
  // 500 items, hazards alternating near 0 and near 1 (logits +-30) with a few clicks, in float.
  const int64_t n = 500;
  torch::Tensor logit =
      torch::where(torch::arange(n) % 2 == 0, torch::full({n}, -30.0), torch::full({n}, 30.0))
          .to(torch::kFloat32);
  logit.index_put_({torch::arange(0, n, 7)}, -25.0f);
  logit.requires_grad_(true);
  torch::Tensor y = torch::zeros({n});
  y.index_put_({torch::tensor({3, 250, 499}, torch::kLong)}, 1.0f);
  for (SurvivalSegments s : {SurvivalSegments::kRenewal, SurvivalSegments::kFirst}) {
    const Hazards z = hazards_of(logit);
    const SurvivalTerms t =
        survival_terms(z.log_h, z.log_q, y, torch::ones({n}), offsets({0, n}), s);
    const torch::Tensor total = t.total(1.0);
    EXPECT_TRUE(std::isfinite(total.item<float>())) << "loss " << total.item<float>();
    logit.mutable_grad() = torch::Tensor();
    total.backward();
    EXPECT_TRUE(torch::isfinite(logit.grad()).all().item<bool>());
    const SurvivalProbs p = survival_probs(z.log_h.detach(), z.log_q.detach(), offsets({0, n}));
    EXPECT_TRUE(torch::isfinite(p.log_survival).all().item<bool>());
    EXPECT_LT(p.log_survival[n - 1].item<float>(), -1000.0f);  // far beyond float's exp range
  }
  // No occurrence at all, every hazard near 1: the censored term is large and finite.
  const Hazards z = hazards_of(torch::full({n}, 40.0f));
  const SurvivalTerms t = survival_terms(z.log_h, z.log_q, torch::zeros({n}), torch::ones({n}),
                                         offsets({0, n}), SurvivalSegments::kRenewal);
  EXPECT_TRUE(std::isfinite(t.non_occur.item<float>()));
  EXPECT_GT(t.non_occur.item<float>(), 1e4f);
}

TEST(SurvivalTest, RejectsBadShapesAndOffsets) {
  const torch::Tensor x = torch::zeros({4}, torch::kFloat64);
  const auto r = SurvivalSegments::kRenewal;
  EXPECT_THROW(survival_terms(x, x, x, x, offsets({0, 3}), r), Error);
  EXPECT_THROW(survival_terms(x, x, x, x, offsets({0, 3, 2, 4}), r), Error);
  EXPECT_THROW(survival_terms(x, x, torch::zeros({3}), x, offsets({0, 4}), r), Error);
  EXPECT_THROW(survival_probs(x, x, torch::Tensor()), Error);
}

// The HEROES objective: options, and the model's loss terms equal survival_terms of its own
// hazards with the labels.
TEST(HeroesSurvivalTest, OptionsParseAndReject) {
  const HeroesOptions o = HeroesOptions::from_json(
      {{"objective", "survival"}, {"beta", 0.5}, {"segments", "first"}, {"hawkes", false}});
  EXPECT_EQ(o.objective, HeroesObjective::kSurvival);
  EXPECT_EQ(o.beta, 0.5);
  EXPECT_EQ(o.segments, SurvivalSegments::kFirst);
  EXPECT_FALSE(o.hawkes);
  EXPECT_EQ(HeroesOptions::from_json(o.to_json()).to_json(), o.to_json());
  EXPECT_THROW(HeroesOptions::from_json({{"objective", "listwise"}}), Error);
  EXPECT_THROW(HeroesOptions::from_json({{"objective", "survival"}, {"beta", -1}}), Error);
  EXPECT_THROW(HeroesOptions::from_json({{"objective", "survival"}, {"segments", "all"}}), Error);
  EXPECT_THROW(HeroesOptions::from_json({{"beta", 0.5}}), Error);  // pointwise has no beta
  EXPECT_THROW(HeroesOptions::from_json({{"segments", "first"}}), Error);
  EXPECT_NO_THROW(HeroesOptions::from_json(HeroesOptions().to_json()));  // defaults round-trip
  try {
    HeroesOptions::from_json({{"objective", "survivl"}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("survival"), std::string::npos) << e.what();
  }
}

TEST(HeroesSurvivalTest, LossTermsAreTheSurvivalLossesOfTheHazards) {
  torch::manual_seed(5);
  HeroesOptions o;
  o.list.hidden = 6;
  o.list.encoder = {5};
  o.list.positions = 4;
  o.objective = HeroesObjective::kSurvival;
  o.beta = 0.3;
  HeroesModel m(testing::two_events(), 7, o);
  m.train();
  ModelInput in(torch::randn({9, 7}));
  in.list_offsets = offsets({0, 4, 5, 9});
  const FunnelOutput out = m.forward(in);
  ASSERT_TRUE(static_cast<bool>(out.event_losses));
  const torch::Tensor y =
      torch::tensor({{0, 1, 0, 1, 0, 1, 1, 0, 0}, {0, 1, 0, 0, 0, 0, 1, 0, 0}}, torch::kFloat32);
  const std::vector<torch::Tensor> terms = out.event_losses(y);
  ASSERT_EQ(terms.size(), 2u);
  const SurvivalTerms c =
      survival_terms(out.cond_log_p[0], out.cond_log_q[0], y[0], torch::ones({9}), in.list_offsets,
                     SurvivalSegments::kRenewal);
  const SurvivalTerms v = survival_terms(out.cond_log_p[1], out.cond_log_q[1], y[1], y[0],
                                         in.list_offsets, SurvivalSegments::kRenewal);
  EXPECT_NEAR(terms[0].item<float>(), c.total(0.3).item<float>() / 9, 1e-6);
  EXPECT_NEAR(terms[1].item<float>(), v.total(0.3).item<float>() / 9, 1e-6);
  // The loss reaches the parameters.
  (terms[0] + 5 * terms[1]).backward();
  double norm = 0;
  for (const auto& p : m.parameters()) {
    if (p.grad().defined()) norm += p.grad().abs().sum().item<double>();
  }
  EXPECT_GT(norm, 0);
  // The pointwise objective leaves the generic loss alone.
  HeroesOptions pw = o;
  pw.objective = HeroesObjective::kPointwise;
  HeroesModel m2(testing::two_events(), 7, pw);
  EXPECT_FALSE(static_cast<bool>(m2.forward(in).event_losses));
}

TEST(HeroesSurvivalTest, HawkesOffIsTheDecayFreeUnit) {
  // hawkes: false carries s^c_{i-1} into item i's behavioural CTR state, not s^c(t_{i-1}).
  torch::manual_seed(9);
  HeroesOptions o;
  o.list.hidden = 4;
  o.list.encoder = {};
  o.list.positions = 0;
  HeroesOptions off = o;
  off.hawkes = false;
  HeroesModel a(testing::two_events(), 3, o), b(testing::two_events(), 3, off);
  torch::NoGradGuard ng;
  auto pa = a.named_parameters(), pb = b.named_parameters();
  for (const auto& kv : pa) pb[kv.key()].copy_(kv.value());
  ModelInput in(torch::randn({5, 3}));
  in.list_offsets = offsets({0, 5});
  a.train();
  b.train();
  const torch::Tensor oa = a.forward_all(in), ob = b.forward_all(in);
  // The first item has no history: equal; later items differ (the decay moves the state).
  EXPECT_TRUE(torch::allclose(oa[0], ob[0]));
  EXPECT_FALSE(torch::allclose(oa.narrow(0, 1, 4), ob.narrow(0, 1, 4)));
  // With a decay rate of zero the Hawkes state is the carried one: the decay layer pushed to
  // f(x) ~ 0 makes full HEROES equal to the unit without the decay.
  a.cell().delta->weight.zero_();
  a.cell().delta->bias.fill_(-1e4);
  const torch::Tensor oz = a.forward_all(in);
  EXPECT_TRUE(torch::allclose(oz, ob, 1e-5, 1e-6));
}

}  // namespace survival_tests
}  // namespace funnel::model
