#include "model/ple.h"

#include <torch/nn/module.h>

#include "core/json_fields.h"
#include "model/model_options.h"

namespace funnel::model {

PleOptions PleOptions::from_json(const nlohmann::json& j, const std::string& path) {
  PleOptions o;
  if (j.is_null()) return o;
  JsonFields f(j, path);
  o.levels = f.get<int64_t>("levels", o.levels);
  FUNNEL_CHECK(o.levels >= 1, f.path("levels") << ": expected >= 1 level, got " << o.levels);
  o.shared_experts = f.get<int64_t>("shared_experts", o.shared_experts);
  o.task_experts = f.get<int64_t>("task_experts", o.task_experts);
  FUNNEL_CHECK(o.shared_experts >= 0 && o.task_experts >= 0 &&
                   o.shared_experts + o.task_experts >= 1,
               path << ": expected shared_experts >= 0, task_experts >= 0 and at least one "
                       "expert per event, got "
                    << o.shared_experts << " and " << o.task_experts);
  o.experts = read_layer_sizes(f, "experts", o.experts);
  o.towers = read_layer_sizes(f, "towers", o.towers);
  o.dropout = read_dropout(f, "dropout", o.dropout);
  o.activation = read_activation(f, "activation", o.activation);
  f.finish();
  return o;
}

nlohmann::json PleOptions::to_json() const {
  return {{"levels", levels},
          {"shared_experts", shared_experts},
          {"task_experts", task_experts},
          {"experts", experts},
          {"towers", towers},
          {"dropout", dropout},
          {"activation", activation_name(activation)}};
}

PleModel::PleModel(const FunnelSpec& funnel, int64_t input_dim, PleOptions options)
    : options_(std::move(options)) {
  funnel.validate();
  const auto events = static_cast<int64_t>(funnel.num_events());
  int64_t width = input_dim;
  for (int64_t l = 0; l < options_.levels; ++l) {
    // PLE: every level but the last also forms the shared output for the next level.
    levels_.push_back(register_module(
        "level" + std::to_string(l),
        CgcLayer(events, options_.shared_experts, options_.task_experts,
                 MlpOptions(width)
                     .hidden(options_.experts)
                     .dropout(options_.dropout)
                     .activation(options_.activation),
                 /*with_shared_gate=*/l + 1 < options_.levels)));
    width = levels_.back()->output_dim();
  }
  for (int64_t e = 0; e < events; ++e) {
    towers_.push_back(register_module("tower" + std::to_string(e),
                                      Tower(MlpOptions(width)
                                                .hidden(options_.towers)
                                                .dropout(options_.dropout)
                                                .activation(options_.activation))));
  }
}

FunnelOutput PleModel::forward(const ModelInput& input) {
  const torch::Tensor& x = input.x;
  std::vector<torch::Tensor> task(towers_.size(), x);
  torch::Tensor shared = x;
  for (auto& level : levels_) {
    CgcOutput o = level(task, shared);
    task = std::move(o.tasks);
    shared = o.shared;
  }
  FunnelOutput out;
  for (size_t e = 0; e < towers_.size(); ++e) out.add_logit(towers_[e](task[e]));
  return out;
}

}  // namespace funnel::model
