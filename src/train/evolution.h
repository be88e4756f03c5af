#pragma once
// AutoHERI's evolutionary variant (Wei et al., CIKM 2021, Table 3 "evolutionary"): regularised
// evolution (Real et al., AAAI 2019, "aging evolution") over binary connection masks z of the
// same candidate edge groups as the one-shot search. Every candidate is trained from scratch
// for a short budget and its fitness is the validation CVR AUC:
//
//   population <- `population` random masks, each trained and scored
//   repeat `cycles` times:
//     sample <- `sample_size` members drawn uniformly (without replacement)
//     parent <- the fittest of the sample (ties to the older)
//     child  <- parent with exactly one candidate connection bit flipped
//     train and score child; append it; remove the OLDEST member (not the worst)
//
// The best candidate ever scored is the result, written as an ordinary architecture
// (arch.json; `funnel train --arch` retrains it). The fitness function is injected, so the
// evolution logic is testable without training (tests/train/evolution_test.cc).

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "model/autoheri.h"
#include "model/autoheri_arch.h"
#include "model/feature_embedding.h"
#include "train/search.h"
#include "train/search_options.h"
#include "train/trainer.h"

namespace funnel::data {
class Cache;
}

namespace funnel::train {

/// One candidate connection: edge group `edge`, source layer `i`, target layer `j` (0-based).
struct ArchBit {
  size_t edge = 0;
  size_t i = 0;
  size_t j = 0;
};
/// The candidate connections of `arch`'s edge groups under its scheme, in edge, i, j order.
std::vector<ArchBit> candidate_bits(const model::AutoHeriArch& arch);
/// z of one bit.
uint8_t bit_value(const model::AutoHeriArch& arch, const ArchBit& b);
/// A copy of `arch` with every candidate bit on with probability `density` (alpha dropped).
model::AutoHeriArch random_mask(const model::AutoHeriArch& templ, double density, Rng& rng);
/// A copy of `parent` with exactly one uniformly drawn candidate bit flipped (alpha dropped);
/// the index into candidate_bits() goes to `*flipped` when not null.
model::AutoHeriArch mutate_one_bit(const model::AutoHeriArch& parent, Rng& rng,
                                   size_t* flipped = nullptr);
/// The mask as a string of 0/1 over candidate_bits() (compact log form and identity).
std::string mask_string(const model::AutoHeriArch& arch);

struct EvolutionCandidate {
  int64_t id = 0;        ///< 0, 1, ... in order of creation (= age)
  int64_t parent = -1;   ///< id of the parent (-1 for the initial random masks)
  int64_t flipped = -1;  ///< index into candidate_bits() of the flipped bit (-1: random)
  model::AutoHeriArch arch;
  double fitness = 0;    ///< validation CVR AUC after the budget
  double seconds = 0;    ///< training and scoring time of this candidate
  nlohmann::json detail; ///< whatever the fitness function reported (validation metrics)
};

struct EvolutionResult {
  EvolutionCandidate best;
  /// Every candidate in order of creation.
  std::vector<EvolutionCandidate> history;
  int64_t candidates_trained = 0;
  double search_seconds = 0;
};

class RegularizedEvolution {
 public:
  /// Returns the fitness of a mask (higher is better) and may fill `detail`.
  using Fitness = ArchFitness;

  /// `templ` gives the funnel, towers, scheme, skip and edge groups (its z is ignored).
  RegularizedEvolution(model::AutoHeriArch templ, EvolutionOptions options, Fitness fitness);

  /// Runs the whole evolution. When `history_file` is not empty, appends one JSON line per
  /// candidate to it as soon as it is scored (see docs/autoheri.md, "Evolutionary variant").
  EvolutionResult run(const std::string& history_file = "");

  /// One step each, for tests: fills the initial population / breeds one child.
  void initialize();
  const EvolutionCandidate& cycle();

  /// The living members, oldest first.
  const std::deque<EvolutionCandidate>& population() const { return population_; }
  const std::vector<EvolutionCandidate>& history() const { return history_; }
  /// History line of a candidate.
  static nlohmann::json to_json(const EvolutionCandidate& c, double best_so_far);

 private:
  const EvolutionCandidate& score(model::AutoHeriArch arch, int64_t parent, int64_t flipped);

  model::AutoHeriArch templ_;
  EvolutionOptions options_;
  Fitness fitness_;
  Rng rng_;
  std::deque<EvolutionCandidate> population_;
  std::vector<EvolutionCandidate> history_;
  std::function<void(const EvolutionCandidate&)> on_scored_;
};

/// The fitness of the paper's variant: trains `arch` from scratch with train_fixed_arch and
/// options.candidate_training(train) on `train_split` and returns the best validation CVR AUC
/// on `validation_split`; `detail` gets {"validation", "steps", "train_seconds"}.
RegularizedEvolution::Fitness make_training_fitness(
    const data::Cache& cache, const model::AutoHeriOptions& model_options,
    const model::FeatureEmbeddingOptions& embedding_options, const EvolutionOptions& options,
    const TrainerOptions& train, const std::string& train_split,
    const std::string& validation_split);

}  // namespace funnel::train
