// The single registry table of models (STYLE.md rule 6): adding a model is one file plus one
// line here. `--help`, config validation and bundle loading read this table.

#include <torch/nn/module.h>

#include "core/error.h"
#include "model/autoheri.h"
#include "model/aitm.h"
#include "model/dbmtl.h"
#include "model/dnn.h"
#include "model/dnn_os.h"
#include "model/esm2.h"
#include "model/esmm.h"
#include "model/mmoe.h"
#include "model/model.h"
#include "model/multi_dr.h"
#include "model/ple.h"
#include "model/shared_bottom.h"

namespace funnel::model {

const std::vector<ModelEntry>& model_registry() {
  static const std::vector<ModelEntry> kModels = {
      {"esmm", &make_esmm,
       "ESMM: one MLP tower per event on shared embeddings, entire-space products, trained on "
       "CTR + CTCVR (+ ...) losses over all impressions"},
      {"shared_bottom", &make_shared_bottom,
       "Shared-Bottom: one shared MLP, then a small tower per event; trained like ESMM"},
      {"dnn", &make_dnn,
       "DNN: ESMM's towers trained in click space (each later event only on rows where its "
       "parent happened)"},
      {"autoheri", &make_autoheri,
       "AutoHERI: ESMM's towers plus integration edges from preceding to succeeding towers' "
       "layers (eq. 1); alpha searched (funnel search) or a fixed architecture (--arch)"},
      {"esm2", &make_esm2,
       "ESM2: four sub-networks y1..y4 over click -> action -> purchase, pCVR = y2 y3 + (1 - y2) "
       "y4 (eq. 1-4), entire-space CTR, CTAVR and CTCVR losses (eq. 8-11)"},
      {"mmoe", &make_mmoe,
       "MMoE: shared experts, a softmax gate and a tower per event; trained like ESMM"},
      {"ple", &make_ple,
       "PLE: stacked CGC layers of shared and per-event experts with gates; trained like ESMM"},
      {"aitm", &make_aitm,
       "AITM: per-event towers, attention over [transferred parent info, own representation], "
       "behavioural expectation calibrator; pCVR = pCTCVR / pCTR"},
      {"dbmtl", &make_dbmtl,
       "DBMTL: shared bottom, per-event towers, relation networks conditioning each event on "
       "its parent's output; pCVR = pCTCVR / pCTR"},
      {"multi_dr", &make_multi_dr,
       "Multi-DR: CTR and CVR towers plus an imputation tower, doubly robust CVR loss over the "
       "entire space with propensity pCTR"},
      {"dnn_os", &make_dnn_os,
       "DNN-OS: the click-space DNN with positive conversion rows over-sampled (as loss "
       "weights)"},
  };
  return kModels;
}

std::shared_ptr<FunnelModel> make_model(const std::string& name, const FunnelSpec& funnel,
                                        int64_t input_dim, const nlohmann::json& options) {
  funnel.validate();
  FUNNEL_CHECK(input_dim > 0, "model '" << name << "': input width must be > 0, got " << input_dim);
  for (const ModelEntry& entry : model_registry()) {
    if (name == entry.name) return entry.make(funnel, input_dim, options);
  }
  std::string known;
  for (const ModelEntry& entry : model_registry()) {
    known += (known.empty() ? "" : ", ") + std::string(entry.name);
  }
  throw Error("unknown model '" + name + "' (known: " + known + ")");
}

}  // namespace funnel::model
