#pragma once
// The softmax gate of mixture-of-experts models (MMoE, Ma et al. KDD 2018, the gating network;
// PLE's CGC gates, Tang et al. RecSys 2020): a linear map of the gate input to one score per
// expert, normalised by a softmax, and the weighted sum of the experts' outputs:
//
//   g(x) = softmax(W_g x),   f(x) = sum_k g(x)_k f_k(x)

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace funnel::model {

class GateImpl : public torch::nn::Module {
 public:
  /// in: width of the gate input; num_experts >= 1: experts it mixes.
  GateImpl(int64_t in, int64_t num_experts);

  /// Mixing weights [B, num_experts], rows summing to 1.
  torch::Tensor weights(const torch::Tensor& x);
  /// x: [B, in] gate input; experts: [B, num_experts, D] -> [B, D].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& experts);

  int64_t num_experts() const { return num_experts_; }
  torch::nn::Linear& linear() { return linear_; }

 private:
  int64_t num_experts_;
  torch::nn::Linear linear_{nullptr};
};
TORCH_MODULE(Gate);

}  // namespace funnel::model
