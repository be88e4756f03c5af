#include "model/marginal_heads.h"

#include <torch/nn/module.h>

#include "core/error.h"

namespace funnel::model {

FunnelOutput output_from_marginal_logits(const std::vector<torch::Tensor>& logits,
                                         const std::vector<int>& parents) {
  check_parents(parents, logits.size());
  FunnelOutput out;
  std::vector<torch::Tensor> log_p(logits.size());  // entire-space log P(e) as reported
  for (size_t e = 0; e < logits.size(); ++e) {
    if (parents[e] < 0) {
      out.add_logit(logits[e]);
      log_p[e] = out.cond_log_p[e];
      continue;
    }
    FUNNEL_CHECK(logits[e].sizes() == logits[0].sizes(),
                 "marginal heads: event " << e << " has logits " << logits[e].sizes()
                                          << ", event 0 " << logits[0].sizes());
    // pCVR = pCTCVR / pCTR, capped at 1 in value, straight-through in gradient.
    const torch::Tensor d = torch::log_sigmoid(logits[e]) - log_p[parents[e]];
    const torch::Tensor cond = d - torch::relu(d).detach();
    out.cond_log_p.push_back(cond);
    out.cond_log_q.push_back(log1mexp(cond));
    log_p[e] = cond + log_p[parents[e]];
  }
  // Training: each non-root head by its own cross-entropy xent(yhat_e, y_e) over all
  // impressions (AITM's and DBMTL's per-task losses), replacing the generic entire-space term.
  // The generic term would see the capped P(e): on a row with yhat_e > P(parent) and y_e = 0
  // its gradient is P(parent) / (1 - P(parent)) (1 - yhat_e) instead of yhat_e, i.e. capped
  // negatives (common early in training, when yhat_e starts near pCTR) pushed the head down
  // too weakly.
  out.event_losses = [logits, parents](const torch::Tensor& labels) {
    std::vector<torch::Tensor> own(logits.size());
    for (size_t e = 0; e < logits.size(); ++e) {
      if (parents[e] >= 0) own[e] = torch::binary_cross_entropy_with_logits(logits[e], labels[e]);
    }
    return own;
  };
  return out;
}

}  // namespace funnel::model
