#pragma once
// The model interface and the registry of models. A model maps the dense input row
// (concatenated field embeddings and normalised numerics, built by FeatureEmbedding) to a
// FunnelOutput. Models are composed from the shared blocks in model/blocks/.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/nn/module.h>

#include "model/funnel_output.h"
#include "model/funnel_spec.h"

namespace funnel::model {

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
