#pragma once
// What `funnel train --arch FILE [--init-from BUNDLE]` does to a training run (arch.json and
// the bundle come from `funnel search`).

#include <string>

#include <nlohmann/json.hpp>

#include "model/feature_embedding.h"
#include "model/model.h"

namespace funnel::cli {

/// --arch is an override of the config, applied to the file before its one parse (like
/// --set): the "model" section becomes AutoHERI with the fixed binary connections of the
/// architecture file ("alpha": "fixed", "arch": the file; towers, scheme and skip from the
/// file). When the config names another model, only its dropout, activation and edge_init
/// are kept (logged).
void apply_arch_file(const std::string& arch_file, nlohmann::json& root);

/// Starts from the searched weights instead of from scratch: copies every dense parameter
/// the fixed model has (towers, heads, kept U_ij) and the embedding tables (optimizer state
/// reset) from a `funnel search` bundle.
void init_from_searched_bundle(const std::string& bundle_file, model::FunnelModel& net,
                               model::FeatureEmbedding& embedding);

}  // namespace funnel::cli
