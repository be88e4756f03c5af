#pragma once
// ESMM (Ma et al., SIGIR 2018), generalised to any funnel: one Tower per event over the
// shared input row (shared embeddings), tower e giving the logit of P(e | parent(e)).
//
//   z_e = Tower_e(x),   P(e | parent) = sigmoid(z_e),
//   P(e) = prod over e's ancestor chain of P(. | parent)       (ESMM: pCTCVR = pCTR x pCVR)
//
// For click -> conversion this is ESMM's CTR and CVR towers; for click -> arrival ->
// conversion it is ESM2's / AutoHERI's backbone (§3.3) without integration edges. Trained in
// entire space: AutoHERI eq. 2 / eq. 4 (train/funnel_loss.h).

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "model/blocks/mlp.h"
#include "model/model.h"

namespace funnel::model {

struct EsmmOptions {
  /// Hidden widths of every event's tower (AutoHERI §4.1.2 Ali-CCP setting).
  std::vector<int64_t> towers = {200, 80, 20};
  /// Dropout after every hidden activation, training mode only.
  double dropout = 0.0;
  /// Hidden activation: relu, leaky_relu or tanh.
  Activation activation = Activation::kRelu;

  /// Strict parse of {"towers": [..], "dropout": p, "activation": "relu"} (all optional);
  /// unknown keys are errors. `path` prefixes messages.
  static EsmmOptions from_json(const nlohmann::json& j, const std::string& path = "model");
  /// Every key from_json reads, resolved (defaults included, the activation by name).
  nlohmann::json to_json() const;
};

class EsmmModel : public FunnelModel {
 public:
  EsmmModel(const FunnelSpec& funnel, int64_t input_dim, EsmmOptions options = EsmmOptions());

  FunnelOutput forward(const ModelInput& input) override;

  size_t num_events() const { return towers_.size(); }
  Tower& tower(size_t e) { return towers_.at(e); }
  const EsmmOptions& options() const { return options_; }

 private:
  EsmmOptions options_;
  std::vector<Tower> towers_;
};

}  // namespace funnel::model
