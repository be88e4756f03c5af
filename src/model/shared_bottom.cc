#include "model/shared_bottom.h"

#include <torch/nn/module.h>

#include "core/json_fields.h"
#include "model/model_options.h"

namespace funnel::model {

SharedBottomOptions SharedBottomOptions::from_json(const nlohmann::json& j,
                                                   const std::string& path) {
  SharedBottomOptions o;
  if (j.is_null()) return o;
  JsonFields f(j, path);
  o.bottom = read_layer_sizes(f, "bottom", o.bottom);
  o.towers = read_layer_sizes(f, "towers", o.towers);
  o.dropout = read_dropout(f, "dropout", o.dropout);
  o.activation = read_activation(f, "activation", o.activation);
  f.finish();
  return o;
}

nlohmann::json SharedBottomOptions::to_json() const {
  return {{"bottom", bottom},
          {"towers", towers},
          {"dropout", dropout},
          {"activation", activation_name(activation)}};
}

SharedBottomModel::SharedBottomModel(const FunnelSpec& funnel, int64_t input_dim,
                                     SharedBottomOptions options)
    : options_(std::move(options)) {
  funnel.validate();
  bottom_ = register_module("bottom", Mlp(MlpOptions(input_dim)
                                              .hidden(options_.bottom)
                                              .dropout(options_.dropout)
                                              .activation(options_.activation)));
  for (size_t e = 0; e < funnel.num_events(); ++e) {
    towers_.push_back(
        register_module("tower" + std::to_string(e), Tower(MlpOptions(bottom_->output_dim())
                                                               .hidden(options_.towers)
                                                               .dropout(options_.dropout)
                                                               .activation(options_.activation))));
  }
}

FunnelOutput SharedBottomModel::forward(const ModelInput& input) {
  const torch::Tensor h = bottom_(input.x);
  FunnelOutput out;
  for (auto& tower : towers_) out.add_logit(tower(h));
  return out;
}

}  // namespace funnel::model
