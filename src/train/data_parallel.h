#pragma once
// The dense half of a data-parallel step (docs/distributed.md): after backward, every dense
// gradient is summed over the ranks in ONE all-reduce (all parameters flattened into one
// bucket), so that every rank applies the same Adam step to identical replicas. The loss of
// each rank is already weighted by its share of the global batch (Trainer::step), so the sum
// is the gradient of the global batch's mean loss.

#include <torch/types.h>

#include <vector>

#include "dist/communicator.h"
#include "train/trainer.h"

namespace funnel::train {

class GradientAllReduce : public TrainerHook {
 public:
  /// `check_every` > 0: every that many steps, checks that the replicas are still identical
  /// (a checksum of the dense weights all-gathered) and throws naming the step otherwise.
  GradientAllReduce(dist::Communicator& comm, std::vector<torch::Tensor> parameters,
                    int64_t check_every = 0);

  void after_backward(const data::Batch& batch, const torch::Tensor& x) override;
  void after_step(int64_t step) override;
  void set_check_every(int64_t n) { check_every_ = n; }

 private:
  dist::Communicator& comm_;
  std::vector<torch::Tensor> parameters_;
  int64_t check_every_;
  torch::Tensor bucket_;  // flat gradients + one "has a gradient" flag per parameter
};

}  // namespace funnel::train
