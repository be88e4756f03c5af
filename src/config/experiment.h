#pragma once
// The experiment: one JSON file (data, model, embedding, train, search, evolution, compare
// sections) with `--set key=value` overrides applied on top, parsed ONCE into typed sections.
// Precedence: defaults < file < --set. Each section is parsed strictly by the component that
// owns it (unknown keys are errors with their JSON path) and writes itself back resolved, so
// run folders, bundles and architecture files record every value a run used.
//
// Which command may use which section is decided here, in one table (experiment.cc): an
// unknown section, or one the command has no use for (a "compare" section given to
// `funnel train`), is an error naming it. Commands that only read the data (data convert,
// data stats, eval) accept every known section, since one experiment file serves them all.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/schema.h"
#include "model/feature_embedding_options.h"
#include "model/model_config.h"
#include "train/search_options.h"
#include "train/trainer_options.h"

namespace funnel::config {

/// The commands that read an experiment file.
enum class Command { kData, kEval, kTrain, kSearch, kCompare };
/// "data", "eval", "train", "search", "compare".
const char* command_name(Command command);

/// The "compare" section with the "model" section it patches: options shared by every model
/// plus per-model JSON merge patches ("compare": {"models": {"<name>": {...}}}; null removes
/// a shared key, so that model falls back to its default), and named variants of a model
/// ("compare": {"variants": {"taml_1learner": {"model": "taml", "learners": 1}}}: a label
/// usable in --models, the model's options patched once more; ablations side by side).
struct CompareConfig {
  /// The "model" section without "name" (the name of each run comes from --models).
  nlohmann::json shared_options = nlohmann::json::object();
  /// Registry name -> merge patch of its options.
  std::map<std::string, nlohmann::json> patches;
  /// Variant label -> {"model": registry name, options patch...}.
  std::map<std::string, nlohmann::json> variants;

  /// The typed model of one run of `label` (a registry name or a variant): the shared options,
  /// the model's patch, the variant's patch, parsed by the model's registry entry; throws when
  /// the model does not accept them (a run's error) or for an unknown label.
  model::ModelConfig model(const std::string& label) const;
  /// {"models": patches, "variants": variants}.
  nlohmann::json to_json() const;
};

struct Experiment {
  /// The config file, and its folder (relative data paths resolve against it).
  std::string path;
  std::string base_dir;
  Command command = Command::kTrain;
  data::DataConfig data;
  /// train: the model to train; search: autoheri (its options); unset for the others.
  std::optional<model::ModelConfig> model;
  model::FeatureEmbeddingOptions embedding;
  train::TrainerOptions train;
  /// search (always set there, defaults when the file has none).
  std::optional<train::SearchOptions> search;
  std::optional<train::EvolutionOptions> evolution;
  /// compare (always set there).
  std::optional<CompareConfig> compare;

  /// The resolved experiment: every section the command uses, with every key.
  nlohmann::json to_json() const;
};

/// The file as read, with the overrides applied: the document commands may still rewrite
/// before it is parsed (`funnel train --arch` swaps the model section for the architecture).
struct ExperimentFile {
  nlohmann::json root;
  std::string path;
  std::string base_dir;
};

/// Reads and parses `path`, then applies each "dotted.key=value" override. A value that
/// parses as JSON is taken as JSON (numbers, true, [200,80,20], {"a":1}); otherwise as a
/// string. Throws funnel::Error naming the file (and line/column for a JSON syntax error).
ExperimentFile read_experiment(const std::string& path,
                               const std::vector<std::string>& overrides = {});

/// The typed experiment of `command`: checks the sections (see the file comment), parses each
/// section the command uses, and the cross-section rules (the early-stopping metric names an
/// entry of the data's funnel; `funnel search` searches autoheri). Errors name the file.
Experiment parse_experiment(const ExperimentFile& file, Command command);

/// read_experiment + parse_experiment.
Experiment load_experiment(const std::string& path, const std::vector<std::string>& overrides,
                           Command command);

/// Applies one "dotted.key=value" override, creating intermediate objects.
void apply_override(nlohmann::json& root, const std::string& assignment);

}  // namespace funnel::config
