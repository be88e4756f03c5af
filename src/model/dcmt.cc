#include "model/dcmt.h"

#include <torch/nn/module.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/json_fields.h"
#include "model/model_options.h"

namespace funnel::model {
namespace {

/// Per-row cross-entropy from log-probabilities, soft labels y: -(y log p + (1 - y) log q).
torch::Tensor dcmt_xent(const torch::Tensor& log_p, const torch::Tensor& log_q,
                        const torch::Tensor& y) {
  return -(y * log_p + (1.0 - y) * log_q);
}

}  // namespace

DcmtOptions DcmtOptions::from_json(const nlohmann::json& j, const std::string& path) {
  DcmtOptions o;
  if (j.is_null()) return o;
  JsonFields f(j, path);
  o.towers = read_layer_sizes(f, "towers", o.towers);
  o.cvr_weight = read_weight(f, "cvr_weight", o.cvr_weight);
  o.regularizer_weight = read_weight(f, "regularizer_weight", o.regularizer_weight);
  o.min_propensity = read_min_propensity(f, "min_propensity", o.min_propensity);
  o.dropout = read_dropout(f, "dropout", o.dropout);
  o.activation = read_activation(f, "activation", o.activation);
  f.finish();
  return o;
}

nlohmann::json DcmtOptions::to_json() const {
  return {{"towers", towers},
          {"cvr_weight", cvr_weight},
          {"regularizer_weight", regularizer_weight},
          {"min_propensity", min_propensity},
          {"dropout", dropout},
          {"activation", activation_name(activation)}};
}

DcmtLoss dcmt_loss(const torch::Tensor& log_p, const torch::Tensor& log_q,
                   const torch::Tensor& cf_log_p, const torch::Tensor& cf_log_q,
                   const torch::Tensor& y, const torch::Tensor& observed,
                   const torch::Tensor& log_propensity, double min_propensity) {
  // ohat and 1 - ohat from log ohat without cancellation, floored; constants of the loss (as in
  // three of the four reimplementations), so the DCMT terms never push the CTR tower.
  const torch::Tensor log_o = log_propensity.detach();
  const torch::Tensor o_hat = log_o.exp().clamp_min(min_propensity);
  const torch::Tensor not_o_hat = (-torch::expm1(log_o)).clamp_min(min_propensity);
  DcmtLoss l;  // E^DCMT's three terms (DCMT's CVR loss as NISE eq. 6 restates it)
  // Factual space O: the observed conversion label, inverse propensity of the click.
  l.factual = (observed / o_hat * dcmt_xent(log_p, log_q, y)).mean();
  // Counterfactual space N*: the unclicked rows with the opposite label r* = 1 - r, inverse
  // propensity of the non-click.
  l.counterfactual = ((1.0 - observed) / not_o_hat * dcmt_xent(cf_log_p, cf_log_q, 1.0 - y)).mean();
  // The counterfactual prior r + r* ~ 1, as an L1 penalty over the entire space.
  l.regularizer = (1.0 - (log_p.exp() + cf_log_p.exp())).abs().mean();
  return l;
}

DcmtModel::DcmtModel(const FunnelSpec& funnel, int64_t input_dim, DcmtOptions options)
    : options_(std::move(options)), parents_(funnel.parents) {
  funnel.validate();
  bool any_child = false;
  for (int p : parents_) any_child = any_child || p >= 0;
  FUNNEL_CHECK(any_child, "dcmt: needs an event with a parent (a conversion after its click), got "
                              << funnel.num_events() << " root event(s) "
                              << nlohmann::json(funnel.events).dump());
  const MlpOptions tower = MlpOptions(input_dim)
                               .hidden(options_.towers)
                               .dropout(options_.dropout)
                               .activation(options_.activation);
  for (size_t e = 0; e < funnel.num_events(); ++e) {
    const std::string id = std::to_string(e);
    towers_.push_back(register_module("tower" + id, Tower(tower)));
    // The twin of every event with a parent: its "click" is the parent event.
    counterfactual_.push_back(
        parents_[e] < 0 ? Tower(nullptr) : register_module("counterfactual" + id, Tower(tower)));
  }
}

std::vector<torch::Tensor> DcmtModel::counterfactual_logits(const torch::Tensor& x) {
  std::vector<torch::Tensor> z(counterfactual_.size());
  for (size_t e = 0; e < counterfactual_.size(); ++e) {
    if (parents_[e] >= 0) z[e] = counterfactual_[e](x);
  }
  return z;
}

FunnelOutput DcmtModel::forward(const ModelInput& input) {
  const torch::Tensor& x = input.x;
  FunnelOutput out;
  for (auto& tower : towers_) out.add_logit(tower(x));  // pCTR, and the factual r per event
  const std::vector<torch::Tensor> cf = counterfactual_logits(x);
  std::vector<torch::Tensor> cf_log_p(cf.size()), cf_log_q(cf.size());
  for (size_t e = 0; e < cf.size(); ++e) {
    if (!cf[e].defined()) continue;
    cf_log_p[e] = torch::log_sigmoid(cf[e]);
    cf_log_q[e] = torch::log_sigmoid(-cf[e]);
  }
  // Captured by value: the closure outlives this call inside the returned output.
  const std::vector<torch::Tensor> log_p = out.cond_log_p, log_q = out.cond_log_q;
  const std::vector<int> parents = parents_;
  const DcmtOptions o = options_;
  out.event_losses = [log_p, log_q, cf_log_p, cf_log_q, parents, o](const torch::Tensor& y) {
    std::vector<torch::Tensor> terms(parents.size()), chain(parents.size());
    torch::Tensor dcmt;
    for (size_t e = 0; e < parents.size(); ++e) {
      const int p = parents[e];
      chain[e] = p < 0 ? log_p[e] : log_p[e] + chain[p];  // log P(e) over impressions
      if (p < 0) continue;
      // E^DCMT of e with o = y_parent and ohat = P(parent) (pCTR for a conversion after the click).
      const DcmtLoss l = dcmt_loss(log_p[e], log_q[e], cf_log_p[e], cf_log_q[e], y[e], y[p],
                                   chain[p], o.min_propensity);
      const torch::Tensor term =
          l.factual + l.counterfactual + l.regularizer * o.regularizer_weight;
      dcmt = dcmt.defined() ? dcmt + term : term;
    }
    // E^CTR, the generic term of the first event (a root), plus w^cvr E^DCMT; every later event
    // keeps its generic E^CTCVR.
    terms[0] = dcmt_xent(log_p[0], log_q[0], y[0]).mean();
    if (dcmt.defined()) terms[0] = terms[0] + dcmt * o.cvr_weight;
    return terms;
  };
  return out;
}

}  // namespace funnel::model
