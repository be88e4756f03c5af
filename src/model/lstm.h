#pragma once
// The LSTM baseline of HEROES Table 2 (Hochreiter & Schmidhuber 1997): one LSTM over the items
// of each list (input: the item's encoded feature row and its one-hot position,
// model/list_model.h), and per funnel event a linear head on the hidden state (and the item's
// encoding, item_readout) giving the logit
// of P(e | parent(e)) of the item. Item i's output depends on items 1..i of its own list only;
// trained in entire space like ESMM.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "model/blocks/sequence.h"
#include "model/funnel_output.h"
#include "model/funnel_spec.h"
#include "model/list_model.h"

namespace funnel::model {

struct LstmOptions {
  ListModelOptions list;
  /// The heads read the item's encoding too (logit = w h + u x_i + b), as in heroes.h.
  bool item_readout = true;

  /// Strict parse of the list model keys (encoder, activation, hidden, positions, time,
  /// time_scale) and item_readout.
  static LstmOptions from_json(const nlohmann::json& j, const std::string& path = "model");
  nlohmann::json to_json() const;
};

class LstmModel : public ListModel {
 public:
  LstmModel(const FunnelSpec& funnel, int64_t input_dim, LstmOptions options = LstmOptions());

  FunnelOutput forward(const ModelInput& input) override;

 private:
  LstmOptions options_;
  std::shared_ptr<LstmCellImpl> cell_;
  torch::nn::Linear heads_{nullptr};  // [H] -> one logit per event
  torch::nn::Linear item_heads_{nullptr};  // item_readout: [encoded] -> one term per event
};

}  // namespace funnel::model
