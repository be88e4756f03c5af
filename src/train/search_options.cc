#include "train/search_options.h"

#include <nlohmann/json.hpp>

#include "core/choice.h"
#include "core/error.h"
#include "core/json_fields.h"

namespace funnel::train {
namespace {

constexpr Choice<model::TrainingSpace> kAlphaSpaces[] = {
    {"entire", model::TrainingSpace::kEntireSpace}, {"click", model::TrainingSpace::kClickSpace}};

}  // namespace

SearchOptions SearchOptions::from_json(const nlohmann::json& j, const std::string& path) {
  SearchOptions o;
  if (j.is_null()) return o;
  JsonFields f(j, path);
  o.alpha_lr = f.get<double>("alpha_lr", o.alpha_lr);
  o.alpha_weight_decay = f.get<double>("alpha_weight_decay", o.alpha_weight_decay);
  o.alpha_split = f.get<std::string>("alpha_split", o.alpha_split);
  o.holdout_fraction = f.get<double>("holdout_fraction", o.holdout_fraction);
  o.alpha_space = parse_choice(f.get<std::string>("alpha_space", "entire"), kAlphaSpaces,
                               f.path("alpha_space"));
  o.alpha_log_every = f.get<int64_t>("alpha_log_every", o.alpha_log_every);
  o.derive = model::DeriveOptions::from_json(f.get<nlohmann::json>("derive", nlohmann::json()),
                                             f.path("derive"));
  o.validate = f.get<bool>("validate", o.validate);
  f.finish();
  FUNNEL_CHECK(o.alpha_lr > 0, f.path("alpha_lr") << ": must be > 0, got " << o.alpha_lr);
  FUNNEL_CHECK(o.alpha_weight_decay >= 0, f.path("alpha_weight_decay") << ": must be >= 0");
  FUNNEL_CHECK(o.holdout_fraction > 0 && o.holdout_fraction < 1,
               f.path("holdout_fraction") << ": expected a value in (0, 1), got "
                                          << o.holdout_fraction);
  FUNNEL_CHECK(o.alpha_log_every > 0, f.path("alpha_log_every") << ": must be > 0");
  check_choice(o.alpha_split, {"holdout", "train", "validation", "test"}, f.path("alpha_split"));
  return o;
}

nlohmann::json SearchOptions::to_json() const {
  return {{"alpha_lr", alpha_lr},
          {"alpha_weight_decay", alpha_weight_decay},
          {"alpha_split", alpha_split},
          {"holdout_fraction", holdout_fraction},
          {"alpha_space", choice_name(alpha_space, kAlphaSpaces)},
          {"alpha_log_every", alpha_log_every},
          {"derive", derive.to_json()},
          {"validate", validate}};
}

EvolutionOptions EvolutionOptions::from_json(const nlohmann::json& j, const std::string& path) {
  EvolutionOptions o;
  if (!j.is_null()) {
    JsonFields f(j, path);
    o.population = f.get<int>("population", o.population);
    o.sample_size = f.get<int>("sample_size", o.sample_size);
    o.cycles = f.get<int>("cycles", o.cycles);
    o.steps_per_candidate = f.get<int64_t>("steps_per_candidate", o.steps_per_candidate);
    o.seed = f.get<uint64_t>("seed", o.seed);
    o.init_density = f.get<double>("init_density", o.init_density);
    f.finish();
  }
  FUNNEL_CHECK(o.population >= 2, path << ".population: must be >= 2, got " << o.population);
  FUNNEL_CHECK(o.sample_size >= 1 && o.sample_size <= o.population,
               path << ".sample_size: expected 1.." << o.population << ", got " << o.sample_size);
  FUNNEL_CHECK(o.cycles >= 0, path << ".cycles: must be >= 0, got " << o.cycles);
  FUNNEL_CHECK(o.steps_per_candidate >= 0,
               path << ".steps_per_candidate: must be >= 0, got " << o.steps_per_candidate);
  FUNNEL_CHECK(o.init_density >= 0 && o.init_density <= 1,
               path << ".init_density: expected a value in [0, 1], got " << o.init_density);
  return o;
}

nlohmann::json EvolutionOptions::to_json() const {
  return {{"population", population},     {"sample_size", sample_size},
          {"cycles", cycles},             {"steps_per_candidate", steps_per_candidate},
          {"seed", seed},                 {"init_density", init_density}};
}

TrainerOptions EvolutionOptions::candidate_training(const TrainerOptions& train) const {
  TrainerOptions to = train;
  to.progress = false;
  // The budget is the step count; no early stopping inside it.
  to.patience = 0;
  to.early_stop_metric = "cvr.auc";
  to.eval_every_steps = 0;
  if (steps_per_candidate > 0) to.max_steps = steps_per_candidate;
  return to;
}

}  // namespace funnel::train
