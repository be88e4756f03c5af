#pragma once
// TAML's gate weights drawn like the paper's Fig. 4 (report/plot.h): per task and learner one
// group of three bars (general, task-specific, learner-specific experts: each bar the mean
// gate weight of that group, the three adding up to 1), from the JSON of
// model::TamlGateStats::to_json ({"rows", "tasks": [{"event", "learners": [{"learner",
// "general", "task", "learner_specific"}]}]}).

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace funnel::report {

/// Throws funnel::Error unless `gates` has that shape.
std::string gate_weights_svg(const nlohmann::json& gates, const std::string& title,
                             const std::string& id = "");

}  // namespace funnel::report
