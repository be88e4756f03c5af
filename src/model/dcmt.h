#pragma once
// DCMT (Zhu et al., ICDE 2023, "DCMT: A Direct Entire-Space Causal Multi-Task Framework for
// Post-Click Conversion Estimation", arXiv 2302.06141), generalised to any funnel.
//
// Towers on the shared input row: a CTR tower, and per later event a twin: the factual CVR
// tower r = P(e | parent) (the model's output) and the counterfactual CVR tower r*, which
// predicts the conversion of the counterfactual world where the non-clicked impression is
// clicked, whose label is r* = 1 - r. With o = the parent's label ("click"), ohat = P(parent)
// over the entire space (pCTR for a conversion after the click), xent(p, y) the cross-entropy
// and means over the B rows of the batch (1/|D|), the paper's CVR objective is
//
//   E^DCMT = mean_b [ o_b xent(r_b, y_b) / ohat_b ]                  factual, click space O
//          + mean_b [ (1 - o_b) xent(r*_b, 1 - y_b) / (1 - ohat_b) ]  counterfactual space N*
//          + lambda1 mean_b | 1 - (r_b + r*_b) |                     counterfactual regulariser
//
// (the soft prior r + r* ~ 1), and the whole objective L = E^CTR + w^cvr E^DCMT + w^ctcvr
// E^CTCVR (+ L2, left to the optimizer), E^CTCVR = xent(pCTR x r, y) over all impressions.
// The paper's own text was not at hand: E^DCMT is as NISE (Huang et al., RecSys 2024, eq. 6)
// restates it and as three of four public reimplementations compute it, L as a summary of the
// authors' own write-up gives it (docs/zoo.md, "dcmt"); ohat is detached and floored as three of
// the four reimplementations do.
//
// How the terms enter FunnelLoss (which has no model weights of its own to change), as for
// ESCM2 (escm2.h): the CTR and CTCVR terms stay the generic, weighted cross-entropies, so
// w^ctcvr is train.loss_weights[e] (default 5; stop_ctcvr_grad_to_ctr applies as usual), and
// the first event's term becomes E^CTR + cvr_weight sum_e E^DCMT_e through
// FunnelOutput::event_losses (aux_loss cannot see labels). With the default w_0 = 1,
// cvr_weight is w^cvr. Longer funnels: every event e with a parent gets its own twin, with
// o = y_parent(e) and ohat = P(parent(e)) over the entire space (its "click" is its parent).
// pCVR is the factual tower (cond_log_p); the counterfactual towers serve training only.

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "model/blocks/mlp.h"
#include "model/model.h"

namespace funnel::model {

struct DcmtOptions {
  /// Hidden widths of every tower: CTR, factual and counterfactual (ESMM's).
  std::vector<int64_t> towers = {200, 80, 20};
  /// w^cvr: weight of every E^DCMT in the first event's term (the reimplementations: 1; 0 =
  /// ESMM with idle counterfactual towers).
  double cvr_weight = 1.0;
  /// lambda1: weight of the counterfactual regulariser inside E^DCMT (the reimplementations:
  /// 1e-3).
  double regularizer_weight = 1e-3;
  /// Floor of ohat and of 1 - ohat (inverse weights at most 1 / min_propensity), in (0, 1].
  double min_propensity = 0.01;
  /// Dropout after every hidden activation, training mode only.
  double dropout = 0.0;
  /// Hidden activation: relu, leaky_relu or tanh.
  Activation activation = Activation::kRelu;

  /// Strict parse of the keys above (null = defaults).
  static DcmtOptions from_json(const nlohmann::json& j, const std::string& path = "model");
  /// Every key from_json reads, resolved.
  nlohmann::json to_json() const;
};

/// The three parts of E^DCMT for one event over B rows, each a scalar (unweighted).
struct DcmtLoss {
  torch::Tensor factual;         ///< mean_b o xent(r, y) / max(ohat, floor)
  torch::Tensor counterfactual;  ///< mean_b (1 - o) xent(r*, 1 - y) / max(1 - ohat, floor)
  torch::Tensor regularizer;     ///< mean_b |1 - (r + r*)|
};

/// E^DCMT's parts, all inputs [B]: log_p / log_q = log r and log(1 - r) (factual tower),
/// cf_log_p / cf_log_q the same for r*, y = the event's labels, observed = the parent's labels
/// o, log_propensity = log ohat = log P(parent) (detached here: no gradient into the CTR tower).
DcmtLoss dcmt_loss(const torch::Tensor& log_p, const torch::Tensor& log_q,
                   const torch::Tensor& cf_log_p, const torch::Tensor& cf_log_q,
                   const torch::Tensor& y, const torch::Tensor& observed,
                   const torch::Tensor& log_propensity, double min_propensity);

class DcmtModel : public FunnelModel {
 public:
  /// Throws unless some event has a parent (DCMT debiases a conversion given its parent).
  DcmtModel(const FunnelSpec& funnel, int64_t input_dim, DcmtOptions options = DcmtOptions());

  /// The CTR and factual towers as conditional heads; event_losses giving the first event
  /// E^CTR + cvr_weight sum_e E^DCMT_e, every later event its generic CTCVR term.
  FunnelOutput forward(const ModelInput& input) override;

  /// The logit of r* for every event, [B] each (undefined for roots).
  std::vector<torch::Tensor> counterfactual_logits(const torch::Tensor& x);

  /// The CTR tower for a root, the factual CVR tower otherwise.
  Tower& tower(size_t e) { return towers_.at(e); }
  /// The counterfactual CVR tower of event e; null for a root.
  Tower& counterfactual(size_t e) { return counterfactual_.at(e); }
  const DcmtOptions& options() const { return options_; }

 private:
  DcmtOptions options_;
  std::vector<int> parents_;
  std::vector<Tower> towers_;
  std::vector<Tower> counterfactual_;
};

}  // namespace funnel::model
