#include "train/trainer.h"

#include <torch/optim/adam.h>
#include <torch/serialize/archive.h>
#include <torch/utils.h>

#include <cmath>
#include <fstream>
#include <limits>

#include "core/error.h"
#include "core/file.h"
#include "core/json_fields.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/stopwatch.h"
#include "data/loader.h"

namespace funnel::train {
namespace {

model::FunnelSpec funnel_of(const data::Layout& layout) {
  return {layout.events, layout.event_parent};
}

/// Value of "<entry>.<metric>" in a funnel_metrics object; NaN when absent or null.
double metric_value(const nlohmann::json& metrics, const std::string& path) {
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos) return NAN;
  const std::string entry = path.substr(0, dot), name = path.substr(dot + 1);
  if (!metrics.contains(entry) || !metrics[entry].contains(name)) return NAN;
  const auto& v = metrics[entry][name];
  return v.is_number() ? v.get<double>() : NAN;
}

bool higher_is_better(const std::string& path) {
  const std::string name = path.substr(path.rfind('.') + 1);
  return name == "auc" || name == "gauc" || name == "gauc_unweighted";
}

}  // namespace

TrainerOptions parse_trainer_options(const nlohmann::json& train) {
  TrainerOptions o;
  if (train.is_null()) return o;
  JsonFields f(train, "train");
  o.batch_size = f.get<size_t>("batch_size", o.batch_size);
  o.epochs = f.get<int>("epochs", o.epochs);
  o.lr = f.get<double>("lr", o.lr);
  o.weight_decay = f.get<double>("weight_decay", o.weight_decay);
  o.seed = f.get<uint64_t>("seed", o.seed);
  o.threads = f.get<int>("threads", o.threads);
  o.eval_every_steps = f.get<int64_t>("eval_every_steps", o.eval_every_steps);
  o.early_stop_metric = f.get<std::string>("early_stop_metric", o.early_stop_metric);
  o.patience = f.get<int>("patience", o.patience);
  o.max_steps = f.get<int64_t>("max_steps", o.max_steps);
  o.loss.weights = f.get<std::vector<double>>("loss_weights", {});
  o.loss.stop_ctcvr_grad_to_ctr = f.get<bool>("stop_ctcvr_grad_to_ctr", false);
  f.finish();
  FUNNEL_CHECK(o.batch_size > 0, "train.batch_size: must be > 0");
  FUNNEL_CHECK(o.epochs > 0, "train.epochs: must be > 0");
  FUNNEL_CHECK(o.lr > 0, "train.lr: must be > 0");
  FUNNEL_CHECK(o.threads > 0, "train.threads: must be > 0");
  FUNNEL_CHECK(o.early_stop_metric.find('.') != std::string::npos,
               "train.early_stop_metric: expected <entry>.<metric>, e.g. cvr.auc");
  return o;
}

Trainer::Trainer(const data::Cache& cache, std::shared_ptr<model::FunnelModel> model,
                 std::shared_ptr<model::FeatureEmbedding> embedding, TrainerOptions options)
    : cache_(cache),
      model_(std::move(model)),
      embedding_(std::move(embedding)),
      options_(std::move(options)),
      funnel_(funnel_of(cache.layout())),
      loss_(funnel_, options_.loss) {
  dense_optimizer_ = std::make_unique<torch::optim::Adam>(
      model_->parameters(),
      torch::optim::AdamOptions(options_.lr).weight_decay(options_.weight_decay));
}

double Trainer::step(const data::Batch& batch) {
  model_->train();
  const torch::Tensor x = embedding_->lookup(batch);
  const model::FunnelOutput out = model_->forward(x);
  // Labels are event-major in the batch: [E, B] without a copy.
  const torch::Tensor labels =
      torch::from_blob(const_cast<float*>(batch.labels.data()),
                       {static_cast<int64_t>(batch.num_events), static_cast<int64_t>(batch.size)},
                       torch::kFloat32);
  const FunnelLossValue loss = loss_.compute(out, labels, model_->training_space());
  const double value = loss.total.item<double>();
  if (!std::isfinite(value)) {
    throw TrainingDiverged(global_step_, "training diverged: loss is " + std::to_string(value) +
                                             " at step " + std::to_string(global_step_) +
                                             " (lower train.lr?); the last good checkpoint is kept");
  }
  dense_optimizer_->zero_grad();
  loss.total.backward();
  dense_optimizer_->step();
  embedding_->apply_gradients(batch, x.grad());
  ++global_step_;
  return value;
}

