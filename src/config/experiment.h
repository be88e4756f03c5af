#pragma once
// The experiment config: one JSON file (data, model, training, evaluation sections), with
// `--set key=value` overrides applied on top. Precedence: defaults < file < --set.
// Each module parses its own section strictly (unknown keys are errors).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace funnel::config {

struct Experiment {
  nlohmann::json root;
  /// The config file, and its folder (relative data paths resolve against it).
  std::string path;
  std::string base_dir;
};

/// Reads and parses `path`, then applies each "dotted.key=value" override. A value that
/// parses as JSON is taken as JSON (numbers, true, [200,80,20], {"a":1}); otherwise as a
/// string. Throws funnel::Error naming the file (and line/column for a JSON syntax error).
Experiment load_experiment(const std::string& path, const std::vector<std::string>& overrides = {});

/// Applies one "dotted.key=value" override, creating intermediate objects.
void apply_override(nlohmann::json& root, const std::string& assignment);

}  // namespace funnel::config
