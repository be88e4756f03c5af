#pragma once
// MMoE (Ma et al., KDD 2018): shared experts over the input row, a softmax gate per event
// mixing them, and a tower per event on its mixture, tower e giving the logit of P(e | parent):
//
//   f_k = Expert_k(x),   h_e = sum_k softmax(W_e x)_k f_k,   z_e = Tower_e(h_e)
//
// Conditional heads composed along the funnel and trained in entire space like ESMM
// (pCVR = the conversion head, pCTCVR = pCTR x pCVR). With one expert the gate is the constant
// 1 and MMoE is Shared-Bottom with the expert as its bottom.

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "model/blocks/expert.h"
#include "model/blocks/gate.h"
#include "model/blocks/mlp.h"
#include "model/model.h"

namespace funnel::model {

struct MmoeOptions {
  /// Number of shared experts.
  int64_t num_experts = 4;
  /// Hidden widths of each expert Mlp (Shared-Bottom's default bottom).
  std::vector<int64_t> experts = {200, 80};
  /// Hidden widths of each event's tower on its gated mixture (then the logit head).
  std::vector<int64_t> towers = {20};
  /// Dropout after every hidden activation, training mode only.
  double dropout = 0.0;
  /// Hidden activation: relu, leaky_relu or tanh.
  Activation activation = Activation::kRelu;

  /// Strict parse of {"num_experts", "experts", "towers", "dropout", "activation"}.
  static MmoeOptions from_json(const nlohmann::json& j, const std::string& path = "model");
  /// Every key from_json reads, resolved (defaults included, the activation by name).
  nlohmann::json to_json() const;
};

class MmoeModel : public FunnelModel {
 public:
  MmoeModel(const FunnelSpec& funnel, int64_t input_dim, MmoeOptions options = MmoeOptions());

  FunnelOutput forward(const ModelInput& input) override;

  ExpertGroup& experts() { return experts_; }
  Gate& gate(size_t e) { return gates_.at(e); }
  Tower& tower(size_t e) { return towers_.at(e); }
  const MmoeOptions& options() const { return options_; }

 private:
  MmoeOptions options_;
  ExpertGroup experts_{nullptr};
  std::vector<Gate> gates_;
  std::vector<Tower> towers_;
};

}  // namespace funnel::model
