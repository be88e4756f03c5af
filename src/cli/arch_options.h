#pragma once
// What `funnel train --arch FILE [--init-from BUNDLE]` does to a training run (the
// definitions live in search_commands.cc, beside `funnel search`, which writes those files).

#include <string>

#include <nlohmann/json.hpp>

#include "model/feature_embedding.h"
#include "model/model.h"

namespace funnel::cli {

/// Turns the run's model into AutoHERI with the fixed binary connections of the architecture
/// file (model.alpha = "fixed", model.arch = the file; towers, scheme and skip from the file;
/// dropout, activation and edge_init kept from the config). Logs when the config named another
/// model.
void apply_arch_file(const std::string& arch_file, std::string& model_name,
                     nlohmann::json& model_options);

/// Starts from the searched weights instead of from scratch: copies every dense parameter
/// the fixed model has (towers, heads, kept U_ij) and the embedding tables (optimizer state
/// reset) from a `funnel search` bundle.
void init_from_searched_bundle(const std::string& bundle_file, model::FunnelModel& net,
                               model::FeatureEmbedding& embedding);

}  // namespace funnel::cli
