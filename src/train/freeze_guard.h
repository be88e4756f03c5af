#pragma once
// Turns requires_grad off for some parameters while alive, and back on at the end, also on
// errors: what one side of a step must not train gets no gradient at all (the Theta and alpha
// steps of AutoHERI's search, eq. 3).

#include <vector>

#include <ATen/core/Tensor.h>

namespace funnel::train {

class FreezeGuard {
 public:
  explicit FreezeGuard(std::vector<at::Tensor> params) : params_(std::move(params)) {
    for (auto& p : params_) p.requires_grad_(false);
  }
  ~FreezeGuard() {
    for (auto& p : params_) p.requires_grad_(true);
  }
  FreezeGuard(const FreezeGuard&) = delete;
  FreezeGuard& operator=(const FreezeGuard&) = delete;

 private:
  std::vector<at::Tensor> params_;
};

}  // namespace funnel::train
