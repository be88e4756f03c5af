#pragma once
// Multi-DR (Zhang et al., WWW 2020, "Large-scale causal approaches to debiasing post-click
// conversion rate estimation with multi-task learning"; a baseline of AutoHERI): ESMM's
// towers (a CTR tower and a conditional tower per later event on the shared embeddings) plus,
// per later event, an imputation tower predicting the CVR tower's error. The CVR tower is
// trained with the doubly robust estimator over the entire impression space, the propensity
// of observing a conversion label being pCTR:
//
//   e_b    = xent(pCVR_b, y_b)               (observable on clicked rows only, o_b = y_click)
//   ehat_b = softplus(Imputation(x_b)) >= 0  (imputed error, every row)
//   phat_b = max(pCTR_b, min_propensity)     (detached: no gradient into the CTR tower)
//   L_DR   = mean_b [ ehat_b + o_b (e_b - ehat_b) / phat_b ]       (ehat detached)
//   L_imp  = mean_b [ o_b (ehat_b - e_b)^2 / phat_b ]              (e detached)
//
// The event's term in the funnel loss is L_DR + imputation_weight L_imp, replacing the generic
// CTCVR cross-entropy (FunnelOutput::event_losses); the CTR tower keeps its generic
// cross-entropy over all impressions. For a longer funnel each later event e is handled the
// same way with o = y_parent(e) and phat = P(parent(e)) over the entire space. pCVR is the
// conditional tower; pCTCVR = pCTR x pCVR.

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "model/blocks/mlp.h"
#include "model/model.h"

namespace funnel::model {

struct MultiDrOptions {
  /// Hidden widths of every event's tower (as ESMM's).
  std::vector<int64_t> towers = {200, 80, 20};
  /// Hidden widths of each imputation tower.
  std::vector<int64_t> imputation_towers = {200, 80, 20};
  /// Weight of the imputation loss L_imp inside the event's term.
  double imputation_weight = 1.0;
  /// Lower bound of the propensity phat (inverse weights at most 1 / min_propensity).
  double min_propensity = 0.01;
  /// Dropout after every hidden activation, training mode only.
  double dropout = 0.0;
  /// Hidden activation: relu, leaky_relu or tanh.
  Activation activation = Activation::kRelu;

  /// Strict parse of {"towers", "imputation_towers", "imputation_weight", "min_propensity",
  /// "dropout", "activation"}.
  static MultiDrOptions from_json(const nlohmann::json& j, const std::string& path = "model");
  /// Every key from_json reads, resolved (defaults included, the activation by name).
  nlohmann::json to_json() const;
};

struct DoublyRobustLoss {
  torch::Tensor dr;          ///< L_DR, scalar
  torch::Tensor imputation;  ///< L_imp, scalar
};

/// The two terms above for one event over B rows, all [B]: log_p / log_q = log P(e | parent)
/// and its complement, y = the event's labels, observed = the parent's labels (0/1),
/// propensity = P(parent) (detached and floored here), imputed = ehat >= 0.
DoublyRobustLoss doubly_robust_loss(const torch::Tensor& log_p, const torch::Tensor& log_q,
                                    const torch::Tensor& y, const torch::Tensor& observed,
                                    const torch::Tensor& propensity, const torch::Tensor& imputed,
                                    double min_propensity);

class MultiDrModel : public FunnelModel {
 public:
  MultiDrModel(const FunnelSpec& funnel, int64_t input_dim,
               MultiDrOptions options = MultiDrOptions());

  /// Conditional heads as ESMM's, and event_losses with the doubly robust terms.
  FunnelOutput forward(const ModelInput& input) override;

  Tower& tower(size_t e) { return towers_.at(e); }
  /// Null for the root event.
  Tower& imputation(size_t e) { return imputation_.at(e); }
  const MultiDrOptions& options() const { return options_; }

 private:
  MultiDrOptions options_;
  std::vector<int> parents_;
  std::vector<Tower> towers_;
  std::vector<Tower> imputation_;
};

}  // namespace funnel::model
