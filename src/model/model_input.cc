#include "model/model_input.h"

#include "core/error.h"

namespace funnel::model {

ModelInput model_input(const data::Batch& batch, const torch::Tensor& x, bool feedback) {
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
  if (!batch.list_offsets.empty()) {
    FUNNEL_CHECK(batch.list_offsets.back() == batch.size,
                 "model input: list offsets end at " << batch.list_offsets.back() << ", not at the "
                                                     << batch.size << " rows of the batch");
    in.list_offsets =
        torch::from_blob(const_cast<uint64_t*>(batch.list_offsets.data()),
                         {static_cast<int64_t>(batch.list_offsets.size())}, torch::kInt64)
            .to(x.device(), torch::kInt64, /*non_blocking=*/false, /*copy=*/true);
  }
  if (feedback) {
    FUNNEL_CHECK(batch.labels.size() == batch.num_events * batch.size,
                 "model input: observed feedback needs the batch's labels");
    in.feedback = torch::from_blob(const_cast<float*>(batch.labels.data()),
                                   {static_cast<int64_t>(batch.num_events), n}, torch::kFloat32)
                      .t()
                      .to(x.device(), x.scalar_type(), /*non_blocking=*/false, /*copy=*/true)
                      .contiguous();
  }
  return in;
}

}  // namespace funnel::model
