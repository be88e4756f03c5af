#include "model/blocks/uniform.h"

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace funnel::model {

torch::Tensor uniform_linear(torch::nn::Linear& linear, const torch::Tensor& x,
                             const UniformColumns& uniform) {
  if (!uniform.defined() || x.size(0) < 2) return linear(x);
  const torch::Tensor& w = linear->weight;  // [out, in]
  // W_S x_S + b, once: every row's x_S is row 0's.
  torch::Tensor once = torch::mv(w.index_select(1, uniform.shared), x[0].index_select(0, uniform.shared));
  if (linear->bias.defined()) once = once + linear->bias;
  if (uniform.varying.numel() == 0) return once.unsqueeze(0).expand({x.size(0), once.size(0)});
  return torch::addmm(once, x.index_select(1, uniform.varying),
                      w.index_select(1, uniform.varying).t());
}

UniformColumns uniform_columns(const std::vector<int64_t>& shared, int64_t width,
                               const torch::Device& device) {
  UniformColumns u;
  if (shared.empty()) return u;
  std::vector<char> is_shared(static_cast<size_t>(width), 0);
  for (int64_t c : shared) {
    FUNNEL_CHECK(c >= 0 && c < width && !is_shared[c],
                 "uniform columns: column " << c << " is outside [0, " << width
                                            << ") or given twice");
    is_shared[c] = 1;
  }
  std::vector<int64_t> s, v;
  for (int64_t c = 0; c < width; ++c) (is_shared[c] ? s : v).push_back(c);
  auto tensor = [&](const std::vector<int64_t>& cols) {
    return torch::tensor(cols, torch::kInt64).to(device);
  };
  u.shared = tensor(s);
  u.varying = tensor(v);
  return u;
}

}  // namespace funnel::model
