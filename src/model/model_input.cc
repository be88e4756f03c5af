#include "model/model_input.h"

namespace funnel::model {

ModelInput model_input(const data::Batch& batch, const torch::Tensor& x) {
  ModelInput in(x);
  const auto n = static_cast<int64_t>(batch.size);
  if (batch.position.size() == batch.size && n > 0) {
    in.positions = torch::from_blob(const_cast<int32_t*>(batch.position.data()), {n}, torch::kInt32)
                       .to(x.device(), torch::kInt64);
  }
  if (batch.timestamp.size() == batch.size && n > 0) {
    in.timestamps =
        torch::from_blob(const_cast<int64_t*>(batch.timestamp.data()), {n}, torch::kInt64)
            .to(x.device(), torch::kInt64, /*non_blocking=*/false, /*copy=*/true);
  }
  return in;
}

}  // namespace funnel::model
