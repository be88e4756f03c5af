#include "model/heroes.h"

#include <torch/nn/functional/activation.h>

#include <algorithm>
#include <cmath>

#include "core/choice.h"
#include "core/error.h"
#include "core/json_fields.h"

namespace funnel::model {
namespace {

constexpr Choice<HeroesVariant> kVariants[] = {{"full", HeroesVariant::kFull},
                                               {"intra", HeroesVariant::kIntra},
                                               {"inter", HeroesVariant::kInter},
                                               {"unit", HeroesVariant::kUnit}};
constexpr Choice<HeroesBoundary> kBoundaries[] = {{"soft", HeroesBoundary::kSoft},
                                                  {"hard", HeroesBoundary::kHard}};
constexpr Choice<HeroesPredict> kPredicts[] = {{"inherent", HeroesPredict::kInherent},
                                               {"behavioural", HeroesPredict::kBehavioural}};
constexpr Choice<HeroesObjective> kObjectives[] = {{"pointwise", HeroesObjective::kPointwise},
                                                   {"survival", HeroesObjective::kSurvival}};
constexpr Choice<SurvivalSegments> kSegments[] = {{"renewal", SurvivalSegments::kRenewal},
                                                  {"first", SurvivalSegments::kFirst}};

/// Gate activations of one branch: [i, f, o, g~] from the pre-activations [n, 4H].
struct Gates {
  torch::Tensor i, f, o, g;
};
Gates activate_gates(const torch::Tensor& pre) {
  const auto c = pre.chunk(4, 1);
  return {torch::sigmoid(c[0]), torch::sigmoid(c[1]), torch::sigmoid(c[2]), torch::tanh(c[3])};
}

}  // namespace

HeroesOptions HeroesOptions::from_json(const nlohmann::json& j, const std::string& path) {
  HeroesOptions o;
  if (j.is_null()) return o;
  JsonFields f(j, path);
  o.list.read(f);
  o.variant = parse_choice(f.get<std::string>("variant", choice_name(o.variant, kVariants)),
                           kVariants, f.path("variant"));
  o.boundary = parse_choice(f.get<std::string>("boundary", choice_name(o.boundary, kBoundaries)),
                            kBoundaries, f.path("boundary"));
  o.predict = parse_choice(f.get<std::string>("predict", choice_name(o.predict, kPredicts)),
                           kPredicts, f.path("predict"));
  o.gamma = f.get<double>("gamma", o.gamma);
  o.item_readout = f.get<bool>("item_readout", o.item_readout);
  o.hawkes = f.get<bool>("hawkes", o.hawkes);
  o.objective = parse_choice(f.get<std::string>("objective", choice_name(o.objective, kObjectives)),
                             kObjectives, f.path("objective"));
  o.beta = f.get<double>("beta", o.beta);
  o.segments = parse_choice(f.get<std::string>("segments", choice_name(o.segments, kSegments)),
                            kSegments, f.path("segments"));
  // beta and segments shape the survival loss only: another value with the pointwise objective
  // is a configuration mistake (the defaults are written back for every objective).
  const HeroesOptions d;
  FUNNEL_CHECK(
      o.objective == HeroesObjective::kSurvival || (o.beta == d.beta && o.segments == d.segments),
      f.path("beta") << " / " << f.path("segments")
                     << ": set, but they only apply with objective survival (the "
                        "objective is pointwise)");
  FUNNEL_CHECK(o.gamma > 0 && std::isfinite(o.gamma),
               f.path("gamma") << ": expected a number > 0, got " << o.gamma);
  FUNNEL_CHECK(o.beta >= 0 && std::isfinite(o.beta),
               f.path("beta") << ": expected a number >= 0, got " << o.beta);
  f.finish();
  return o;
}

nlohmann::json HeroesOptions::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  list.write(j);
  j["variant"] = choice_name(variant, kVariants);
  j["boundary"] = choice_name(boundary, kBoundaries);
  j["predict"] = choice_name(predict, kPredicts);
  j["gamma"] = gamma;
  j["item_readout"] = item_readout;
  j["hawkes"] = hawkes;
  j["objective"] = choice_name(objective, kObjectives);
  j["beta"] = beta;
  j["segments"] = choice_name(segments, kSegments);
  return j;
}

HeroesCellImpl::HeroesCellImpl(int64_t in, const HeroesOptions& options)
    : ProjectedCellImpl("heroes cell", in, options.list.hidden, options.list.positions),
      options_(options) {
  const int64_t H = hidden_;
  // 16H gate rows, then the item's own terms of the two logits (option item_readout).
  const int64_t width = 16 * H + (options.item_readout ? 2 : 0);
  register_input(in, width);
  for (int b = 0; b < 4; ++b) {
    w_top.push_back(register_parameter("w_top" + std::to_string(b), uniform({4 * H, 2 * H})));
  }
  register_position_bias(options.list.positions, width);
  delta = register_module("delta", torch::nn::Linear(H, H));
  head_c = register_module("head_c", torch::nn::Linear(H, 1));
  head_v = register_module("head_v", torch::nn::Linear(H, 1));
}

