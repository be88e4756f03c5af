#pragma once
// The "search" and "evolution" sections of an experiment (AutoHERI's one-shot search and its
// evolutionary variant, docs/autoheri.md), declared once with their defaults, parsed strictly
// and written back resolved. No LibTorch here.

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "model/autoheri_arch.h"
#include "model/funnel_spec.h"
#include "train/trainer_options.h"

namespace funnel::train {

/// The "search" section. The Theta side is the "train" section (TrainerOptions: batch_size,
/// epochs, lr, weight_decay, seed, threads, max_steps counted in iterations, eval_every_steps,
/// loss weights and stop-gradient).
struct SearchOptions {
  /// Adam learning rate of the alpha logits. Adam moves a logit by about lr per step, so a
  /// search of a few hundred iterations needs ~0.05 to reach decisions (docs/autoheri.md).
  double alpha_lr = 0.05;
  /// Adam weight decay of the alpha logits.
  double alpha_weight_decay = 0.0;
  /// Where alpha batches come from: "holdout" (the last holdout_fraction of the training
  /// split's rows, which Theta then never sees) or another cache split ("validation", "test").
  std::string alpha_split = "holdout";
  /// Fraction of the training split held out for alpha when alpha_split is "holdout".
  double holdout_fraction = 0.1;
  /// Loss of the alpha step. kEntireSpace: eq. 3 as written, the funnel loss of eq. 2 / 4
  /// on every held-out impression. kClickSpace: each post-click event's conditional
  /// cross-entropy on the held-out rows where its parent happened (FunnelLoss, click space),
  /// i.e. alpha is judged by the CVR it gives; the first event's term does not depend on
  /// alpha (no edge enters the first tower), so only the later events' terms differ.
  model::TrainingSpace alpha_space = model::TrainingSpace::kEntireSpace;
  /// How z is derived from the final alpha.
  model::DeriveOptions derive;
  /// After the search, choose how many of the derived connections to keep on the validation
  /// split (validate_derivation): k derived connections cost k + 1 trainings from scratch.
  bool validate = false;
  /// Write alpha to the trajectory log every N iterations (and at the start and the end).
  int64_t alpha_log_every = 10;

  /// Strict parse of the "search" object (null = defaults).
  static SearchOptions from_json(const nlohmann::json& j, const std::string& path = "search");
  /// Every key from_json reads, resolved.
  nlohmann::json to_json() const;
};

struct EvolutionOptions {
  /// Members alive at any time (the first `population` candidates are random masks).
  int population = 8;
  /// Members drawn per cycle; the fittest of them is mutated (tournament).
  int sample_size = 3;
  /// Children bred after the initial population (total candidates = population + cycles).
  int cycles = 16;
  /// Training steps per candidate (the trainer's max_steps; 0 = the train section's epochs).
  int64_t steps_per_candidate = 200;
  /// Seed of the initial masks and the tournament draws (training uses train.seed).
  uint64_t seed = 1;
  /// Probability that a candidate connection is on in an initial random mask.
  double init_density = 0.5;

  /// The training of one candidate: `train` (the "train" section) with max_steps =
  /// steps_per_candidate when > 0, no progress line, and no early stopping or intermediate
  /// evaluation inside the budget (fitness = validation cvr.auc at its end).
  TrainerOptions candidate_training(const TrainerOptions& train) const;

  /// Strict parse of the "evolution" object (null = defaults).
  static EvolutionOptions from_json(const nlohmann::json& j, const std::string& path = "evolution");
  /// Every key from_json reads, resolved.
  nlohmann::json to_json() const;
};

}  // namespace funnel::train
