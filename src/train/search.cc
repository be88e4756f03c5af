#include "train/search.h"

#include <torch/optim/adam.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "core/error.h"
#include "core/file.h"
#include "core/json_fields.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/stopwatch.h"
#include "data/loader.h"

namespace funnel::train {
namespace {

/// Turns requires_grad off for `params` while alive (one side of the bi-level step is
/// fixed: no gradient is even computed for it), and back on at the end, also on errors.
class FreezeGuard {
 public:
  explicit FreezeGuard(std::vector<torch::Tensor> params) : params_(std::move(params)) {
    for (auto& p : params_) p.requires_grad_(false);
  }
  ~FreezeGuard() {
    for (auto& p : params_) p.requires_grad_(true);
  }
  FreezeGuard(const FreezeGuard&) = delete;
  FreezeGuard& operator=(const FreezeGuard&) = delete;

 private:
  std::vector<torch::Tensor> params_;
};

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

model::DeriveOptions parse_derive_options(const nlohmann::json& j, const std::string& path) {
  model::DeriveOptions d;
  if (j.is_null()) return d;
  JsonFields f(j, path);
  const std::string rule = f.get<std::string>("rule", "threshold");
  if (rule == "threshold") {
    d.rule = model::DeriveOptions::Rule::kThreshold;
  } else if (rule == "top_k") {
    d.rule = model::DeriveOptions::Rule::kTopK;
  } else {
    throw Error(f.path("rule") + ": expected threshold or top_k, got '" + rule + "'");
  }
  d.threshold = f.get<double>("threshold", d.threshold);
  d.top_k = f.get<int>("k", d.top_k);
  f.finish();
  FUNNEL_CHECK(d.threshold >= 0 && d.threshold < 1,
               f.path("threshold") << ": expected a value in [0, 1), got " << d.threshold);
  FUNNEL_CHECK(d.top_k > 0, f.path("k") << ": must be > 0, got " << d.top_k);
  return d;
}

SearchOptions parse_search_options(const nlohmann::json& search, const TrainerOptions& train) {
  SearchOptions o;
  o.train = train;
  if (search.is_null()) return o;
  JsonFields f(search, "search");
  o.alpha_lr = f.get<double>("alpha_lr", o.alpha_lr);
  o.alpha_weight_decay = f.get<double>("alpha_weight_decay", o.alpha_weight_decay);
  o.alpha_split = f.get<std::string>("alpha_split", o.alpha_split);
  o.holdout_fraction = f.get<double>("holdout_fraction", o.holdout_fraction);
  const std::string space = f.get<std::string>("alpha_space", "entire");
  FUNNEL_CHECK(space == "entire" || space == "click",
               f.path("alpha_space") << ": expected entire or click, got '" << space << "'");
  o.alpha_space =
      space == "click" ? model::TrainingSpace::kClickSpace : model::TrainingSpace::kEntireSpace;
  o.alpha_log_every = f.get<int64_t>("alpha_log_every", o.alpha_log_every);
  o.derive = parse_derive_options(f.get<nlohmann::json>("derive", nlohmann::json()),
                                  "search.derive");
  o.validate = f.get<bool>("validate", o.validate);
  f.finish();
  FUNNEL_CHECK(o.alpha_lr > 0, "search.alpha_lr: must be > 0, got " << o.alpha_lr);
  FUNNEL_CHECK(o.alpha_weight_decay >= 0, "search.alpha_weight_decay: must be >= 0");
  FUNNEL_CHECK(o.holdout_fraction > 0 && o.holdout_fraction < 1,
               "search.holdout_fraction: expected a value in (0, 1), got " << o.holdout_fraction);
  FUNNEL_CHECK(o.alpha_log_every > 0, "search.alpha_log_every: must be > 0");
  FUNNEL_CHECK(!o.alpha_split.empty(), "search.alpha_split: must not be empty");
  return o;
}

ArchSearch::ArchSearch(const data::Cache& cache, std::shared_ptr<model::AutoHeriModel> net,
                       std::shared_ptr<model::FeatureEmbedding> embedding, SearchOptions options)
    : cache_(cache),
      net_(std::move(net)),
      embedding_(std::move(embedding)),
      options_(std::move(options)),
      loss_(net_->funnel(), options_.train.loss) {
  FUNNEL_CHECK(!net_->arch_parameters().empty(),
               "search: the model has no architecture parameters (model.alpha must be "
               "\"search\" and the funnel needs at least two events)");
  theta_optimizer_ = std::make_unique<torch::optim::Adam>(
      net_->weight_parameters(), torch::optim::AdamOptions(options_.train.lr)
                                     .weight_decay(options_.train.weight_decay));
  alpha_optimizer_ = std::make_unique<torch::optim::Adam>(
      net_->arch_parameters(),
      torch::optim::AdamOptions(options_.alpha_lr).weight_decay(options_.alpha_weight_decay));
}

double ArchSearch::loss_of(const data::Batch& batch, const torch::Tensor& x,
                           model::TrainingSpace space, torch::Tensor* total) {
  const model::FunnelOutput out = net_->forward(x);
  const torch::Tensor labels =
      torch::from_blob(const_cast<float*>(batch.labels.data()),
                       {static_cast<int64_t>(batch.num_events), static_cast<int64_t>(batch.size)},
                       torch::kFloat32);
  // Funnel loss (eq. 2 / eq. 4) + the entropy regulariser, which the model puts in aux_loss.
  *total = loss_.compute(out, labels, space).total;
  const double value = total->item<double>();
  if (!std::isfinite(value)) {
    throw TrainingDiverged(step_, "search diverged: loss is " + std::to_string(value) +
                                      " at iteration " + std::to_string(step_) +
                                      " (lower train.lr or search.alpha_lr?)");
  }
  return value;
}

double ArchSearch::theta_step(const data::Batch& batch) {
  net_->train();
  FreezeGuard alpha_fixed(net_->arch_parameters());
  const torch::Tensor x = embedding_->lookup(batch);
  torch::Tensor total;
  const double value = loss_of(batch, x, net_->training_space(), &total);
  theta_optimizer_->zero_grad();
  total.backward();
  theta_optimizer_->step();
  embedding_->apply_gradients(batch, x.grad());
  return value;
}

double ArchSearch::alpha_step(const data::Batch& batch) {
  net_->train();
  FreezeGuard theta_fixed(net_->weight_parameters());
  // The embeddings are part of Theta: no gradient into the looked-up rows, no sparse update.
  const torch::Tensor x = embedding_->lookup(batch).detach();
  torch::Tensor total;
  const double value = loss_of(batch, x, options_.alpha_space, &total);
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
  return {{"step", step_}, {"edges", edges}};
}

SearchResult ArchSearch::run(const std::string& train_split, const std::string& validation_split,
                             const std::string& run_dir) {
  const TrainerOptions& to = options_.train;
  torch::manual_seed(to.seed);
  torch::set_num_threads(to.threads);
  const data::CacheSplit& split = cache_.split(train_split);
  data::LoaderOptions theta_lo;
  theta_lo.batch_size = to.batch_size;
  theta_lo.seed = to.seed;
  data::LoaderOptions alpha_lo = theta_lo;
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
    theta_lo.end_row = n - held;
    alpha_lo.begin_row = n - held;
    alpha_lo.end_row = n;
  } else {
    FUNNEL_CHECK(options_.alpha_split != train_split,
                 "search.alpha_split: must differ from the training split (eq. 3 needs distinct "
                 "data for alpha), got '" << options_.alpha_split << "'");
    alpha_data = &cache_.split(options_.alpha_split);
  }
  data::Loader theta_loader(cache_, split, theta_lo);
  data::Loader alpha_loader(cache_, *alpha_data, alpha_lo);
  uint64_t alpha_epoch = 0;
  alpha_loader.start_epoch(alpha_epoch);
  // Only for evaluation: predict/evaluate with the same embedding and model.
  Trainer evaluator(cache_, net_, embedding_, to);

