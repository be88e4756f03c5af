// funnel train

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/arch_options.h"
#include "cli/commands.h"
#include "cli/run_training.h"
#include "cli/workers.h"
#include "config/experiment.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/run_dir.h"
#include "data/cache.h"
#include "dist/process_group.h"
#include "metric/funnel_metrics.h"
#include "model/model.h"
#include "train/trainer.h"

namespace funnel::cli {
namespace {

struct TrainArgs {
  std::string config;
  std::string out;
  std::string cache;
  std::vector<std::string> overrides;
  bool resume = false;
  bool overwrite = false;
  std::string arch;
  std::string init_from;
  // Data-parallel (docs/distributed.md).
  int workers = 0;
  int rank = -1;
  int world_size = 0;
  std::string master;
  double dist_timeout = 60;
  bool held_by_parent = false;
  int64_t dist_check_every = 0;
};

/// The arguments a worker of `funnel train --workers` gets: this command's, without
/// --workers and --overwrite (the parent has prepared the folder).
std::vector<std::string> worker_args(const TrainArgs& a) {
  std::vector<std::string> v = {"train", "--config", a.config, "--out", a.out};
  if (!a.cache.empty()) v.insert(v.end(), {"--cache", a.cache});
  for (const auto& o : a.overrides) v.insert(v.end(), {"--set", o});
  if (a.resume) v.push_back("--resume");
  if (!a.arch.empty()) v.insert(v.end(), {"--arch", a.arch});
  if (!a.init_from.empty()) v.insert(v.end(), {"--init-from", a.init_from});
  if (a.dist_check_every > 0) {
    v.insert(v.end(), {"--dist-check-every", std::to_string(a.dist_check_every)});
  }
  return v;
}

/// Fault injection for the tests of failure handling: FUNNEL_TEST_KILL_RANK=R:S makes rank R
/// kill itself with SIGKILL after step S.
class TestKillHook : public train::TrainerHook {
 public:
  explicit TestKillHook(int rank) {
    const char* spec = std::getenv("FUNNEL_TEST_KILL_RANK");
    int r = -1;
    long long s = -1;
    if (spec != nullptr && std::sscanf(spec, "%d:%lld", &r, &s) == 2 && r == rank) step_ = s;
  }
  void after_step(int64_t step) override {
    if (step_ >= 0 && step >= step_) ::raise(SIGKILL);
  }

