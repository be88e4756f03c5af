// HEROES training throughput and single-list inference latency on a `lists` simulation,
// printed as one JSON object (docs/heroes.md#speed; driver: bench/train/heroes_run.sh, which
// runs heroes_reference.py, the same model in idiomatic PyTorch, on the same cache).
//
//   heroes_bench [--dir DIR] [--rows N] [--models heroes,heroes_unit,lstm] [--threads 1,2]
//                [--batch 2000] [--warmup N] [--budget S] [--lengths 10,50,100]
//                [--latency-seconds S] [--no-train] [--no-latency] [--export DIR]
//
// Data: DIR/cache is reused when it holds a cache; otherwise the simulator's `lists` preset
// (seed 1, --rows items, lists of 10) is written there, as `funnel simulate --preset lists`.
// Models (registry names and options): heroes (defaults), heroes_unit (`variant: unit`),
// lstm (defaults). Embeddings: dim 16, lazy sparse Adam (lr 0.005), as the preset's config.
//
// Training, per model and thread count: Trainer::step (the real step: lookup, forward,
// FunnelLoss, backward, Adam, lazy sparse apply) fed by a Loader of whole lists (batch_size
// items, lists shuffled), after --warmup steps, for --budget seconds; items/s counts the load.
// Latency, one thread: one list of L items (L consecutive rows of the cache given as one list),
// eval mode, NoGradGuard: the model forward on the already-looked-up rows, and end to end from
// the Batch (lookup, model input, forward); median and p99 over --latency-seconds of calls.
// gemm_only: the same step's GEMMs alone at the batch's shapes (what no implementation on the
// same BLAS can avoid).
// --export DIR: for each model, its parameters, one training batch's looked-up rows and list
// offsets, and its outputs, loss and row gradient, for heroes_reference.py --check.

#include <torch/types.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/common/split.h"
#include "core/allocator.h"
#include "core/file.h"
#include "core/stopwatch.h"
#include "data/cache.h"
#include "data/loader.h"
#include "model/feature_embedding.h"
#include "model/heroes.h"
#include "model/model.h"
#include "model/model_input.h"
#include "sim/output.h"
#include "sim/simulator.h"
#include "train/funnel_loss.h"
#include "train/trainer.h"

