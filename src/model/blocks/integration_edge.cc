#include "model/blocks/integration_edge.h"

#include <torch/nn/module.h>

#include "core/error.h"

namespace funnel::model {

IntegrationEdgeImpl::IntegrationEdgeImpl(IntegrationEdgeOptions options)
    : options_(std::move(options)) {
  const size_t lt = num_source_layers(), ls = num_target_layers();
  FUNNEL_CHECK(options_.connections().empty() || options_.connections().size() == lt * ls,
               "IntegrationEdge: " << options_.connections().size() << " connection flags for "
                                   << lt << " x " << ls << " layers");
  u_.resize(lt * ls, torch::nn::Linear(nullptr));
  for (size_t i = 0; i < lt; ++i) {
    for (size_t j = 0; j < ls; ++j) {
      if (!options_.connections().empty() && !options_.connections()[i * ls + j]) continue;
      const int64_t in = options_.source_widths()[i], out = options_.target_widths()[j];
      FUNNEL_CHECK(in > 0 && out > 0, "IntegrationEdge: widths must be > 0");
      u_[i * ls + j] = register_module(
          "u" + std::to_string(i) + "_" + std::to_string(j),
          torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false)));
      if (options_.zero_init()) {
        torch::NoGradGuard no_grad;
        u_[i * ls + j]->weight.zero_();
      }
    }
  }
}

torch::nn::Linear& IntegrationEdgeImpl::u(size_t i, size_t j) {
  FUNNEL_CHECK(i < num_source_layers() && j < num_target_layers() && connected(i, j),
               "IntegrationEdge: no connection from layer " << i << " to layer " << j);
  return u_[i * num_target_layers() + j];
}

torch::Tensor IntegrationEdgeImpl::forward(size_t j, const std::vector<torch::Tensor>& source_layers,
                                           const torch::Tensor& alpha) {
  const size_t ls = num_target_layers();
  FUNNEL_CHECK(j < ls, "IntegrationEdge: target layer " << j << " of " << ls);
  // One matmul per target layer: [h_t^i ...] x [alpha_ij U_ij ...]^T. Scaling U_ij rather than
  // h_t^i is the same product (eq. 1 is linear in both) and touches fewer numbers for B > width.
  std::vector<torch::Tensor> inputs, weights;
  for (size_t i = 0; i < num_source_layers(); ++i) {
    const torch::nn::Linear& u = u_[i * ls + j];
    if (u.is_empty()) continue;
    FUNNEL_CHECK(i < source_layers.size() && source_layers[i].defined(),
                 "IntegrationEdge: source layer " << i << " is not computed yet");
    inputs.push_back(source_layers[i]);
    weights.push_back(alpha.defined() ? alpha.index({static_cast<int64_t>(i), static_cast<int64_t>(j)}) *
                                            u->weight
                                      : u->weight);
  }
  if (inputs.empty()) return {};
  if (inputs.size() == 1) return torch::matmul(inputs[0], weights[0].t());
  return torch::matmul(torch::cat(inputs, 1), torch::cat(weights, 1).t());
}

}  // namespace funnel::model
