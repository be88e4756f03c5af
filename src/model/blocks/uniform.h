#pragma once
// Columns of a batch's input rows that every row shares, and a linear layer that computes
// their part once for the batch instead of once per row.
//
// A scoring request's user and context features are the same for each of its items
// (docs/serving.md): for rows x_i = [x_S | x_{i,V}] (S the shared columns, V the others),
//
//   W x_i + b = W_V x_{i,V} + (W_S x_S + b),
//
// so the first layer of a tower costs B |V| + |S| multiply-adds per output instead of
// B (|S| + |V|). The same rows give the same result up to float rounding.

#include <torch/nn/modules/linear.h>
#include <torch/types.h>

namespace funnel::model {

/// Column indices of a model's input rows ([B, width]): `shared`, whose values are equal in
/// every row of the batch, and `varying`, the others, both ascending [k] int64 on the rows'
/// device. Undefined = nothing known (every column varies); a model may always ignore it.
struct UniformColumns {
  torch::Tensor shared;
  torch::Tensor varying;
  bool defined() const { return shared.defined(); }
};

/// `linear(x)` ([B, in] -> [B, out]) computed with the shared columns' part once for the batch
/// (the equation above); `linear(x)` itself when `uniform` is undefined or B < 2.
torch::Tensor uniform_linear(torch::nn::Linear& linear, const torch::Tensor& x,
                             const UniformColumns& uniform);

/// The split of the columns [0, width) into `shared` (given, any order, no duplicates) and the
/// rest, as tensors on `device`; undefined when `shared` is empty.
UniformColumns uniform_columns(const std::vector<int64_t>& shared, int64_t width,
                               const torch::Device& device);

}  // namespace funnel::model
