// ESMM training throughput on Ali-CCP-shaped data, and the machine's sgemm rate in the same
// run, printed as one JSON object (docs/training_benchmark.md; driver: bench/train/run.sh).
//
//   train_bench [--dir DIR] [--rows N] [--steps N] [--warmup N] [--towers a,b]
//               [--batches 1024,2000] [--threads 1,2] [--no-sgemm] [--no-trainer] [--no-loop]
//               [--seconds S] [--budget S]
//
// Data: DIR/cache is reused when it exists; otherwise an Ali-CCP-shaped CSV (click, purchase,
// the 18 single-valued Ali-CCP fields with heavy-tailed raw ids, ~4 % CTR, ~0.6 % CVR) is
// generated and converted with one hashed vocabulary per field whose size is the real data
// set's vocabulary size (AITM preprocessing), so the tables hold ~1.28 M ids in all whatever
// the number of rows. esmm_reference.py reads the same cache.
//
// Per configuration (towers a = [16, 8], b = [200, 80, 20]; batch; intra-op threads):
//   trainer: train::Trainer::fit with max_steps set to about --budget seconds of steps (loader
//            with its prefetch thread, lookup, model, FunnelLoss, backward, torch::optim::Adam,
//            lazy sparse Adam; fresh tables, so first-touch page faults count); the headline.
//   loop:    Trainer::step itself called batch by batch (after --warmup steps) with its
//            per-phase timer, so the JSON says where a step's time goes. Ends after --steps or
//            --budget seconds (>= 5 steps); the trainer then runs about --budget seconds'
//            worth of steps.
// sgemm: torch::mm / addmm on the exact GEMMs of a tower's forward and backward pass at each
// batch size (the bound for config b), and a 1024^3 product, per thread count.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/utils.h>
#include <torch/version.h>

#include "bench/common/aliccp_like.h"
#include "bench/common/split.h"
#include "core/allocator.h"
#include "core/file.h"
#include "core/rng.h"
#include "core/stopwatch.h"
#include "data/cache.h"
#include "data/converter.h"
#include "data/loader.h"
#include "model/feature_embedding.h"
#include "model/model.h"
#include "train/trainer.h"

