// funnel search | funnel arch plot | funnel arch derive (AutoHERI, docs/autoheri.md)

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/run_training.h"
#include "cli/workers.h"
#include "config/experiment.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/run_dir.h"
#include "core/stopwatch.h"
#include "data/cache.h"
#include "model/autoheri.h"
#include "model/feature_embedding.h"
#include "train/arch_plot.h"
#include "train/evolution.h"
#include "train/search.h"
#include "train/trainer.h"

namespace funnel::cli {
namespace {

struct SearchArgs {
  std::string config;
  std::string out;
  std::string cache;
  std::vector<std::string> overrides;
  bool no_bundle = false;
  bool overwrite = false;
  /// "bilevel" (the paper's one-shot search) or "evolution" (Table 3's evolutionary variant).
  std::string method = "bilevel";
};

struct ArchArgs {
  std::string input;
  std::string out;
  double threshold = -1;
  int top_k = 0;
};

/// What both search methods start from: the experiment and the cache (converted into
/// OUT/cache unless --cache names one).
struct SearchInputs {
  config::Experiment experiment;
  std::string cache_dir;
  /// The run folder, this process's while the search runs.
  std::unique_ptr<RunDir> run_dir;
};

SearchInputs open_search_inputs(const SearchArgs& args) {
  SearchInputs in{
      config::load_experiment(args.config, args.overrides, config::Command::kSearch), {}, nullptr};
  in.run_dir = std::make_unique<RunDir>(
      args.out, run_folder_files(),
      args.overwrite ? RunDir::Existing::kOverwrite : RunDir::Existing::kRefuse, "funnel search");
  in.cache_dir = run_cache_dir(in.experiment, args.cache, args.out);
  ensure_cache(in.experiment, in.cache_dir);
  return in;
}

/// arch.json: the architecture and the resolved experiment that produced it.
void save_arch(const model::AutoHeriArch& arch, const config::Experiment& e,
               const std::string& file) {
  nlohmann::json j = arch.to_json();
  j["config"] = e.to_json();
  write_text_file_atomic(file, json_text(j, 2) + "\n");
}

/// The embedding options of the search's runs (tables seeded with train.seed).
model::FeatureEmbeddingOptions seeded(model::FeatureEmbeddingOptions o, uint64_t seed) {
  o.table.seed = seed;
  return o;
}

// Table 3's evolutionary variant: regularised evolution over binary masks, each trained from
// scratch for evolution.steps_per_candidate steps, fitness = validation CVR AUC.
void run_evolution(const SearchArgs& args) {
  const SearchInputs in = open_search_inputs(args);
  const config::Experiment& e = in.experiment;
  const std::string& cache_dir = in.cache_dir;
  const data::Cache cache(cache_dir);
  FUNNEL_CHECK(cache.has_split("train"), cache_dir << ": no train split");
  FUNNEL_CHECK(
      cache.has_split("validation"),
      cache_dir << ": no validation split (the evolution's fitness is validation CVR AUC)");
  const train::EvolutionOptions& eopt = *e.evolution;
  const model::FeatureEmbeddingOptions embedding_options = seeded(e.embedding, e.train.seed);
  const model::FunnelSpec funnel = model::FunnelSpec::from_layout(cache.layout());
  const auto& mo = e.model->options.as<model::AutoHeriOptions>();
  model::AutoHeriArch templ;
  templ.events = funnel.events;
  templ.parents = funnel.parents;
  templ.towers = mo.towers;
  templ.scheme = mo.scheme;
  templ.skip = mo.skip;
  templ.edges = model::candidate_edges(funnel, mo.scheme, mo.skip);

  Stopwatch watch;
  train::RegularizedEvolution evo(templ, eopt,
                                  train::make_training_fitness(cache, mo, embedding_options, eopt,
                                                               e.train, "train", "validation"));
  const train::EvolutionResult r = evo.run(join_path(args.out, "evolution.jsonl"));

  const std::string arch_file = join_path(args.out, "arch.json");
  save_arch(r.best.arch, e, arch_file);
  write_text_file_atomic(join_path(args.out, "arch.svg"), train::arch_to_svg(r.best.arch));
  nlohmann::json metrics;
  metrics["model"] = e.model->name;
  metrics["method"] = "evolution";
  metrics["arch"] = {{"file", "arch.json"},
                     {"num_connections", r.best.arch.num_connections()},
                     {"mask", train::mask_string(r.best.arch)},
                     {"candidate_id", r.best.id}};
  metrics["validation"] = r.best.detail.value("validation", nlohmann::json());
  metrics["timing"] = {{"search_seconds", r.search_seconds},
                       {"total_seconds", watch.seconds()},
                       {"candidates_trained", r.candidates_trained},
                       {"steps_per_candidate", eopt.candidate_training(e.train).max_steps}};
  metrics["config"] = e.to_json();
  write_text_file_atomic(join_path(args.out, "metrics.json"), json_text(metrics, 2) + "\n");
  std::printf(
      "evolution: %lld candidates trained in %.1f s; best validation cvr.auc %.6f with "
      "%zu connections (mask %s)\n",
      static_cast<long long>(r.candidates_trained), r.search_seconds, r.best.fitness,
      r.best.arch.num_connections(), train::mask_string(r.best.arch).c_str());
  std::printf("architecture in %s (heatmap: %s), fitness history in %s\n", arch_file.c_str(),
              join_path(args.out, "arch.svg").c_str(),
              join_path(args.out, "evolution.jsonl").c_str());
  std::printf("retrain: funnel train --config %s --arch %s --out RUN_DIR\n", args.config.c_str(),
              arch_file.c_str());
}

void run_search(const SearchArgs& args) {
  if (args.method == "evolution") {
    run_evolution(args);
    return;
  }
  const SearchInputs in = open_search_inputs(args);
  const config::Experiment& e = in.experiment;
  const std::string& cache_dir = in.cache_dir;
  const data::Cache cache(cache_dir);
  FUNNEL_CHECK(cache.has_split("train"), cache_dir << ": no train split");
  const train::SearchOptions& sopt = *e.search;
  train::TrainerOptions theta = e.train;
  theta.progress = log_level() <= LogLevel::kInfo;
  const model::FeatureEmbeddingOptions embedding_options = seeded(e.embedding, e.train.seed);
  const auto& mo = e.model->options.as<model::AutoHeriOptions>();
  FUNNEL_CHECK(mo.alpha == model::AlphaMode::kSearch,
               "model.alpha: funnel search needs \"search\" (a fixed architecture is trained with "
               "funnel train --arch)");
  RunModel rm = build_run_model(cache, e.embedding, *e.model, e.train.seed);
  const auto net = std::dynamic_pointer_cast<model::AutoHeriModel>(rm.net);
  FUNNEL_CHECK(net != nullptr, "funnel search: the model is not AutoHERI");
  const auto& embedding = rm.embedding;
  const std::string val = cache.has_split("validation") ? "validation" : "";
  FUNNEL_CHECK(!sopt.validate || !val.empty(),
               cache_dir << ": no validation split (search.validate compares retrained "
                            "architectures on validation CVR AUC)");
  Stopwatch watch;
  train::ArchSearch search(cache, net, embedding, sopt, theta);
  train::SearchResult r = search.run("train", val, args.out);
  const size_t derived_connections = r.arch.num_connections();
  train::ValidatedDerivation validated;
  if (sopt.validate) {
    // Each candidate is trained as `funnel train --arch` would (mo.with_arch).
    train::TrainerOptions retrain = e.train;
    retrain.progress = false;
    validated = train::validate_derivation(
        r.arch,
        train::make_fixed_arch_fitness(cache, mo, embedding_options, retrain, "train", val));
    r.arch = validated.arch;
  }

  const std::string arch_file = join_path(args.out, "arch.json");
  save_arch(r.arch, e, arch_file);
  write_text_file_atomic(join_path(args.out, "arch.svg"), train::arch_to_svg(r.arch));
  nlohmann::json metrics;
  metrics["model"] = e.model->name;
  metrics["arch"] = {{"file", "arch.json"},
                     {"num_connections", r.arch.num_connections()},
                     {"derived_by", nlohmann::json::parse(r.arch.derived_by)}};
  if (sopt.validate) {
    metrics["validated_derivation"] = {{"candidates", validated.candidates},
                                       {"kept", validated.chosen},
                                       {"seconds", validated.seconds}};
  }
  // The supernet with relaxed alpha (not the retrained architecture).
  if (!val.empty()) metrics["validation"] = r.last_validation;
  if (cache.has_split("test")) metrics["test"] = search.trainer().evaluate("test");
  metrics["timing"] = {
      {"search_seconds", r.search_seconds},
      {"validate_seconds", validated.seconds},
      {"total_seconds", watch.seconds()},
      {"iterations", r.steps},
      {"theta_samples", r.theta_samples},
      {"alpha_samples", r.alpha_samples},
      {"samples_per_second", r.search_seconds > 0 ? r.theta_samples / r.search_seconds : 0.0}};
  metrics["data"] = data_summary(cache);
  metrics["machine"] = machine_summary(e.train.threads);
  metrics["config"] = e.to_json();
  write_text_file_atomic(join_path(args.out, "metrics.json"), json_text(metrics, 2) + "\n");
  if (!args.no_bundle) {
    write_run_bundle(join_path(args.out, "model.bundle"), cache, e, *e.model, *net, *embedding);
  }
  std::printf("searched %lld iterations in %.1f s; %zu of the candidate connections kept\n",
              static_cast<long long>(r.steps), r.search_seconds, derived_connections);
  if (!validated.candidates.empty()) {
    std::printf(
        "validated derivation: retrained %zu candidates in %.1f s; kept %zu of the %zu "
        "connections (best validation cvr.auc)\n",
        validated.candidates.size(), validated.seconds, validated.chosen, derived_connections);
  }
  std::printf("architecture in %s (heatmap: %s), alpha trajectory in %s\n", arch_file.c_str(),
              join_path(args.out, "arch.svg").c_str(), join_path(args.out, "alpha.jsonl").c_str());
  std::printf("retrain: funnel train --config %s --arch %s --out RUN_DIR\n", args.config.c_str(),
              arch_file.c_str());
}

}  // namespace

void add_search_commands(CLI::App& app) {
  auto args = std::make_shared<SearchArgs>();
  auto* search = app.add_subcommand(
      "search", "AutoHERI architecture search; writes RUN_DIR/arch.json, arch.svg, alpha.jsonl");
  search->add_option("--config", args->config, "Experiment config (JSON) with model autoheri")
      ->required()
      ->check(CLI::ExistingFile);
  search->add_option("--out", args->out, "Run folder to create")->required();
  search->add_option("--cache", args->cache,
                     "Binary cache to use, created from the config's data when absent "
                     "(default: the config's data.cache, else RUN_DIR/cache)");
  search->add_option("--set", args->overrides, "Override a config key: key=value (repeatable)");
  search->add_flag("--no-bundle", args->no_bundle, "Do not write RUN_DIR/model.bundle");
  search->add_flag("--overwrite", args->overwrite,
                   "Replace the run already in RUN_DIR (default: refuse to)");
  search
      ->add_option("--method", args->method,
                   "bilevel (one-shot, alpha) or evolution (regularised evolution over masks; "
                   "the config's \"evolution\" section)")
      ->check(CLI::IsMember({"bilevel", "evolution"}));
  add_unsupported_workers(*search,
                          "does not run data-parallel: the search (its alpha step on held-out "
                          "rows) runs in one process; retrain the derived architecture with "
                          "funnel train --arch ARCH.json --workers N");
  search->callback([args] { run_search(*args); });

  auto* arch = app.add_subcommand("arch", "AutoHERI architecture files");
  arch->require_subcommand(1);
  auto plot_args = std::make_shared<ArchArgs>();
  auto* plot = arch->add_subcommand("plot", "Heatmap of an architecture (self-contained SVG)");
  plot->add_option("arch", plot_args->input, "arch.json from funnel search")
      ->required()
      ->check(CLI::ExistingFile);
  plot->add_option("--out", plot_args->out, "SVG file to write")->required();
  plot->callback([plot_args] {
    write_text_file_atomic(plot_args->out,
                           train::arch_to_svg(model::AutoHeriArch::load(plot_args->input)));
  });
  auto derive_args = std::make_shared<ArchArgs>();
  auto* derive = arch->add_subcommand("derive", "Derive z again from the alpha of an architecture");
  derive->add_option("arch", derive_args->input, "arch.json with alpha")
      ->required()
      ->check(CLI::ExistingFile);
  derive->add_option("--out", derive_args->out, "arch.json to write")->required();
  auto* thr = derive->add_option("--threshold", derive_args->threshold, "z = alpha > T");
  auto* topk = derive->add_option("--top-k", derive_args->top_k,
                                  "z = the K largest alpha into each target layer");
  thr->excludes(topk);
  derive->callback([derive_args] {
    model::AutoHeriArch a = model::AutoHeriArch::load(derive_args->input);
    model::DeriveOptions d;
    if (derive_args->top_k > 0) {
      d.rule = model::DeriveOptions::Rule::kTopK;
      d.top_k = derive_args->top_k;
    } else if (derive_args->threshold >= 0) {
      FUNNEL_CHECK(derive_args->threshold < 1, "--threshold: expected a value in [0, 1)");
      d.threshold = derive_args->threshold;
    }
    a.derive(d);
    a.save(derive_args->out);
    std::printf("%zu connections kept\n", a.num_connections());
  });
}

}  // namespace funnel::cli
