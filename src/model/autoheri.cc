#include "model/autoheri.h"

#include <torch/nn/module.h>

#include <cmath>
#include <map>

#include "core/choice.h"
#include "core/json_fields.h"
#include "model/model_options.h"

namespace funnel::model {

namespace {

constexpr Choice<AlphaMode> kAlphaModes[] = {{"search", AlphaMode::kSearch},
                                             {"fixed", AlphaMode::kFixed}};
/// edge_init names the value of edge_zero_init.
constexpr Choice<bool> kEdgeInits[] = {{"zero", true}, {"default", false}};

}  // namespace

AutoHeriOptions AutoHeriOptions::from_json(const nlohmann::json& j, const std::string& path) {
  AutoHeriOptions o;
  if (j.is_null()) return o;
  JsonFields f(j, path);
  o.towers = read_layer_sizes(f, "towers", o.towers);
  o.dropout = read_dropout(f, "dropout", o.dropout);
  o.activation = read_activation(f, "activation", o.activation);
  o.scheme = parse_integration_scheme(
      f.get<std::string>("scheme", integration_scheme_name(o.scheme)), f.path("scheme"));
  o.skip = f.get<bool>("skip", o.skip);
  o.alpha = parse_choice(f.get<std::string>("alpha", choice_name(o.alpha, kAlphaModes)),
                         kAlphaModes, f.path("alpha"));
  o.alpha_init = f.get<double>("alpha_init", o.alpha_init);
  FUNNEL_CHECK(o.alpha_init > 0 && o.alpha_init < 1,
               f.path("alpha_init") << ": expected a probability in (0, 1), got " << o.alpha_init);
  o.entropy_weight = f.get<double>("entropy_weight", o.entropy_weight);
  FUNNEL_CHECK(o.entropy_weight >= 0,
               f.path("entropy_weight") << ": must be >= 0, got " << o.entropy_weight);
  o.edge_zero_init =
      parse_choice(f.get<std::string>("edge_init", choice_name(o.edge_zero_init, kEdgeInits)),
                   kEdgeInits, f.path("edge_init"));
  if (f.has("arch") && !f.at("arch").is_null()) {
    o.arch = AutoHeriArch::from_json(f.at("arch"), f.path("arch"));
  } else {
    f.get<int>("arch", 0);
  }
  f.finish();
  FUNNEL_CHECK(!o.towers.empty(), f.path("towers") << ": AutoHERI needs at least one layer");
  FUNNEL_CHECK(o.alpha == AlphaMode::kSearch || o.arch,
               f.path("alpha") << ": \"fixed\" needs \"arch\" (an architecture, e.g. from "
                                  "funnel search, via funnel train --arch FILE)");
  FUNNEL_CHECK(!(o.alpha == AlphaMode::kSearch && o.arch),
               f.path("arch") << ": only used with \"alpha\": \"fixed\"");
  if (o.arch) o = o.with_arch(*o.arch);
  FUNNEL_CHECK(!(o.skip && o.scheme == IntegrationScheme::kParallel),
               f.path("skip") << ": applies to the hierarchical scheme only");
  return o;
}

nlohmann::json AutoHeriOptions::to_json() const {
  // In fixed mode the architecture decides towers, scheme and skip (as in from_json and the
  // model); in search mode an architecture is never read, so none is written.
  const bool fixed = alpha == AlphaMode::kFixed && arch;
  return {{"towers", fixed ? arch->towers : towers},
          {"dropout", dropout},
          {"activation", activation_name(activation)},
          {"scheme", integration_scheme_name(fixed ? arch->scheme : scheme)},
          {"skip", fixed ? arch->skip : skip},
          {"alpha", choice_name(alpha, kAlphaModes)},
          {"alpha_init", alpha_init},
          {"entropy_weight", entropy_weight},
          {"edge_init", choice_name(edge_zero_init, kEdgeInits)},
          {"arch", fixed ? arch->to_json() : nlohmann::json()}};
}

AutoHeriOptions AutoHeriOptions::with_arch(const AutoHeriArch& a) const {
  AutoHeriOptions o = *this;
  o.alpha = AlphaMode::kFixed;
  o.arch = a;
  // The architecture decides the shape of the network.
  o.towers = a.towers;
  o.scheme = a.scheme;
  o.skip = a.skip;
  return o;
}

AutoHeriModel::AutoHeriModel(const FunnelSpec& funnel, int64_t input_dim, AutoHeriOptions options)
    : funnel_(funnel), options_(std::move(options)) {
  funnel_.validate();
  if (options_.alpha == AlphaMode::kFixed) {
    FUNNEL_CHECK(options_.arch, "autoheri: fixed mode needs an architecture");
    // The architecture decides the shape of the network.
    options_.towers = options_.arch->towers;
    options_.scheme = options_.arch->scheme;
    options_.skip = options_.arch->skip;
  }
  const size_t L = options_.towers.size();
  FUNNEL_CHECK(L > 0, "autoheri: towers need at least one layer");
  FUNNEL_CHECK(!(options_.skip && options_.scheme == IntegrationScheme::kParallel),
               "autoheri: skip applies to the hierarchical scheme only");
  if (options_.alpha == AlphaMode::kFixed) {
    options_.arch->check_matches(funnel_, options_.towers);
    edges_ = options_.arch->edges;
  } else {
    edges_ = candidate_edges(funnel_, options_.scheme, options_.skip);
  }
  for (size_t e = 0; e < funnel_.num_events(); ++e) {
    towers_.push_back(register_module(
        "tower" + std::to_string(e), Tower(MlpOptions(input_dim)
                                               .hidden(options_.towers)
                                               .dropout(options_.dropout)
                                               .activation(options_.activation))));
  }
  const double init_logit = std::log(options_.alpha_init / (1 - options_.alpha_init));
  for (const ArchEdge& edge : edges_) {
    const std::string suffix = std::to_string(edge.from) + "_" + std::to_string(edge.to);
    std::vector<uint8_t> connections(L * L);
    torch::Tensor mask = torch::zeros({int64_t(L), int64_t(L)});
    auto m = mask.accessor<float, 2>();
    for (size_t i = 0; i < L; ++i) {
      for (size_t j = 0; j < L; ++j) {
        const bool candidate = is_candidate(options_.scheme, i, j);
        m[i][j] = candidate ? 1.0f : 0.0f;
        connections[i * L + j] =
            options_.alpha == AlphaMode::kFixed ? edge.z.at(i * L + j) : candidate;
      }
    }
    edge_modules_.push_back(register_module(
        "edge" + suffix,
        IntegrationEdge(IntegrationEdgeOptions(options_.towers, options_.towers)
                            .connections(std::move(connections))
                            .zero_init(options_.edge_zero_init))));
    if (options_.alpha == AlphaMode::kSearch) {
      alpha_logits_.push_back(
          register_parameter("alpha" + suffix, torch::full({int64_t(L), int64_t(L)}, init_logit)));
      candidate_masks_.push_back(register_buffer("candidates" + suffix, mask));
    }
  }
}

std::vector<torch::Tensor> AutoHeriModel::weight_parameters() const {
  std::vector<torch::Tensor> out;
  for (const torch::Tensor& p : parameters()) {
    bool is_arch = false;
    for (const torch::Tensor& a : alpha_logits_) is_arch = is_arch || p.is_same(a);
    if (!is_arch) out.push_back(p);
  }
  return out;
}

torch::Tensor AutoHeriModel::alpha(size_t k) const {
  if (options_.alpha == AlphaMode::kFixed) return {};
  return torch::sigmoid(alpha_logits_.at(k));
}

torch::Tensor AutoHeriModel::entropy() const {
  if (alpha_logits_.empty()) return torch::zeros({});
  torch::Tensor total;
  for (size_t k = 0; k < alpha_logits_.size(); ++k) {
    // H(sigmoid(a)) = sigmoid(a) softplus(-a) + sigmoid(-a) softplus(a): both products are
    // accurate for large |a| (no cancellation, unlike softplus(a) - a sigmoid(a)); the clamp
    // keeps a = -inf (alpha forced to 0) finite, where H is below 1e-20 anyway.
    const torch::Tensor a = alpha_logits_[k].clamp(-50, 50);
    const torch::Tensor h = torch::sigmoid(a) * torch::softplus(-a) +
                            torch::sigmoid(-a) * torch::softplus(a);
    const torch::Tensor s = (h * candidate_masks_[k]).sum();
    total = total.defined() ? total + s : s;
  }
  return total;
}

FunnelOutput AutoHeriModel::forward(const ModelInput& input) {
  const size_t E = towers_.size(), L = options_.towers.size();
  std::vector<torch::Tensor> alphas(edges_.size());
  for (size_t k = 0; k < edges_.size(); ++k) alphas[k] = alpha(k);
  std::vector<std::vector<torch::Tensor>> h(E, std::vector<torch::Tensor>(L));
  // AutoHERI eq. 1 for layer j of tower s: the tower's own layer plus the integration terms.
  auto compute = [&](size_t s, size_t j) {
    // input.task(s): the shared rows, or tower s's own with per-task embeddings (§3.1).
    torch::Tensor v = towers_[s]->mlp()->layer(j, j == 0 ? input.task(s) : h[s][j - 1]);
    for (size_t k = 0; k < edges_.size(); ++k) {
      if (static_cast<size_t>(edges_[k].to) != s) continue;
      const torch::Tensor m = edge_modules_[k]->forward(j, h[edges_[k].from], alphas[k]);
      if (m.defined()) v = v + m;
    }
    h[s][j] = v;
  };
  if (options_.scheme == IntegrationScheme::kHierarchical) {
    // A preceding tower is always an earlier event: tower by tower, all its layers first.
    for (size_t s = 0; s < E; ++s) {
      for (size_t j = 0; j < L; ++j) compute(s, j);
    }
  } else {
    // Parallel: layer j only reads layers < j of other towers, so advance level by level.
    for (size_t j = 0; j < L; ++j) {
      for (size_t s = 0; s < E; ++s) compute(s, j);
    }
  }
  FunnelOutput out;
  for (size_t s = 0; s < E; ++s) out.add_logit(towers_[s]->head(h[s][L - 1]));
  if (options_.alpha == AlphaMode::kSearch && options_.entropy_weight > 0) {
    out.aux_loss = options_.entropy_weight * entropy();
  }
  return out;
}

AutoHeriArch AutoHeriModel::arch(const DeriveOptions& derive) const {
  if (options_.alpha == AlphaMode::kFixed) return *options_.arch;
  AutoHeriArch a;
  a.events = funnel_.events;
  a.parents = funnel_.parents;
  a.towers = options_.towers;
  a.scheme = options_.scheme;
  a.skip = options_.skip;
  a.edges = edges_;
  const size_t L = options_.towers.size();
  for (size_t k = 0; k < edges_.size(); ++k) {
    const torch::Tensor al = alpha(k).detach().to(torch::kCPU, torch::kDouble).contiguous();
    const double* p = al.data_ptr<double>();
    a.edges[k].alpha.assign(p, p + L * L);
    for (size_t i = 0; i < L * L; ++i) {
      if (!is_candidate(a.scheme, i / L, i % L)) a.edges[k].alpha[i] = NAN;
    }
  }
  a.derive(derive);
  return a;
}

void copy_weights_by_name(const torch::nn::Module& from, torch::nn::Module& to) {
  const auto src = from.named_parameters();
  torch::NoGradGuard no_grad;
  for (auto& p : to.named_parameters()) {
    const torch::Tensor* s = src.find(p.key());
    FUNNEL_CHECK(s != nullptr, "copy weights: the source model has no parameter " << p.key());
    FUNNEL_CHECK(s->sizes() == p.value().sizes(),
                 "copy weights: " << p.key() << " has shape " << s->sizes() << " in the source, "
                                  << p.value().sizes() << " here");
    p.value().copy_(*s);
  }
}

}  // namespace funnel::model
