#include "model/blocks/gate.h"

#include <torch/nn/module.h>

#include "core/error.h"

namespace funnel::model {

GateImpl::GateImpl(int64_t in, int64_t num_experts) : num_experts_(num_experts) {
  FUNNEL_CHECK(in > 0, "Gate: input width must be > 0, got " << in);
  FUNNEL_CHECK(num_experts >= 1, "Gate: expected >= 1 expert, got " << num_experts);
  linear_ = register_module("linear", torch::nn::Linear(in, num_experts));
}

torch::Tensor GateImpl::weights(const torch::Tensor& x) {
  return torch::softmax(linear_(x), /*dim=*/-1);  // MMoE: g^k(x) = softmax(W_gk x)
}

torch::Tensor GateImpl::forward(const torch::Tensor& x, const torch::Tensor& experts) {
  FUNNEL_CHECK(experts.dim() == 3 && experts.size(1) == num_experts_,
               "Gate: expected experts [B, " << num_experts_ << ", D], got " << experts.sizes());
  // MMoE: f^k(x) = sum_i g^k(x)_i f_i(x), as a batched [1, K] x [K, D] product.
  return torch::bmm(weights(x).unsqueeze(1), experts).squeeze(1);
}

}  // namespace funnel::model
