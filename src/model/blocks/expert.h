#pragma once
// A group of experts for mixture-of-experts models (MMoE, PLE's CGC layers): K Mlps with the
// same shape over the same input, their outputs stacked so that a Gate can mix them. One
// expert is one Mlp (blocks/mlp.h); this block only owns K of them.

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

#include "model/blocks/mlp.h"

namespace funnel::model {

class ExpertGroupImpl : public torch::nn::Module {
 public:
  /// count >= 0 experts, each Mlp(expert); count = 0 gives an empty group (PLE without
  /// task-specific experts).
  ExpertGroupImpl(int64_t count, MlpOptions expert);

  /// [B, in] -> [B, count, output_dim()] (for count = 0: [B, 0, output_dim()]).
  torch::Tensor forward(const torch::Tensor& x);

  int64_t size() const { return static_cast<int64_t>(experts_.size()); }
  int64_t output_dim() const { return output_dim_; }
  Mlp& expert(size_t k) { return experts_.at(k); }

 private:
  std::vector<Mlp> experts_;
  int64_t output_dim_ = 0;
};
TORCH_MODULE(ExpertGroup);

}  // namespace funnel::model
