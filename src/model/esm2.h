#pragma once
// ESM2 (Wen et al., SIGIR 2020): four sub-networks on the shared input row over the graph
// impression -> click -> D(O)Action -> purchase, composed sequentially (eq. 1-4):
//
//   y1 = P(click),  y2 = P(action | click),
//   y3 = P(purchase | click, action),  y4 = P(purchase | click, no action)
//   pCTR = y1,  pCTAVR = y1 y2                                             (eq. 1-2)
//   pCVR = P(purchase | click) = y2 y3 + (1 - y2) y4                       (eq. 3)
//   pCTCVR = y1 (y2 y3 + (1 - y2) y4)                                      (eq. 4)
//
// The funnel is {click, action (parent click), purchase (parent click)}: cond_log_p[action] =
// log y2 and cond_log_p[purchase] = log pCVR, both formed in log space (logaddexp of
// log-sigmoids), so the generic entire-space loss is eq. 8-11 (L_ctr, L_ctavr, L_ctcvr with the
// trainer's event weights; the paper uses 1, 1, 1). For a chain click -> action -> purchase
// (purchase only after the action, y4 = 0) the purchase tower is y3 = P(purchase | action) and
// y4 does not exist. Any other funnel is an error: without an action event there is no ESM2.

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <vector>

#include "model/blocks/mlp.h"
#include "model/esmm.h"
#include "model/model.h"

namespace funnel::model {

/// Options as ESMM's (EsmmOptions: towers, dropout, activation), for each of y1..y4.
class Esm2Model : public FunnelModel {
 public:
  Esm2Model(const FunnelSpec& funnel, int64_t input_dim, EsmmOptions options = EsmmOptions());

  FunnelOutput forward(const ModelInput& input) override;

  /// The logits of y1..y4 (3 of them for a chain funnel), each [B].
  std::vector<torch::Tensor> sub_logits(const torch::Tensor& x);
  /// Sub-network k = 0..3 for y1..y4.
  Tower& tower(size_t k) { return towers_.at(k); }
  size_t num_towers() const { return towers_.size(); }
  /// Whether purchase's parent is the click (the ESM2 graph, four sub-networks).
  bool graph() const { return graph_; }

 private:
  EsmmOptions options_;
  bool graph_ = true;
  std::vector<Tower> towers_;
};

}  // namespace funnel::model