namespace {
using namespace funnel;
using nlohmann::json;

constexpr uint32_t kEmbeddingDim = 16;

/// DIR/cache, simulated unless it exists.
std::string prepare_cache(const std::string& dir, uint64_t rows, json& info) {
  const std::string cache_dir = join_path(dir, "cache");
  if (path_exists(join_path(cache_dir, "meta.json"))) {
    info["reused"] = true;
    return cache_dir;
  }
  sim::SimConfig c = sim::SimConfig::preset_named("lists");
  c.rows = rows;
  c.seed = 1;
  const sim::Simulator s(c);
  Stopwatch w;
  sim::write_simulation(s, dir, sim::OutputOptions());
  info["simulate_seconds"] = w.seconds();
  info["reused"] = false;
  return cache_dir;
}


/// A bench model name -> registry name and options.
std::pair<std::string, json> model_spec(const std::string& name) {
  if (name == "heroes") return {"heroes", json::object()};
  if (name == "heroes_unit") return {"heroes", {{"variant", "unit"}}};
  if (name == "lstm") return {"lstm", json::object()};
  throw Error("unknown bench model '" + name + "' (heroes, heroes_unit, lstm)");
}

std::shared_ptr<model::FeatureEmbedding> build_embedding(const data::Cache& cache) {
  model::FeatureEmbeddingOptions eo;
  eo.embedding_dim = kEmbeddingDim;
  eo.table.seed = 11;
  return std::make_shared<model::FeatureEmbedding>(cache.layout(), cache.vocab_sizes(), eo);
}

std::shared_ptr<model::FunnelModel> build_model(const data::Cache& cache, const std::string& name,
                                                int64_t input_dim) {
  torch::manual_seed(7);
  const auto [registry, options] = model_spec(name);
  return model::make_model(registry, model::FunnelSpec::from_layout(cache.layout()), input_dim,
                           options);
}

/// Trainer::step over list batches for `budget` seconds after `warmup` steps.
json run_training(const data::Cache& cache, const std::string& name, int threads, int64_t batch,
                  int64_t warmup, double budget) {
  torch::set_num_threads(threads);
  auto embedding = build_embedding(cache);
  auto model = build_model(cache, name, embedding->input_dim());
  train::TrainerOptions o;
  o.batch_size = static_cast<size_t>(batch);
  o.list_batches = true;
  o.threads = threads;
  o.progress = false;
  train::Trainer trainer(cache, model, embedding, o);
  data::LoaderOptions lo;
  lo.batch_size = static_cast<size_t>(batch);
  lo.lists = true;
  lo.seed = 3;
  data::Loader loader(cache, cache.split("train"), lo);

  train::StepTimes times;
  double load = 0;
  uint64_t items = 0, lists = 0;
  uint64_t epoch = 0;
  loader.start_epoch(epoch);
  data::Batch b;
  Stopwatch total;
  int64_t steps = 0;
  for (int64_t s = 0;; ++s) {
    if (s >= warmup + 5 && total.seconds() > budget) break;
    if (s == warmup) {
      times = train::StepTimes();
      load = 0;
      items = lists = 0;
      steps = 0;
      total.reset();
    }
    Stopwatch w;
    while (!loader.next(b)) loader.start_epoch(++epoch);
    load += w.seconds();
    const double value = trainer.step(b, &times);
    if (!std::isfinite(value)) throw Error("loss is not finite");
    items += b.size;
    lists += b.list_offsets.size() - 1;
    ++steps;
  }
  const double seconds = total.seconds();
  const double per_step = 1e3 / static_cast<double>(steps);
  return {{"model", name},
          {"threads", threads},
          {"batch", batch},
          {"items_per_s", static_cast<double>(items) / seconds},
          {"seconds", seconds},
          {"steps", steps},
          {"items", items},
          {"lists", lists},
          {"ms_per_step", 1e3 * seconds / static_cast<double>(steps)},
          {"phase_ms_per_step",
           {{"load", load * per_step},
            {"lookup", times.lookup * per_step},
            {"forward", times.forward * per_step},
            {"loss", times.loss * per_step},
            {"backward", times.backward * per_step},
            {"dense_adam", times.dense * per_step},
            {"sparse_apply", times.sparse * per_step}}}};
}

/// Milliseconds of the GEMMs alone of one training step (forward X W^T + b; backward dX = dY W,
/// dW = dY^T X), at the shapes of a batch of `items` items in lists of `length`: the encoder,
/// prepare()'s input projection of all gates, and per step the top-down GEMMs of each branch
/// (4 in HEROES, 2 in heroes_unit, 1 in the LSTM) and the decay's Linear (HEROES). The same
/// GEMMs run on both sides (one libtorch_cpu, one BLAS): what the rest of a step may cost.
json gemm_bound(const std::string& name, int64_t items, int64_t length, int64_t in,
                double seconds) {
  torch::NoGradGuard no_grad;
  const int64_t E = 128, H = 64, n = items / length;
  struct Gemm {
    int64_t rows, in, out, times;
  };
  const int64_t branches = name == "heroes" ? 4 : name == "heroes_unit" ? 2 : 1;
  const int64_t width = name == "lstm" ? 4 * H : 16 * H + 2;
  const int64_t top_in = name == "lstm" ? H : 2 * H;
  std::vector<Gemm> gemms = {
      {items, in, E, 1}, {items, E, width, 1}, {n, top_in, 4 * H, branches * length}};
  if (name == "heroes") gemms.push_back({n, H, H, length});
  std::vector<std::function<void()>> calls;
  double flops = 0;
  for (const Gemm& g : gemms) {
    auto x = torch::randn({g.rows, g.in}), w = torch::randn({g.out, g.in}),
         b = torch::randn({g.out}), dy = torch::randn({g.rows, g.out});
    for (int64_t k = 0; k < g.times; ++k) {
      calls.push_back([x, w, b] { (void)torch::addmm(b, x, w.t()); });
      calls.push_back([dy, w] { (void)torch::mm(dy, w); });
      calls.push_back([dy, x] { (void)torch::mm(dy.t(), x); });
    }
    flops += 3.0 * 2.0 * double(g.rows * g.in * g.out * g.times);
  }
  for (int i = 0; i < 2; ++i) {
    for (auto& c : calls) c();
  }
  int64_t reps = 0;
  Stopwatch t;
  do {
    for (auto& c : calls) c();
    ++reps;
  } while (t.seconds() < seconds);
  const double ms = 1e3 * t.seconds() / double(reps);
  return {{"ms_per_step", ms}, {"gflop_per_step", flops / 1e9}, {"gflops", flops / ms / 1e6}};
}

/// Median, p99 and mean (ms) of `fn` called repeatedly for `seconds` (after warm-up calls).
template <typename Fn>
json latency(Fn fn, double seconds) {
  for (int i = 0; i < 20; ++i) fn();
  std::vector<double> ms;
  Stopwatch total;
  while (total.seconds() < seconds || ms.size() < 100) {
    Stopwatch w;
    fn();
    ms.push_back(1e3 * w.seconds());
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  double sum = 0;
  for (double v : ms) sum += v;
  auto q = [&](double p) {
    return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * double(sorted.size())))];
  };
  return {{"median_ms", q(0.5)},
          {"p99_ms", q(0.99)},
          {"mean_ms", sum / double(ms.size())},
          {"min_ms", sorted.front()},
          {"reps", ms.size()}};
}