torch::Tensor HeroesCellImpl::decay_rate(const torch::Tensor& x, double gamma) {
  // f(x) = gamma log(1 + exp(x / gamma)) (eq. 11, after Mei & Eisner 2017), > 0.
  return gamma * torch::nn::functional::softplus(x / gamma);
}

std::vector<torch::Tensor> HeroesCellImpl::initial_state(int64_t n,
                                                         const torch::TensorOptions& options) {
  std::vector<torch::Tensor> s(kParts);
  for (int p = 0; p < kParts; ++p) {
    s[p] = torch::zeros({n, p == kBoundary ? 1 : hidden_}, options);
  }
  return s;
}

torch::Tensor HeroesCellImpl::step(const torch::Tensor& in, const torch::Tensor& dt,
                                   int64_t /*t*/, std::vector<torch::Tensor>& S) {
  const int64_t H = hidden_;
  const HeroesVariant v = options_.variant;
  const bool within = v != HeroesVariant::kIntra;   // recurrence inside a layer
  const bool between = v != HeroesVariant::kInter;  // connections between the layers
  const bool hawkes = options_.hawkes && (v == HeroesVariant::kFull || v == HeroesVariant::kInter);
  const bool inherent = v != HeroesVariant::kUnit;

  // Pre-activations of branch b: the input part plus the top-down state over the parts that
  // exist (eq. 15-16); w_top[b]'s first H columns read the own layer, the last H the other.
  auto pre = [&](int b, const torch::Tensor& own, const torch::Tensor& other) {
    torch::Tensor p = in.narrow(1, 4 * H * b, 4 * H);
    if (own.defined() && other.defined()) {
      return torch::addmm(p, torch::cat({own, other}, 1), w_top[b].t());
    }
    if (own.defined()) return torch::addmm(p, own, w_top[b].narrow(1, 0, H).t());
    if (other.defined()) return torch::addmm(p, other, w_top[b].narrow(1, H, H).t());
    return p;
  };
  const torch::Tensor none;
  // g_{i-1}: 1 - g keeps the segment (update <1>), g starts a new one (summarize <2>).
  const torch::Tensor gp = S[kBoundary];
  const torch::Tensor keep = 1 - gp;

  // CTR layer, behavioural (eq. 10-12 with the Hawkes state of eq. 11).
  // Without the links between the layers the boundary stays 0, so keep = 1 there.
  const Gates c = activate_gates(pre(0, within ? keep * S[kHc] : none, between ? gp * S[kHv] : none));
  torch::Tensor sc = c.i * c.g;
  if (within) {
    const torch::Tensor s_prev =
        hawkes ? decay_towards(S[kScI], S[kSc], S[kDelta], dt) : S[kSc];
    sc = sc + keep * c.f * s_prev;
  }
  const torch::Tensor hc = c.o * torch::tanh(sc);
  // The logits read the state and, with item_readout, the item itself (its column of prepare).
  const bool item = options_.item_readout;
  const torch::Tensor item_c = item ? in.narrow(1, 16 * H, 1) : torch::Tensor();
  const torch::Tensor item_v = item ? in.narrow(1, 16 * H + 1, 1) : torch::Tensor();
  auto logit = [&](torch::nn::Linear& head, const torch::Tensor& h, const torch::Tensor& own) {
    return own.defined() ? head(h) + own : head(h);
  };
  const torch::Tensor logit_c = logit(head_c, hc, item_c);

  // CTR layer, inherent (eq. 10, 12): no Hawkes term.
  torch::Tensor sci = sc, hci = hc, logit_ci = logit_c;
  if (inherent) {
    const Gates ci =
        activate_gates(pre(1, within ? keep * S[kHcI] : none, between ? gp * S[kHvI] : none));
    sci = ci.i * ci.g;
    if (within) sci = sci + keep * ci.f * S[kScI];
    hci = ci.o * torch::tanh(sci);
    logit_ci = logit(head_c, hci, item_c);
  }

  // Boundary g_i (eq. 9) from the model's own click prediction, never the label.
  const torch::Tensor p = torch::sigmoid(logit_c);
  torch::Tensor g = options_.boundary == HeroesBoundary::kSoft
                        ? p
                        : (p > 0.5).to(p.scalar_type()) + p - p.detach();  // straight-through

  // CVR layer: the update branch <3> is item i's P(v | c = 1) (eq. 13-14).
  const Gates u = activate_gates(pre(2, within ? S[kHv] : none, between ? hc : none));
  torch::Tensor sv = u.i * u.g;
  if (within) sv = sv + u.f * S[kSv];
  const torch::Tensor hv = u.o * torch::tanh(sv);
  const torch::Tensor logit_v = logit(head_v, hv, item_v);
  torch::Tensor svi = sv, hvi = hv, logit_vi = logit_v;
  if (inherent) {
    const Gates ui = activate_gates(pre(3, within ? S[kHvI] : none, between ? hci : none));
    svi = ui.i * ui.g;
    if (within) svi = svi + ui.f * S[kSvI];
    hvi = ui.o * torch::tanh(svi);
    logit_vi = logit(head_v, hvi, item_v);
  }

  // Carried to item i + 1: the CVR layer updates where the boundary fires, copies <4> where it
  // does not; without the links between the layers it always updates.
  const torch::Tensor gv = between ? g : torch::ones_like(g);
  auto carry = [&](const torch::Tensor& updated, const torch::Tensor& old) {
    return gv * updated + (1 - gv) * old;
  };
  std::vector<torch::Tensor> next(kParts);
  next[kSc] = sc;
  next[kScI] = sci;
  next[kHc] = hc;
  next[kHcI] = hci;
  next[kDelta] = hawkes ? decay_rate(delta(hc), options_.gamma) : S[kDelta];
  next[kSv] = carry(sv, S[kSv]);
  next[kSvI] = carry(svi, S[kSvI]);
  next[kHv] = carry(hv, S[kHv]);
  next[kHvI] = carry(hvi, S[kHvI]);
  next[kBoundary] = between ? g : torch::zeros_like(g);
  S = std::move(next);
  return torch::cat({logit_c, logit_v, logit_ci, logit_vi, g}, 1);
}

