#include "model/mmoe.h"

#include <torch/nn/module.h>

#include "core/json_fields.h"
#include "model/model_options.h"

namespace funnel::model {

MmoeOptions MmoeOptions::from_json(const nlohmann::json& j, const std::string& path) {
  MmoeOptions o;
  if (j.is_null()) return o;
  JsonFields f(j, path);
  o.num_experts = f.get<int64_t>("num_experts", o.num_experts);
  FUNNEL_CHECK(o.num_experts >= 1,
               f.path("num_experts") << ": expected >= 1 expert, got " << o.num_experts);
  o.experts = read_layer_sizes(f, "experts", o.experts);
  o.towers = read_layer_sizes(f, "towers", o.towers);
  o.dropout = read_dropout(f, "dropout", o.dropout);
  o.activation = read_activation(f, "activation", o.activation);
  f.finish();
  return o;
}

nlohmann::json MmoeOptions::to_json() const {
  return {{"num_experts", num_experts},
          {"experts", experts},
          {"towers", towers},
          {"dropout", dropout},
          {"activation", activation_name(activation)}};
}

MmoeModel::MmoeModel(const FunnelSpec& funnel, int64_t input_dim, MmoeOptions options)
    : options_(std::move(options)) {
  funnel.validate();
  experts_ = register_module("experts", ExpertGroup(options_.num_experts,
                                                    MlpOptions(input_dim)
                                                        .hidden(options_.experts)
                                                        .dropout(options_.dropout)
                                                        .activation(options_.activation)));
  for (size_t e = 0; e < funnel.num_events(); ++e) {
    const std::string id = std::to_string(e);
    gates_.push_back(register_module("gate" + id, Gate(input_dim, options_.num_experts)));
    towers_.push_back(register_module("tower" + id, Tower(MlpOptions(experts_->output_dim())
                                                              .hidden(options_.towers)
                                                              .dropout(options_.dropout)
                                                              .activation(options_.activation))));
  }
}

FunnelOutput MmoeModel::forward(const ModelInput& input) {
  const torch::Tensor& x = input.x;
  const torch::Tensor f = experts_(x);  // [B, K, D]
  FunnelOutput out;
  for (size_t e = 0; e < towers_.size(); ++e) out.add_logit(towers_[e](gates_[e](x, f)));
  return out;
}

}  // namespace funnel::model