/// A batch of `length` consecutive rows of the split (whole lists of the loader) as one list.
data::Batch one_list(const data::Cache& cache, int64_t length) {
  data::LoaderOptions lo;
  lo.batch_size = static_cast<size_t>(length);
  lo.lists = true;
  lo.shuffle = false;
  data::Loader loader(cache, cache.split("test"), lo);
  loader.start_epoch(0);
  data::Batch b;
  FUNNEL_CHECK(loader.next(b), "the test split is empty");
  FUNNEL_CHECK(static_cast<int64_t>(b.size) == length,
               "a list of " << length << " items: the loader gave " << b.size
                            << " rows (lengths must be multiples of the lists' length)");
  b.list_offsets = {0, b.size};
  return b;
}

json run_latency(const data::Cache& cache, const std::string& name,
                 const std::vector<int64_t>& lengths, double seconds) {
  torch::set_num_threads(1);
  auto embedding = build_embedding(cache);
  auto model = build_model(cache, name, embedding->input_dim());
  model->eval();
  torch::NoGradGuard no_grad;
  json out = json::object();
  for (int64_t L : lengths) {
    const data::Batch b = one_list(cache, L);
    const torch::Tensor x = embedding->lookup(b).detach();
    const model::ModelInput in = model::model_input(b, x);
    json e;
    e["forward"] = latency([&] { (void)model->forward(in); }, seconds);
    e["end_to_end"] = latency(
        [&] {
          const torch::Tensor xr = embedding->lookup(b);
          (void)model->forward(model::model_input(b, xr));
        },
        seconds);
    out[std::to_string(L)] = e;
  }
  return out;
}

void write_floats(const std::string& path, const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kFloat32).contiguous();
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(c.data_ptr<float>()),
          static_cast<std::streamsize>(c.numel() * sizeof(float)));
  FUNNEL_CHECK(f.good(), "cannot write " << path);
}

