#pragma once
// The model interface and the registry of models. A model maps a batch's ModelInput (the
// dense rows built by FeatureEmbedding: concatenated field embeddings and normalised
// numerics, plus the list structure for list data) to a FunnelOutput. Models are composed
// from the shared blocks in model/blocks/. Each registry entry parses its model's options
// struct (model_config.h) and builds the model from it.

#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "model/funnel_output.h"
#include "model/funnel_spec.h"
#include "model/model_config.h"
#include "model/model_input.h"

namespace funnel::model {

class FunnelModel : public torch::nn::Module {
 public:
  /// input.x: [B, input_dim] float on the model's device (a bare row tensor converts).
  virtual FunnelOutput forward(const ModelInput& input) = 0;
  virtual TrainingSpace training_space() const { return TrainingSpace::kEntireSpace; }
  /// True for models over whole lists (HEROES, the sequential baselines): the trainer and the
  /// evaluator give them batches of whole lists (data::LoaderOptions::lists), and they need
  /// ModelInput::list_offsets.
  virtual bool reads_lists() const { return false; }
  /// True for a list model with `feedback: observed`: ModelInput::feedback then holds the rows'
  /// labels, and the model reads those of a list's earlier items only (list_model.h).
  virtual bool reads_feedback() const { return false; }
};

struct ModelEntry {
  /// The registry name ("model": {"name": ...}).
  const char* name;
  /// One line for `--help` and the docs.
  const char* summary;
  /// Strict parse of the options object (null = defaults) into this model's options struct;
  /// `path` prefixes messages.
  ModelOptions (*parse)(const nlohmann::json& options, const std::string& path);
  /// Builds the model from options this entry parsed.
  std::shared_ptr<FunnelModel> (*make)(const FunnelSpec& funnel, int64_t input_dim,
                                       const ModelOptions& options);
  /// Whether the model reads one input per event tower (ModelInput::task), so that it can
  /// train with per-task embeddings (embedding.sharing = per_task).
  bool per_task_embeddings = false;
};

/// The single registry table of models (model/registry.cc).
const std::vector<ModelEntry>& model_registry();
/// Builds the model `config` names; throws funnel::Error on an invalid funnel, an input width
/// <= 0, an unknown name or options of another model.
std::shared_ptr<FunnelModel> make_model(const ModelConfig& config, const FunnelSpec& funnel,
                                        int64_t input_dim);
/// parse_model_options(name, options) then make_model: throws funnel::Error naming the known
/// models.
std::shared_ptr<FunnelModel> make_model(const std::string& name, const FunnelSpec& funnel,
                                        int64_t input_dim, const nlohmann::json& options);

}  // namespace funnel::model