TrainResult Trainer::fit(const std::string& train_split, const std::string& validation_split,
                         const std::string& run_dir) {
  torch::manual_seed(options_.seed);
  torch::set_num_threads(options_.threads);
  const data::CacheSplit& split = cache_.split(train_split);
  data::LoaderOptions lo;
  lo.batch_size = options_.batch_size;
  lo.seed = options_.seed;
  data::Loader loader(cache_, split, lo);
  std::unique_ptr<std::ofstream> log_file;
  if (!run_dir.empty()) {
    make_dirs(run_dir);
    log_file = std::make_unique<std::ofstream>(join_path(run_dir, "log.jsonl"), std::ios::app);
  }

  TrainResult result;
  const bool higher = higher_is_better(options_.early_stop_metric);
  // After resume(): the run's progress so far (best value, patience, completed epochs).
  RunState& rs = run_state_;
  if (!rs.resumed) rs = RunState();
  double& best = rs.best;
  if (std::isnan(best)) best = higher ? -INFINITY : INFINITY;
  int& since_best = rs.since_best;
  result.best_validation = rs.best_validation;
  result.samples = rs.samples;
  Stopwatch total;
  double train_seconds = 0;
  double loss_sum = 0;
  int64_t loss_steps = 0;

  // Evaluates, logs, checkpoints; returns false when early stopping says stop.
  auto evaluate_and_log = [&](int epoch) {
    nlohmann::json entry = {{"epoch", epoch}, {"step", global_step_},
                            {"samples", result.samples},
                            {"train_loss", loss_steps ? loss_sum / loss_steps : NAN},
                            {"train_seconds", train_seconds}};
    loss_sum = 0;
    loss_steps = 0;
    bool keep_going = true;
    if (!validation_split.empty()) {
      const nlohmann::json m = evaluate(validation_split);
      entry["validation"] = m;
      const double v = metric_value(m, options_.early_stop_metric);
      const bool improved = !std::isnan(v) && (higher ? v > best : v < best);
      if (improved || result.best_validation.is_null()) {
        if (improved) best = v;
        result.best_validation = m;
        rs.best_validation = m;
        since_best = 0;
        if (!run_dir.empty()) save_checkpoint(join_path(run_dir, "checkpoint/best"));
      } else {
        ++since_best;
        keep_going = options_.patience == 0 || since_best < options_.patience;
      }
      entry[options_.early_stop_metric] = std::isnan(v) ? nlohmann::json() : nlohmann::json(v);
      log_info("epoch " + std::to_string(epoch) + " step " + std::to_string(global_step_) + ": " +
               options_.early_stop_metric + " = " + std::to_string(v) +
               (improved ? " (best)" : ""));
    }
    result.log.push_back(entry);
    if (log_file) *log_file << entry.dump() << "\n" << std::flush;
    return keep_going;
  };

  bool stop = rs.stopped_early;
  result.stopped_early = rs.stopped_early;
  for (int epoch = rs.epochs_done; epoch < options_.epochs && !stop; ++epoch) {
    loader.start_epoch(static_cast<uint64_t>(epoch));
    Progress::Options po;
    po.label = "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(options_.epochs);
    po.total = split.rows();
    po.total_is_bytes = false;
    po.quiet = !options_.progress;
    Progress progress(po);
    data::Batch batch;
    uint64_t epoch_rows = 0;
    Stopwatch epoch_watch;
    while (loader.next(batch)) {
      loss_sum += step(batch);
      ++loss_steps;
      epoch_rows += batch.size;
      result.samples += batch.size;
      progress.update(epoch_rows, epoch_rows);
      if (options_.eval_every_steps > 0 && global_step_ % options_.eval_every_steps == 0) {
        train_seconds += epoch_watch.seconds();
        if (!evaluate_and_log(epoch)) stop = true;
        epoch_watch.reset();
      }
      if ((options_.max_steps > 0 && global_step_ >= options_.max_steps) || stop) {
        stop = true;
        break;
      }
    }
    progress.finish();
    train_seconds += epoch_watch.seconds();
    const bool keep_going = evaluate_and_log(epoch);
    // A checkpoint of a whole epoch, with the run's progress, so that resume() goes on with
    // the next epoch exactly as an uninterrupted run would (the shuffle order is per epoch).
    rs.epochs_done = epoch + 1;
    rs.samples = result.samples;
    rs.stopped_early = !keep_going;
    if (!run_dir.empty()) save_checkpoint(join_path(run_dir, "checkpoint/last"));
    if (!keep_going) {
      result.stopped_early = true;
      stop = true;
    }
  }
  rs.resumed = false;
  result.steps = global_step_;
  result.train_seconds = train_seconds;
  // Training ends on the best state, not the last.
  if (!run_dir.empty() && path_exists(join_path(run_dir, "checkpoint/best/dense.pt"))) {
    load_checkpoint(join_path(run_dir, "checkpoint/best"));
  }
  return result;
}

