#pragma once
// ESCM2 (Wang et al., SIGIR 2022, "ESCM^2: Entire Space Counterfactual Multi-Task Model for
// Post-Click Conversion Rate Estimation"): ESMM (one Tower per event, conditional heads,
// pCTCVR = pCTR x pCVR) plus a counterfactual risk regulariser on the CVR tower over the
// entire impression space. The paper's objective, empirical + counterfactual + global risk:
//
//   L = L_CTR + lambda_c R_cf + lambda_g L_CTCVR
//
// with o_b = y_click,b, e_b = xent(pCVR_b, y_conv,b) (observable where o_b = 1),
// phat_b = max(pCTR_b, min_propensity) (detached unless detach_propensity is false):
//
//   ESCM2-IPS:  R_cf = mean_b [ o_b e_b / phat_b ]
//   ESCM2-DR:   R_cf = mean_b [ ehat_b + o_b (e_b - ehat_b) / phat_b ]          (ehat detached)
//                      + imputation_weight mean_b [ o_b (ehat_b - e_b)^2 / phat_b ]  (e detached)
//
// ehat_b = softplus(Imputation(x_b)) >= 0 as in Multi-DR (multi_dr.h), whose towers and
// doubly_robust_loss escm2_dr reuses. How the terms enter FunnelLoss (which has no model weights
// of its own to change): the CTR and CTCVR terms stay the generic, weighted ones, so lambda_g is
// train.loss_weights[e] (default 5; stop_ctcvr_grad_to_ctr applies as usual), and the first
// event's term becomes L_CTR + counterfactual_weight R_cf through FunnelOutput::event_losses
// (aux_loss cannot see labels). With the default w_0 = 1, counterfactual_weight is lambda_c.
// Multi-DR instead REPLACES the CTCVR cross-entropy by its DR term.
//
// Longer funnels: every event e with a parent gets its own R_cf with o = y_parent(e) and
// phat = P(parent(e)) over the entire space (as Multi-DR); the sum enters the first event's term.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "model/blocks/mlp.h"
#include "model/esmm.h"
#include "model/multi_dr.h"

namespace funnel::model {

struct Escm2Options {
  /// Hidden widths of every event's tower (ESMM's).
  std::vector<int64_t> towers = {200, 80, 20};
  /// escm2_dr only: hidden widths of each imputation tower (Multi-DR's).
  std::vector<int64_t> imputation_towers = {200, 80, 20};
  /// The paper's lambda_c, weight of the counterfactual risk (PaddleRec's counterfactual_w).
  double counterfactual_weight = 0.5;
  /// escm2_dr only: weight of the imputation loss inside the counterfactual risk (PaddleRec: 1).
  double imputation_weight = 1.0;
  /// Lower bound of the propensity phat (inverse weights at most 1 / min_propensity).
  double min_propensity = 0.01;
  /// No gradient of R_cf through phat into the parent's towers (PaddleRec's IPS detaches).
  bool detach_propensity = true;
  /// Dropout after every hidden activation, training mode only.
  double dropout = 0.0;
  /// Hidden activation: relu, leaky_relu or tanh.
  Activation activation = Activation::kRelu;

  /// Strict parse of {"towers", "imputation_towers", "counterfactual_weight",
  /// "imputation_weight", "min_propensity", "detach_propensity", "dropout", "activation"}.
  static Escm2Options from_json(const nlohmann::json& j, const std::string& path = "model");
  /// Every key from_json reads, resolved (defaults included, the activation by name).
  nlohmann::json to_json() const;
};

/// ESCM2-IPS risk of one event over B rows, all [B]: mean_b o_b xent_b / phat_b with
/// log_p / log_q = log P(e | parent) and its complement, y = the event's labels, observed = the
/// parent's labels (0/1), propensity = P(parent), floored at min_propensity and detached when
/// `detach`.
torch::Tensor escm2_ips_risk(const torch::Tensor& log_p, const torch::Tensor& log_q,
                             const torch::Tensor& y, const torch::Tensor& observed,
                             const torch::Tensor& propensity, double min_propensity, bool detach);

/// ESCM2-DR risk of one event: L_DR + imputation_weight L_imp of doubly_robust_loss (same
/// arguments), which detaches the propensity; when `detach` is false the gradient through 1 /
/// phat is added by a term of value 0, so the value is the same either way.
torch::Tensor escm2_dr_risk(const torch::Tensor& log_p, const torch::Tensor& log_q,
                            const torch::Tensor& y, const torch::Tensor& observed,
                            const torch::Tensor& propensity, const torch::Tensor& imputed,
                            double min_propensity, double imputation_weight, bool detach);

/// escm2_ips: ESMM's towers; the imputation options are not used.
class Escm2IpsModel : public EsmmModel {
 public:
  Escm2IpsModel(const FunnelSpec& funnel, int64_t input_dim, Escm2Options options = Escm2Options());

  /// ESMM's output, with event_losses giving the first event L_CTR + lambda_c sum_e R_ips(e).
  FunnelOutput forward(const ModelInput& input) override;

  const Escm2Options& escm2_options() const { return escm2_; }

 private:
  Escm2Options escm2_;
  std::vector<int> parents_;
};

/// escm2_dr: Multi-DR's towers (ESMM's plus an imputation tower per event with a parent).
class Escm2DrModel : public MultiDrModel {
 public:
  Escm2DrModel(const FunnelSpec& funnel, int64_t input_dim, Escm2Options options = Escm2Options());

  /// Conditional heads as ESMM's, event_losses giving the first event L_CTR + lambda_c sum_e
  /// R_dr(e); the CTCVR terms stay generic (unlike Multi-DR's).
  FunnelOutput forward(const ModelInput& input) override;

  const Escm2Options& escm2_options() const { return escm2_; }

 private:
  Escm2Options escm2_;
  std::vector<int> parents_;
};

}  // namespace funnel::model
