#include "model/esm2.h"

#include <torch/nn/module.h>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace funnel::model {

Esm2Model::Esm2Model(const FunnelSpec& funnel, int64_t input_dim, EsmmOptions options)
    : options_(std::move(options)) {
  funnel.validate();
  const auto& p = funnel.parents;
  FUNNEL_CHECK(p.size() == 3 && p[1] == 0 && (p[2] == 0 || p[2] == 1),
               "esm2: needs 3 events click, action (parent click) and purchase (parent click, or "
               "the action for a chain), got "
                   << funnel.num_events() << " events with parents "
                   << nlohmann::json(funnel.parents).dump()
                   << "; for a click -> conversion funnel use esmm");
  graph_ = p[2] == 0;
  const size_t count = graph_ ? 4 : 3;
  for (size_t k = 0; k < count; ++k) {
    // y1..y4, eq. 6: y_k = sigmoid(MLP_k(g)).
    towers_.push_back(register_module(
        "y" + std::to_string(k + 1), Tower(MlpOptions(input_dim)
                                               .hidden(options_.towers)
                                               .dropout(options_.dropout)
                                               .activation(options_.activation))));
  }
}

std::vector<torch::Tensor> Esm2Model::sub_logits(const torch::Tensor& x) {
  std::vector<torch::Tensor> z;
  for (auto& tower : towers_) z.push_back(tower(x));
  return z;
}

FunnelOutput Esm2Model::forward(const ModelInput& input) {
  const std::vector<torch::Tensor> z = sub_logits(input.x);
  FunnelOutput out;
  out.add_logit(z[0]);  // eq. 1: pCTR = y1
  out.add_logit(z[1]);  // eq. 2: pCTAVR = y1 y2
  if (!graph_) {
    out.add_logit(z[2]);  // chain: purchase only after the action
    return out;
  }
  // eq. 3: pCVR = y2 y3 + (1 - y2) y4 and its complement y2 (1 - y3) + (1 - y2)(1 - y4), each
  // a log-sum-exp of log-sigmoids: no product underflows, no 1 - p cancels.
  const torch::Tensor a = torch::log_sigmoid(z[1]), not_a = torch::log_sigmoid(-z[1]);
  out.cond_log_p.push_back(
      torch::logaddexp(a + torch::log_sigmoid(z[2]), not_a + torch::log_sigmoid(z[3])));
  out.cond_log_q.push_back(
      torch::logaddexp(a + torch::log_sigmoid(-z[2]), not_a + torch::log_sigmoid(-z[3])));
  return out;
}

}  // namespace funnel::model
