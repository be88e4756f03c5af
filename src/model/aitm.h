#pragma once
// AITM, Adaptive Information Transfer Multi-task (Xi et al., KDD 2021): a tower per event over
// the shared input row gives its representation q_e; for an event with a parent, the
// information transferred from the parent, p = Transfer_e(z_parent) (a one-layer Mlp), and q_e
// go through the attention block (blocks/attention.h, the AIT module):
//
//   z_root = q_root,   z_e = sum_{u in {p, q_e}} softmax_u(<h1(u), h2(u)> / sqrt(d)) h3(u)
//   yhat_e = sigmoid(Head_e(z_e))                         (each event's probability P(e))
//
// Every head is trained against its own label over all impressions (the generic entire-space
// loss, model/marginal_heads.h), plus the behavioural expectation calibrator
//
//   aux = calibration_weight * sum_{e with a parent} mean_b max(yhat_e - yhat_parent, 0)
//
// AITM has no CVR head: pCVR = pCTCVR / pCTR (capped at 1, see marginal_heads.h).

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "model/blocks/attention.h"
#include "model/blocks/mlp.h"
#include "model/model.h"

namespace funnel::model {

struct AitmOptions {
  /// Hidden widths of every event's tower; the last width d is also the attention width.
  std::vector<int64_t> towers = {200, 80, 20};
  /// Weight of the behavioural expectation calibrator (AITM's alpha, 0.6 in the paper).
  double calibration_weight = 0.6;
  /// Dropout after every hidden activation, training mode only.
  double dropout = 0.0;
  /// Hidden activation: relu, leaky_relu or tanh.
  Activation activation = Activation::kRelu;

  /// Strict parse of {"towers", "calibration_weight", "dropout", "activation"}.
  static AitmOptions from_json(const nlohmann::json& j, const std::string& path = "model");
  /// Every key from_json reads, resolved (defaults included, the activation by name).
  nlohmann::json to_json() const;
};

/// Everything one forward pass computes, for tests and inspection.
struct AitmForward {
  std::vector<torch::Tensor> logits;             ///< per event [B], yhat_e = sigmoid
  std::vector<torch::Tensor> attention_inputs;   ///< per event [B, 2, d] ([p, q_e]); root: undefined
  std::vector<torch::Tensor> attention_weights;  ///< per event [B, 2]; root: undefined
};

class AitmModel : public FunnelModel {
 public:
  AitmModel(const FunnelSpec& funnel, int64_t input_dim, AitmOptions options = AitmOptions());

  FunnelOutput forward(const ModelInput& input) override;
  AitmForward forward_detailed(const torch::Tensor& x);

  Attention& attention(size_t e) { return attention_.at(e); }
  const AitmOptions& options() const { return options_; }

 private:
  AitmOptions options_;
  std::vector<int> parents_;
  std::vector<Mlp> towers_;
  std::vector<Mlp> transfer_;          // per event; null for roots
  std::vector<Attention> attention_;   // per event; null for roots
  std::vector<Tower> heads_;           // linear heads on z_e
};

}  // namespace funnel::model
