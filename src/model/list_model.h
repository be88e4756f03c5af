#pragma once
// What the recurrent list models (HEROES, the LSTM baseline) share: their common options, the
// per-item encoder, and the step from a ModelInput to packed lists (model/blocks/sequence.h).
//
// Input per item (HEROES footnote 3): the item's feature row, through an MLP encoder, with its
// position in the list as a one-hot vector; the one-hot part is a learned per-step bias of the
// gates (exactly the product of a one-hot input with its weights).

#include <torch/types.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/json_fields.h"
#include "model/blocks/mlp.h"
#include "model/blocks/sequence.h"
#include "model/model.h"
#include "model/model_input.h"

namespace funnel::model {

/// What a list model may know of the behaviour on earlier items of a list at inference.
enum class ListFeedback {
  kNone,      ///< nothing: item i is scored from the features of items 1..i (the default)
  kObserved,  ///< the labels of items 1..i-1 too, where a deployment observes them (a feed
              ///< scored item by item); never item i's own, nor a later item's
};

struct ListModelOptions {
  /// Hidden widths of the per-item MLP encoder (empty: the feature row itself).
  std::vector<int64_t> encoder = {128};
  /// The encoder's hidden activation.
  Activation activation = Activation::kRelu;
  /// Width of each recurrent state.
  int64_t hidden = 64;
  /// One-hot positions 1..positions (later items share the last); 0 = none.
  int64_t positions = 64;
  /// Time between items (HEROES eq. 11): position (t_i ~ i) or the timestamp column.
  ListTime time = ListTime::kPosition;
  /// With time = timestamp: time stamp units per time unit.
  double time_scale = 1.0;
  /// `observed`: item i's input also holds the labels of item i-1 of its list (zeros at the
  /// first item), so the state carries every earlier item's behaviour: HEROES's behaviour
  /// embedding y (eq. 11) from observed behaviour, through the encoder.
  ListFeedback feedback = ListFeedback::kNone;

  /// Reads the keys above (encoder, activation, hidden, positions, time, time_scale, feedback)
  /// from `f` (each optional).
  void read(JsonFields& f);
  /// The keys above, resolved.
  void write(nlohmann::json& j) const;
};

/// A model over whole lists: reads_lists() is true, so the trainer and the evaluator give it
/// batches of whole lists.
class ListModel : public FunnelModel {
 public:
  bool reads_lists() const override { return true; }
  bool reads_feedback() const override {
    return list_options_.feedback == ListFeedback::kObserved;
  }

 protected:
  /// A batch's lists in packed order: the encoded items and the time deltas.
  struct Packed {
    PackedLists lists;
    torch::Tensor x;   ///< [rows, encoder width], packed
    torch::Tensor dt;  ///< [rows, 1], packed
  };
  /// `events`: the funnel's events (the width of the observed feedback).
  ListModel(int64_t input_dim, int64_t events, const ListModelOptions& options);
  Packed pack(const ModelInput& input);
  int64_t encoded_dim() const { return encoded_dim_; }

 private:
  ListModelOptions list_options_;
  int64_t events_;
  Mlp encoder_{nullptr};
  int64_t encoded_dim_;
};

}  // namespace funnel::model
