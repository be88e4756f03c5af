#pragma once
// TAML's gate weights drawn like the paper's Fig. 4, as one self-contained SVG (no scripts,
// fonts or network): per task, one group of three bars per learner (general, task-specific,
// learner-specific experts: each bar the mean gate weight of that group, the three adding up
// to 1), from the JSON of model::TamlGateStats::to_json.

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace funnel::train {

std::string gate_weights_svg(const nlohmann::json& gates, const std::string& title);

}  // namespace funnel::train
