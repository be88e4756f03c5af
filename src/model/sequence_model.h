#pragma once
// The sequential baselines of HEROES Table 2, one model over each list with a choice of cell
// and readout (model/blocks/cells.h, model/blocks/list_attention.h), one registry name each:
//
//   lstm       LSTM cell (Hochreiter & Schmidhuber 1997), heads on h_i
//   time_lstm  Time-LSTM 3 cell (Zhu et al. IJCAI 2017): time gates on the gap dt_i
//   nhp        continuous-time LSTM of the neural Hawkes process (Mei & Eisner 2017): the
//              cell decays towards a target between items
//   dupn       DUPN (Ni et al. KDD 2018): LSTM + attention over the states of the items so
//              far, queried by the item; heads on [h_i, attention_i], one per task
//   narm       NARM (Li et al. CIKM 2017): GRU, global state h_i and local attention over
//              h_1..h_i (eq. 7-9), c_i = [h_i, local_i]; the bilinear decoder x_i^T B_e c_i
//              (eq. 10) per event, plus linear terms
//
// Input per item: its encoded feature row and its one-hot position (model/list_model.h).
// Per funnel event a head gives the logit of P(e | parent(e)) of the item from the readout
// (and the item's encoding, item_readout); trained in entire space like ESMM. Item i's output
// depends on items 1..i of its own list only, never on a label.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "model/blocks/list_attention.h"
#include "model/blocks/sequence.h"
#include "model/funnel_output.h"
#include "model/funnel_spec.h"
#include "model/list_model.h"

namespace funnel::model {

enum class SequenceCell { kLstm, kTimeLstm, kCtLstm, kGru };
enum class SequenceReadout {
  kState,      ///< the recurrent state h_i
  kAttention,  ///< DUPN: [h_i, attention over h_1..h_i queried by the item's encoding]
  kNarm,       ///< NARM: c_i = [h_i, attention over h_1..h_i queried by h_i], bilinear decoder
};

struct SequenceModelOptions {
  ListModelOptions list;
  /// The heads read the item's encoding too (logit = w r_i + u x_i + b), as in heroes.h.
  bool item_readout = true;
  /// Width of the attention's score layer (dupn, narm only).
  int64_t attention = 64;
  /// Fixed by the registry name, not options.
  SequenceCell cell = SequenceCell::kLstm;
  SequenceReadout readout = SequenceReadout::kState;

  nlohmann::json to_json() const;

 protected:
  /// Strict parse of the list model keys (encoder, activation, hidden, positions, time,
  /// time_scale), item_readout and, with an attention readout, attention.
  void read(const nlohmann::json& j, const std::string& path);
};

/// The options of each registry name: the cell and readout it fixes.
template <SequenceCell C, SequenceReadout R>
struct SequenceOptionsOf : SequenceModelOptions {
  SequenceOptionsOf() {
    cell = C;
    readout = R;
  }
  static SequenceOptionsOf from_json(const nlohmann::json& j, const std::string& path = "model") {
    SequenceOptionsOf o;
    o.read(j, path);
    return o;
  }
};
using LstmOptions = SequenceOptionsOf<SequenceCell::kLstm, SequenceReadout::kState>;
using TimeLstmOptions = SequenceOptionsOf<SequenceCell::kTimeLstm, SequenceReadout::kState>;
using NhpOptions = SequenceOptionsOf<SequenceCell::kCtLstm, SequenceReadout::kState>;
using DupnOptions = SequenceOptionsOf<SequenceCell::kLstm, SequenceReadout::kAttention>;
using NarmOptions = SequenceOptionsOf<SequenceCell::kGru, SequenceReadout::kNarm>;

class SequenceModel : public ListModel {
 public:
  SequenceModel(const FunnelSpec& funnel, int64_t input_dim,
                SequenceModelOptions options = LstmOptions());

  FunnelOutput forward(const ModelInput& input) override;

  RecurrentCellImpl& cell() { return *cell_; }

 private:
  SequenceModelOptions options_;
  int64_t events_;
  std::shared_ptr<RecurrentCellImpl> cell_;
  ListAttention attention_{nullptr};
  torch::nn::Linear heads_{nullptr};       // readout -> one logit per event
  torch::nn::Linear item_heads_{nullptr};  // item_readout: [encoded] -> one term per event
  torch::nn::Linear bilinear_{nullptr};    // narm: c_i -> B_e c_i for every event, [E * encoded]
};

}  // namespace funnel::model
