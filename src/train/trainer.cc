#include "train/trainer.h"

#include <c10/util/Exception.h>
#include <torch/optim/adam.h>
#include <torch/serialize/archive.h>
#include <torch/utils.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "core/file.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/stopwatch.h"
#include "data/loader.h"
#include "model/model_input.h"
#include "train/data_parallel.h"
#include "train/embedding_schedule.h"
#include "train/freeze_guard.h"

namespace funnel::train {
namespace {

/// Adds the seconds since the last lap to `*slot` (when timing) and restarts the watch.
void lap(Stopwatch& watch, double* slot) {
  if (slot == nullptr) return;
  *slot += watch.seconds();
  watch.reset();
}

}  // namespace

Trainer::Trainer(const data::Cache& cache, std::shared_ptr<model::FunnelModel> model,
                 std::shared_ptr<model::FeatureEmbedding> embedding, TrainerOptions options,
                 std::vector<torch::Tensor> dense_parameters)
    : cache_(cache),
      model_(std::move(model)),
      embedding_(std::move(embedding)),
      options_(std::move(options)),
      early_stop_(metric::parse_metric_path(options_.early_stop_metric, "train.early_stop_metric")),
      funnel_(model::FunnelSpec::from_layout(cache.layout())),
      loss_(funnel_, options_.loss),
      evaluator_(*model_, *embedding_, funnel_),
      dense_parameters_(std::move(dense_parameters)) {
  early_stop_.check_entry(funnel_.events, funnel_.parents, "train.early_stop_metric");
  // A model over lists always reads whole lists.
  if (model_->reads_lists()) {
    FUNNEL_CHECK(cache.layout().has_list,
                 "this model reads whole lists: the cache has no list column (set data.list "
                 "when converting)");
    options_.list_batches = true;
  }
  FUNNEL_CHECK(!options_.list_batches || cache.layout().has_list,
               "train.list_batches: the cache has no list column (set data.list when converting)");
  // Evaluation reads whole lists too: a list model sees the same structure in both.
  evaluator_.set_list_batches(options_.list_batches);
  if (dense_parameters_.empty()) {
    dense_parameters_ = model_->parameters();
  } else {
    for (const auto& p : model_->parameters()) {
      const bool trained = std::any_of(dense_parameters_.begin(), dense_parameters_.end(),
                                       [&](const torch::Tensor& d) { return d.is_same(p); });
      if (!trained) frozen_parameters_.push_back(p);
    }
  }
  make_optimizer();
  if (options_.has_embedding_schedule()) {
    embedding_schedule_ = std::make_unique<EmbeddingSchedule>(*embedding_, options_);
    hooks_.push_back(embedding_schedule_.get());
  }
  // Data-parallel when the tables are sharded over several ranks: the dense gradients are
  // summed over the ranks after backward (a hook), the loader cuts every batch.
  comm_ = embedding_->communicator();
  if (comm_ != nullptr) {
    all_reduce_ = std::make_unique<GradientAllReduce>(*comm_, dense_parameters_);
    hooks_.push_back(all_reduce_.get());
  }
}

Trainer::~Trainer() = default;

void Trainer::check_replicas_every(int64_t n) {
  FUNNEL_CHECK(all_reduce_ != nullptr, "check_replicas_every: the trainer is not data-parallel");
  all_reduce_->set_check_every(n);
}

std::string Trainer::checkpoint_dir(const RunOutputs& out, const std::string& name) const {
  const std::string dir = out.path("checkpoint/" + name);
  // Every rank keeps its own: its shards of the tables and its optimizer state.
  return comm_ ? join_path(dir, "rank-" + std::to_string(comm_->rank())) : dir;
}

void Trainer::make_optimizer() {
  dense_optimizer_ = std::make_unique<torch::optim::Adam>(
      dense_parameters_,
      torch::optim::AdamOptions(options_.lr).weight_decay(options_.weight_decay));
}

double Trainer::step(const data::Batch& batch, StepTimes* times) {
  model_->train();
  FreezeGuard frozen(frozen_parameters_);
  Stopwatch watch;
  const torch::Tensor x = embedding_->lookup(batch);
  lap(watch, times ? &times->lookup : nullptr);
  const model::FunnelOutput out =
      model_->forward(embedding_->model_input(batch, x, model_->reads_feedback()));
  lap(watch, times ? &times->forward : nullptr);
  const torch::Tensor labels = batch_labels(batch);
  const FunnelLossValue loss = loss_.compute(out, labels, model_->training_space());
  const double value = loss.total.item<double>();
  // One rank's part of a global batch: its mean loss weighted by its share of the rows, so
  // that the gradients summed over the ranks are those of the global batch's mean loss.
  const torch::Tensor total =
      batch.global_size > 0
          ? loss.total * (static_cast<double>(batch.size) / static_cast<double>(batch.global_size))
          : loss.total;
  if (!std::isfinite(value)) {
    throw TrainingDiverged(global_step_,
                           "training diverged: loss is " + std::to_string(value) + " at step " +
                               std::to_string(global_step_) +
                               " (lower train.lr?); the last good checkpoint is kept");
  }
  lap(watch, times ? &times->loss : nullptr);
  dense_optimizer_->zero_grad();
  total.backward();
  lap(watch, times ? &times->backward : nullptr);
  for (TrainerHook* h : hooks_) h->after_backward(batch, x);
  lap(watch, times ? &times->sync : nullptr);
  dense_optimizer_->step();
  lap(watch, times ? &times->dense : nullptr);
  embedding_->apply_gradients(batch, x.grad());
  lap(watch, times ? &times->sparse : nullptr);
  ++global_step_;
  return value;
}

TrainResult Trainer::fit(const std::string& train_split, const std::string& validation_split,
                         const std::string& run_dir) {
  // Data-parallel: rank 0 writes the logs; every rank its checkpoints.
  RunOutputs outputs(run_dir, comm_ == nullptr || comm_->rank() == 0);
  FitOptions fo;
  fo.train_split = train_split;
  fo.validation_split = validation_split;
  fo.outputs = &outputs;
  return fit(fo);
}

TrainResult Trainer::fit(const FitOptions& fo) {
  torch::manual_seed(options_.seed);
  torch::set_num_threads(options_.threads);
  const data::CacheSplit& split = cache_.split(fo.train_split);
  data::LoaderOptions lo;
  lo.batch_size = options_.batch_size;
  lo.seed = options_.seed;
  lo.begin_row = fo.begin_row;
  lo.end_row = fo.end_row;
  lo.lists = options_.list_batches;
  lo.lists_per_batch = options_.lists_per_batch;
  if (comm_ != nullptr) {
    lo.shard = static_cast<size_t>(comm_->rank());
    lo.shards = static_cast<size_t>(comm_->world_size());
  }
  data::Loader loader(cache_, split, lo);
  RunOutputs no_outputs;
  RunOutputs& out = fo.outputs ? *fo.outputs : no_outputs;
  out.open_log(fo.log_name, fo.append_log);
  const bool loss_log = !fo.loss_log_name.empty() && options_.log_loss_every > 0;
  if (loss_log) out.open_log(fo.loss_log_name, fo.append_log);
  // Every rank of a data-parallel run writes its checkpoints; only the writer writes logs.
  const bool checkpoints = fo.checkpoints && !out.dir().empty();

  TrainResult result;
  const bool higher = early_stop_.higher_is_better;
  // After resume(): the run's progress so far (best value, patience, completed epochs).
  RunState& rs = run_state_;
  if (!rs.resumed) rs = RunState();
  double& best = rs.best;
  if (std::isnan(best)) best = higher ? -INFINITY : INFINITY;
  int& since_best = rs.since_best;
  result.best_validation = rs.best_validation;
  result.samples = rs.samples;
  Stopwatch total;
  double train_seconds = rs.train_seconds;
  double loss_sum = 0;
  int64_t loss_steps = 0;
  double window_sum = 0;  // the loss log's current window
  int64_t window_steps = 0;

  // Evaluates, logs, checkpoints; returns false when early stopping says stop.
  auto evaluate_and_log = [&](int epoch) {
    // Epochs count from 1 everywhere (progress, log lines, log.jsonl).
    nlohmann::json entry = {{"epoch", epoch + 1},
                            {"step", global_step_},
                            {"samples", result.samples},
                            {"train_loss", loss_steps ? loss_sum / loss_steps : NAN},
                            {"train_seconds", train_seconds}};
    loss_sum = 0;
    loss_steps = 0;
    bool keep_going = true;
    if (!fo.validation_split.empty()) {
      const nlohmann::json m = evaluate(fo.validation_split);
      entry["validation"] = m;
      result.last_validation = m;
      const double v = early_stop_.value_in(m);
      bool improved = !std::isnan(v) && (higher ? v > best : v < best);
      if (comm_ != nullptr) {
        // Every rank has the same predictions, so the same decision; rank 0's is taken.
        torch::Tensor decision = torch::tensor({improved ? 1 : 0}, torch::kInt64);
        comm_->broadcast(decision, 0);
        improved = decision.item<int64_t>() != 0;
      }
      if (improved || result.best_validation.is_null()) {
        if (improved) best = v;
        result.best_validation = m;
        rs.best_validation = m;
        since_best = 0;
        if (checkpoints) save_checkpoint(checkpoint_dir(out, "best"));
      } else {
        ++since_best;
        keep_going = !fo.early_stopping || options_.patience == 0 || since_best < options_.patience;
      }
      if (fo.early_stopping) {
        entry[options_.early_stop_metric] = std::isnan(v) ? nlohmann::json() : nlohmann::json(v);
      }
      log_info(fo.label + " " + std::to_string(epoch + 1) + " step " +
               std::to_string(global_step_) + ": " + options_.early_stop_metric + " = " +
               std::to_string(v) + (improved ? " (best)" : ""));
    }
    for (TrainerHook* h : hooks_) h->on_log(entry);
    result.log.push_back(entry);
    out.log(fo.log_name, entry);
    return keep_going;
  };

  for (TrainerHook* h : hooks_) h->on_fit_start();
  bool stop = rs.stopped_early;
  result.stopped_early = rs.stopped_early;
  for (int epoch = rs.epochs_done; epoch < options_.epochs && !stop; ++epoch) {
    loader.start_epoch(static_cast<uint64_t>(epoch));
    for (TrainerHook* h : hooks_) h->on_epoch_start(epoch);
    Progress::Options po;
    po.label = fo.label + " " + std::to_string(epoch + 1) + "/" + std::to_string(options_.epochs);
    po.total = loader.rows();
    po.total_is_bytes = false;
    po.quiet = !options_.progress;
    Progress progress(po);
    data::Batch batch;
    uint64_t epoch_rows = 0;
    Stopwatch epoch_watch;
    Stopwatch data_watch;
    while (loader.next(batch)) {
      result.step_times.data += data_watch.seconds();
      const double loss = step(batch, &result.step_times);
      loss_sum += loss;
      if (loss_log) {
        window_sum += loss;
        if (++window_steps == options_.log_loss_every) {
          out.log(
              fo.loss_log_name,
              {{"step", global_step_}, {"epoch", epoch + 1}, {"loss", window_sum / window_steps}});
          window_sum = 0;
          window_steps = 0;
        }
      }
      for (TrainerHook* h : hooks_) h->after_step(global_step_);
      ++loss_steps;
      const size_t rows = batch.global_size > 0 ? batch.global_size : batch.size;
      epoch_rows += rows;
      result.samples += rows;
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
      data_watch.reset();
    }
    progress.finish();
    train_seconds += epoch_watch.seconds();
    const bool keep_going = evaluate_and_log(epoch);
    // A checkpoint of a whole epoch, with the run's progress, so that resume() goes on with
    // the next epoch exactly as an uninterrupted run would (the shuffle order is per epoch).
    rs.epochs_done = epoch + 1;
    rs.samples = result.samples;
    rs.train_seconds = train_seconds;
    rs.stopped_early = !keep_going;
    if (checkpoints) save_checkpoint(checkpoint_dir(out, "last"));
    if (!keep_going) {
      result.stopped_early = true;
      stop = true;
    }
  }
  rs.resumed = false;
  result.dropped_rows = loader.dropped_rows();
  result.steps = global_step_;
  result.train_seconds = train_seconds;
  for (TrainerHook* h : hooks_) h->on_fit_end(global_step_);
  // Training ends on the best state, not the last (unless train.restore_best is off).
  if (checkpoints && options_.restore_best &&
      path_exists(join_path(checkpoint_dir(out, "best"), "dense.pt"))) {
    load_checkpoint(checkpoint_dir(out, "best"));
  }
  return result;
}

metric::FunnelPredictions Trainer::predict(const std::string& split) const {
  return evaluator_.predict(cache_, split);
}

nlohmann::json Trainer::evaluate(const std::string& split) const {
  return evaluator_.evaluate(cache_, split);
}

void Trainer::save_checkpoint(const std::string& dir) const {
  // Written into DIR.tmp and renamed: a failure at any point (the disk full) leaves the last
  // complete checkpoint and no partial one.
  const std::string tmp = dir + ".tmp";
  remove_all(tmp);
  make_dirs(tmp);
  std::string file;  // being written
  try {
    // The archives go through a write function into memory, then into the file by
    // write_file_atomic: LibTorch's own file writer, when a write fails (the disk full),
    // throws again from its destructor and ends the process.
    const auto save_archive = [&file](torch::serialize::OutputArchive& archive) {
      std::string bytes;
      archive.save_to([&bytes](const void* data, size_t n) {
        bytes.append(static_cast<const char*>(data), n);
        return n;
      });
      write_text_file_atomic(file, bytes);
    };
    file = join_path(tmp, "dense.pt");
    torch::serialize::OutputArchive dense;
    model_->save(dense);
    save_archive(dense);
    file = join_path(tmp, "dense_optimizer.pt");
    torch::serialize::OutputArchive opt;
    dense_optimizer_->save(opt);
    save_archive(opt);
    file = join_path(tmp, "sparse.bin");
    std::ofstream os(file, std::ios::binary);
    FUNNEL_CHECK(os.is_open(), "cannot create: " << std::strerror(errno));
    embedding_->save(os, /*with_optimizer_state=*/true);
    errno = 0;
    os.close();
    FUNNEL_CHECK(!os.fail(),
                 "write error" << (errno != 0 ? std::string(": ") + std::strerror(errno) : ""));
    const RunState& rs = run_state_;
    nlohmann::json state = {{"step", global_step_},
                            {"epochs_done", rs.epochs_done},
                            {"samples", rs.samples},
                            {"train_seconds", rs.train_seconds},
                            {"since_best", rs.since_best},
                            {"stopped_early", rs.stopped_early},
                            {"best_validation", rs.best_validation}};
    state["best"] = std::isfinite(rs.best) ? nlohmann::json(rs.best) : nlohmann::json();
    file = join_path(tmp, "state.json");
    write_text_file_atomic(file, json_text(state));
  } catch (const c10::Error& e) {
    remove_all(tmp);
    throw Error(file + ": checkpoint not written: " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    remove_all(tmp);
    throw Error(file + ": checkpoint not written: " + e.what());
  }
  remove_all(dir);
  rename_path(tmp, dir);
}

void Trainer::load_checkpoint(const std::string& dir) {
  FUNNEL_CHECK(path_exists(join_path(dir, "dense.pt")), dir << ": no checkpoint here");
  try {
    torch::serialize::InputArchive dense;
    dense.load_from(join_path(dir, "dense.pt"));
    model_->load(dense);
    // Into a fresh Adam: loading over existing state is not valid on every LibTorch version.
    make_optimizer();
    torch::serialize::InputArchive opt;
    opt.load_from(join_path(dir, "dense_optimizer.pt"));
    dense_optimizer_->load(opt);
  } catch (const c10::Error& e) {
    throw Error(dir + ": the checkpoint does not match this model: " + e.what_without_backtrace());
  }
  std::ifstream is(join_path(dir, "sparse.bin"), std::ios::binary);
  FUNNEL_CHECK(is.good(), join_path(dir, "sparse.bin") << ": cannot open");
  embedding_->load(is);
  global_step_ = nlohmann::json::parse(read_text_file(join_path(dir, "state.json"))).at("step");
}

int Trainer::resume(const std::string& run_dir) {
  const RunOutputs outputs(run_dir, /*writer=*/false);
  const std::string dir = checkpoint_dir(outputs, "last");
  load_checkpoint(dir);
  const std::string path = join_path(dir, "state.json");
  try {
    const nlohmann::json state = nlohmann::json::parse(read_text_file(path));
    RunState rs;
    rs.epochs_done = state.at("epochs_done").get<int>();
    rs.samples = state.at("samples").get<uint64_t>();
    rs.train_seconds = state.value("train_seconds", 0.0);
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
