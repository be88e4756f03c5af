#include "model/esmm.h"

#include <torch/nn/module.h>

#include "core/json_fields.h"
#include "model/model_options.h"

namespace funnel::model {

EsmmOptions EsmmOptions::from_json(const nlohmann::json& j, const std::string& path) {
  EsmmOptions o;
  if (j.is_null()) return o;
  JsonFields f(j, path);
  o.towers = read_layer_sizes(f, "towers", o.towers);
  o.dropout = read_dropout(f, "dropout", o.dropout);
  o.activation = read_activation(f, "activation", o.activation);
  f.finish();
  return o;
}

nlohmann::json EsmmOptions::to_json() const {
  return {{"towers", towers}, {"dropout", dropout}, {"activation", activation_name(activation)}};
}

EsmmModel::EsmmModel(const FunnelSpec& funnel, int64_t input_dim, EsmmOptions options)
    : options_(std::move(options)) {
  funnel.validate();
  for (size_t e = 0; e < funnel.num_events(); ++e) {
    // Indexed names: event names may hold characters a module name cannot.
    towers_.push_back(
        register_module("tower" + std::to_string(e), Tower(MlpOptions(input_dim)
                                                               .hidden(options_.towers)
                                                               .dropout(options_.dropout)
                                                               .activation(options_.activation))));
  }
}

FunnelOutput EsmmModel::forward(const ModelInput& input) {
  FunnelOutput out;
  // input.task(e): the shared rows, or event e's own with per-task embeddings.
  // input.uniform: the columns every row shares (a request's user and context), whose part
  // of the first layer is computed once.
  for (size_t e = 0; e < towers_.size(); ++e) {
    out.add_logit(towers_[e]->forward_uniform(input.task(e), input.uniform));
  }
  return out;
}

}  // namespace funnel::model
