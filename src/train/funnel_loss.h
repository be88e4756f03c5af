#pragma once
// The generic funnel loss (DESIGN.md, "The funnel abstraction"): a weighted sum of binary
// cross-entropies, one per event, plus the model's own auxiliary terms (FunnelOutput::aux_loss).
//
// Entire space (ESMM and its family), AutoHERI eq. 2 and 4:
//   L = sum_e w_e * mean_b xent(P_b(e), y_b(e)),   P(e) = prod over e's chain of P(. | parent)
//   2 events, w = {1, lambda}:            L = xent(pCTR, y_click) + lambda xent(pCTR pCVR, y_conv)
//   3 events, w = {1, lambda1, lambda2}:  eq. 4 (click -> arrival -> conversion)
// Click space (DNN baseline): the first event on all rows; each later event's conditional
// P(e | parent) against y(e), averaged over the rows whose parent label is 1.
//
// A model may replace the generic term of some events with its own label-dependent loss
// (FunnelOutput::event_losses: Multi-DR's doubly robust loss, DNN-OS's oversampling).
//
// Everything is computed in log space from the model's cond_log_p / cond_log_q: log P(e) is a
// sum along the chain, log(1 - P(e)) is cond_log_q for a root event and log1mexp(log P(e))
// otherwise, so products far below the float range (pCTR pCVR ~ e^-120) stay finite and so do
// their gradients.

#include <torch/types.h>

#include <vector>

#include "data/batch.h"
#include "model/funnel_output.h"
#include "model/model.h"
#include "train/trainer_options.h"

namespace funnel::train {

/// The labels of a batch as FunnelLoss::compute takes them: [E, B] float32 on the CPU, a view
/// of Batch::labels (event-major already), no copy; valid while the batch lives.
torch::Tensor batch_labels(const data::Batch& batch);

/// The default weights of `num_events` events (see FunnelLossOptions::weights).
std::vector<double> default_event_weights(size_t num_events);

struct FunnelLossValue {
  /// The scalar to backpropagate: sum_e w_e * per_event[e] + aux.
  torch::Tensor total;
  /// Unweighted mean cross-entropy of each event (entire space: of P(e); click space: of
  /// P(e | parent) over the rows where the parent happened, 0 when there are none).
  std::vector<double> per_event;
  /// The model's auxiliary loss (0 when it has none).
  double aux = 0.0;
};

class FunnelLoss {
 public:
  /// funnel: parents of the events (validated); options.weights must be empty or one per event.
  FunnelLoss(const model::FunnelSpec& funnel, FunnelLossOptions options = FunnelLossOptions());

  /// out: the model's output for B rows; labels: [E, B] (data::Batch::labels is event-major),
  /// any float type and device (converted to the output's). per_event costs one device sync.
  FunnelLossValue compute(const model::FunnelOutput& out, const torch::Tensor& labels,
                          model::TrainingSpace space) const;

  const std::vector<double>& weights() const { return weights_; }
  const FunnelLossOptions& options() const { return options_; }

 private:
  std::vector<int> parents_;
  FunnelLossOptions options_;
  std::vector<double> weights_;
};

}  // namespace funnel::train