 private:
  int64_t step_ = -1;
};

}  // namespace

void add_train_commands(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* train = app.add_subcommand("train", "Train a model; writes RUN_DIR/metrics.json");
  train->add_option("--config", args->config, "Experiment config (JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  train->add_option("--out", args->out, "Run folder to create")->required();
  train->add_option("--cache", args->cache,
                    "Binary cache to use, created from the config's data when absent "
                    "(default: the config's data.cache, else RUN_DIR/cache)");
  train->add_option("--set", args->overrides, "Override a config key: key=value (repeatable)");
  auto* resume = train->add_flag("--resume", args->resume, "Continue from RUN_DIR/checkpoint/last");
  train
      ->add_flag("--overwrite", args->overwrite,
                 "Replace the run already in RUN_DIR (default: refuse to)")
      ->excludes(resume);
  auto* arch =
      train
          ->add_option("--arch", args->arch,
                       "AutoHERI: train this architecture (arch.json of funnel search) with fixed "
                       "binary connections")
          ->check(CLI::ExistingFile);
  train
      ->add_option("--init-from", args->init_from,
                   "With --arch: start from the searched weights of this funnel search "
                   "model.bundle instead of from scratch")
      ->check(CLI::ExistingFile)
      ->needs(arch);
  auto* workers =
      train
          ->add_option("--workers", args->workers,
                       "Data-parallel training with N processes on this machine (c10d over "
                       "Gloo on loopback; docs/distributed.md)")
          ->check(CLI::Range(1, 256));
  auto* rank = train
                   ->add_option("--rank", args->rank,
                                "Data-parallel, one process per machine: this process's rank")
                   ->check(CLI::NonNegativeNumber)
                   ->excludes(workers);
  auto* world = train->add_option("--world-size", args->world_size, "With --rank: the ranks")
                    ->check(CLI::Range(1, 4096))
                    ->needs(rank);
  auto* master = train
                     ->add_option("--master", args->master,
                                  "With --rank: HOST:PORT of rank 0's rendezvous store")
                     ->needs(rank);
  rank->needs(world)->needs(master);
  train
      ->add_option("--dist-timeout", args->dist_timeout,
                   "Seconds a collective may wait for the other ranks before the run fails")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  train->add_option("--dist-check-every", args->dist_check_every,
                    "Data-parallel: check every N steps that the dense replicas are identical");
  train->add_flag("--held-by-parent", args->held_by_parent)->group("");  // --workers' children
  // The models the registry knows, with its one-line summaries (options: docs/models.md).
  std::string models = "\nModels (--set model.name=NAME; their options: docs/models.md):\n";
  for (const model::ModelEntry& m : model::model_registry()) {
    char line[256];
    std::snprintf(line, sizeof line, "  %-14s %s\n", m.name, m.summary);
    models += line;
  }
  train->footer(models);
  train->callback([args] {
    config::ExperimentFile file = config::read_experiment(args->config, args->overrides);
    if (!args->arch.empty()) apply_arch_file(args->arch, file.root);
    const config::Experiment e = config::parse_experiment(file, config::Command::kTrain);
    const auto existing = args->resume      ? RunDir::Existing::kResume
                          : args->overwrite ? RunDir::Existing::kOverwrite
                                            : RunDir::Existing::kRefuse;
    const std::string cache_dir = run_cache_dir(e, args->cache, args->out);
    if (args->workers > 1) {
      // The parent: holds the folder, converts the data once, runs the ranks.
      const RunDir run_dir(args->out, run_folder_files(), existing, "funnel train");
      ensure_cache(e, cache_dir);
      WorkerLaunch launch;
      launch.args = worker_args(*args);
      launch.workers = args->workers;
      launch.timeout_seconds = args->dist_timeout;
      run_workers(launch);
      return;
    }
    std::unique_ptr<dist::Communicator> comm;
    if (args->world_size > 1) {
      dist::GlooOptions g;
      g.rank = args->rank;
      g.world_size = args->world_size;
      const size_t colon = args->master.rfind(':');
      FUNNEL_CHECK(colon != std::string::npos && colon + 1 < args->master.size(),
                   "--master: expected HOST:PORT, got '" << args->master << "'");
      g.host = args->master.substr(0, colon);
      g.port = static_cast<uint16_t>(std::stoi(args->master.substr(colon + 1)));
      g.rank0_hosts_store = !args->held_by_parent;
      g.timeout_seconds = args->dist_timeout;
      FUNNEL_CHECK(args->rank < args->world_size,
                   "--rank " << args->rank << " is not below --world-size " << args->world_size);
      comm = dist::connect_gloo(g);
    }
    const bool writer = comm == nullptr || comm->rank() == 0;
    // The folder is this process's until it ends; a run already there is refused, replaced
    // (--overwrite: its files removed first) or continued (--resume). The workers of
    // --workers leave that to their parent; of other ranks, rank 0 holds it.
    std::optional<RunDir> run_dir;
    if (!args->held_by_parent && writer) {
      run_dir.emplace(args->out, run_folder_files(), existing, "funnel train");
    }
    if (!args->held_by_parent) ensure_cache(e, cache_dir);
    const data::Cache cache(cache_dir);
    const model::ModelConfig& model = *e.model;
    auto [embedding, net] = build_run_model(cache, e.embedding, model, e.train.seed, comm.get());
    if (!args->init_from.empty()) {
      FUNNEL_CHECK(comm == nullptr, "--init-from is not supported with data-parallel training");
      init_from_searched_bundle(args->init_from, *net, *embedding);
    }
    train::TrainerOptions run_opt = e.train;
    run_opt.progress = log_level() <= LogLevel::kInfo;
    train::Trainer trainer(cache, net, embedding, run_opt);
    TestKillHook kill_hook(comm ? comm->rank() : 0);
    trainer.add_hook(&kill_hook);
    if (comm != nullptr && args->dist_check_every > 0) {
      trainer.check_replicas_every(args->dist_check_every);
    }
    nlohmann::json resumed;
    if (args->resume) {
      const int done = trainer.resume(args->out);
      resumed = {{"epochs_done", done}};
      log_info("resuming " + args->out + " after epoch " + std::to_string(done) + " of " +
               std::to_string(e.train.epochs));
    }
    train::TrainResult r;
    nlohmann::json metrics = fit_and_evaluate(cache, trainer, model.name, args->out, &r);
    // Data-parallel: the whole tables on rank 0 for the bundle (collective).
    std::unique_ptr<model::FeatureEmbedding> whole;
    if (comm != nullptr) whole = embedding->gather(0);
    if (!writer) return;
    const model::FeatureEmbedding& full = whole ? *whole : *embedding;
    if (!resumed.is_null()) metrics["resumed"] = resumed;
    metrics["config"] = e.to_json();  // the resolved experiment (file + --set + defaults)
    write_text_file_atomic(join_path(args->out, "metrics.json"), json_text(metrics, 2) + "\n");
    // The bundle: the best state with everything needed to score raw input.
    write_run_bundle(join_path(args->out, "model.bundle"), cache, e, model, *net, full);
    // TAML: the gate weights of its Fig. 4 beside the metrics (funnel report draws them).
    auto* taml = dynamic_cast<model::TamlModel*>(net.get());
    const std::string gate_split = cache.has_split("test") ? "test" : "validation";
    if (taml != nullptr && taml->options().htakr && cache.has_split(gate_split)) {
      nlohmann::json gates = taml_gate_weights(*taml, full, cache, gate_split, 200000);
      gates["model"] = model.name;
      write_text_file_atomic(join_path(args->out, "gates.json"), json_text(gates, 2) + "\n");
    }
    nlohmann::json evaluated;
    for (const char* split : {"validation", "test"}) {
      if (metrics.contains(split) && !metrics[split].is_null()) evaluated[split] = metrics[split];
      if (metrics.contains("oracle") && metrics["oracle"].contains(split)) {
        evaluated[std::string(split) + " (oracle)"] = metrics["oracle"][split];
      }
    }
    std::fputs(metric::funnel_metrics_table(evaluated).c_str(), stdout);
    std::printf(
        "trained %lld steps, %.0f samples/s; metrics in %s, model in %s\n",
        static_cast<long long>(r.steps), r.train_seconds > 0 ? r.samples / r.train_seconds : 0.0,
        join_path(args->out, "metrics.json").c_str(), join_path(args->out, "model.bundle").c_str());
  });
}

}  // namespace funnel::cli