  std::unique_ptr<std::ofstream> alpha_log, eval_log;
  if (!run_dir.empty()) {
    make_dirs(run_dir);
    alpha_log = std::make_unique<std::ofstream>(join_path(run_dir, "alpha.jsonl"));
    eval_log = std::make_unique<std::ofstream>(join_path(run_dir, "search_log.jsonl"));
  }
  auto log_alpha = [&] {
    if (alpha_log) *alpha_log << alpha_snapshot().dump() << "\n" << std::flush;
  };

  SearchResult result;
  double theta_sum = 0, alpha_sum = 0;
  int64_t sum_steps = 0;
  double seconds = 0;
  auto evaluate_and_log = [&](int epoch) {
    nlohmann::json entry = {{"epoch", epoch},
                            {"step", step_},
                            {"theta_loss", sum_steps ? theta_sum / sum_steps : NAN},
                            {"alpha_loss", sum_steps ? alpha_sum / sum_steps : NAN},
                            {"search_seconds", seconds}};
    theta_sum = alpha_sum = 0;
    sum_steps = 0;
    if (!validation_split.empty()) {
      result.last_validation = evaluator.evaluate(validation_split);
      entry["validation"] = result.last_validation;
      const auto& cvr = result.last_validation["cvr"];
      log_info("search epoch " + std::to_string(epoch) + " iteration " + std::to_string(step_) +
               ": cvr.auc = " + (cvr.contains("auc") ? cvr["auc"].dump() : "null"));
    }
    result.log.push_back(entry);
    if (eval_log) *eval_log << entry.dump() << "\n" << std::flush;
  };

