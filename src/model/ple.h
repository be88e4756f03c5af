#pragma once
// PLE, Progressive Layered Extraction (Tang et al., RecSys 2020): `levels` stacked CGC layers
// (blocks/cgc.h), each with shared experts and experts of every event, gated per event;
// a tower per event on its last-level output gives the logit of P(e | parent):
//
//   level 1: x^e = x^s = x;  level l: (x^e, x^s) <- CGC_l(x^e, x^s);  z_e = Tower_e(x^e_L)
//
// Conditional heads composed along the funnel, trained in entire space like ESMM (pCVR = the
// conversion head). One level without task experts is MMoE with the shared experts.

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "model/blocks/cgc.h"
#include "model/blocks/mlp.h"
#include "model/model.h"

namespace funnel::model {

struct PleOptions {
  /// Number of CGC layers (extraction levels).
  int64_t levels = 2;
  /// Shared experts per level.
  int64_t shared_experts = 2;
  /// Experts of each event per level (0 = every gate mixes the shared experts only).
  int64_t task_experts = 1;
  /// Hidden widths of each expert Mlp (every level; the first level's take the input row).
  std::vector<int64_t> experts = {80};
  /// Hidden widths of each event's tower on its last-level output (then the logit head).
  std::vector<int64_t> towers = {20};
  /// Dropout after every hidden activation, training mode only.
  double dropout = 0.0;
  /// Hidden activation: relu, leaky_relu or tanh.
  Activation activation = Activation::kRelu;

  /// Strict parse of {"levels", "shared_experts", "task_experts", "experts", "towers",
  /// "dropout", "activation"}.
  static PleOptions from_json(const nlohmann::json& j, const std::string& path = "model");
  /// Every key from_json reads, resolved (defaults included, the activation by name).
  nlohmann::json to_json() const;
};

class PleModel : public FunnelModel {
 public:
  PleModel(const FunnelSpec& funnel, int64_t input_dim, PleOptions options = PleOptions());

  FunnelOutput forward(const ModelInput& input) override;

  CgcLayer& level(size_t l) { return levels_.at(l); }
  Tower& tower(size_t e) { return towers_.at(e); }
  const PleOptions& options() const { return options_; }

 private:
  PleOptions options_;
  std::vector<CgcLayer> levels_;
  std::vector<Tower> towers_;
};

}  // namespace funnel::model
