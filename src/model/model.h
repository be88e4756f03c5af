#pragma once
// The model interface and the registry of models. A model maps the dense input row
// (concatenated field embeddings and normalised numerics, built by FeatureEmbedding) to a
// FunnelOutput. Models are composed from the shared blocks in model/blocks/.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/nn/module.h>

#include "data/layout.h"
#include "model/funnel_output.h"

namespace funnel::model {

/// The funnel a model is built for (from the data schema).
struct FunnelSpec {
  std::vector<std::string> events;  // e.g. click, purchase
  std::vector<int> parents;         // per event, -1 for the first

  /// The events and parents of a data layout.
  static FunnelSpec from_layout(const data::Layout& layout);
  size_t num_events() const { return events.size(); }
  /// Throws funnel::Error unless there is at least one event, one parent per event, and
  /// every parent is -1 or an earlier event.
  void validate() const;
};

/// How the trainer must treat a model. Everything else goes through FunnelOutput.
enum class TrainingSpace {
  /// Every event's loss over all impressions (ESMM and the entire-space family).
  kEntireSpace,
  /// Click-space baseline (DNN): the first event on all impressions, each later event's
  /// conditional only on rows where its parent event happened.
  kClickSpace,
};

class FunnelModel : public torch::nn::Module {
 public:
  /// x: [B, input_dim] float on the model's device.
  virtual FunnelOutput forward(const torch::Tensor& x) = 0;
  virtual TrainingSpace training_space() const { return TrainingSpace::kEntireSpace; }
};

using ModelFactory = std::shared_ptr<FunnelModel> (*)(const FunnelSpec& funnel, int64_t input_dim,
                                                      const nlohmann::json& options);

struct ModelEntry {
  const char* name;
  ModelFactory make;
  const char* summary;
};

/// The single registry table of models (model/registry.cc).
const std::vector<ModelEntry>& model_registry();
/// Builds a model by registry name; throws funnel::Error naming the known models.
std::shared_ptr<FunnelModel> make_model(const std::string& name, const FunnelSpec& funnel,
                                        int64_t input_dim, const nlohmann::json& options);

}  // namespace funnel::model
