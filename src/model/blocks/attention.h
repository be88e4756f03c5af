#pragma once
// The attention block of AITM (Xi et al., KDD 2021, the AIT module): each of n input vectors u
// is projected to a query, a key and a value; its weight is its own query.key, scaled and
// normalised over the n inputs, and the output is the weighted sum of the values:
//
//   w_u = softmax_u( <h1(u), h2(u)> / sqrt(d) ),   z = sum_u w_u h3(u)
//
// AITM feeds [transferred information from the preceding task, this task's representation].

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace funnel::model {

struct AttentionResult {
  torch::Tensor output;   ///< [B, dim]
  torch::Tensor weights;  ///< [B, n], rows summing to 1
};

class AttentionImpl : public torch::nn::Module {
 public:
  /// in: width of each input vector; dim: width d of queries, keys and values.
  AttentionImpl(int64_t in, int64_t dim);

  /// inputs: [B, n, in] -> output [B, dim] and weights [B, n].
  AttentionResult forward(const torch::Tensor& inputs);

  int64_t dim() const { return dim_; }
  torch::nn::Linear& query() { return query_; }
  torch::nn::Linear& key() { return key_; }
  torch::nn::Linear& value() { return value_; }

 private:
  int64_t dim_;
  torch::nn::Linear query_{nullptr}, key_{nullptr}, value_{nullptr};
};
TORCH_MODULE(Attention);

}  // namespace funnel::model
