// funnel search | funnel arch plot | funnel arch derive (AutoHERI, docs/autoheri.md)

#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <torch/utils.h>

#include <nlohmann/json.hpp>

#include "cli/arch_options.h"
#include "cli/commands.h"
#include "cli/run_training.h"
#include "config/experiment.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "core/stopwatch.h"
#include "data/cache.h"
#include "data/converter.h"
#include "data/schema.h"
#include "model/autoheri.h"
#include "model/bundle.h"
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
  /// "bilevel" (the paper's one-shot search) or "evolution" (Table 3's evolutionary variant).
  std::string method = "bilevel";
};

struct ArchArgs {
  std::string input;
  std::string out;
  double threshold = -1;
  int top_k = 0;
};

void check_sections(const config::Experiment& e, const std::string& config) {
  FUNNEL_CHECK(e.root.contains("data"), config << ": no \"data\" section");
  for (auto it = e.root.begin(); it != e.root.end(); ++it) {
    const std::string k = it.key();
    FUNNEL_CHECK(k == "data" || k == "model" || k == "train" || k == "embedding" ||
                     k == "search" || k == "evolution",
                 config << ": unknown section '" << k
                        << "' (known: data, model, embedding, train, search, evolution)");
  }
}

/// What both search methods start from: the experiment (sections checked), the AutoHERI model
/// options (the "model" section without "name"), the output folder and the cache (converted
/// into OUT/cache unless --cache names one).
struct SearchInputs {
  config::Experiment experiment;
  nlohmann::json model_json;
  std::string name;
  std::string cache_dir;
};

SearchInputs open_search_inputs(const SearchArgs& args) {
  SearchInputs in{config::load_experiment(args.config, args.overrides), {}, {}, {}};
  const config::Experiment& e = in.experiment;
  check_sections(e, args.config);
  in.model_json = e.root.contains("model") ? e.root.at("model") : nlohmann::json::object();
  FUNNEL_CHECK(in.model_json.is_object(), "model: expected an object");
  in.name = in.model_json.value("name", std::string("autoheri"));
  FUNNEL_CHECK(in.name == "autoheri",
               "funnel search searches AutoHERI's connections; model.name is '" << in.name << "'");
  in.model_json.erase("name");
  make_dirs(args.out);
  in.cache_dir = args.cache.empty() ? join_path(args.out, "cache") : args.cache;
  ensure_cache(e.root.at("data"), e.base_dir, in.cache_dir);
  return in;
}