  log_alpha();
  bool stop = false;
  for (int epoch = 0; epoch < to.epochs && !stop; ++epoch) {
    theta_loader.start_epoch(static_cast<uint64_t>(epoch));
    Progress::Options po;
    po.label = "search epoch " + std::to_string(epoch + 1) + "/" + std::to_string(to.epochs);
    po.total = theta_loader.rows();
    po.total_is_bytes = false;
    po.quiet = !to.progress;
    Progress progress(po);
    data::Batch batch, alpha_batch;
    uint64_t epoch_rows = 0;
    Stopwatch watch;
    while (theta_loader.next(batch)) {
      theta_sum += theta_step(batch);
      if (!alpha_loader.next(alpha_batch)) {
        alpha_loader.start_epoch(++alpha_epoch);
        FUNNEL_CHECK(alpha_loader.next(alpha_batch), "search: the alpha data is empty");
      }
      alpha_sum += alpha_step(alpha_batch);
      ++step_;
      ++sum_steps;
      epoch_rows += batch.size;
      result.theta_samples += batch.size;
      result.alpha_samples += alpha_batch.size;
      progress.update(epoch_rows, epoch_rows);
      if (step_ % options_.alpha_log_every == 0) log_alpha();
      if (to.eval_every_steps > 0 && step_ % to.eval_every_steps == 0) {
        seconds += watch.seconds();
        evaluate_and_log(epoch);
        watch.reset();
      }
      if (to.max_steps > 0 && step_ >= to.max_steps) {
        stop = true;
        break;
      }
    }
    progress.finish();
    seconds += watch.seconds();
    evaluate_and_log(epoch);
  }
  if (step_ % options_.alpha_log_every != 0) log_alpha();
  result.steps = step_;
  result.search_seconds = seconds;
  result.arch = net_->arch(options_.derive);
  return result;
}

FixedArchRun train_fixed_arch(const data::Cache& cache, const model::AutoHeriArch& arch,
                              const nlohmann::json& model_options,
                              const model::FeatureEmbeddingOptions& embedding_options,
                              const TrainerOptions& options, const std::string& train_split,
                              const std::string& validation_split) {
  nlohmann::json mo = model_options.is_null() ? nlohmann::json::object() : model_options;
  mo["alpha"] = "fixed";
  mo["arch"] = arch.to_json();
  const model::FunnelSpec funnel = model::FunnelSpec::from_layout(cache.layout());
  torch::manual_seed(options.seed);
  FixedArchRun run;
  run.embedding = std::make_shared<model::FeatureEmbedding>(cache.layout(), cache.vocab_sizes(),
                                                            embedding_options);
  run.net = std::make_shared<model::AutoHeriModel>(funnel, run.embedding->input_dim(),
                                                   model::AutoHeriOptions::from_json(mo));
  Trainer trainer(cache, run.net, run.embedding, options);
  run.result = trainer.fit(train_split, validation_split, "");
  return run;
}

ArchFitness make_fixed_arch_fitness(const data::Cache& cache, const nlohmann::json& model_options,
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
