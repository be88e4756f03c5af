#pragma once
// AutoHERI's integration edge (Wei et al., CIKM 2021, eq. 1): the connections from the layers
// of one preceding tower t into the layers of one succeeding tower s. For target layer j it
// gives the integration part of Trans,
//
//   m_j = sum over connected i of  alpha_ij U_ij h_t^i          (U_ij: [width_s^j, width_t^i])
//
// so that the model forms h_s^j = ReLU(W_j h_s^{j-1} + b_j) + m_j. That is eq. 1's linear map
// Trans([ReLU(W_j h_s^{j-1} + b_j); alpha_1j h_t^1; ...; alpha_Lj h_t^L]) with its block on the
// tower's own representation fixed to the identity and no bias of its own (b_j already is
// one): with every alpha = 0 (or z = 0) the tower is exactly a plain MLP tower, by
// construction, and the free parameters Trans adds are the U_ij of existing connections.
// A connection that does not exist (z_ij = 0 in a fixed architecture, or not a candidate of
// the scheme) has no U_ij and costs nothing.

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

namespace funnel::model {

struct IntegrationEdgeOptions {
  IntegrationEdgeOptions(std::vector<int64_t> source_widths, std::vector<int64_t> target_widths)
      : source_widths_(std::move(source_widths)), target_widths_(std::move(target_widths)) {}
  /// Widths of h_t^1..h_t^L of the preceding tower.
  TORCH_ARG(std::vector<int64_t>, source_widths);
  /// Widths of h_s^1..h_s^L of the succeeding tower.
  TORCH_ARG(std::vector<int64_t>, target_widths);
  /// Which connections exist, row-major [source layer i][target layer j] (size L_t x L_s,
  /// nonzero = exists); empty = all of them.
  TORCH_ARG(std::vector<uint8_t>, connections) = {};
  /// U_ij start at zero (true) or with LibTorch's Linear initialisation (false).
  TORCH_ARG(bool, zero_init) = false;
};

class IntegrationEdgeImpl : public torch::nn::Module {
 public:
  explicit IntegrationEdgeImpl(IntegrationEdgeOptions options);

  /// m_j for target layer j ([B, target_widths[j]]) from the source tower's layer outputs
  /// (at least every connected h_t^i, i.e. indices 0..i; later ones may be missing).
  /// `alpha`: [L_t, L_s] connection weights, or undefined for weight 1 on every existing
  /// connection (a fixed architecture). Undefined result when nothing connects into j.
  torch::Tensor forward(size_t j, const std::vector<torch::Tensor>& source_layers,
                        const torch::Tensor& alpha);

  bool connected(size_t i, size_t j) const {
    return !u_.at(i * num_target_layers() + j).is_empty();
  }
  /// U_ij (no bias); throws unless connected(i, j).
  torch::nn::Linear& u(size_t i, size_t j);
  size_t num_source_layers() const { return options_.source_widths().size(); }
  size_t num_target_layers() const { return options_.target_widths().size(); }
  const IntegrationEdgeOptions& options() const { return options_; }

 private:
  IntegrationEdgeOptions options_;
  std::vector<torch::nn::Linear> u_;  // [i * L_s + j]; empty holder when not connected
};
TORCH_MODULE(IntegrationEdge);

}  // namespace funnel::model
