#include "model/blocks/mlp.h"

#include <torch/nn/module.h>

#include "core/choice.h"
#include "core/error.h"

namespace funnel::model {
namespace {

constexpr Choice<Activation> kActivations[] = {{"relu", Activation::kRelu},
                                               {"leaky_relu", Activation::kLeakyRelu},
                                               {"tanh", Activation::kTanh}};

}  // namespace

Activation parse_activation(const std::string& name, const std::string& path) {
  return parse_choice(name, kActivations, path);
}

const char* activation_name(Activation a) { return choice_name(a, kActivations); }

torch::Tensor activate(Activation a, const torch::Tensor& x) {
  switch (a) {
    case Activation::kRelu:
      return torch::relu(x);
    case Activation::kLeakyRelu:
      return torch::leaky_relu(x, 0.01);
    case Activation::kTanh:
      return torch::tanh(x);
  }
  throw Error("activate: invalid activation");
}

MlpImpl::MlpImpl(MlpOptions options) : options_(std::move(options)) {
  FUNNEL_CHECK(options_.in() > 0, "Mlp: input width must be > 0, got " << options_.in());
  FUNNEL_CHECK(options_.dropout() >= 0.0 && options_.dropout() < 1.0,
               "Mlp: dropout must be in [0, 1), got " << options_.dropout());
  int64_t width = options_.in();
  for (size_t l = 0; l < options_.hidden().size(); ++l) {
    const int64_t out = options_.hidden()[l];
    FUNNEL_CHECK(out > 0, "Mlp: hidden layer " << l << " has width " << out << ", expected > 0");
    linears_.push_back(
        register_module("linear" + std::to_string(l), torch::nn::Linear(width, out)));
    width = out;
  }
  dropout_ = register_module("dropout", torch::nn::Dropout(options_.dropout()));
}

int64_t MlpImpl::output_dim() const {
  return options_.hidden().empty() ? options_.in() : options_.hidden().back();
}

torch::Tensor MlpImpl::layer(size_t l, const torch::Tensor& input) {
  return finish_layer(linears_.at(l)(input));
}

torch::Tensor MlpImpl::finish_layer(const torch::Tensor& pre) {
  torch::Tensor h = activate(options_.activation(), pre);
  // Dropout is a no-op in eval mode; skip the call entirely when it is off.
  return options_.dropout() > 0.0 ? dropout_(h) : h;
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  torch::Tensor h = x;
  for (size_t l = 0; l < linears_.size(); ++l) h = layer(l, h);
  return h;
}

torch::Tensor MlpImpl::forward_uniform(const torch::Tensor& x, const UniformColumns& uniform) {
  if (linears_.empty() || !uniform.defined()) return forward(x);
  torch::Tensor h = finish_layer(uniform_linear(linears_[0], x, uniform));
  for (size_t l = 1; l < linears_.size(); ++l) h = layer(l, h);
  return h;
}

std::vector<torch::Tensor> MlpImpl::forward_layers(const torch::Tensor& x) {
  std::vector<torch::Tensor> hs;
  hs.reserve(linears_.size());
  torch::Tensor h = x;
  for (size_t l = 0; l < linears_.size(); ++l) hs.push_back(h = layer(l, h));
  return hs;
}

TowerImpl::TowerImpl(MlpOptions options) {
  mlp_ = register_module("mlp", Mlp(std::move(options)));
  head_ = register_module("head", torch::nn::Linear(mlp_->output_dim(), 1));
}

torch::Tensor TowerImpl::forward(const torch::Tensor& x) { return head(mlp_(x)); }

torch::Tensor TowerImpl::forward_uniform(const torch::Tensor& x, const UniformColumns& uniform) {
  return head(mlp_->forward_uniform(x, uniform));
}

}  // namespace funnel::model
