// AutoHERI's evolutionary variant (regularised evolution over connection masks): the mutation
// flips exactly one candidate bit, the oldest member dies, the tournament breeds from the
// fittest of its sample, and a small real run (training each mask) is deterministic by seed
// and yields a valid architecture.

#include "train/evolution.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "core/file.h"
#include "core/rng.h"
#include "data/cache.h"
#include "data/converter.h"

namespace funnel::train {
namespace {

using nlohmann::json;

model::AutoHeriArch templ(model::IntegrationScheme scheme, bool skip) {
  model::AutoHeriArch a;
  a.events = {"click", "arrive", "buy"};
  a.parents = {-1, 0, 1};
  a.towers = {8, 4, 2};
  a.scheme = scheme;
  a.skip = skip;
  a.edges = model::candidate_edges(a.funnel(), scheme, skip);
  return a;
}

int hamming(const model::AutoHeriArch& a, const model::AutoHeriArch& b) {
  int d = 0;
  for (size_t k = 0; k < a.edges.size(); ++k) {
    for (size_t x = 0; x < a.edges[k].z.size(); ++x) d += a.edges[k].z[x] != b.edges[k].z[x];
  }
  return d;
}

TEST(EvolutionTest, CandidateBitsFollowTheScheme) {
  EXPECT_EQ(candidate_bits(templ(model::IntegrationScheme::kHierarchical, false)).size(), 18u);
  EXPECT_EQ(candidate_bits(templ(model::IntegrationScheme::kHierarchical, true)).size(), 27u);
  // Parallel: 6 ordered pairs x 3 (i < j) connections.
  EXPECT_EQ(candidate_bits(templ(model::IntegrationScheme::kParallel, false)).size(), 18u);
}

TEST(EvolutionTest, MutationFlipsExactlyOneCandidateBit) {
  for (auto scheme : {model::IntegrationScheme::kHierarchical, model::IntegrationScheme::kParallel}) {
    Rng rng(3);
    model::AutoHeriArch a = random_mask(templ(scheme, false), 0.5, rng);
    const auto bits = candidate_bits(a);
    std::vector<int> hits(bits.size(), 0);
    for (int t = 0; t < 500; ++t) {
      size_t flipped = bits.size();
      const model::AutoHeriArch b = mutate_one_bit(a, rng, &flipped);
      ASSERT_LT(flipped, bits.size());
      EXPECT_EQ(hamming(a, b), 1);
      EXPECT_NE(bit_value(a, bits[flipped]), bit_value(b, bits[flipped]));
      ++hits[flipped];
      // Still a valid architecture (z = 0 off the candidates).
      EXPECT_NO_THROW(model::AutoHeriArch::from_json(b.to_json()));
      a = b;
    }
    for (size_t k = 0; k < bits.size(); ++k) EXPECT_GT(hits[k], 0) << k;
  }
}

TEST(EvolutionTest, RandomMaskDensity) {
  Rng rng(5);
  const auto t = templ(model::IntegrationScheme::kHierarchical, false);
  EXPECT_EQ(random_mask(t, 0.0, rng).num_connections(), 0u);
  EXPECT_EQ(random_mask(t, 1.0, rng).num_connections(), 18u);
}

TEST(EvolutionTest, OldestDiesAndTheFittestOfTheSampleBreeds) {
  EvolutionOptions o;
  o.population = 5;
  o.sample_size = 3;
  o.seed = 11;
  // The older, the fitter: plain (non-aging) tournament selection would never drop id 0.
  int calls = 0;
  RegularizedEvolution evo(templ(model::IntegrationScheme::kHierarchical, false), o,
                           [&calls](const model::AutoHeriArch&, json* detail) {
                             *detail = {{"call", calls}};
                             return 1.0 - 0.01 * calls++;
                           });
  evo.initialize();
  ASSERT_EQ(evo.population().size(), 5u);
  for (int c = 0; c < 12; ++c) {
    std::vector<int64_t> before;
    for (const auto& m : evo.population()) before.push_back(m.id);
    const EvolutionCandidate child = evo.cycle();
    ASSERT_EQ(evo.population().size(), 5u);
    EXPECT_EQ(child.id, 5 + c);
    // The oldest (front) is gone, whatever its fitness; the child is the youngest.
    EXPECT_EQ(evo.population().front().id, before[1]);
    EXPECT_EQ(evo.population().back().id, child.id);
    // Parent: a living member; with fitness falling by age, the fittest of any sample of 3
    // out of 5 is one of the 3 oldest.
    const auto it = std::find(before.begin(), before.end(), child.parent);
    ASSERT_NE(it, before.end());
    EXPECT_LT(it - before.begin(), 3);
    EXPECT_EQ(hamming(child.arch, evo.history().at(child.parent).arch), 1);
    EXPECT_EQ(child.detail["call"], child.id);
  }
}

TEST(EvolutionTest, RunReturnsTheBestEverAndDeterministicBySeed) {
  EvolutionOptions o;
  o.population = 4;
  o.sample_size = 2;
  o.cycles = 10;
  o.seed = 7;
  // Fitness: the number of connections (the best mask is the densest one seen).
  auto fit = [](const model::AutoHeriArch& a, json*) {
    return static_cast<double>(a.num_connections());
  };
  const auto t = templ(model::IntegrationScheme::kHierarchical, false);
  const EvolutionResult r1 = RegularizedEvolution(t, o, fit).run();
  const EvolutionResult r2 = RegularizedEvolution(t, o, fit).run();
  ASSERT_EQ(r1.history.size(), 14u);
  EXPECT_EQ(r1.candidates_trained, 14);
  for (size_t k = 0; k < r1.history.size(); ++k) {
    EXPECT_EQ(mask_string(r1.history[k].arch), mask_string(r2.history[k].arch)) << k;
  }
  for (const auto& c : r1.history) EXPECT_LE(c.fitness, r1.best.fitness);
  o.seed = 8;
  const EvolutionResult r3 = RegularizedEvolution(t, o, fit).run();
  bool differs = false;
  for (size_t k = 0; k < r1.history.size(); ++k) {
    differs |= mask_string(r1.history[k].arch) != mask_string(r3.history[k].arch);
  }
  EXPECT_TRUE(differs);
}

TEST(EvolutionTest, OptionsAreStrict) {
  TrainerOptions t;
  EXPECT_THROW(EvolutionOptions::from_json(json{{"populaton", 3}}), std::exception);
  EXPECT_THROW(EvolutionOptions::from_json(json{{"population", 3}, {"sample_size", 4}}),
               std::exception);
  const EvolutionOptions o = EvolutionOptions::from_json(
      json{{"population", 3}, {"sample_size", 2}, {"cycles", 1}, {"steps_per_candidate", 9}});
  EXPECT_EQ(o.candidate_training(t).max_steps, 9);
}

/// 3 k impressions of click -> arrive -> buy driven by user and item effects.
std::string generate_chain(const std::string& dir) {
  make_dirs(dir);
  Rng rng(23);
  const int users = 60, items = 80, n = 3000;
  std::vector<double> ua(users), ia(items);
  for (auto* v : {&ua, &ia}) {
    for (auto& x : *v) x = 1.5 * (rng.uniform() * 2 - 1);
  }
  auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
  std::string csv = "click,arrive,buy,user,item\n";
  for (int i = 0; i < n; ++i) {
    const int u = static_cast<int>(rng.below(users)), it = static_cast<int>(rng.below(items));
    const int click = rng.uniform() < sigmoid(ua[u] + ia[it]);
    const int arrive = click && rng.uniform() < sigmoid(ua[u] + 0.5);
    const int buy = arrive && rng.uniform() < sigmoid(ia[it]);
    csv += std::to_string(click) + "," + std::to_string(arrive) + "," + std::to_string(buy) +
           ",u" + std::to_string(u) + ",i" + std::to_string(it) + "\n";
  }
  write_text_file_atomic(join_path(dir, "data.csv"), csv);
  json data = {{"train", {join_path(dir, "data.csv")}},
               {"validation_ratio", 0.3},
               {"labels", {"click", "arrive", "buy"}},
               {"categorical", {"user", "item"}}};
  data::ConvertOptions co;
  co.progress = false;
  data::convert_to_cache(data::parse_data_config(data, ""), join_path(dir, "cache"), co);
  return dir;
}

TEST(EvolutionTest, SmallTrainedRunIsDeterministicAndGivesAValidArch) {
  const std::string dir = generate_chain(
      join_path(::testing::TempDir(), "funnel_evolution_" + std::to_string(::getpid())));
  const data::Cache cache(join_path(dir, "cache"));
  TrainerOptions t;
  t.batch_size = 256;
  t.progress = false;
  const EvolutionOptions o = EvolutionOptions::from_json(
      json{{"population", 3}, {"sample_size", 2}, {"cycles", 2}, {"steps_per_candidate", 6},
           {"seed", 4}});
  model::FeatureEmbeddingOptions eo;
  eo.embedding_dim = 4;
  eo.table.seed = 1;
  model::AutoHeriArch a = templ(model::IntegrationScheme::kHierarchical, false);
  a.towers = {8, 4};
  a.edges = model::candidate_edges(a.funnel(), a.scheme, a.skip);
  const model::AutoHeriOptions mo = model::AutoHeriOptions::from_json(json{{"towers", {8, 4}}});
  auto run = [&](const std::string& history) {
    return RegularizedEvolution(a, o,
                                make_training_fitness(cache, mo, eo, o, t, "train", "validation"))
        .run(history);
  };
  const std::string history = join_path(dir, "evolution.jsonl");
  const EvolutionResult r1 = run(history);
  const EvolutionResult r2 = run("");
  ASSERT_EQ(r1.history.size(), 5u);
  for (size_t k = 0; k < r1.history.size(); ++k) {
    EXPECT_EQ(mask_string(r1.history[k].arch), mask_string(r2.history[k].arch));
    EXPECT_EQ(r1.history[k].fitness, r2.history[k].fitness);
    EXPECT_GT(r1.history[k].fitness, 0.0);
    EXPECT_LT(r1.history[k].fitness, 1.0);
    EXPECT_EQ(r1.history[k].detail["steps"], 6);
  }
  // A valid architecture file that funnel train --arch reads.
  const std::string file = join_path(dir, "arch.json");
  r1.best.arch.save(file);
  const model::AutoHeriArch back = model::AutoHeriArch::load(file);
  EXPECT_EQ(mask_string(back), mask_string(r1.best.arch));
  back.check_matches(model::FunnelSpec::from_layout(cache.layout()), {8, 4});
  // The history file: one line per candidate with the best so far.
  const std::string text = read_text_file(history);
  size_t lines = 0;
  double best = -1;
  for (size_t p = 0, q; (q = text.find('\n', p)) != std::string::npos; p = q + 1, ++lines) {
    const json j = json::parse(text.substr(p, q - p));
    EXPECT_EQ(j["id"], lines);
    best = std::max(best, j["fitness"].get<double>());
    EXPECT_EQ(j["best_so_far"].get<double>(), best);
  }
  EXPECT_EQ(lines, 5u);
  EXPECT_EQ(best, r1.best.fitness);
  remove_all(dir);
}

}  // namespace
}  // namespace funnel::train