namespace {
using namespace funnel;
using nlohmann::json;
using bench::generate_csv;
using bench::kFields;

constexpr int64_t kEmbeddingDim = 16;


/// DIR/cache, generated and converted unless it exists.
std::string prepare_cache(const std::string& dir, uint64_t rows, json& info) {
  const std::string cache_dir = join_path(dir, "cache");
  if (path_exists(join_path(cache_dir, "meta.json"))) {
    info["reused"] = true;
    return cache_dir;
  }
  make_dirs(dir);
  const std::string csv = join_path(dir, "aliccp_like.csv");
  Stopwatch gen;
  generate_csv(csv, rows, 1);
  info["generate_seconds"] = gen.seconds();
  info["csv_mb"] = file_size(csv) / 1e6;
  json data = {{"format", "csv"}, {"train", {csv}}, {"labels", {"click", "purchase"}}};
  for (const auto& f : kFields) {
    data["categorical"].push_back(
        {{"name", f.name}, {"hash_buckets", static_cast<int64_t>(f.vocab)}});
  }
  const data::DataConfig config = data::parse_data_config(data, "");
  data::ConvertOptions co;
  co.progress = false;
  Stopwatch conv;
  data::convert_to_cache(config, cache_dir, co);
  info["convert_seconds"] = conv.seconds();
  info["reused"] = false;
  remove_all(csv);
  return cache_dir;
}


std::vector<int64_t> towers_of(const std::string& config) {
  if (config == "a") return {16, 8};
  if (config == "b") return {200, 80, 20};
  throw Error("unknown tower config '" + config + "' (a = [16, 8], b = [200, 80, 20])");
}

/// Layer (in, out) pairs of one tower, the logit head included.
std::vector<std::pair<int64_t, int64_t>> tower_layers(int64_t input_dim,
                                                      const std::vector<int64_t>& hidden) {
  std::vector<std::pair<int64_t, int64_t>> layers;
  int64_t in = input_dim;
  for (int64_t h : hidden) {
    layers.emplace_back(in, h);
    in = h;
  }
  layers.emplace_back(in, 1);
  return layers;
}

/// Multiply-accumulates per sample of one tower's forward pass.
double tower_macs(int64_t input_dim, const std::vector<int64_t>& hidden) {
  double macs = 0;
  for (const auto& [in, out] : tower_layers(input_dim, hidden)) macs += double(in) * double(out);
  return macs;
}

/// Runs `fn` repeatedly for at least `seconds` (after two warm-up calls); seconds per call.
template <typename Fn>
double time_per_call(Fn fn, double seconds) {
  fn();
  fn();
  int64_t n = 0;
  Stopwatch t;
  do {
    fn();
    ++n;
  } while (t.seconds() < seconds);
  return t.seconds() / static_cast<double>(n);
}

/// sgemm rates of the current thread count: one 1024^3 product, and the tower GEMMs of a
/// batch (forward addmm X W^T + b, backward dX = dY W and dW = dY^T X for every layer, the
/// first layer's dX included because the embeddings need it), executed as plain torch calls.
json measure_sgemm(const std::vector<int64_t>& batches, int64_t input_dim,
                   const std::vector<int64_t>& hidden, double seconds) {
  torch::NoGradGuard no_grad;
  json out;
  {
    const auto a = torch::randn({1024, 1024}), b = torch::randn({1024, 1024});
    const double s = time_per_call([&] { (void)torch::mm(a, b); }, seconds);
    out["mm_1024"] = 2.0 * 1024 * 1024 * 1024 / s / 1e9;
  }
  {
    const auto a = torch::randn({256, 256}), b = torch::randn({256, 256});
    const double s = time_per_call([&] { (void)torch::mm(a, b); }, seconds);
    out["mm_256"] = 2.0 * 256 * 256 * 256 / s / 1e9;
  }
  for (int64_t B : batches) {
    double flops = 0;
    std::vector<std::function<void()>> calls;
    std::vector<torch::Tensor> keep;
    json per_gemm = json::array();
    for (const auto& [in, out_dim] : tower_layers(input_dim, hidden)) {
      auto x = torch::randn({B, in}), w = torch::randn({out_dim, in}), bias = torch::randn({out_dim});
      auto dy = torch::randn({B, out_dim});
      const double f = 2.0 * double(B) * double(in) * double(out_dim);
      auto fwd = [x, w, bias] { (void)torch::addmm(bias, x, w.t()); };
      auto dx = [dy, w] { (void)torch::mm(dy, w); };
      auto dw = [dy, x] { (void)torch::mm(dy.t(), x); };
      const double sf = time_per_call(fwd, seconds / 8), sx = time_per_call(dx, seconds / 8),
                   sw = time_per_call(dw, seconds / 8);
      per_gemm.push_back({{"layer", std::to_string(in) + "x" + std::to_string(out_dim)},
                          {"fwd_gflops", f / sf / 1e9},
                          {"dx_gflops", f / sx / 1e9},
                          {"dw_gflops", f / sw / 1e9}});
      calls.push_back(fwd);
      calls.push_back(dx);
      calls.push_back(dw);
      flops += 3 * f;
    }
    // All GEMMs of one tower's step back to back: the bound the model can reach.
    const double s = time_per_call(
        [&] {
          for (auto& c : calls) c();
        },
        seconds);
    out["tower_b" + std::to_string(B)] = flops / s / 1e9;
    out["tower_b" + std::to_string(B) + "_per_gemm"] = per_gemm;
  }
  return out;
}

struct RunSpec {
  std::string config;
  int64_t batch;
  int threads;
};

std::shared_ptr<model::FunnelModel> build_model(const data::Cache& cache, const RunSpec& r,
                                                int64_t input_dim) {
  torch::manual_seed(7);
  return model::make_model("esmm", model::FunnelSpec::from_layout(cache.layout()), input_dim,
                           json{{"towers", towers_of(r.config)}});
}

std::shared_ptr<model::FeatureEmbedding> build_embedding(const data::Cache& cache) {
  model::FeatureEmbeddingOptions eo;
  eo.embedding_dim = kEmbeddingDim;
  eo.table.seed = 11;
  return std::make_shared<model::FeatureEmbedding>(cache.layout(), cache.vocab_sizes(), eo);
}

/// Trainer::step (the real one) driven step by step, with its per-phase timer.
json run_loop(const data::Cache& cache, const RunSpec& r, int64_t max_steps, int64_t warmup,
             double budget_seconds) {
  torch::set_num_threads(r.threads);
  auto embedding = build_embedding(cache);
  auto model = build_model(cache, r, embedding->input_dim());
  train::TrainerOptions o;
  o.batch_size = static_cast<size_t>(r.batch);
  o.threads = r.threads;
  o.progress = false;
  train::Trainer trainer(cache, model, embedding, o);
  data::LoaderOptions lo;
  lo.batch_size = static_cast<size_t>(r.batch);
  lo.seed = 3;
  data::Loader loader(cache, cache.split("train"), lo);

  train::StepTimes times;
  double load = 0;
  uint64_t samples = 0;
  uint64_t epoch = 0;
  loader.start_epoch(epoch);
  data::Batch batch;
  Stopwatch total;
  int64_t steps = 0;
  for (int64_t s = 0; s < warmup + max_steps; ++s) {
    // Timed steps end at max_steps or after budget_seconds (at least 5 steps).
    if (s >= warmup + 5 && total.seconds() > budget_seconds) break;
    if (s == warmup) {
      times = train::StepTimes();
      load = 0;
      samples = 0;
      total.reset();
    }
    Stopwatch w;
    while (!loader.next(batch)) loader.start_epoch(++epoch);
    load += w.seconds();
    const double value = trainer.step(batch, &times);
    if (!std::isfinite(value)) throw Error("loss is not finite");
    samples += batch.size;
    if (s >= warmup) ++steps;
  }
  const double seconds = total.seconds();
  const double per_step = 1e3 / static_cast<double>(steps);
  const json phases = {{"load", load * per_step},
                       {"lookup", times.lookup * per_step},
                       {"forward", times.forward * per_step},
                       {"loss", times.loss * per_step},
                       {"backward", times.backward * per_step},
                       {"dense_adam", times.dense * per_step},
                       {"sparse_apply", times.sparse * per_step}};
  return {{"samples_per_s", samples / seconds},
          {"seconds", seconds},
          {"steps", steps},
          {"ms_per_step", 1e3 * seconds / static_cast<double>(steps)},
          {"phase_ms_per_step", phases}};
}

json run_trainer(const data::Cache& cache, const RunSpec& r, int64_t steps) {
  auto embedding = build_embedding(cache);
  auto model = build_model(cache, r, embedding->input_dim());
  train::TrainerOptions o;
  o.batch_size = static_cast<size_t>(r.batch);
  o.epochs = 1000;  // max_steps ends the run
  o.threads = r.threads;
  o.max_steps = steps;
  o.progress = false;
  o.patience = 0;
  train::Trainer trainer(cache, model, embedding, o);
  const train::TrainResult res = trainer.fit("train", "");
  return {{"samples_per_s", res.samples / res.train_seconds},
          {"seconds", res.train_seconds},
          {"steps", res.steps},
          {"samples", res.samples}};
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
  std::string dir = "/tmp/funnel_train_bench";
  uint64_t rows = 400000;
  int64_t steps = 1000000, warmup = 5;  // --budget ends the timed steps first
  double sgemm_seconds = 0.5, budget = 5.0;
  std::vector<std::string> configs = {"a", "b"};
  std::vector<int64_t> batches = {1024, 2000}, threads = {1, 2};
  bool do_sgemm = true, do_trainer = true, do_loop = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + ": missing value");
      return argv[++i];
    };
    try {
      if (a == "--dir") dir = value();
      else if (a == "--rows") rows = std::stoull(value());
      else if (a == "--steps") steps = std::stoll(value());
      else if (a == "--warmup") warmup = std::stoll(value());
      else if (a == "--seconds") sgemm_seconds = std::stod(value());
      else if (a == "--budget") budget = std::stod(value());
      else if (a == "--towers") configs = bench::option_list(value());
      else if (a == "--batches") batches = bench::option_ints(value());
      else if (a == "--threads") threads = bench::option_ints(value());
      else if (a == "--no-sgemm") do_sgemm = false;
      else if (a == "--no-trainer") do_trainer = false;
      else if (a == "--no-loop") do_loop = false;
      else throw std::runtime_error("unknown option " + a);
    } catch (const std::exception& e) {
      std::fprintf(stderr,
                   "train_bench: %s\nusage: train_bench [--dir DIR] [--rows N] [--steps N] "
                   "[--warmup N] [--towers a,b] [--batches 1024,2000] [--threads 1,2] "
                   "[--seconds S] [--budget S] [--no-sgemm] [--no-trainer] [--no-loop]\n",
                   e.what());
      return 2;
    }
  }
  try {
    json out;
    out["machine"] = {{"cpu", cpu_model()},
                      {"hardware_threads", std::thread::hardware_concurrency()},
                      {"torch_version", TORCH_VERSION}};
    json data_info;
    const std::string cache_dir = prepare_cache(dir, rows, data_info);
    const data::Cache cache(cache_dir);
    uint64_t vocab_total = 0;
    for (uint64_t v : cache.vocab_sizes()) vocab_total += v;
    data_info["cache"] = cache_dir;
    data_info["rows"] = cache.split("train").rows();
    data_info["fields"] = cache.vocab_sizes().size();
    data_info["vocab_sizes"] = cache.vocab_sizes();
    data_info["vocab_total"] = vocab_total;
    data_info["embedding_dim"] = kEmbeddingDim;
    {
      const uint8_t* labels = cache.split("train").labels();
      const uint64_t n = cache.split("train").rows();
      uint64_t clicks = 0, buys = 0;
      for (uint64_t i = 0; i < n; ++i) {
        clicks += labels[2 * i];
        buys += labels[2 * i + 1];
      }
      data_info["ctr"] = double(clicks) / double(n);
      data_info["ctcvr"] = double(buys) / double(n);
    }
    out["data"] = data_info;
    const int64_t input_dim = kEmbeddingDim * static_cast<int64_t>(cache.vocab_sizes().size());

    json model_info;
    for (const auto& c : configs) {
      const double macs = 2 * tower_macs(input_dim, towers_of(c));  // two towers
      model_info[c] = {{"towers", towers_of(c)},
                       {"input_dim", input_dim},
                       {"macs_per_sample", macs},
                       {"flop_per_sample_fwd_bwd", 3 * 2 * macs}};
    }
    out["model"] = model_info;

    if (do_sgemm) {
      for (int64_t th : threads) {
        torch::set_num_threads(static_cast<int>(th));
        out["sgemm_gflops"]["threads" + std::to_string(th)] =
            measure_sgemm(batches, input_dim, towers_of("b"), sgemm_seconds);
        std::fprintf(stderr, "sgemm threads %ld: %s\n", static_cast<long>(th),
                     out["sgemm_gflops"]["threads" + std::to_string(th)].dump().c_str());
      }
    }

    json runs = json::array();
    for (const auto& c : configs) {
      for (int64_t b : batches) {
        for (int64_t th : threads) {
          const RunSpec r{c, b, static_cast<int>(th)};
          json e = {{"towers", c}, {"batch", b}, {"threads", th}};
          int64_t trainer_steps = steps + warmup;
          if (do_loop) {
            e["loop"] = run_loop(cache, r, steps, warmup, budget);
            // The trainer runs about as long as the loop did (it cannot stop on time).
            const double rate = e["loop"]["samples_per_s"].get<double>();
            trainer_steps = std::clamp<int64_t>(
                static_cast<int64_t>(rate * budget / static_cast<double>(b)), 10, steps + warmup);
          }
          if (do_trainer) e["trainer"] = run_trainer(cache, r, trainer_steps);
          const double flop = model_info[c]["flop_per_sample_fwd_bwd"].get<double>();
          for (const char* k : {"loop", "trainer"}) {
            if (!e.contains(k)) continue;
            const double gflops = e[k]["samples_per_s"].get<double>() * flop / 1e9;
            e[k]["model_gflops"] = gflops;
            const std::string tk = "threads" + std::to_string(th);
            if (out.contains("sgemm_gflops") && out["sgemm_gflops"].contains(tk)) {
              const json& sg = out["sgemm_gflops"][tk];
              const std::string bk = "tower_b" + std::to_string(b);
              if (c == "b" && sg.contains(bk)) {
                e[k]["fraction_of_tower_sgemm"] = gflops / sg[bk].get<double>();
              }
              e[k]["fraction_of_mm_1024"] = gflops / sg["mm_1024"].get<double>();
            }
          }
          std::fprintf(stderr, "%s\n", e.dump().c_str());
          runs.push_back(e);
        }
      }
    }
    out["runs"] = runs;
    out["peak_rss_mb"] = peak_rss_bytes() / 1e6;
    std::printf("%s\n", out.dump(2).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
