#pragma once
// The multi-layer perceptron every model is built from (STYLE.md: models are composed from
// shared blocks): Linear -> activation -> dropout per hidden layer, with each layer's output
// available on its own (AutoHERI eq. 1 integrates h^1..h^L of one task into another), and a
// Tower = Mlp + a linear head giving one logit per row.

#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/blocks/uniform.h"

namespace funnel::model {

enum class Activation { kRelu, kLeakyRelu, kTanh };

/// "relu", "leaky_relu" (slope 0.01), "tanh"; throws funnel::Error naming `path` (the JSON
/// path of the option) and every choice.
Activation parse_activation(const std::string& name, const std::string& path = "activation");
const char* activation_name(Activation a);
/// Applies `a` elementwise.
torch::Tensor activate(Activation a, const torch::Tensor& x);

struct MlpOptions {
  /// in: width of the input rows.
  explicit MlpOptions(int64_t in) : in_(in) {}
  /// Input width (> 0).
  TORCH_ARG(int64_t, in);
  /// Output width of each hidden layer, in order; empty = identity (output = input).
  /// Default: AutoHERI's Ali-CCP towers (§4.1.2).
  TORCH_ARG(std::vector<int64_t>, hidden) = {200, 80, 20};
  /// Dropout probability applied after every hidden activation in training mode (0 = off).
  TORCH_ARG(double, dropout) = 0.0;
  /// Hidden activation.
  TORCH_ARG(Activation, activation) = Activation::kRelu;
};

/// h^0 = x, h^l = dropout(act(W_l h^{l-1} + b_l)), l = 1..L.
class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(MlpOptions options);

  /// [B, in] -> h^L, [B, output_dim()] (x itself when there are no hidden layers).
  torch::Tensor forward(const torch::Tensor& x);
  /// forward(x) with the first layer's part of the columns every row shares computed once
  /// (uniform_linear; serving: a request's user and context features).
  torch::Tensor forward_uniform(const torch::Tensor& x, const UniformColumns& uniform);
  /// h^1..h^L (L = num_layers()), each [B, hidden[l]].
  std::vector<torch::Tensor> forward_layers(const torch::Tensor& x);
  /// One layer: dropout(act(W_l input + b_l)) for l in [0, num_layers()). Lets a model
  /// change what enters each layer (AutoHERI's integration edges).
  torch::Tensor layer(size_t l, const torch::Tensor& input);

  size_t num_layers() const { return linears_.size(); }
  int64_t input_dim() const { return options_.in(); }
  /// Width of h^L (the input width when there are no hidden layers).
  int64_t output_dim() const;
  torch::nn::Linear& linear(size_t l) { return linears_.at(l); }
  const MlpOptions& options() const { return options_; }

 private:
  /// dropout(act(pre)): the rest of a layer after its linear part.
  torch::Tensor finish_layer(const torch::Tensor& pre);

  MlpOptions options_;
  std::vector<torch::nn::Linear> linears_;
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(Mlp);

/// An Mlp followed by a linear head to one logit per row: [B, in] -> [B].
class TowerImpl : public torch::nn::Module {
 public:
  explicit TowerImpl(MlpOptions options);

  torch::Tensor forward(const torch::Tensor& x);
  /// forward(x) through Mlp::forward_uniform(x, uniform).
  torch::Tensor forward_uniform(const torch::Tensor& x, const UniformColumns& uniform);
  /// The logit from a last hidden layer h^L computed elsewhere (e.g. with Mlp::layer).
  torch::Tensor head(const torch::Tensor& h) { return head_(h).squeeze(-1); }

  Mlp& mlp() { return mlp_; }
  torch::nn::Linear& head_linear() { return head_; }

 private:
  Mlp mlp_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(Tower);

}  // namespace funnel::model
