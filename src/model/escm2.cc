#include "model/escm2.h"

#include <torch/nn/module.h>

#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/json_fields.h"
#include "model/model_options.h"

namespace funnel::model {
namespace {

/// o / phat, phat = max(propensity, min_propensity), optionally detached.
torch::Tensor escm2_inverse_propensity(const torch::Tensor& observed,
                                       const torch::Tensor& propensity, double min_propensity,
                                       bool detach) {
  return observed / (detach ? propensity.detach() : propensity).clamp_min(min_propensity);
}

/// One event's counterfactual risk from (event, its labels, the parent's labels, P(parent)).
using Escm2Risk =
    std::function<torch::Tensor(size_t e, const torch::Tensor& y, const torch::Tensor& observed,
                                const torch::Tensor& propensity)>;

/// Sets out.event_losses to the ESCM2 objective: the first event's term is its generic
/// cross-entropy plus weight x the sum of every later event's risk; the other events keep their
/// generic terms (the CTCVR risk, weighted by train.loss_weights, i.e. lambda_g).
void set_escm2_event_losses(FunnelOutput& out, const std::vector<int>& parents, double weight,
                            Escm2Risk risk) {
  // Captured by value: the closure outlives forward() inside the returned output.
  const std::vector<torch::Tensor> log_p = out.cond_log_p, log_q = out.cond_log_q;
  out.event_losses = [log_p, log_q, parents, weight, risk](const torch::Tensor& y) {
    std::vector<torch::Tensor> terms(parents.size()), chain(parents.size());
    torch::Tensor cf;
    for (size_t e = 0; e < parents.size(); ++e) {
      const int p = parents[e];
      chain[e] = p < 0 ? log_p[e] : log_p[e] + chain[p];  // log P(e) over impressions
      if (p < 0) continue;
      // The label of e is observed where its parent happened; P(parent) is the propensity.
      const torch::Tensor r = risk(e, y[e], y[p], chain[p].exp());
      cf = cf.defined() ? cf + r : r;
    }
    // Empirical risk L_CTR (the generic term of the first event, which is a root)...
    terms[0] = -(y[0] * log_p[0] + (1.0 - y[0]) * log_q[0]).mean();
    // ...plus lambda_c times the counterfactual risk (ESCM2 objective).
    if (cf.defined()) terms[0] = terms[0] + cf * weight;
    return terms;
  };
}

}  // namespace

Escm2Options Escm2Options::from_json(const nlohmann::json& j, const std::string& path) {
  Escm2Options o;
  if (j.is_null()) return o;
  JsonFields f(j, path);
  o.towers = read_layer_sizes(f, "towers", o.towers);
  o.imputation_towers = read_layer_sizes(f, "imputation_towers", o.imputation_towers);
  o.counterfactual_weight = read_weight(f, "counterfactual_weight", o.counterfactual_weight);
  o.imputation_weight = read_weight(f, "imputation_weight", o.imputation_weight);
  o.min_propensity = read_min_propensity(f, "min_propensity", o.min_propensity);
  o.detach_propensity = f.get<bool>("detach_propensity", o.detach_propensity);
  o.dropout = read_dropout(f, "dropout", o.dropout);
  o.activation = read_activation(f, "activation", o.activation);
  f.finish();
  return o;
}

nlohmann::json Escm2Options::to_json() const {
  return {{"towers", towers},
          {"imputation_towers", imputation_towers},
          {"counterfactual_weight", counterfactual_weight},
          {"imputation_weight", imputation_weight},
          {"min_propensity", min_propensity},
          {"detach_propensity", detach_propensity},
          {"dropout", dropout},
          {"activation", activation_name(activation)}};
}

torch::Tensor escm2_ips_risk(const torch::Tensor& log_p, const torch::Tensor& log_q,
                             const torch::Tensor& y, const torch::Tensor& observed,
                             const torch::Tensor& propensity, double min_propensity, bool detach) {
  const torch::Tensor error = -(y * log_p + (1.0 - y) * log_q);  // e: the CVR tower's xent
  // ESCM2-IPS: the observed errors, inverse-propensity weighted, averaged over all impressions.
  return (escm2_inverse_propensity(observed, propensity, min_propensity, detach) * error).mean();
}

torch::Tensor escm2_dr_risk(const torch::Tensor& log_p, const torch::Tensor& log_q,
                            const torch::Tensor& y, const torch::Tensor& observed,
                            const torch::Tensor& propensity, const torch::Tensor& imputed,
                            double min_propensity, double imputation_weight, bool detach) {
  // ESCM2-DR: the DR error estimate and the imputation loss, as Multi-DR's.
  const DoublyRobustLoss l =
      doubly_robust_loss(log_p, log_q, y, observed, propensity, imputed, min_propensity);
  const torch::Tensor risk = l.dr + l.imputation * imputation_weight;
  if (detach) return risk;
  // doubly_robust_loss detaches phat. Its gradient path, d/dphat of mean_b (o_b / phat_b) r_b
  // with r_b = (e_b - ehat_b) + imputation_weight (ehat_b - e_b)^2, is added as a term whose
  // value is exactly 0 (inv - inv.detach()), so only the gradient changes.
  const torch::Tensor error = (-(y * log_p + (1.0 - y) * log_q)).detach();
  const torch::Tensor ehat = imputed.detach();
  const torch::Tensor inv = escm2_inverse_propensity(observed, propensity, min_propensity, false);
  const torch::Tensor r = (error - ehat) + imputation_weight * (ehat - error).pow(2);
  return risk + ((inv - inv.detach()) * r).mean();
}

Escm2IpsModel::Escm2IpsModel(const FunnelSpec& funnel, int64_t input_dim, Escm2Options options)
    : EsmmModel(funnel, input_dim,
                EsmmOptions{options.towers, options.dropout, options.activation}),
      escm2_(std::move(options)),
      parents_(funnel.parents) {}

FunnelOutput Escm2IpsModel::forward(const ModelInput& input) {
  FunnelOutput out = EsmmModel::forward(input);
  const std::vector<torch::Tensor> log_p = out.cond_log_p, log_q = out.cond_log_q;
  const double floor = escm2_.min_propensity;
  const bool detach = escm2_.detach_propensity;
  set_escm2_event_losses(
      out, parents_, escm2_.counterfactual_weight,
      [log_p, log_q, floor, detach](size_t e, const torch::Tensor& y, const torch::Tensor& observed,
                                    const torch::Tensor& propensity) {
        return escm2_ips_risk(log_p[e], log_q[e], y, observed, propensity, floor, detach);
      });
  return out;
}

namespace {

/// Multi-DR's options holding ESCM2's towers, imputation towers and propensity floor.
MultiDrOptions escm2_multi_dr_options(const Escm2Options& o) {
  MultiDrOptions m;
  m.towers = o.towers;
  m.imputation_towers = o.imputation_towers;
  m.imputation_weight = o.imputation_weight;
  m.min_propensity = o.min_propensity;
  m.dropout = o.dropout;
  m.activation = o.activation;
  return m;
}

}  // namespace

Escm2DrModel::Escm2DrModel(const FunnelSpec& funnel, int64_t input_dim, Escm2Options options)
    : MultiDrModel(funnel, input_dim, escm2_multi_dr_options(options)),
      escm2_(std::move(options)),
      parents_(funnel.parents) {}

FunnelOutput Escm2DrModel::forward(const ModelInput& input) {
  const torch::Tensor& x = input.x;
  FunnelOutput out;
  std::vector<torch::Tensor> imputed(parents_.size());
  for (size_t e = 0; e < parents_.size(); ++e) {
    out.add_logit(tower(e)(x));
    // Multi-DR's imputed error, ehat = softplus(Imputation(x)) >= 0.
    if (parents_[e] >= 0) imputed[e] = torch::softplus(imputation(e)(x));
  }
  const std::vector<torch::Tensor> log_p = out.cond_log_p, log_q = out.cond_log_q;
  const double floor = escm2_.min_propensity, imputation_weight = escm2_.imputation_weight;
  const bool detach = escm2_.detach_propensity;
  set_escm2_event_losses(out, parents_, escm2_.counterfactual_weight,
                         [log_p, log_q, imputed, floor, imputation_weight, detach](
                             size_t e, const torch::Tensor& y, const torch::Tensor& observed,
                             const torch::Tensor& propensity) {
                           return escm2_dr_risk(log_p[e], log_q[e], y, observed, propensity,
                                                imputed[e], floor, imputation_weight, detach);
                         });
  return out;
}

}  // namespace funnel::model
