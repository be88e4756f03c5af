#pragma once
// What every model returns (DESIGN.md, "The funnel abstraction"): for each funnel event e, the
// log-probability of e given its parent event (for the first event: given the impression),
// and the log of its complement. Entire-space probabilities are products along the parent
// chain, p(conversion) = p(click) * p(conversion | click) (ESMM; AutoHERI eq. 2 and 4), and
// are formed in log space by the loss and the predictor, so tiny products stay exact.

#include <functional>
#include <vector>

#include <torch/types.h>

#include "model/funnel_spec.h"

namespace funnel::model {

struct FunnelOutput {
  /// Per event, shape [B]: log P(e | parent(e)); for the first event log P(e).
  std::vector<torch::Tensor> cond_log_p;
  /// Per event, shape [B]: log(1 - P(e | parent(e))), computed without cancellation
  /// (logsigmoid(-logit) for sigmoid heads).
  std::vector<torch::Tensor> cond_log_q;
  /// Model-specific extra loss terms (AITM calibration, entropy regularisers, ...), a scalar
  /// already weighted by the model's own options; undefined when the model has none.
  torch::Tensor aux_loss;
  /// Label-dependent loss terms (Multi-DR's doubly robust loss, DNN-OS's oversampled
  /// positives); empty for most models. FunnelLoss calls it once with the labels [E, B] (on
  /// the output's device and dtype) and gets one tensor per event: a defined scalar replaces
  /// the generic cross-entropy of that event (still weighted by w_e, reported in per_event),
  /// an undefined one keeps the generic term. The model builds it in forward(), capturing the
  /// tensors it needs (docs/models.md, "Label-dependent losses").
  std::function<std::vector<torch::Tensor>(const torch::Tensor& labels)> event_losses;

  /// Appends an event whose conditional probability is sigmoid(logit).
  void add_logit(const torch::Tensor& logit);
  size_t num_events() const { return cond_log_p.size(); }
};

/// log(1 - exp(x)) for x <= 0 without cancellation (Maechler 2012): log(-expm1(x)) for
/// x > -ln 2, log1p(-exp(x)) otherwise. x is clamped to at most -FLT_MIN first, so that
/// p = 1 exactly gives a large finite value (about -87) and a finite (zero) gradient instead
/// of -inf and NaN.
torch::Tensor log1mexp(const torch::Tensor& x);

/// Entire-space log-probabilities, per event [B]: log P(e) = log P(e | parent) + log P(parent)
/// summed along the parent chain (ESMM: pCTCVR = pCTR x pCVR; AutoHERI eq. 2 and 4).
/// `parents[e]` is the parent of event e (-1 for a root) and must be < e.
std::vector<torch::Tensor> entire_space_log_p(const FunnelOutput& out,
                                              const std::vector<int>& parents);

}  // namespace funnel::model