// Table 3's evolutionary variant: regularised evolution over binary masks, each trained from
// scratch for evolution.steps_per_candidate steps, fitness = validation CVR AUC.
void run_evolution(const SearchArgs& args) {
  SearchInputs in = open_search_inputs(args);
  const config::Experiment& e = in.experiment;
  nlohmann::json& model_json = in.model_json;
  const std::string& name = in.name;
  const std::string& cache_dir = in.cache_dir;
  // The search-mode keys mean nothing for fixed masks.
  for (const char* k : {"alpha", "alpha_init", "entropy_weight", "arch"}) model_json.erase(k);
  const data::Cache cache(cache_dir);
  FUNNEL_CHECK(cache.has_split("train"), cache_dir << ": no train split");
  FUNNEL_CHECK(cache.has_split("validation"),
               cache_dir << ": no validation split (the evolution's fitness is validation CVR AUC)");
  const train::TrainerOptions topt = trainer_options_of(e.root);
  const train::EvolutionOptions eopt = train::parse_evolution_options(
      e.root.contains("evolution") ? e.root.at("evolution") : nlohmann::json(), topt);
  const nlohmann::json embedding_json =
      e.root.contains("embedding") ? e.root.at("embedding") : nlohmann::json();
  const model::FeatureEmbeddingOptions embedding_options =
      model::parse_feature_embedding_options(embedding_json, topt.seed);
  const model::FunnelSpec funnel = model::FunnelSpec::from_layout(cache.layout());
  const model::AutoHeriOptions mo = model::AutoHeriOptions::from_json(model_json);
  model::AutoHeriArch templ;
  templ.events = funnel.events;
  templ.parents = funnel.parents;
  templ.towers = mo.towers;
  templ.scheme = mo.scheme;
  templ.skip = mo.skip;
  templ.edges = model::candidate_edges(funnel, mo.scheme, mo.skip);

  Stopwatch watch;
  train::RegularizedEvolution evo(
      templ, eopt,
      train::make_training_fitness(cache, model_json, embedding_options, eopt, "train",
                                   "validation"));
  const train::EvolutionResult r = evo.run(join_path(args.out, "evolution.jsonl"));

  const std::string arch_file = join_path(args.out, "arch.json");
  r.best.arch.save(arch_file);
  write_text_file_atomic(join_path(args.out, "arch.svg"), train::arch_to_svg(r.best.arch));
  nlohmann::json metrics;
  metrics["model"] = name;
  metrics["method"] = "evolution";
  metrics["arch"] = {{"file", "arch.json"},
                     {"num_connections", r.best.arch.num_connections()},
                     {"mask", train::mask_string(r.best.arch)},
                     {"candidate_id", r.best.id}};
  metrics["validation"] = r.best.detail.value("validation", nlohmann::json());
  metrics["timing"] = {{"search_seconds", r.search_seconds},
                       {"total_seconds", watch.seconds()},
                       {"candidates_trained", r.candidates_trained},
                       {"steps_per_candidate", eopt.train.max_steps}};
  metrics["config"] = e.root;
  write_text_file_atomic(join_path(args.out, "metrics.json"), metrics.dump(2) + "\n");
  std::printf("evolution: %lld candidates trained in %.1f s; best validation cvr.auc %.6f with "
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
  SearchInputs in = open_search_inputs(args);
  const config::Experiment& e = in.experiment;
  nlohmann::json& model_json = in.model_json;
  const std::string& name = in.name;
  const std::string& cache_dir = in.cache_dir;
  const data::Cache cache(cache_dir);
  FUNNEL_CHECK(cache.has_split("train"), cache_dir << ": no train split");
  const train::TrainerOptions topt = trainer_options_of(e.root);
  train::SearchOptions sopt = train::parse_search_options(
      e.root.contains("search") ? e.root.at("search") : nlohmann::json(), topt);
  sopt.train.progress = log_level() <= LogLevel::kInfo;
  const nlohmann::json embedding_json =
      e.root.contains("embedding") ? e.root.at("embedding") : nlohmann::json();
  const model::FeatureEmbeddingOptions embedding_options =
      model::parse_feature_embedding_options(embedding_json, topt.seed);
  torch::manual_seed(topt.seed);
  auto embedding = std::make_shared<model::FeatureEmbedding>(cache.layout(), cache.vocab_sizes(),
                                                             embedding_options);
  const model::FunnelSpec funnel = model::FunnelSpec::from_layout(cache.layout());
  auto net = std::make_shared<model::AutoHeriModel>(funnel, embedding->input_dim(),
                                                    model::AutoHeriOptions::from_json(model_json));
  FUNNEL_CHECK(net->options().alpha == model::AlphaMode::kSearch,
               "model.alpha: funnel search needs \"search\" (a fixed architecture is trained with "
               "funnel train --arch)");
  const std::string val = cache.has_split("validation") ? "validation" : "";
  FUNNEL_CHECK(!sopt.validate || !val.empty(),
               cache_dir << ": no validation split (search.validate compares retrained "
                            "architectures on validation CVR AUC)");
  Stopwatch watch;
  train::ArchSearch search(cache, net, embedding, sopt);
  train::SearchResult r = search.run("train", val, args.out);
  const size_t derived_connections = r.arch.num_connections();
  train::ValidatedDerivation validated;
  if (sopt.validate) {
    // Each candidate is trained as `funnel train --arch` would (train_fixed_arch sets
    // model.alpha and model.arch; the search-only keys are ignored in fixed mode).
    train::TrainerOptions retrain = topt;
    retrain.progress = false;
    validated = train::validate_derivation(
        r.arch, train::make_fixed_arch_fitness(cache, model_json, embedding_options, retrain,
                                               "train", val));
    r.arch = validated.arch;
  }

  const std::string arch_file = join_path(args.out, "arch.json");
  r.arch.save(arch_file);
  write_text_file_atomic(join_path(args.out, "arch.svg"), train::arch_to_svg(r.arch));
  nlohmann::json metrics;
  metrics["model"] = name;
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
  if (cache.has_split("test")) {
    metrics["test"] = train::Trainer(cache, net, embedding, topt).evaluate("test");
  }
  metrics["timing"] = {{"search_seconds", r.search_seconds},
                       {"validate_seconds", validated.seconds},
                       {"total_seconds", watch.seconds()},
                       {"iterations", r.steps},
                       {"theta_samples", r.theta_samples},
                       {"alpha_samples", r.alpha_samples},
                       {"samples_per_second",
                        r.search_seconds > 0 ? r.theta_samples / r.search_seconds : 0.0}};
  metrics["config"] = e.root;
  write_text_file_atomic(join_path(args.out, "metrics.json"), metrics.dump(2) + "\n");
  if (!args.no_bundle) {
    std::vector<data::Vocabulary> vocabs;
    for (size_t f = 0; f < cache.layout().sparse.size(); ++f) vocabs.push_back(cache.load_vocab(f));
    nlohmann::json data_section = e.root.at("data");
    data_section["labels"] = data::schema_to_json(cache.schema())["labels"];
    model::BundleContents bundle = model::make_bundle(
        name, model_json, embedding_json, data_section, cache.layout(), vocabs, cache.dense_mean(),
        cache.dense_std(), *net, *embedding);
    bundle.header["config"] = e.root;
    model::write_bundle(join_path(args.out, "model.bundle"), bundle);
  }
  std::printf("searched %lld iterations in %.1f s; %zu of the candidate connections kept\n",
              static_cast<long long>(r.steps), r.search_seconds, derived_connections);
  if (!validated.candidates.empty()) {
    std::printf("validated derivation: retrained %zu candidates in %.1f s; kept %zu of the %zu "
                "connections (best validation cvr.auc)\n",
                validated.candidates.size(), validated.seconds, validated.chosen,
                derived_connections);
  }
  std::printf("architecture in %s (heatmap: %s), alpha trajectory in %s\n", arch_file.c_str(),
              join_path(args.out, "arch.svg").c_str(), join_path(args.out, "alpha.jsonl").c_str());
  std::printf("retrain: funnel train --config %s --arch %s --out RUN_DIR\n", args.config.c_str(),
              arch_file.c_str());
}

}  // namespace

