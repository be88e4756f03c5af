#include "model/blocks/expert.h"

#include <torch/nn/module.h>

#include "core/error.h"

namespace funnel::model {

ExpertGroupImpl::ExpertGroupImpl(int64_t count, MlpOptions expert) {
  FUNNEL_CHECK(count >= 0, "ExpertGroup: expected >= 0 experts, got " << count);
  for (int64_t k = 0; k < count; ++k) {
    experts_.push_back(register_module("expert" + std::to_string(k), Mlp(expert)));
  }
  output_dim_ = expert.hidden().empty() ? expert.in() : expert.hidden().back();
}

torch::Tensor ExpertGroupImpl::forward(const torch::Tensor& x) {
  if (experts_.empty()) return x.new_zeros({x.size(0), 0, output_dim_});
  std::vector<torch::Tensor> outs;
  outs.reserve(experts_.size());
  for (auto& expert : experts_) outs.push_back(expert(x));
  return torch::stack(outs, 1);
}

}  // namespace funnel::model
