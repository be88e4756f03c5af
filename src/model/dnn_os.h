#pragma once
// DNN-OS (ESM2 §4.1.3): the click-space DNN (dnn.h) trained with positive over-sampling of
// the sparse target: every row whose last funnel event (the conversion) is positive counts
// `oversample` times. Instead of duplicating rows, each row gets the weight
//
//   w_b = oversample if y_b(last event) = 1, else 1
//
// in every event's click-space cross-entropy, normalised by the summed weights:
//
//   L_root = sum_b w_b xent_b / sum_b w_b,
//   L_e    = sum_b w_b [y_b(parent) = 1] xent_b / max(1, sum_b w_b [y_b(parent) = 1])
//
// which is exactly the loss of the batch with each positive row repeated `oversample` times
// (an integer factor; any factor >= 1 is accepted). Through FunnelOutput::event_losses. At
// inference DNN-OS is DNN: pCVR = the CVR tower, pCTCVR = pCTR x pCVR.

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "model/dnn.h"

namespace funnel::model {

struct DnnOsOptions {
  /// ESMM's tower options (towers, dropout, activation).
  EsmmOptions towers;
  /// How many times a positive conversion row counts (>= 1; 1 = DNN).
  double oversample = 5.0;

  /// Strict parse of ESMM's keys plus "oversample".
  static DnnOsOptions from_json(const nlohmann::json& j, const std::string& path = "model");
  /// ESMM's keys and "oversample", resolved.
  nlohmann::json to_json() const;
};

class DnnOsModel : public DnnModel {
 public:
  DnnOsModel(const FunnelSpec& funnel, int64_t input_dim, DnnOsOptions options = DnnOsOptions());

  /// DNN's output, with event_losses giving the weighted click-space cross-entropies.
  FunnelOutput forward(const ModelInput& input) override;

  double oversample() const { return oversample_; }

 private:
  std::vector<int> parents_;
  double oversample_;
};

}  // namespace funnel::model