/// Parameters, one batch's rows and the model's outputs on them, for heroes_reference.py --check.
json export_check(const data::Cache& cache, const std::string& name, const std::string& dir,
                  int64_t batch) {
  torch::set_num_threads(1);
  make_dirs(dir);
  auto embedding = build_embedding(cache);
  auto model = build_model(cache, name, embedding->input_dim());
  json manifest;
  manifest["model"] = name;
  manifest["options"] = model_spec(name).second;
  for (const auto& p : model->named_parameters()) {
    write_floats(join_path(dir, p.key() + ".f32"), p.value());
    manifest["parameters"][p.key()] = p.value().sizes().vec();
  }
  data::LoaderOptions lo;
  lo.batch_size = static_cast<size_t>(batch);
  lo.lists = true;
  lo.seed = 3;
  data::Loader loader(cache, cache.split("train"), lo);
  loader.start_epoch(0);
  data::Batch b;
  FUNNEL_CHECK(loader.next(b), "the train split is empty");
  const torch::Tensor x = embedding->lookup(b);  // leaf, requires grad
  write_floats(join_path(dir, "x.f32"), x);
  manifest["x"] = x.sizes().vec();
  manifest["list_offsets"] = b.list_offsets;
  write_floats(join_path(dir, "labels.f32"), train::batch_labels(b));
  model->train();
  {
    torch::NoGradGuard no_grad;
    const model::FunnelOutput tr = model->forward(model::model_input(b, x.detach()));
    write_floats(join_path(dir, "train_log_p.f32"),
                 torch::stack({tr.cond_log_p[0], tr.cond_log_p[1]}, 1));
  }
  const model::FunnelOutput out = model->forward(model::model_input(b, x));
  if (auto* h = dynamic_cast<model::HeroesModel*>(model.get())) {
    torch::NoGradGuard no_grad;
    write_floats(join_path(dir, "all_train.f32"), h->forward_all(model::model_input(b, x)));
  }
  const train::FunnelLoss loss_fn(model::FunnelSpec::from_layout(cache.layout()));
  const train::FunnelLossValue loss =
      loss_fn.compute(out, train::batch_labels(b), model->training_space());
  loss.total.backward();
  manifest["loss"] = loss.total.item<double>();
  write_floats(join_path(dir, "x_grad.f32"), x.grad());
  {
    torch::NoGradGuard no_grad;
    model->eval();
    const model::FunnelOutput ev = model->forward(model::model_input(b, x.detach()));
    write_floats(join_path(dir, "eval_log_p.f32"),
                 torch::stack({ev.cond_log_p[0], ev.cond_log_p[1]}, 1));
  }
  write_text_file_atomic(join_path(dir, "manifest.json"), manifest.dump(1));
  return {{"dir", dir}, {"rows", b.size}, {"loss", manifest["loss"]}};
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  funnel::tune_allocator_for_training();  // as the funnel command does
  std::string dir = "/tmp/funnel_heroes_bench", export_dir;
  uint64_t rows = 300000;
  int64_t batch = 2000, warmup = 5;
  double budget = 5.0, latency_seconds = 1.0;
  std::vector<std::string> models = {"heroes", "heroes_unit", "lstm"};
  std::vector<int64_t> threads = {1}, lengths = {10, 50, 100};
  bool do_train = true, do_latency = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + ": missing value");
      return argv[++i];
    };
    try {
      if (a == "--dir") dir = value();
      else if (a == "--rows") rows = std::stoull(value());
      else if (a == "--models") models = bench::option_list(value());
      else if (a == "--threads") threads = bench::option_ints(value());
      else if (a == "--batch") batch = std::stoll(value());
      else if (a == "--warmup") warmup = std::stoll(value());
      else if (a == "--budget") budget = std::stod(value());
      else if (a == "--lengths") lengths = bench::option_ints(value());
      else if (a == "--latency-seconds") latency_seconds = std::stod(value());
      else if (a == "--no-train") do_train = false;
      else if (a == "--no-latency") do_latency = false;
      else if (a == "--export") export_dir = value();
      else throw std::runtime_error("unknown option " + a);
    } catch (const std::exception& e) {
      std::fprintf(stderr,
                   "heroes_bench: %s\nusage: heroes_bench [--dir DIR] [--rows N] [--models "
                   "heroes,heroes_unit,lstm] [--threads 1,2] [--batch 2000] [--warmup N] "
                   "[--budget S] [--lengths 10,50,100] [--latency-seconds S] [--no-train] "
                   "[--no-latency] [--export DIR]\n",
                   e.what());
      return 2;
    }
  }
  try {
    for (const auto& m : models) (void)model_spec(m);  // names checked before any work
    json out;
    out["machine"] = {{"cpu", cpu_model()},
                      {"hardware_threads", std::thread::hardware_concurrency()},
                      {"torch_version", TORCH_VERSION}};
    json data_info;
    const std::string cache_dir = prepare_cache(dir, rows, data_info);
    const data::Cache cache(cache_dir);
    data_info["cache"] = cache_dir;
    data_info["train_items"] = cache.split("train").rows();
    data_info["fields"] = cache.vocab_sizes().size();
    data_info["embedding_dim"] = kEmbeddingDim;
    data_info["batch_items"] = batch;
    // The mean list length (the preset's lists all have the same), for the GEMM shapes.
    int64_t list_length = 1;
    {
      const data::CacheSplit& train = cache.split("train");
      const uint64_t* list = train.list();
      uint64_t lists = train.rows() > 0 ? 1 : 0;
      for (uint64_t i = 1; i < train.rows(); ++i) lists += list[i] != list[i - 1];
      list_length =
          lists ? static_cast<int64_t>(std::llround(double(train.rows()) / double(lists))) : 1;
      data_info["train_lists"] = lists;
    }
    out["data"] = data_info;

    if (!export_dir.empty()) {
      for (const auto& m : models) {
        out["export"][m] = export_check(cache, m, join_path(export_dir, m), batch);
      }
    }
    json runs = json::array();
    if (do_train) {
      for (const auto& m : models) {
        for (int64_t th : threads) {
          json r = run_training(cache, m, static_cast<int>(th), batch, warmup, budget);
          r["gemm_only"] = gemm_bound(m, batch, list_length,
                                      kEmbeddingDim * int64_t(data_info["fields"]), 1.0);
          std::fprintf(stderr, "%s\n", r.dump().c_str());
          runs.push_back(std::move(r));
        }
      }
    }
    out["train"] = runs;
    if (do_latency) {
      for (const auto& m : models) {
        out["latency"][m] = run_latency(cache, m, lengths, latency_seconds);
        std::fprintf(stderr, "latency %s: %s\n", m.c_str(), out["latency"][m].dump().c_str());
      }
    }
    out["peak_rss_mb"] = peak_rss_bytes() / 1e6;
    std::printf("%s\n", out.dump(2).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "heroes_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
