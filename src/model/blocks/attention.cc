#include "model/blocks/attention.h"

#include <torch/nn/module.h>

#include <cmath>

#include "core/error.h"

namespace funnel::model {

AttentionImpl::AttentionImpl(int64_t in, int64_t dim) : dim_(dim) {
  FUNNEL_CHECK(in > 0 && dim > 0,
               "Attention: input width and dim must be > 0, got " << in << " and " << dim);
  query_ = register_module("query", torch::nn::Linear(in, dim));
  key_ = register_module("key", torch::nn::Linear(in, dim));
  value_ = register_module("value", torch::nn::Linear(in, dim));
}

AttentionResult AttentionImpl::forward(const torch::Tensor& inputs) {
  FUNNEL_CHECK(inputs.dim() == 3, "Attention: expected inputs [B, n, in], got " << inputs.sizes());
  // AITM (AIT module): w_u = softmax(<h1(u), h2(u)> / sqrt(d)) over the n inputs.
  const torch::Tensor scores =
      (query_(inputs) * key_(inputs)).sum(-1) / std::sqrt(static_cast<double>(dim_));
  AttentionResult r;
  r.weights = torch::softmax(scores, /*dim=*/1);
  // AITM (AIT module): z = sum_u w_u h3(u).
  r.output = (r.weights.unsqueeze(-1) * value_(inputs)).sum(1);
  return r;
}

}  // namespace funnel::model
