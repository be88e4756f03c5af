#include "model/lstm.h"

#include <torch/nn/modules/linear.h>

#include "core/json_fields.h"

namespace funnel::model {

LstmOptions LstmOptions::from_json(const nlohmann::json& j, const std::string& path) {
  LstmOptions o;
  if (j.is_null()) return o;
  JsonFields f(j, path);
  o.list.read(f);
  o.item_readout = f.get<bool>("item_readout", o.item_readout);
  f.finish();
  return o;
}

nlohmann::json LstmOptions::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  list.write(j);
  j["item_readout"] = item_readout;
  return j;
}

LstmModel::LstmModel(const FunnelSpec& funnel, int64_t input_dim, LstmOptions options)
    : ListModel(input_dim, options.list), options_(std::move(options)) {
  funnel.validate();
  cell_ = register_module(
      "cell", std::make_shared<LstmCellImpl>(encoded_dim(), options_.list.hidden,
                                             options_.list.positions));
  heads_ = register_module(
      "heads", torch::nn::Linear(options_.list.hidden, static_cast<int64_t>(funnel.num_events())));
  if (options_.item_readout) {
    item_heads_ = register_module(
        "item_heads", torch::nn::Linear(torch::nn::LinearOptions(
                                            encoded_dim(), static_cast<int64_t>(funnel.num_events()))
                                            .bias(false)));
  }
}

FunnelOutput LstmModel::forward(const ModelInput& input) {
  const Packed p = pack(input);
  const torch::Tensor h = run_lists(*cell_, p.lists, p.x, p.dt);
  torch::Tensor packed = heads_(h);
  if (options_.item_readout) packed = packed + item_heads_(p.x);
  const torch::Tensor logits = p.lists.unpack(packed);
  FunnelOutput out;
  for (int64_t e = 0; e < logits.size(1); ++e) out.add_logit(logits.select(1, e));
  return out;
}

}  // namespace funnel::model
