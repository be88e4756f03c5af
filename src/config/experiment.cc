#include "config/experiment.h"

#include <algorithm>
#include <filesystem>

#include "core/choice.h"
#include "core/error.h"
#include "core/file.h"
#include "data/layout.h"
#include "metric/funnel_metrics.h"
#include "model/model_config.h"

namespace funnel::config {
namespace {

/// Who reads a section: `uses` parse it; `accepts` let it pass unread (one experiment file
/// serves several commands: the simulator's experiment.json is read by data, train, eval,
/// search and compare). Everything else is an error.
struct SectionRule {
  const char* name;
  std::vector<Command> uses;
  std::vector<Command> accepts;
};

const std::vector<SectionRule>& section_rules() {
  using C = Command;
  static const std::vector<SectionRule> kRules = {
      {"data", {C::kData, C::kEval, C::kTrain, C::kSearch, C::kCompare}, {}},
      {"model", {C::kTrain, C::kSearch, C::kCompare}, {C::kData, C::kEval}},
      {"embedding", {C::kTrain, C::kSearch, C::kCompare}, {C::kData, C::kEval}},
      {"train", {C::kTrain, C::kSearch, C::kCompare}, {C::kData, C::kEval}},
      // One config serves the search and the retraining of its architecture, and compare.
      {"search", {C::kSearch}, {C::kTrain, C::kCompare, C::kData, C::kEval}},
      {"evolution", {C::kSearch}, {C::kData, C::kEval}},
      {"compare", {C::kCompare}, {C::kData, C::kEval}},
  };
  return kRules;
}

bool has(const std::vector<Command>& list, Command c) {
  return std::find(list.begin(), list.end(), c) != list.end();
}

std::string users_of(const SectionRule& rule) {
  std::vector<std::string> names;
  for (Command c : rule.uses) names.push_back(std::string("funnel ") + command_name(c));
  return choice_list(names);
}

void check_sections(const ExperimentFile& file, Command command) {
  FUNNEL_CHECK(file.root.is_object(), file.path << ": the config must be a JSON object");
  std::vector<std::string> known;
  for (const auto& rule : section_rules()) known.push_back(rule.name);
  for (auto it = file.root.begin(); it != file.root.end(); ++it) {
    const auto rule = std::find_if(section_rules().begin(), section_rules().end(),
                                   [&](const SectionRule& r) { return it.key() == r.name; });
    if (rule == section_rules().end()) {
      throw Error(file.path + ": unknown section '" + it.key() + "' (known: " + choice_list(known) +
                  ")");
    }
    if (!has(rule->uses, command) && !has(rule->accepts, command)) {
      throw Error(file.path + ": section '" + it.key() + "' is not used by funnel " +
                  command_name(command) + " (it is read by " + users_of(*rule) + ")");
    }
  }
  FUNNEL_CHECK(file.root.contains("data"), file.path << ": no \"data\" section");
}

bool uses(Command command, const char* section) {
  for (const auto& rule : section_rules()) {
    if (std::string(rule.name) == section) return has(rule.uses, command);
  }
  return false;
}

/// The section `key` of the file, null when absent.
nlohmann::json section(const ExperimentFile& file, const char* key) {
  return file.root.contains(key) ? file.root.at(key) : nlohmann::json();
}

/// The model section without its "name".
nlohmann::json options_of(const nlohmann::json& model_section) {
  if (model_section.is_null()) return nlohmann::json::object();
  FUNNEL_CHECK(model_section.is_object(),
               "model: expected an object, got " << model_section.dump());
  nlohmann::json options = model_section;
  options.erase("name");
  return options;
}

CompareConfig parse_compare(const nlohmann::json& compare, const nlohmann::json& model_section) {
  CompareConfig c;
  c.shared_options = options_of(model_section);
  if (compare.is_null()) return c;
  FUNNEL_CHECK(compare.is_object(), "compare: expected an object, got " << compare.dump());
  for (auto it = compare.begin(); it != compare.end(); ++it) {
    FUNNEL_CHECK(it.key() == "models" || it.key() == "variants",
                 "compare." << it.key() << ": unknown key (known: models, variants)");
  }
  const nlohmann::json models = compare.value("models", nlohmann::json::object());
  FUNNEL_CHECK(models.is_object(), "compare.models: expected {\"<model>\": {options}}");
  for (auto it = models.begin(); it != models.end(); ++it) {
    check_choice(it.key(), model::model_names(), "compare.models." + it.key() + " (model name)");
    FUNNEL_CHECK(it.value().is_object(),
                 "compare.models." << it.key() << ": expected an object of options");
    c.patches[it.key()] = it.value();
  }
  const nlohmann::json variants = compare.value("variants", nlohmann::json::object());
  FUNNEL_CHECK(variants.is_object(),
               "compare.variants: expected {\"<label>\": {\"model\": name, options}}");
  for (auto it = variants.begin(); it != variants.end(); ++it) {
    const std::string path = "compare.variants." + it.key();
    FUNNEL_CHECK(!model::is_model_name(it.key()),
                 path << ": a variant needs its own label, not a model's name");
    FUNNEL_CHECK(
        it.value().is_object() && it.value().contains("model") && it.value()["model"].is_string(),
        path << ": expected {\"model\": <registry name>, options...}");
    check_choice(it.value()["model"].get<std::string>(), model::model_names(), path + ".model");
    c.variants[it.key()] = it.value();
  }
  return c;
}

}  // namespace

const char* command_name(Command command) {
  constexpr Choice<Command> kNames[] = {{"data", Command::kData},
                                        {"eval", Command::kEval},
                                        {"train", Command::kTrain},
                                        {"search", Command::kSearch},
                                        {"compare", Command::kCompare}};
  return choice_name(command, kNames);
}

model::ModelConfig CompareConfig::model(const std::string& label) const {
  const auto variant = variants.find(label);
  const std::string name =
      variant == variants.end() ? label : variant->second.at("model").get<std::string>();
  nlohmann::json options = shared_options;
  const auto it = patches.find(name);
  if (it != patches.end()) options.merge_patch(it->second);
  if (variant != variants.end()) {
    nlohmann::json own = variant->second;
    own.erase("model");
    options.merge_patch(own);
  }
  return model::parse_model_options(name, options, "model");
}

nlohmann::json CompareConfig::to_json() const {
  nlohmann::json models = nlohmann::json::object(), labels = nlohmann::json::object();
  for (const auto& [name, patch] : patches) models[name] = patch;
  for (const auto& [label, variant] : variants) labels[label] = variant;
  return {{"models", models}, {"variants", labels}};
}

nlohmann::json Experiment::to_json() const {
  nlohmann::json j = {{"data", data::data_config_to_json(data)}};
  if (!uses(command, "train")) return j;
  if (model) j["model"] = model->to_json();
  // compare: each run resolves its own model (the runs' configs); here the shared options.
  if (compare) j["model"] = compare->shared_options;
  j["embedding"] = embedding.to_json();
  j["train"] = train.to_json();
  if (search) j["search"] = search->to_json();
  if (evolution) j["evolution"] = evolution->to_json();
  if (compare) j["compare"] = compare->to_json();
  return j;
}

ExperimentFile read_experiment(const std::string& path, const std::vector<std::string>& overrides) {
  ExperimentFile e;
  e.path = path;
  e.base_dir = std::filesystem::path(path).parent_path().string();
  const std::string text = read_text_file(path);
  try {
    e.root = nlohmann::json::parse(text, nullptr, true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::parse_error& err) {
    // Translate the byte offset into line:column.
    size_t line = 1, col = 1;
    for (size_t i = 0; i + 1 < err.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw Error(path + ":" + std::to_string(line) + ":" + std::to_string(col) +
                ": invalid JSON: " + err.what());
  } catch (const nlohmann::json::out_of_range& err) {
    throw Error(path +
                ": a number is out of range (a double holds at most about 1.8e308): " + err.what());
  }
  FUNNEL_CHECK(e.root.is_object(), path << ": the config must be a JSON object");
  for (const auto& o : overrides) apply_override(e.root, o);
  return e;
}

Experiment parse_experiment(const ExperimentFile& file, Command command) {
  check_sections(file, command);
  Experiment e;
  e.path = file.path;
  e.base_dir = file.base_dir;
  e.command = command;
  try {
    e.data = data::parse_data_config(file.root.at("data"), file.base_dir);
    if (!uses(command, "train")) return e;
    e.embedding = model::FeatureEmbeddingOptions::from_json(section(file, "embedding"));
    e.train = train::TrainerOptions::from_json(section(file, "train"));
    const nlohmann::json model_section = section(file, "model");
    if (command == Command::kTrain) {
      FUNNEL_CHECK(!model_section.is_null(), "no \"model\" section");
      e.model = model::parse_model_config(model_section, "model");
    } else if (command == Command::kSearch) {
      const std::string name = model_section.is_object()
                                   ? model_section.value("name", std::string("autoheri"))
                                   : std::string("autoheri");
      FUNNEL_CHECK(name == "autoheri",
                   "funnel search searches AutoHERI's connections; model.name "
                   "is '"
                       << name << "'");
      e.model = model::parse_model_options(name, options_of(model_section), "model");
      e.search = train::SearchOptions::from_json(section(file, "search"));
      e.evolution = train::EvolutionOptions::from_json(section(file, "evolution"));
    } else {
      e.compare = parse_compare(section(file, "compare"), model_section);
    }
    // Per-task embeddings need a model whose towers each read their own input.
    if (e.model) model::check_embedding_sharing(e.model->name, e.embedding.sharing);
    // The early-stopping metric must name something funnel_metrics writes for this funnel.
    const data::Layout layout = data::Layout::from_schema(e.data.schema);
    metric::parse_metric_path(e.train.early_stop_metric, "train.early_stop_metric")
        .check_entry(layout.events, layout.event_parent, "train.early_stop_metric");
  } catch (const Error& err) {
    throw Error(file.path + ": " + err.what());
  }
  return e;
}

Experiment load_experiment(const std::string& path, const std::vector<std::string>& overrides,
                           Command command) {
  return parse_experiment(read_experiment(path, overrides), command);
}

void apply_override(nlohmann::json& root, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  FUNNEL_CHECK(
      eq != std::string::npos && eq > 0,
      "--set expects key=value (e.g. data.vocab.min_count=11), got '" << assignment << "'");
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error&) {
    value = text;  // plain strings need no quotes on the command line
  } catch (const nlohmann::json::out_of_range&) {
    throw Error("--set " + key + ": the number '" + text +
                "' is out of range (a double holds at most about 1.8e308)");
  }
  nlohmann::json* node = &root;
  size_t start = 0;
  for (;;) {
    const size_t dot = key.find('.', start);
    const std::string part =
        key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    FUNNEL_CHECK(!part.empty(), "--set: empty key component in '" << key << "'");
    if (dot == std::string::npos) {
      (*node)[part] = value;
      return;
    }
    nlohmann::json& child = (*node)[part];
    if (child.is_null()) child = nlohmann::json::object();
    FUNNEL_CHECK(child.is_object(), "--set " << key << ": '" << key.substr(0, dot)
                                             << "' is not an object in the config");
    node = &child;
    start = dot + 1;
  }
}

}  // namespace funnel::config