HeroesModel::HeroesModel(const FunnelSpec& funnel, int64_t input_dim, HeroesOptions options)
    : ListModel(input_dim, static_cast<int64_t>(funnel.num_events()), options.list),
      options_(std::move(options)) {
  funnel.validate();
  FUNNEL_CHECK(funnel.num_events() == 2 && funnel.parents[1] == 0,
               "model 'heroes': the funnel must be click -> conversion (two events, the second "
               "after the first), got "
                   << funnel.num_events() << " events");
  cell_ = register_module("cell", std::make_shared<HeroesCellImpl>(encoded_dim(), options_));
}

torch::Tensor HeroesModel::forward_all(const ModelInput& input) {
  const Packed p = pack(input);
  return p.lists.unpack(run_lists(*cell_, p.lists, p.x, p.dt));
}

FunnelOutput HeroesModel::forward(const ModelInput& input) {
  const torch::Tensor all = forward_all(input);
  // Training: behavioural relevance (eq. 17-18); inference: inherent (Algorithm 1, line 9).
  const bool behavioural = is_training() || options_.predict == HeroesPredict::kBehavioural;
  const int64_t first = behavioural ? 0 : 2;
  FunnelOutput out;
  out.add_logit(all.select(1, first));
  out.add_logit(all.select(1, first + 1));
  if (options_.objective == HeroesObjective::kSurvival) {
    // HEROES+ (§4.2): the outputs are the hazards h^c, h^v; the loss of each layer is L_b of
    // eq. 28 over the batch's lists, per item of the batch (the generic loss is a mean), and
    // FunnelLoss weights the two by eq. 17 (w_1 = alpha).
    const torch::Tensor log_hc = out.cond_log_p[0], log_qc = out.cond_log_q[0];
    const torch::Tensor log_hv = out.cond_log_p[1], log_qv = out.cond_log_q[1];
    const torch::Tensor offsets = input.list_offsets;
    const double beta = options_.beta;
    const SurvivalSegments segments = options_.segments;
    out.event_losses = [=](const torch::Tensor& y) {
      const double items = static_cast<double>(std::max<int64_t>(y.size(1), 1));
      const torch::Tensor clicks = y[0];
      // CTR layer: every item a step, the click the behaviour ("observation -> click").
      const SurvivalTerms c =
          survival_terms(log_hc, log_qc, clicks, torch::ones_like(clicks), offsets, segments);
      // CVR layer: the clicked items the steps, the purchase the behaviour ("click ->
      // conversion"; a user keeps clicking until she purchases, §4.1).
      const SurvivalTerms v = survival_terms(log_hv, log_qv, y[1], clicks, offsets, segments);
      return std::vector<torch::Tensor>{c.total(beta) / items, v.total(beta) / items};
    };
  }
  return out;
}

}  // namespace funnel::model