void apply_arch_file(const std::string& arch_file, std::string& model_name,
                     nlohmann::json& model_options) {
  const model::AutoHeriArch arch = model::AutoHeriArch::load(arch_file);
  if (model_name != "autoheri") {
    log_info("--arch: training autoheri with " + arch_file + " instead of model '" + model_name +
             "' (its dropout and activation, and an edge_init, are kept)");
    nlohmann::json kept = nlohmann::json::object();
    for (const char* k : {"dropout", "activation", "edge_init"}) {
      if (model_options.contains(k)) kept[k] = model_options[k];
    }
    model_options = kept;
    model_name = "autoheri";
  }
  if (!model_options.is_object()) model_options = nlohmann::json::object();
  for (const char* k : {"towers", "scheme", "skip", "alpha_init", "entropy_weight"}) {
    model_options.erase(k);
  }
  model_options["alpha"] = "fixed";
  model_options["arch"] = arch.to_json();
}

void init_from_searched_bundle(const std::string& bundle_file, model::FunnelModel& net,
                               model::FeatureEmbedding& embedding) {
  const model::LoadedBundle b = model::load_bundle(bundle_file);
  try {
    model::copy_weights_by_name(*b.net, net);
  } catch (const Error& e) {
    throw Error(bundle_file + ": " + e.what());
  }
  std::stringstream tables;
  b.embedding->save(tables, /*with_optimizer_state=*/false);
  embedding.load(tables);
}

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
                     "(default: RUN_DIR/cache)");
  search->add_option("--set", args->overrides, "Override a config key: key=value (repeatable)");
  search->add_flag("--no-bundle", args->no_bundle, "Do not write RUN_DIR/model.bundle");
  search
      ->add_option("--method", args->method,
                   "bilevel (one-shot, alpha) or evolution (regularised evolution over masks; "
                   "the config's \"evolution\" section)")
      ->check(CLI::IsMember({"bilevel", "evolution"}));
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
