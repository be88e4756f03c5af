// Sparse step throughput: 18 single-valued fields x batch 2000 x dim 16 over one 500k-row
// vocabulary with Zipf(1.05)-distributed ids (hot ids scattered over the table).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>
#include <vector>

#include "core/rng.h"
#include "embed/embedding_table.h"

namespace funnel::embed {
namespace {

constexpr uint32_t kVocab = 500'000;
constexpr uint32_t kDim = 16;
constexpr size_t kBatch = 2000;
constexpr size_t kFields = 18;
constexpr size_t kBatches = 32;  // distinct pre-generated batches, cycled

// ids[batch][field] -> kBatch ids.
struct Workload {
  std::vector<std::vector<std::vector<uint32_t>>> ids;
  std::vector<float> grad = std::vector<float>(kBatch * kDim * kFields);
  std::vector<float> out = std::vector<float>(kBatch * kDim * kFields);
  double unique_rows_per_batch = 0;  // distinct ids per field, summed over fields
};

const Workload& workload() {
  static const Workload w = [] {
    Workload w;
    std::vector<double> cdf(kVocab);
    double total = 0;
    for (uint32_t r = 0; r < kVocab; ++r) cdf[r] = total += 1.0 / std::pow(r + 1.0, 1.05);
    std::vector<uint32_t> perm(kVocab);
    std::iota(perm.begin(), perm.end(), 0u);
    Rng rng(1);
    rng.shuffle(perm.begin(), perm.end());
    w.ids.resize(kBatches);
    for (auto& batch : w.ids) {
      batch.resize(kFields);
      for (auto& field : batch) {
        field.resize(kBatch);
        for (auto& id : field) {
          const double u = rng.uniform() * total;
          const auto rank =
              static_cast<uint32_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
          id = perm[std::min(rank, kVocab - 1)];
        }
      }
    }
    for (const auto& batch : w.ids) {
      for (const auto& field : batch) {
        w.unique_rows_per_batch += std::unordered_set<uint32_t>(field.begin(), field.end()).size();
      }
    }
    w.unique_rows_per_batch /= kBatches;
    for (auto& g : w.grad) g = static_cast<float>(rng.uniform() - 0.5) * 1e-3f;
    return w;
  }();
  return w;
}

SparseInput field_input(const std::vector<uint32_t>& ids) {
  SparseInput in;
  in.ids = ids.data();
  in.num_ids = ids.size();
  in.batch_size = ids.size();
  return in;
}

TableOptions options_for(int kind) {
  TableOptions o;
  if (kind == 1) o.optimizer = AdagradOptions{};
  if (kind == 2) o.optimizer = SgdOptions{};
  return o;
}

// Gathers all fields into one [batch, 18 * 16] buffer and applies slices of one gradient.
void BM_LookupApply(benchmark::State& state) {
  const Workload& w = workload();
  EmbeddingTable table(kVocab, kDim, options_for(static_cast<int>(state.range(0))));
  Workload scratch = w;
  size_t i = 0;
  for (auto _ : state) {
    const auto& batch = w.ids[i++ % kBatches];
    for (size_t f = 0; f < kFields; ++f) {
      table.lookup_into(field_input(batch[f]), scratch.out.data() + f * kDim, kFields * kDim);
    }
    benchmark::DoNotOptimize(scratch.out.data());
    for (size_t f = 0; f < kFields; ++f) {
      table.apply_gradients(field_input(batch[f]), w.grad.data() + f * kDim, kFields * kDim);
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetLabel(state.range(0) == 0 ? "adam" : state.range(0) == 1 ? "adagrad" : "sgd");
}
BENCHMARK(BM_LookupApply)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

void BM_Lookup(benchmark::State& state) {
  const Workload& w = workload();
  EmbeddingTable table(kVocab, kDim);
  Workload scratch = w;
  size_t i = 0;
  for (auto _ : state) {
    const auto& batch = w.ids[i++ % kBatches];
    for (size_t f = 0; f < kFields; ++f) {
      table.lookup_into(field_input(batch[f]), scratch.out.data() + f * kDim, kFields * kDim);
    }
    benchmark::DoNotOptimize(scratch.out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_Lookup)->Unit(benchmark::kMillisecond);

void BM_Apply(benchmark::State& state) {
  const Workload& w = workload();
  EmbeddingTable table(kVocab, kDim);
  size_t i = 0;
  for (auto _ : state) {
    const auto& batch = w.ids[i++ % kBatches];
    for (size_t f = 0; f < kFields; ++f) {
      table.apply_gradients(field_input(batch[f]), w.grad.data() + f * kDim, kFields * kDim);
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["unique_rows"] = w.unique_rows_per_batch;
}
BENCHMARK(BM_Apply)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace funnel::embed

BENCHMARK_MAIN();
