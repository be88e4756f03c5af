#include "train/search.h"

#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "core/choice.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json_fields.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/stopwatch.h"
#include "data/loader.h"
#include "model/model_input.h"
#include "train/freeze_guard.h"

namespace funnel::train {
namespace {

nlohmann::json alpha_matrix_json(const model::ArchEdge& e, size_t L) {
  nlohmann::json m = nlohmann::json::array();
  for (size_t i = 0; i < L; ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (size_t j = 0; j < L; ++j) {
      const double a = e.alpha[i * L + j];
      row.push_back(std::isnan(a) ? nlohmann::json() : nlohmann::json(a));
    }
    m.push_back(row);
  }
  return m;
}

}  // namespace

ArchSearch::ArchSearch(const data::Cache& cache, std::shared_ptr<model::AutoHeriModel> net,
                       std::shared_ptr<model::FeatureEmbedding> embedding, SearchOptions options,
                       TrainerOptions train)
    : cache_(cache),
      net_(std::move(net)),
      embedding_(std::move(embedding)),
      options_(std::move(options)),
      loss_(net_->funnel(), train.loss),
      // Theta: the network weights (alpha frozen in the Theta step) and the embeddings.
      trainer_(cache, net_, embedding_, train, net_->weight_parameters()) {
  FUNNEL_CHECK(!net_->arch_parameters().empty(),
               "search: the model has no architecture parameters (model.alpha must be "
               "\"search\" and the funnel needs at least two events)");
  alpha_optimizer_ = std::make_unique<torch::optim::Adam>(
      net_->arch_parameters(),
      torch::optim::AdamOptions(options_.alpha_lr).weight_decay(options_.alpha_weight_decay));
  trainer_.add_hook(this);
}

double ArchSearch::alpha_step(const data::Batch& batch) {
  net_->train();
  FreezeGuard theta_fixed(net_->weight_parameters());
  // The embeddings are part of Theta: no gradient into the looked-up rows, no sparse update.
  const torch::Tensor x = embedding_->lookup(batch).detach();
  const model::FunnelOutput out =
      net_->forward(embedding_->model_input(batch, x, net_->reads_feedback()));
  const torch::Tensor labels = batch_labels(batch);
  // Funnel loss (eq. 2 / eq. 4) + the entropy regulariser, which the model puts in aux_loss.
  const torch::Tensor total = loss_.compute(out, labels, options_.alpha_space).total;
  const double value = total.item<double>();
  if (!std::isfinite(value)) {
    throw TrainingDiverged(trainer_.global_step(),
                           "search diverged: the alpha loss is " + std::to_string(value) +
                               " at iteration " + std::to_string(trainer_.global_step()) +
                               " (lower search.alpha_lr?)");
  }
  alpha_optimizer_->zero_grad();
  total.backward();
  alpha_optimizer_->step();
  return value;
}

nlohmann::json ArchSearch::alpha_snapshot() const {
  const model::AutoHeriArch a = net_->arch(options_.derive);
  nlohmann::json edges = nlohmann::json::array();
  for (const auto& e : a.edges) {
    edges.push_back({{"from", e.from}, {"to", e.to}, {"alpha", alpha_matrix_json(e, a.num_layers())}});
  }
  return {{"step", trainer_.global_step()}, {"edges", edges}};
}

void ArchSearch::log_alpha(int64_t step) {
  if (outputs_ != nullptr) outputs_->log("alpha.jsonl", alpha_snapshot());
}

void ArchSearch::on_fit_start() {
  alpha_epoch_ = 0;
  alpha_loader_->start_epoch(alpha_epoch_);
  if (outputs_ != nullptr) outputs_->open_log("alpha.jsonl", /*append=*/false);
  log_alpha(trainer_.global_step());
}

void ArchSearch::after_step(int64_t step) {
  // eq. 3's second level: one batch of distinct data, Theta fixed.
  if (!alpha_loader_->next(alpha_batch_)) {
    alpha_loader_->start_epoch(++alpha_epoch_);
    FUNNEL_CHECK(alpha_loader_->next(alpha_batch_), "search: the alpha data is empty");
  }
  alpha_sum_ += alpha_step(alpha_batch_);
  ++alpha_steps_;
  alpha_samples_ += alpha_batch_.size;
  if (step % options_.alpha_log_every == 0) log_alpha(step);
}

void ArchSearch::on_log(nlohmann::json& entry) {
  // In the search the loop's training loss is the Theta loss (search_log.jsonl's names).
  entry["theta_loss"] = entry["train_loss"];
  entry["search_seconds"] = entry["train_seconds"];
  entry.erase("train_loss");
  entry.erase("train_seconds");
  entry["alpha_loss"] = alpha_steps_ ? alpha_sum_ / static_cast<double>(alpha_steps_) : NAN;
  alpha_sum_ = 0;
  alpha_steps_ = 0;
}

void ArchSearch::on_fit_end(int64_t step) {
  if (step % options_.alpha_log_every != 0) log_alpha(step);
}

SearchResult ArchSearch::run(const std::string& train_split, const std::string& validation_split,
                             const std::string& run_dir) {
  const TrainerOptions& to = trainer_.options();
  const data::CacheSplit& split = cache_.split(train_split);
  FitOptions fo;
  fo.train_split = train_split;
  fo.validation_split = validation_split;
  data::LoaderOptions alpha_lo;
  alpha_lo.batch_size = to.batch_size;
  alpha_lo.seed = to.seed ^ 0x5eedA1FAULL;
  const data::CacheSplit* alpha_data = &split;
  if (options_.alpha_split == "holdout") {
    // eq. 3 needs distinct data for the two levels: the tail of the training split.
    const uint64_t n = split.rows();
    const auto held = static_cast<uint64_t>(std::llround(n * options_.holdout_fraction));
    FUNNEL_CHECK(held > 0 && held < n, "search: holding out " << options_.holdout_fraction
                                                              << " of " << n
                                                              << " training rows leaves no rows "
                                                                 "for one side");
    fo.end_row = n - held;
    alpha_lo.begin_row = n - held;
    alpha_lo.end_row = n;
  } else {
    FUNNEL_CHECK(options_.alpha_split != train_split,
                 "search.alpha_split: must differ from the training split (eq. 3 needs distinct "
                 "data for alpha), got '" << options_.alpha_split << "'");
    alpha_data = &cache_.split(options_.alpha_split);
  }
  alpha_loader_ = std::make_unique<data::Loader>(cache_, *alpha_data, alpha_lo);
  RunOutputs outputs(run_dir);
  outputs_ = &outputs;
  fo.outputs = &outputs;
  fo.log_name = "search_log.jsonl";
  fo.loss_log_name = "search_loss.jsonl";
  fo.append_log = false;
  fo.checkpoints = false;  // the result is the last supernet
  fo.early_stopping = false;
  fo.label = "search epoch";
  alpha_sum_ = 0;
  alpha_steps_ = 0;
  alpha_samples_ = 0;
  TrainResult tr;
  try {
    tr = trainer_.fit(fo);
  } catch (...) {
    outputs_ = nullptr;
    alpha_loader_.reset();
    throw;
  }
  outputs_ = nullptr;
  alpha_loader_.reset();
  SearchResult result;
  result.log = tr.log;
  result.last_validation = tr.last_validation;
  result.steps = tr.steps;
  result.theta_samples = tr.samples;
  result.alpha_samples = alpha_samples_;
  result.search_seconds = tr.train_seconds;
  result.arch = net_->arch(options_.derive);
  return result;
}

FixedArchRun train_fixed_arch(const data::Cache& cache, const model::AutoHeriArch& arch,
                              const model::AutoHeriOptions& model_options,
                              const model::FeatureEmbeddingOptions& embedding_options,
                              const TrainerOptions& options, const std::string& train_split,
                              const std::string& validation_split) {
  const model::FunnelSpec funnel = model::FunnelSpec::from_layout(cache.layout());
  torch::manual_seed(options.seed);
  FixedArchRun run;
  run.embedding = std::make_shared<model::FeatureEmbedding>(cache.layout(), cache.vocab_sizes(),
                                                            embedding_options);
  run.net = std::make_shared<model::AutoHeriModel>(funnel, run.embedding->tower_input_dim(),
                                                   model_options.with_arch(arch));
  Trainer trainer(cache, run.net, run.embedding, options);
  run.result = trainer.fit(train_split, validation_split, "");
  return run;
}

ArchFitness make_fixed_arch_fitness(const data::Cache& cache,
                                    const model::AutoHeriOptions& model_options,
                                    const model::FeatureEmbeddingOptions& embedding_options,
                                    const TrainerOptions& options, const std::string& train_split,
                                    const std::string& validation_split) {
  FUNNEL_CHECK(!validation_split.empty() && cache.has_split(validation_split),
               "scoring an architecture needs a validation split (its fitness is validation CVR "
               "AUC)");
  return [&cache, model_options, embedding_options, options, train_split, validation_split](
             const model::AutoHeriArch& arch, nlohmann::json* detail) {
    const FixedArchRun run = train_fixed_arch(cache, arch, model_options, embedding_options,
                                              options, train_split, validation_split);
    const nlohmann::json& v = run.result.best_validation;
    FUNNEL_CHECK(v.is_object() && v.contains("cvr") && v["cvr"].contains("auc") &&
                     v["cvr"]["auc"].is_number(),
                 "no validation cvr.auc after training an architecture");
    if (detail) {
      *detail = {{"validation", v},
                 {"steps", run.result.steps},
                 {"train_seconds", run.result.train_seconds}};
    }
    return v["cvr"]["auc"].get<double>();
  };
}

std::vector<model::AutoHeriArch> nested_by_alpha(const model::AutoHeriArch& derived) {
  struct Kept {
    size_t edge, index;
    double alpha;
  };
  std::vector<Kept> kept;
  for (size_t k = 0; k < derived.edges.size(); ++k) {
    const model::ArchEdge& e = derived.edges[k];
    for (size_t i = 0; i < e.z.size(); ++i) {
      if (!e.z[i]) continue;
      FUNNEL_CHECK(i < e.alpha.size() && !std::isnan(e.alpha[i]),
                   "validated derivation: connection " << i << " of edge " << e.from << " -> "
                                                       << e.to << " has no alpha");
      kept.push_back({k, i, e.alpha[i]});
    }
  }
  std::stable_sort(kept.begin(), kept.end(),
                   [](const Kept& a, const Kept& b) { return a.alpha > b.alpha; });
  std::vector<model::AutoHeriArch> out;
  model::AutoHeriArch a = derived;
  for (auto& e : a.edges) std::fill(e.z.begin(), e.z.end(), uint8_t{0});
  out.push_back(a);
  for (const Kept& c : kept) {
    a.edges[c.edge].z[c.index] = 1;
    out.push_back(a);
  }
  return out;
}

ValidatedDerivation validate_derivation(const model::AutoHeriArch& derived,
                                        const ArchFitness& fitness) {
  Stopwatch watch;
  ValidatedDerivation r;
  r.arch = derived;
  const std::vector<model::AutoHeriArch> nested = nested_by_alpha(derived);
  const size_t k = nested.size() - 1;
  if (k == 0) return r;  // nothing to check: the plain towers
  double best = -INFINITY;
  for (size_t m = 0; m <= k; ++m) {
    Stopwatch one;
    nlohmann::json detail;
    const double f = fitness(nested[m], &detail);
    r.candidates.push_back(
        {{"connections", m}, {"fitness", f}, {"detail", detail}, {"seconds", one.seconds()}});
    log_info("validated derivation: " + std::to_string(m) + " of " + std::to_string(k) +
             " connections, validation cvr.auc " + std::to_string(f));
    if (f > best) {  // ties keep the candidate with fewer connections
      best = f;
      r.chosen = m;
    }
  }
  r.arch = nested[r.chosen];
  nlohmann::json by =
      derived.derived_by.empty() ? nlohmann::json::object() : nlohmann::json::parse(derived.derived_by);
  by["validated"] = {{"kept", r.chosen}, {"of", k}};
  r.arch.derived_by = by.dump();
  r.seconds = watch.seconds();
  return r;
}

}  // namespace funnel::train