FunnelPredictions Trainer::predict(const std::string& split_name) const {
  const data::CacheSplit& split = cache_.split(split_name);
  data::LoaderOptions lo;
  lo.batch_size = 8192;
  lo.shuffle = false;
  data::Loader loader(cache_, split, lo);
  loader.start_epoch(0);
  const size_t n = split.rows(), E = funnel_.events.size();
  FunnelPredictions p;
  p.n = n;
  p.log_p.resize(E * n);
  p.labels.resize(E * n);
  const bool grouped = cache_.layout().has_group;
  if (grouped) p.group.resize(n);
  torch::NoGradGuard no_grad;
  model_->eval();
  data::Batch b;
  while (loader.next(b)) {
    const torch::Tensor x = embedding_->lookup(b);
    const model::FunnelOutput out = model_->forward(x);
    const std::vector<torch::Tensor> log_p = model::entire_space_log_p(out, funnel_.parents);
    for (size_t e = 0; e < E; ++e) {
      const torch::Tensor lp = log_p[e].to(torch::kCPU, torch::kFloat32).contiguous();
      const float* src = lp.data_ptr<float>();
      for (size_t i = 0; i < b.size; ++i) {
        p.log_p[e * n + b.row[i]] = src[i];
        p.labels[e * n + b.row[i]] = b.labels[e * b.size + i];
      }
    }
    if (grouped) {
      for (size_t i = 0; i < b.size; ++i) p.group[b.row[i]] = b.group[i];
    }
  }
  const_cast<model::FunnelModel&>(*model_).train();
  return p;
}

nlohmann::json Trainer::evaluate(const std::string& split) const {
  return funnel_metrics(predict(split), funnel_.events, funnel_.parents);
}

void Trainer::save_checkpoint(const std::string& dir) const {
  const std::string tmp = dir + ".tmp";
  remove_all(tmp);
  make_dirs(tmp);
  torch::serialize::OutputArchive dense;
  model_->save(dense);
  dense.save_to(join_path(tmp, "dense.pt"));
  torch::serialize::OutputArchive opt;
  dense_optimizer_->save(opt);
  opt.save_to(join_path(tmp, "dense_optimizer.pt"));
  {
    std::ofstream os(join_path(tmp, "sparse.bin"), std::ios::binary);
    embedding_->save(os, /*with_optimizer_state=*/true);
    FUNNEL_CHECK(os.good(), join_path(tmp, "sparse.bin") << ": write error");
  }
  const RunState& rs = run_state_;
  nlohmann::json state = {{"step", global_step_},
                          {"epochs_done", rs.epochs_done},
                          {"samples", rs.samples},
                          {"since_best", rs.since_best},
                          {"stopped_early", rs.stopped_early},
                          {"best_validation", rs.best_validation}};
  state["best"] = std::isfinite(rs.best) ? nlohmann::json(rs.best) : nlohmann::json();
  write_text_file_atomic(join_path(tmp, "state.json"), state.dump());
  remove_all(dir);
  rename_path(tmp, dir);
}

void Trainer::load_checkpoint(const std::string& dir) {
  FUNNEL_CHECK(path_exists(join_path(dir, "dense.pt")), dir << ": no checkpoint here");
  try {
    torch::serialize::InputArchive dense;
    dense.load_from(join_path(dir, "dense.pt"));
    model_->load(dense);
    torch::serialize::InputArchive opt;
    opt.load_from(join_path(dir, "dense_optimizer.pt"));
    dense_optimizer_->load(opt);
  } catch (const c10::Error& e) {
    throw Error(dir + ": the checkpoint does not match this model: " +
                e.what_without_backtrace());
  }
  std::ifstream is(join_path(dir, "sparse.bin"), std::ios::binary);
  FUNNEL_CHECK(is.good(), join_path(dir, "sparse.bin") << ": cannot open");
  embedding_->load(is);
  global_step_ = nlohmann::json::parse(read_text_file(join_path(dir, "state.json"))).at("step");
}

int Trainer::resume(const std::string& run_dir) {
  const std::string dir = join_path(run_dir, "checkpoint/last");
  load_checkpoint(dir);
  const std::string path = join_path(dir, "state.json");
  try {
    const nlohmann::json state = nlohmann::json::parse(read_text_file(path));
    RunState rs;
    rs.epochs_done = state.at("epochs_done").get<int>();
    rs.samples = state.at("samples").get<uint64_t>();
    rs.since_best = state.at("since_best").get<int>();
    rs.stopped_early = state.at("stopped_early").get<bool>();
    rs.best_validation = state.at("best_validation");
    rs.best = state.at("best").is_null() ? NAN : state.at("best").get<double>();
    rs.resumed = true;
    run_state_ = rs;
    return rs.epochs_done;
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not a checkpoint state of this version: " + e.what());
  }
}

}  // namespace funnel::train
