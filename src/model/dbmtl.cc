#include "model/dbmtl.h"

#include <torch/nn/module.h>

#include "core/json_fields.h"
#include "model/marginal_heads.h"
#include "model/model_options.h"

namespace funnel::model {

DbmtlOptions DbmtlOptions::from_json(const nlohmann::json& j, const std::string& path) {
  DbmtlOptions o;
  if (j.is_null()) return o;
  JsonFields f(j, path);
  o.bottom = read_layer_sizes(f, "bottom", o.bottom);
  o.towers = read_layer_sizes(f, "towers", o.towers);
  o.relation = read_layer_sizes(f, "relation", o.relation);
  o.dropout = read_dropout(f, "dropout", o.dropout);
  o.activation = read_activation(f, "activation", o.activation);
  f.finish();
  return o;
}

nlohmann::json DbmtlOptions::to_json() const {
  return {{"bottom", bottom},
          {"towers", towers},
          {"relation", relation},
          {"dropout", dropout},
          {"activation", activation_name(activation)}};
}

DbmtlModel::DbmtlModel(const FunnelSpec& funnel, int64_t input_dim, DbmtlOptions options)
    : options_(std::move(options)), parents_(funnel.parents) {
  funnel.validate();
  const MlpOptions base =
      MlpOptions(input_dim).dropout(options_.dropout).activation(options_.activation);
  bottom_ = register_module("bottom", Mlp(MlpOptions(base).hidden(options_.bottom)));
  const int64_t h = bottom_->output_dim();
  std::vector<int64_t> rel_width(funnel.num_events());
  for (size_t e = 0; e < funnel.num_events(); ++e) {
    const std::string id = std::to_string(e);
    towers_.push_back(
        register_module("tower" + id, Mlp(MlpOptions(base).in(h).hidden(options_.towers))));
    const int64_t t = towers_.back()->output_dim();
    // The relation network sees the event's own tower and, below the root, its parent's r.
    const int64_t in = parents_[e] < 0 ? t : t + rel_width[parents_[e]];
    relations_.push_back(
        register_module("relation" + id, Tower(MlpOptions(base).in(in).hidden(options_.relation))));
    rel_width[e] = relations_.back()->mlp()->output_dim();
  }
}

std::vector<torch::Tensor> DbmtlModel::logits(const torch::Tensor& x) {
  const torch::Tensor h = bottom_(x);
  std::vector<torch::Tensor> r(towers_.size()), z(towers_.size());
  for (size_t e = 0; e < towers_.size(); ++e) {
    torch::Tensor t = towers_[e](h);
    // p(t_e | t_parent, x): the parent's relation output enters this event's relation network.
    if (parents_[e] >= 0) t = torch::cat({t, r[parents_[e]]}, 1);
    r[e] = relations_[e]->mlp()(t);
    z[e] = relations_[e]->head(r[e]);
  }
  return z;
}

FunnelOutput DbmtlModel::forward(const ModelInput& input) {
  return output_from_marginal_logits(logits(input.x), parents_);
}

}  // namespace funnel::model
