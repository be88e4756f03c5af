#pragma once
// DNN, the click-space baseline (AutoHERI §4.1.2 (1); ESMM's BASE): the same per-event towers
// as ESMM, but the trainer fits each later event's conditional P(e | parent) only on rows
// where the parent happened (for click -> conversion: the CVR tower on clicked impressions),
// and the first event on all impressions. Entire-space scores are still the products along
// the chain (pCTCVR = pCTR x pCVR), so DNN is evaluated exactly like ESMM.

#include "model/esmm.h"

namespace funnel::model {

/// Options as ESMM's (EsmmOptions: towers, dropout, activation).
class DnnModel : public EsmmModel {
 public:
  using EsmmModel::EsmmModel;
  TrainingSpace training_space() const override { return TrainingSpace::kClickSpace; }
};

}  // namespace funnel::model
