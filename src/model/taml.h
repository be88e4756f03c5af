#pragma once
// TAML (Liu, Jia et al., WWW 2023, "Task Adaptive Multi-learner Network for Joint CTR and CVR
// Estimation"), generalised to any funnel (one task per event):
//
// HTAKR (§2.2): three groups of experts on the shared input row x: general experts (every
// task and learner), task-specific experts (per event t) and learner-specific experts (per
// learner l of each task). Learner l of task t mixes the concatenation e^l(x) of the general
// experts, task t's and its own experts with an adaptive gate (eq. 1):
//
//   g^l(x) = softmax(W^l x),   f^l(x) = sum_i g^l(x)_i e^l(x)_i
//
// Multi-learner (§2.3): logit_t^l = MLP_t^l(f^l(x)); the task's logit is their mean,
// logit_t = (1/n) sum_l logit_t^l, and P(t | parent(t)) = sigmoid(logit_t); entire-space
// products as ESMM (pCTCVR = pCTR x pCVR).
//
// Self-distillation (eq. 2-3): the fused p_t teaches each learner's p_t^l. The printed
// equations read "(1 - p)(1 - log p^l)", a typo; implemented is the cross-entropy
//
//   L_kd_t = mean over rows of sum_l -[p_t log p_t^l + (1 - p_t) log(1 - p_t^l)],
//
// from the logits (logsigmoid, stable for any logit), the teacher p_t detached by default
// (`detach_teacher`; false lets the gradient flow into the fused prediction too). Eq. 6's
// alpha L_kd_ctr + beta L_kd_cvr is the model's aux_loss: `distill_first` weights the first
// event's term, `distill_later` every later event's. The generic funnel loss gives eq. 4-5
// (L_ctr + L_ctcvr, with train.loss_weights).
//
// Ablations (Fig. 3) are options of this one model: learners = 1 (no multi-learner),
// distill_first = distill_later = 0 (no self-distillation), htakr = false (no HTAKR: every
// learner reads one shared bottom Mlp of the expert widths, no gates).

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "model/blocks/expert.h"
#include "model/blocks/gate.h"
#include "model/blocks/mlp.h"
#include "model/model.h"

namespace funnel::model {

struct TamlOptions {
  /// Learners per task (§3.2: 2).
  int64_t learners = 2;
  /// Hidden widths of each learner's MLP before its logit (§3.2: 64, 32, then 1).
  std::vector<int64_t> learner_towers = {64, 32};
  /// Hidden widths of each expert (§3.2: one layer of 64 units).
  std::vector<int64_t> experts = {64};
  /// Experts in each group. The paper does not give the counts (its baselines use 3 experts):
  /// 2 general, 1 per task, 1 per learner, so each gate mixes 4 experts.
  int64_t general_experts = 2;
  int64_t task_experts = 1;
  int64_t learner_experts = 1;
  /// false: no HTAKR (Fig. 3 ablation): learners read one shared bottom Mlp(experts).
  bool htakr = true;
  /// Weights of the self-distillation terms in aux_loss: the first event's (eq. 6 alpha) and
  /// every later event's (eq. 6 beta); §3.2: 0.1 and 0.1.
  double distill_first = 0.1;
  double distill_later = 0.1;
  /// true: the fused teacher p_t is a constant in L_kd (the student learns from it).
  bool detach_teacher = true;
  /// Dropout after every hidden activation, training mode only.
  double dropout = 0.0;
  /// Hidden activation: relu, leaky_relu or tanh (§3.2: ReLU).
  Activation activation = Activation::kRelu;

  /// Strict parse of the keys above (null = defaults).
  static TamlOptions from_json(const nlohmann::json& j, const std::string& path = "model");
  /// Every key from_json reads, resolved.
  nlohmann::json to_json() const;
};

/// Eq. 2-3 for one task: the fused teacher p = sigmoid(mean_l z_l) and each learner's
/// p^l = sigmoid(z_l); returns mean over rows of sum_l xent(p, p^l). learner_logits: n
/// tensors [B].
torch::Tensor self_distillation_loss(const std::vector<torch::Tensor>& learner_logits,
                                     bool detach_teacher);

/// The expert groups a gate mixes, in the order of e^l(x) (eq. 1).
enum class ExpertKind { kGeneral = 0, kTask = 1, kLearner = 2 };

class TamlModel : public FunnelModel {
 public:
  TamlModel(const FunnelSpec& funnel, int64_t input_dim, TamlOptions options = TamlOptions());

  /// Conditional heads (fused logits) and the self-distillation aux_loss.
  FunnelOutput forward(const ModelInput& input) override;

  /// Learner logits of every task: [task][learner] -> [B].
  std::vector<std::vector<torch::Tensor>> learner_logits(const torch::Tensor& x);
  /// Gate weights of every learner, [task][learner] -> [B, k] over its experts, in the order
  /// general, task's, learner's (empty without HTAKR).
  std::vector<std::vector<torch::Tensor>> gate_weights(const torch::Tensor& x);
  /// How many experts of `kind` learner gates mix (general, task, learner).
  int64_t experts_of(ExpertKind kind) const;

  size_t num_tasks() const { return learners_.size(); }
  ExpertGroup& general() { return general_; }
  ExpertGroup& task_experts(size_t t) { return task_.at(t); }
  ExpertGroup& learner_experts(size_t t, size_t l) { return learner_.at(t).at(l); }
  Gate& gate(size_t t, size_t l) { return gates_.at(t).at(l); }
  Tower& learner(size_t t, size_t l) { return learners_.at(t).at(l); }
  const TamlOptions& options() const { return options_; }

 private:
  /// The input of every learner, [task][learner] -> [B, H].
  std::vector<std::vector<torch::Tensor>> learner_inputs(const torch::Tensor& x);

  TamlOptions options_;
  ExpertGroup general_{nullptr};
  Mlp bottom_{nullptr};  // htakr = false
  std::vector<ExpertGroup> task_;
  std::vector<std::vector<ExpertGroup>> learner_;
  std::vector<std::vector<Gate>> gates_;
  std::vector<std::vector<Tower>> learners_;
};

/// TAML's Fig. 4: the mean gate weight of each expert group (general, task, learner) per task
/// and learner over the rows added, and the mean weight of every single expert.
class TamlGateStats {
 public:
  /// Throws unless the model has HTAKR (gates).
  explicit TamlGateStats(const TamlModel& model);
  /// Adds the gates of a batch of input rows (no gradient).
  void add(TamlModel& model, const torch::Tensor& x);
  uint64_t rows() const { return rows_; }
  /// {"rows", "groups": {"general": G, "task": T, "learner": L}, "tasks": [{"event",
  ///  "learners": [{"learner", "general", "task", "learner_specific", "experts": [..]}],
  ///  "mean": {"general", "task", "learner_specific"}}]}: group weights are the sums of their
  /// experts' mean weights (they add up to 1 per learner).
  nlohmann::json to_json(const std::vector<std::string>& events) const;

 private:
  int64_t general_ = 0, task_ = 0, learner_ = 0;
  uint64_t rows_ = 0;
  std::vector<std::vector<std::vector<double>>> sums_;  // [task][learner][expert]
};

}  // namespace funnel::model
