// funnel inspect gates: what TAML's adaptive gates give each expert group (Fig. 4).

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/run_training.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json_text.h"
#include "core/log.h"
#include "data/cache.h"
#include "data/loader.h"
#include "model/bundle.h"
#include "model/taml.h"
#include "report/gate_figure.h"

namespace funnel::cli {
namespace {

struct InspectArgs {
  std::string bundle, cache, split = "test", json, svg;
  uint64_t max_rows = 0;
};

void inspect_gates(const InspectArgs& args) {
  const model::LoadedBundle bundle = model::load_bundle(args.bundle);
  auto* taml = dynamic_cast<model::TamlModel*>(bundle.net.get());
  FUNNEL_CHECK(taml != nullptr, args.bundle << ": the model is '" << bundle.model.name
                                            << "'; gate weights are TAML's (model taml)");
  const data::Cache cache(args.cache);
  const auto sizes = bundle.header.at("vocab_sizes").get<std::vector<uint64_t>>();
  FUNNEL_CHECK(cache.layout().events == bundle.layout.events && cache.vocab_sizes() == sizes,
               args.cache << ": not the data " << args.bundle
                          << " was trained on (other events or vocabularies)");
  FUNNEL_CHECK(cache.has_split(args.split), args.cache << ": no split '" << args.split << "'");
  nlohmann::json out = taml_gate_weights(*taml, *bundle.embedding, cache, args.split, args.max_rows);
  out["model"] = bundle.model.name;
  out["split"] = args.split;
  std::printf("%-14s %7s %9s %9s %9s\n", "event", "learner", "general", "task", "learner");
  for (const auto& task : out["tasks"]) {
    for (const auto& l : task["learners"]) {
      std::printf("%-14s %7d %9.4f %9.4f %9.4f\n", task["event"].get<std::string>().c_str(),
                  l["learner"].get<int>(), l["general"].get<double>(), l["task"].get<double>(),
                  l["learner_specific"].get<double>());
    }
  }
  if (!args.json.empty()) write_text_file_atomic(args.json, json_text(out, 2) + "\n");
  if (!args.svg.empty()) {
    write_text_file_atomic(args.svg,
                           report::gate_weights_svg(out, "TAML gate weights (" + args.split + ")"));
  }
}

}  // namespace

void add_inspect_commands(CLI::App& app) {
  auto* inspect = app.add_subcommand("inspect", "Look inside a trained model");
  inspect->require_subcommand(1);
  auto args = std::make_shared<InspectArgs>();
  auto* gates = inspect->add_subcommand(
      "gates", "TAML: mean gate weight of each expert group per task and learner (Fig. 4)");
  gates->add_option("--bundle", args->bundle, "RUN_DIR/model.bundle of a taml run")
      ->required()
      ->check(CLI::ExistingFile);
  gates->add_option("--cache", args->cache, "The binary cache the model was trained on")
      ->required()
      ->check(CLI::ExistingDirectory);
  gates->add_option("--split", args->split, "train, validation or test (default test)")
      ->check(CLI::IsMember({"train", "validation", "test"}));
  gates->add_option("--max-rows", args->max_rows, "Only the first N rows of the split");
  gates->add_option("--json", args->json, "Write the weights as JSON to this file");
  gates->add_option("--svg", args->svg, "Draw them as a self-contained SVG bar chart");
  gates->callback([args] { inspect_gates(*args); });
}

}  // namespace funnel::cli
