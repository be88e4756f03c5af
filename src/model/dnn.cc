#include "model/dnn.h"

#include <torch/nn/module.h>

namespace funnel::model {

std::shared_ptr<FunnelModel> make_dnn(const FunnelSpec& funnel, int64_t input_dim,
                                      const nlohmann::json& options) {
  return std::make_shared<DnnModel>(funnel, input_dim, EsmmOptions::from_json(options));
}

}  // namespace funnel::model
