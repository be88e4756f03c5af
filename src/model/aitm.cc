#include "model/aitm.h"

#include <torch/nn/module.h>

#include <cmath>

#include "core/json_fields.h"
#include "model/marginal_heads.h"
#include "model/model_options.h"

namespace funnel::model {

AitmOptions AitmOptions::from_json(const nlohmann::json& j, const std::string& path) {
  AitmOptions o;
  if (j.is_null()) return o;
  JsonFields f(j, path);
  o.towers = read_layer_sizes(f, "towers", o.towers);
  o.calibration_weight = f.get<double>("calibration_weight", o.calibration_weight);
  FUNNEL_CHECK(o.calibration_weight >= 0 && std::isfinite(o.calibration_weight),
               f.path("calibration_weight")
                   << ": expected a finite weight >= 0, got " << o.calibration_weight);
  o.dropout = read_dropout(f, "dropout", o.dropout);
  o.activation = read_activation(f, "activation", o.activation);
  f.finish();
  FUNNEL_CHECK(!o.towers.empty(), f.path("towers") << ": AITM needs at least one tower layer");
  return o;
}

nlohmann::json AitmOptions::to_json() const {
  return {{"towers", towers},
          {"calibration_weight", calibration_weight},
          {"dropout", dropout},
          {"activation", activation_name(activation)}};
}

AitmModel::AitmModel(const FunnelSpec& funnel, int64_t input_dim, AitmOptions options)
    : options_(std::move(options)), parents_(funnel.parents) {
  funnel.validate();
  FUNNEL_CHECK(!options_.towers.empty(), "aitm: needs at least one tower layer");
  const int64_t d = options_.towers.back();
  for (size_t e = 0; e < funnel.num_events(); ++e) {
    const std::string id = std::to_string(e);
    const MlpOptions mlp =
        MlpOptions(input_dim).dropout(options_.dropout).activation(options_.activation);
    towers_.push_back(register_module("tower" + id, Mlp(MlpOptions(mlp).hidden(options_.towers))));
    if (parents_[e] < 0) {
      transfer_.emplace_back(nullptr);
      attention_.emplace_back(nullptr);
    } else {
      // AITM: p_{t-1} = g_{t-1}(z_{t-1}), one ReLU layer; the AIT module of this event.
      transfer_.push_back(register_module(
          "transfer" + id, Mlp(MlpOptions(d).hidden({d}).activation(options_.activation))));
      attention_.push_back(register_module("attention" + id, Attention(d, d)));
    }
    heads_.push_back(register_module("head" + id, Tower(MlpOptions(d).hidden({}))));
  }
}

AitmForward AitmModel::forward_detailed(const torch::Tensor& x) {
  const size_t n = towers_.size();
  AitmForward r;
  r.logits.resize(n);
  r.attention_inputs.resize(n);
  r.attention_weights.resize(n);
  std::vector<torch::Tensor> z(n);
  for (size_t e = 0; e < n; ++e) {
    const torch::Tensor q = towers_[e](x);
    if (parents_[e] < 0) {
      z[e] = q;
    } else {
      const torch::Tensor p = transfer_[e](z[parents_[e]]);
      r.attention_inputs[e] = torch::stack({p, q}, 1);
      AttentionResult a = attention_[e](r.attention_inputs[e]);
      z[e] = a.output;
      r.attention_weights[e] = a.weights;
    }
    r.logits[e] = heads_[e](z[e]);
  }
  return r;
}

FunnelOutput AitmModel::forward(const ModelInput& input) {
  const AitmForward r = forward_detailed(input.x);
  FunnelOutput out = output_from_marginal_logits(r.logits, parents_);
  if (options_.calibration_weight > 0 && r.logits.size() > 1) {
    // AITM's behavioural expectation calibrator: max(yhat_e - yhat_parent, 0) per row.
    torch::Tensor penalty = torch::zeros({}, r.logits[0].options());
    for (size_t e = 0; e < r.logits.size(); ++e) {
      if (parents_[e] < 0) continue;
      penalty = penalty +
                torch::relu(torch::sigmoid(r.logits[e]) - torch::sigmoid(r.logits[parents_[e]]))
                    .mean();
    }
    out.aux_loss = penalty * options_.calibration_weight;
  }
  return out;
}

}  // namespace funnel::model
