#pragma once
// Shared-Bottom (Caruana 1997; the hard-parameter-sharing baseline of ESMM, MMoE, AITM): one
// Mlp over the input shared by every event, then a small Tower per event on its output,
// tower e giving the logit of P(e | parent(e)):
//
//   h = Mlp_bottom(x),   z_e = Tower_e(h),   P(e | parent) = sigmoid(z_e)
//
// Entire-space probabilities and training as ESMM (products along the chain, AutoHERI eq. 2
// and 4); only the sharing differs.

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "model/blocks/mlp.h"
#include "model/model.h"

namespace funnel::model {

struct SharedBottomOptions {
  /// Hidden widths of the shared bottom Mlp.
  std::vector<int64_t> bottom = {200, 80};
  /// Hidden widths of each event's tower on the bottom's output (then a linear logit head);
  /// bottom + tower = [200, 80, 20], the depth of ESMM's default towers.
  std::vector<int64_t> towers = {20};
  /// Dropout after every hidden activation (bottom and towers), training mode only.
  double dropout = 0.0;
  /// Hidden activation: relu, leaky_relu or tanh.
  Activation activation = Activation::kRelu;

  /// Strict parse of {"bottom": [..], "towers": [..], "dropout": p, "activation": ".."}.
  static SharedBottomOptions from_json(const nlohmann::json& j, const std::string& path = "model");
  /// Every key from_json reads, resolved (defaults included, the activation by name).
  nlohmann::json to_json() const;
};

class SharedBottomModel : public FunnelModel {
 public:
  SharedBottomModel(const FunnelSpec& funnel, int64_t input_dim,
                    SharedBottomOptions options = SharedBottomOptions());

  FunnelOutput forward(const ModelInput& input) override;

  Mlp& bottom() { return bottom_; }
  Tower& tower(size_t e) { return towers_.at(e); }
  const SharedBottomOptions& options() const { return options_; }

 private:
  SharedBottomOptions options_;
  Mlp bottom_{nullptr};
  std::vector<Tower> towers_;
};

}  // namespace funnel::model
