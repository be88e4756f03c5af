#pragma once
// DBMTL, Deep Bayesian Multi-Target Learning (Wang et al., 2019; a baseline of AutoHERI and
// AITM): a shared bottom, a tower per event, and on top a relation network per event that
// conditions the event on its preceding (parent) event's output, following the factorisation
// p(t_1, .., t_n | x) = prod_e p(t_e | t_parent(e), x):
//
//   h = Mlp_bottom(x),   t_e = Mlp_e(h),
//   r_root = Rel_root(t_root),   r_e = Rel_e([t_e ; r_parent(e)]),   yhat_e = sigmoid(Head_e(r_e))
//
// Rel_e + Head_e is one Tower. Every head is trained against its own label over all
// impressions (yhat_e = P(e), model/marginal_heads.h): DBMTL has no CVR head, pCVR =
// pCTCVR / pCTR (capped at 1).

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "model/blocks/mlp.h"
#include "model/model.h"

namespace funnel::model {

struct DbmtlOptions {
  /// Hidden widths of the shared bottom Mlp.
  std::vector<int64_t> bottom = {200, 80};
  /// Hidden widths of each event's tower on the bottom's output.
  std::vector<int64_t> towers = {20};
  /// Hidden widths of each event's relation network (before its logit head).
  std::vector<int64_t> relation = {20};
  /// Dropout after every hidden activation, training mode only.
  double dropout = 0.0;
  /// Hidden activation: relu, leaky_relu or tanh.
  Activation activation = Activation::kRelu;

  /// Strict parse of {"bottom", "towers", "relation", "dropout", "activation"}.
  static DbmtlOptions from_json(const nlohmann::json& j, const std::string& path = "model");
  /// Every key from_json reads, resolved (defaults included, the activation by name).
  nlohmann::json to_json() const;
};

class DbmtlModel : public FunnelModel {
 public:
  DbmtlModel(const FunnelSpec& funnel, int64_t input_dim, DbmtlOptions options = DbmtlOptions());

  FunnelOutput forward(const ModelInput& input) override;
  /// yhat_e = sigmoid(logit_e), per event [B].
  std::vector<torch::Tensor> logits(const torch::Tensor& x);

  Tower& relation(size_t e) { return relations_.at(e); }
  const DbmtlOptions& options() const { return options_; }

 private:
  DbmtlOptions options_;
  std::vector<int> parents_;
  Mlp bottom_{nullptr};
  std::vector<Mlp> towers_;
  std::vector<Tower> relations_;
};

}  // namespace funnel::model
