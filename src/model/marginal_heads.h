#pragma once
// Models whose heads predict each event's entire-space probability directly (AITM, DBMTL:
// yhat_e = sigmoid(z_e) = P(e) over impressions, every head trained against its own label on
// all impressions) have no conditional (CVR) head: P(e | parent) = P(e) / P(parent)
// (pCVR = pCTCVR / pCTR). Nothing in such a model forces yhat_e <= yhat_parent, so the ratio
// is capped at 1:
//
//   log P(e | parent) = min(log yhat_e - log P(parent), 0)           (value)
//
// with the gradient of log yhat_e - log P(parent) (straight-through), so that log P(e) =
// log P(parent) + log P(e | parent) has the gradient of log yhat_e while every reported
// probability stays a probability. Where yhat_e > P(parent) the reported P(e) is P(parent);
// AITM's calibrator (aitm.h) penalises exactly those rows.
// Training does not go through the capped value: FunnelOutput::event_losses gives every
// non-root head its own cross-entropy xent(yhat_e, y_e) (AITM's and DBMTL's per-task losses).
// Through the generic entire-space term, a capped row with y_e = 0 would push yhat_e down with
// P(parent) / (1 - P(parent)) (1 - yhat_e) instead of yhat_e.

#include <torch/types.h>

#include <vector>

#include "model/funnel_output.h"

namespace funnel::model {

/// logits: per event [B], z_e with yhat_e = sigmoid(z_e) = P(e); parents as in FunnelSpec.
FunnelOutput output_from_marginal_logits(const std::vector<torch::Tensor>& logits,
                                         const std::vector<int>& parents);

}  // namespace funnel::model
