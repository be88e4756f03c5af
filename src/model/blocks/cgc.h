#pragma once
// One Customized Gate Control layer of PLE (Tang et al., RecSys 2020, §4.2-4.3): shared experts,
// experts of each task, and one Gate per task mixing that task's experts with the shared ones;
// all but the last level also have a shared gate over every expert, whose output feeds the
// next level's shared experts:
//
//   S^k = [E_(k,1..m_k), E_(s,1..m_s)],   g^k = softmax(W_g^k x^k) . S^k           (task k)
//   S^s = [E_(1..K,.), E_(s,.)],          g^s = softmax(W_g^s x^s) . S^s           (shared)
//
// Built from ExpertGroup and Gate; MMoE is the special case without task experts and one level.

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

#include "model/blocks/expert.h"
#include "model/blocks/gate.h"
#include "model/blocks/mlp.h"

namespace funnel::model {

struct CgcOutput {
  std::vector<torch::Tensor> tasks;  ///< per task [B, D]
  torch::Tensor shared;              ///< [B, D]; undefined without a shared gate
};

class CgcLayerImpl : public torch::nn::Module {
 public:
  /// num_tasks >= 1 gates; shared_experts >= 0 and task_experts >= 0 experts per task (not both
  /// 0), each Mlp(expert) (expert.in() is the width of every input); with_shared_gate: whether
  /// to form the shared output (every PLE level but the last).
  CgcLayerImpl(int64_t num_tasks, int64_t shared_experts, int64_t task_experts, MlpOptions expert,
               bool with_shared_gate);

  /// task_inputs: one [B, in] per task (at the first level all the same x); shared_input [B, in].
  CgcOutput forward(const std::vector<torch::Tensor>& task_inputs,
                    const torch::Tensor& shared_input);

  int64_t output_dim() const { return shared_->output_dim(); }
  ExpertGroup& shared_experts() { return shared_; }
  ExpertGroup& task_experts(size_t k) { return task_.at(k); }
  Gate& task_gate(size_t k) { return task_gates_.at(k); }
  /// Null without a shared gate.
  Gate& shared_gate() { return shared_gate_; }

 private:
  ExpertGroup shared_{nullptr};
  std::vector<ExpertGroup> task_;
  std::vector<Gate> task_gates_;
  Gate shared_gate_{nullptr};
};
TORCH_MODULE(CgcLayer);

}  // namespace funnel::model
