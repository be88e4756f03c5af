#include "model/blocks/cgc.h"

#include <torch/nn/module.h>

#include "core/error.h"

namespace funnel::model {

CgcLayerImpl::CgcLayerImpl(int64_t num_tasks, int64_t shared_experts, int64_t task_experts,
                           MlpOptions expert, bool with_shared_gate) {
  FUNNEL_CHECK(num_tasks >= 1, "CGC layer: expected >= 1 task, got " << num_tasks);
  FUNNEL_CHECK(shared_experts >= 0 && task_experts >= 0 && shared_experts + task_experts >= 1,
               "CGC layer: expected >= 1 expert per task, got " << shared_experts << " shared and "
                                                                << task_experts << " per task");
  shared_ = register_module("shared", ExpertGroup(shared_experts, expert));
  for (int64_t k = 0; k < num_tasks; ++k) {
    const std::string id = std::to_string(k);
    task_.push_back(register_module("task" + id, ExpertGroup(task_experts, expert)));
    task_gates_.push_back(
        register_module("gate" + id, Gate(expert.in(), task_experts + shared_experts)));
  }
  if (with_shared_gate) {
    shared_gate_ = register_module(
        "shared_gate", Gate(expert.in(), num_tasks * task_experts + shared_experts));
  }
}

CgcOutput CgcLayerImpl::forward(const std::vector<torch::Tensor>& task_inputs,
                                const torch::Tensor& shared_input) {
  FUNNEL_CHECK(task_inputs.size() == task_.size(),
               "CGC layer: " << task_inputs.size() << " task inputs for " << task_.size()
                             << " tasks");
  const torch::Tensor shared = shared_(shared_input);
  CgcOutput out;
  std::vector<torch::Tensor> all;  // S^s: every task's experts, then the shared ones
  for (size_t k = 0; k < task_.size(); ++k) {
    const torch::Tensor own = task_[k](task_inputs[k]);
    // S^k = [task k's experts, shared experts]; g^k mixes them.
    out.tasks.push_back(task_gates_[k](task_inputs[k], torch::cat({own, shared}, 1)));
    if (shared_gate_) all.push_back(own);
  }
  if (shared_gate_) {
    all.push_back(shared);
    out.shared = shared_gate_(shared_input, torch::cat(all, 1));
  }
  return out;
}

}  // namespace funnel::model
