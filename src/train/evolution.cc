#include "train/evolution.h"

#include <algorithm>
#include <fstream>
#include <memory>

#include "core/error.h"
#include "core/json_fields.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/stopwatch.h"
#include "data/cache.h"
#include "train/search.h"

namespace funnel::train {

std::vector<ArchBit> candidate_bits(const model::AutoHeriArch& arch) {
  const size_t L = arch.num_layers();
  std::vector<ArchBit> bits;
  for (size_t k = 0; k < arch.edges.size(); ++k) {
    for (size_t i = 0; i < L; ++i) {
      for (size_t j = 0; j < L; ++j) {
        if (model::is_candidate(arch.scheme, i, j)) bits.push_back({k, i, j});
      }
    }
  }
  return bits;
}

namespace {

uint8_t& bit_ref(model::AutoHeriArch& arch, const ArchBit& b) {
  auto& z = arch.edges.at(b.edge).z;
  const size_t L = arch.num_layers();
  if (z.size() != L * L) z.assign(L * L, 0);
  return z.at(b.i * L + b.j);
}

/// A copy without alpha and with a well-formed z (for masks made by the evolution).
model::AutoHeriArch bare_copy(const model::AutoHeriArch& a) {
  model::AutoHeriArch c = a;
  c.derived_by.clear();
  const size_t L = c.num_layers();
  for (auto& e : c.edges) {
    e.alpha.clear();
    if (e.z.size() != L * L) e.z.assign(L * L, 0);
  }
  return c;
}

}  // namespace

uint8_t bit_value(const model::AutoHeriArch& arch, const ArchBit& b) {
  const auto& z = arch.edges.at(b.edge).z;
  const size_t L = arch.num_layers();
  return z.size() == L * L ? z[b.i * L + b.j] : 0;
}

model::AutoHeriArch random_mask(const model::AutoHeriArch& templ, double density, Rng& rng) {
  model::AutoHeriArch a = bare_copy(templ);
  for (const ArchBit& b : candidate_bits(a)) bit_ref(a, b) = rng.uniform() < density ? 1 : 0;
  return a;
}

model::AutoHeriArch mutate_one_bit(const model::AutoHeriArch& parent, Rng& rng, size_t* flipped) {
  model::AutoHeriArch a = bare_copy(parent);
  const std::vector<ArchBit> bits = candidate_bits(a);
  FUNNEL_CHECK(!bits.empty(), "evolution: the architecture has no candidate connections");
  const size_t k = static_cast<size_t>(rng.below(bits.size()));
  uint8_t& v = bit_ref(a, bits[k]);
  v = v ? 0 : 1;
  if (flipped) *flipped = k;
  return a;
}

std::string mask_string(const model::AutoHeriArch& arch) {
  std::string s;
  for (const ArchBit& b : candidate_bits(arch)) s += bit_value(arch, b) ? '1' : '0';
  return s;
}

RegularizedEvolution::RegularizedEvolution(model::AutoHeriArch templ, EvolutionOptions options,
                                           Fitness fitness)
    : templ_(bare_copy(templ)),
      options_(std::move(options)),
      fitness_(std::move(fitness)),
      rng_(options_.seed) {
  FUNNEL_CHECK(options_.population >= 2, "evolution.population: must be >= 2");
  FUNNEL_CHECK(options_.sample_size >= 1 && options_.sample_size <= options_.population,
               "evolution.sample_size: expected 1.." << options_.population);
  FUNNEL_CHECK(!candidate_bits(templ_).empty(),
               "evolution: the architecture has no candidate connections");
}

nlohmann::json RegularizedEvolution::to_json(const EvolutionCandidate& c, double best_so_far) {
  return {{"id", c.id},
          {"parent", c.parent},
          {"flipped", c.flipped},
          {"mask", mask_string(c.arch)},
          {"num_connections", c.arch.num_connections()},
          {"fitness", c.fitness},
          {"best_so_far", best_so_far},
          {"seconds", c.seconds},
          {"detail", c.detail}};
}

const EvolutionCandidate& RegularizedEvolution::score(model::AutoHeriArch arch, int64_t parent,
                                                      int64_t flipped) {
  EvolutionCandidate c;
  c.id = static_cast<int64_t>(history_.size());
  c.parent = parent;
  c.flipped = flipped;
  c.arch = std::move(arch);
  Stopwatch watch;
  c.fitness = fitness_(c.arch, &c.detail);
  c.seconds = watch.seconds();
  population_.push_back(c);
  history_.push_back(std::move(c));
  if (on_scored_) on_scored_(history_.back());
  return history_.back();
}

void RegularizedEvolution::initialize() {
  FUNNEL_CHECK(history_.empty(), "evolution: already initialised");
  for (int p = 0; p < options_.population; ++p) {
    score(random_mask(templ_, options_.init_density, rng_), -1, -1);
  }
}

const EvolutionCandidate& RegularizedEvolution::cycle() {
  FUNNEL_CHECK(static_cast<int>(population_.size()) == options_.population,
               "evolution: cycle() before initialize()");
  // Tournament: sample_size distinct members (partial Fisher-Yates over the indices).
  std::vector<size_t> idx(population_.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  size_t best = idx.size();
  for (int s = 0; s < options_.sample_size; ++s) {
    const size_t r = s + static_cast<size_t>(rng_.below(idx.size() - s));
    std::swap(idx[s], idx[r]);
    const size_t m = idx[s];
    // Ties go to the older member (lower index = older).
    if (best == idx.size() || population_[m].fitness > population_[best].fitness ||
        (population_[m].fitness == population_[best].fitness && m < best)) {
      best = m;
    }
  }
  const EvolutionCandidate& parent = population_[best];
  size_t flipped = 0;
  model::AutoHeriArch child = mutate_one_bit(parent.arch, rng_, &flipped);
  const int64_t parent_id = parent.id;
  const EvolutionCandidate& c = score(std::move(child), parent_id, static_cast<int64_t>(flipped));
  // Regularised ("aging") evolution: the oldest dies, whatever its fitness.
  population_.pop_front();
  return c;
}

EvolutionResult RegularizedEvolution::run(const std::string& history_file) {
  std::unique_ptr<std::ofstream> out;
  if (!history_file.empty()) {
    out = std::make_unique<std::ofstream>(history_file);
    FUNNEL_CHECK(out->good(), history_file << ": cannot open for writing");
  }
  double best_so_far = -1;
  int64_t total = options_.population + options_.cycles;
  on_scored_ = [&](const EvolutionCandidate& c) {
    best_so_far = std::max(best_so_far, c.fitness);
    if (out) *out << json_text(to_json(c, best_so_far)) << "\n" << std::flush;
    log_info("evolution candidate " + std::to_string(c.id + 1) + "/" + std::to_string(total) +
             " mask " + mask_string(c.arch) + ": fitness " + std::to_string(c.fitness) + " (best " +
             std::to_string(best_so_far) + ")");
  };
  Stopwatch watch;
  initialize();
  for (int k = 0; k < options_.cycles; ++k) cycle();
  on_scored_ = nullptr;
  EvolutionResult r;
  r.search_seconds = watch.seconds();
  r.history = history_;
  r.candidates_trained = static_cast<int64_t>(history_.size());
  // The best ever scored; ties to the earliest.
  r.best = history_.front();
  for (const auto& c : history_) {
    if (c.fitness > r.best.fitness) r.best = c;
  }
  return r;
}

RegularizedEvolution::Fitness make_training_fitness(
    const data::Cache& cache, const model::AutoHeriOptions& model_options,
    const model::FeatureEmbeddingOptions& embedding_options, const EvolutionOptions& options,
    const TrainerOptions& train, const std::string& train_split,
    const std::string& validation_split) {
  return make_fixed_arch_fitness(cache, model_options, embedding_options,
                                 options.candidate_training(train), train_split, validation_split);
}

}  // namespace funnel::train
