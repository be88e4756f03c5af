// Metric throughput on split-sized inputs (numbers recorded in docs/metrics.md).
// Scores are distinct-ish probabilities, labels informative: P(y = 1) = 0.2 * score.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "metric/auc.h"
#include "metric/gauc.h"
#include "metric/logloss.h"
#include "metric/top_k.h"

namespace funnel::metric {
namespace {

struct Split {
  std::vector<float> scores, labels, weights;
  std::vector<uint64_t> groups;
};

const Split& split(size_t n, size_t num_groups, bool contiguous_groups) {
  static std::vector<std::pair<std::vector<size_t>, Split>> cache;
  const std::vector<size_t> id = {n, num_groups, contiguous_groups};
  for (const auto& [key, s] : cache) {
    if (key == id) return s;
  }
  cache.clear();  // keep one 10M split in memory at a time
  Rng rng(n + num_groups);
  Split s;
  s.scores.resize(n);
  s.labels.resize(n);
  s.weights.resize(n);
  s.groups.resize(n);
  for (size_t i = 0; i < n; ++i) {
    s.scores[i] = static_cast<float>(rng.uniform());
    s.labels[i] = rng.uniform() < 0.2 * s.scores[i] ? 1.0f : 0.0f;
    s.weights[i] = static_cast<float>(0.5 + rng.uniform());
    s.groups[i] = contiguous_groups ? i * num_groups / n : rng.below(num_groups);
  }
  cache.emplace_back(id, std::move(s));
  return cache.back().second;
}

void set_rows(benchmark::State& state, size_t n) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}

void BM_Auc(benchmark::State& state) {
  const size_t n = state.range(0);
  const Split& s = split(n, 1, false);
  for (auto _ : state) benchmark::DoNotOptimize(auc(s.scores.data(), s.labels.data(), n));
  set_rows(state, n);
}
BENCHMARK(BM_Auc)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);

void BM_AucWeighted(benchmark::State& state) {
  const size_t n = state.range(0);
  const Split& s = split(n, 1, false);
  for (auto _ : state) {
    benchmark::DoNotOptimize(auc(s.scores.data(), s.labels.data(), s.weights.data(), n));
  }
  set_rows(state, n);
}
BENCHMARK(BM_AucWeighted)->Arg(10'000'000)->Unit(benchmark::kMillisecond);

// Baseline the radix sort replaces: std::sort of (score, label) pairs, then the same walk.
void BM_AucStdSortBaseline(benchmark::State& state) {
  const size_t n = state.range(0);
  const Split& s = split(n, 1, false);
  for (auto _ : state) {
    std::vector<std::pair<float, float>> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = {s.scores[i], s.labels[i]};
    std::sort(v.begin(), v.end());
    double wins = 0, neg = 0, pos = 0;
    for (size_t i = 0; i < n;) {
      size_t j = i;
      double p = 0;
      for (; j < n && v[j].first == v[i].first; ++j) p += v[j].second;
      const double q = static_cast<double>(j - i) - p;
      wins += p * (neg + 0.5 * q);
      neg += q;
      pos += p;
      i = j;
    }
    benchmark::DoNotOptimize(wins / (pos * neg));
  }
  set_rows(state, n);
}
BENCHMARK(BM_AucStdSortBaseline)->Arg(10'000'000)->Unit(benchmark::kMillisecond);

// Args: rows, groups, whether a group's rows are adjacent (1) or scattered at random (0).
void BM_Gauc(benchmark::State& state) {
  const size_t n = state.range(0);
  const Split& s = split(n, state.range(1), state.range(2) != 0);
  for (auto _ : state) {
    benchmark::DoNotOptimize(gauc(s.scores.data(), s.labels.data(), s.groups.data(), n));
  }
  set_rows(state, n);
}
BENCHMARK(BM_Gauc)
    ->Args({10'000'000, 100'000, 0})
    ->Args({10'000'000, 100'000, 1})
    ->Unit(benchmark::kMillisecond);

void BM_Logloss(benchmark::State& state) {
  const size_t n = state.range(0);
  const Split& s = split(n, 1, false);
  for (auto _ : state) benchmark::DoNotOptimize(logloss(s.scores.data(), s.labels.data(), n));
  set_rows(state, n);
}
BENCHMARK(BM_Logloss)->Arg(10'000'000)->Unit(benchmark::kMillisecond);

void BM_TopKEsm2Fractions(benchmark::State& state) {
  const size_t n = state.range(0);
  const Split& s = split(n, 1, false);
  const std::vector<double> fractions(kEsm2TopFractions.begin(), kEsm2TopFractions.end());
  for (auto _ : state) {
    benchmark::DoNotOptimize(top_k(s.scores.data(), s.labels.data(), n, fractions));
  }
  set_rows(state, n);
}
BENCHMARK(BM_TopKEsm2Fractions)->Arg(10'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace funnel::metric

BENCHMARK_MAIN();
