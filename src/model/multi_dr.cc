#include "model/multi_dr.h"

#include <torch/nn/module.h>

#include <cmath>

#include "core/json_fields.h"
#include "model/model_options.h"

namespace funnel::model {

MultiDrOptions MultiDrOptions::from_json(const nlohmann::json& j, const std::string& path) {
  MultiDrOptions o;
  if (j.is_null()) return o;
  JsonFields f(j, path);
  o.towers = read_layer_sizes(f, "towers", o.towers);
  o.imputation_towers = read_layer_sizes(f, "imputation_towers", o.imputation_towers);
  o.imputation_weight = read_weight(f, "imputation_weight", o.imputation_weight);
  o.min_propensity = read_min_propensity(f, "min_propensity", o.min_propensity);
  o.dropout = read_dropout(f, "dropout", o.dropout);
  o.activation = read_activation(f, "activation", o.activation);
  f.finish();
  return o;
}

nlohmann::json MultiDrOptions::to_json() const {
  return {{"towers", towers},
          {"imputation_towers", imputation_towers},
          {"imputation_weight", imputation_weight},
          {"min_propensity", min_propensity},
          {"dropout", dropout},
          {"activation", activation_name(activation)}};
}

DoublyRobustLoss doubly_robust_loss(const torch::Tensor& log_p, const torch::Tensor& log_q,
                                    const torch::Tensor& y, const torch::Tensor& observed,
                                    const torch::Tensor& propensity, const torch::Tensor& imputed,
                                    double min_propensity) {
  const torch::Tensor error = -(y * log_p + (1.0 - y) * log_q);  // e: the CVR tower's xent
  const torch::Tensor inv = observed / propensity.detach().clamp_min(min_propensity);  // o / phat
  const torch::Tensor ehat = imputed.detach();
  DoublyRobustLoss l;
  // DR estimator of the entire-space CVR error: imputed error everywhere, corrected by the
  // inverse-propensity-weighted residual where the label is observed.
  l.dr = (ehat + inv * (error - ehat)).mean();
  // The imputation tower regresses the observed error, inverse-propensity weighted.
  l.imputation = (inv * (imputed - error.detach()).pow(2)).mean();
  return l;
}

MultiDrModel::MultiDrModel(const FunnelSpec& funnel, int64_t input_dim, MultiDrOptions options)
    : options_(std::move(options)), parents_(funnel.parents) {
  funnel.validate();
  const MlpOptions base =
      MlpOptions(input_dim).dropout(options_.dropout).activation(options_.activation);
  for (size_t e = 0; e < funnel.num_events(); ++e) {
    const std::string id = std::to_string(e);
    towers_.push_back(
        register_module("tower" + id, Tower(MlpOptions(base).hidden(options_.towers))));
    if (parents_[e] < 0) {
      imputation_.emplace_back(nullptr);
    } else {
      imputation_.push_back(register_module(
          "imputation" + id, Tower(MlpOptions(base).hidden(options_.imputation_towers))));
    }
  }
}

FunnelOutput MultiDrModel::forward(const ModelInput& input) {
  const torch::Tensor& x = input.x;
  FunnelOutput out;
  std::vector<torch::Tensor> imputed(towers_.size());
  for (size_t e = 0; e < towers_.size(); ++e) {
    out.add_logit(towers_[e](x));
    if (parents_[e] >= 0) imputed[e] = torch::softplus(imputation_[e](x));
  }
  // Captured by value: the closure outlives this call inside the returned output.
  const std::vector<torch::Tensor> log_p = out.cond_log_p, log_q = out.cond_log_q;
  const std::vector<int> parents = parents_;
  const double imputation_weight = options_.imputation_weight;
  const double min_propensity = options_.min_propensity;
  out.event_losses = [log_p, log_q, imputed, parents, imputation_weight,
                      min_propensity](const torch::Tensor& y) {
    std::vector<torch::Tensor> terms(parents.size()), chain(parents.size());
    for (size_t e = 0; e < parents.size(); ++e) {
      const int p = parents[e];
      chain[e] = p < 0 ? log_p[e] : log_p[e] + chain[p];  // log P(e) over impressions
      if (p < 0) continue;  // the CTR tower keeps the generic cross-entropy
      const DoublyRobustLoss l = doubly_robust_loss(log_p[e], log_q[e], y[e], y[p], chain[p].exp(),
                                                    imputed[e], min_propensity);
      terms[e] = l.dr + l.imputation * imputation_weight;
    }
    return terms;
  };
  return out;
}

}  // namespace funnel::model
