#include "dist/communicator.h"

#include <ATen/ops/empty.h>

#include <numeric>

#include "core/error.h"

namespace funnel::dist {

void check_splits(const at::Tensor& send, const std::vector<int64_t>& send_splits,
                  const std::vector<int64_t>& recv_splits, int world_size) {
  FUNNEL_CHECK(static_cast<int>(send_splits.size()) == world_size &&
                   static_cast<int>(recv_splits.size()) == world_size,
               "all_to_all: " << send_splits.size() << " send and " << recv_splits.size()
                              << " receive splits for " << world_size << " ranks");
  const int64_t total = std::accumulate(send_splits.begin(), send_splits.end(), int64_t{0});
  FUNNEL_CHECK(send.dim() >= 1 && send.size(0) == total, "all_to_all: the send splits add up to "
                                                             << total << " rows, the tensor has "
                                                             << (send.dim() ? send.size(0) : 0));
  FUNNEL_CHECK(send.is_contiguous() && send.device().is_cpu(),
               "all_to_all: the send tensor must be contiguous and on the CPU");
}

void LocalCommunicator::all_to_all(const at::Tensor& send, const std::vector<int64_t>& send_splits,
                                   at::Tensor& recv, const std::vector<int64_t>& recv_splits) {
  check_splits(send, send_splits, recv_splits, 1);
  FUNNEL_CHECK(recv_splits[0] == send_splits[0],
               "all_to_all: one rank sends " << send_splits[0] << " rows to itself and expects "
                                             << recv_splits[0]);
  recv = send.clone();
}

std::vector<at::Tensor> LocalCommunicator::all_gather(const at::Tensor& t) { return {t.clone()}; }

}  // namespace funnel::dist
