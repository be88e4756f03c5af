#include "train/data_parallel.h"

#include <cmath>

#include "core/error.h"

namespace funnel::train {

GradientAllReduce::GradientAllReduce(dist::Communicator& comm,
                                     std::vector<torch::Tensor> parameters, int64_t check_every)
    : comm_(comm), parameters_(std::move(parameters)), check_every_(check_every) {
  int64_t n = 0;
  for (const auto& p : parameters_) n += p.numel();
  bucket_ = torch::zeros({n + static_cast<int64_t>(parameters_.size())}, torch::kFloat32);
}

void GradientAllReduce::after_backward(const data::Batch& batch, const torch::Tensor& x) {
  float* flat = bucket_.data_ptr<float>();
  const int64_t flags = bucket_.numel() - static_cast<int64_t>(parameters_.size());
  int64_t at = 0;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const torch::Tensor& p = parameters_[i];
    const int64_t n = p.numel();
    const torch::Tensor& g = p.grad();
    torch::Tensor slot = bucket_.narrow(0, at, n);
    if (g.defined()) {
      slot.copy_(g.reshape({n}));
    } else {
      slot.zero_();
    }
    flat[flags + i] = g.defined() ? 1.0f : 0.0f;
    at += n;
  }
  comm_.all_reduce_sum(bucket_);
  at = 0;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    torch::Tensor p = parameters_[i];
    const int64_t n = p.numel();
    // A parameter no rank's loss reached keeps no gradient, so Adam skips it as it would in
    // one process; one that some rank's loss reached gets the sum.
    if (flat[flags + i] > 0) {
      const torch::Tensor sum = bucket_.narrow(0, at, n).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(sum);
      } else {
        p.mutable_grad() = sum.clone();
      }
    }
    at += n;
  }
}

void GradientAllReduce::after_step(int64_t step) {
  if (check_every_ <= 0 || step % check_every_ != 0) return;
  double sum = 0, abs_sum = 0;
  for (const auto& p : parameters_) {
    sum += p.sum().item<double>();
    abs_sum += p.abs().sum().item<double>();
  }
  const torch::Tensor mine = torch::tensor({sum, abs_sum}, torch::kFloat64);
  const std::vector<torch::Tensor> all = comm_.all_gather(mine);
  for (size_t r = 1; r < all.size(); ++r) {
    FUNNEL_CHECK(all[r].equal(all[0]), "data-parallel check at step "
                                           << step << ": the dense weights of rank " << r
                                           << " differ from rank 0's (checksums "
                                           << all[r][0].item<double>() << " vs "
                                           << all[0][0].item<double>() << ")");
  }
}

}  // namespace funnel::train
