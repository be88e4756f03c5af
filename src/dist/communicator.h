#pragma once
// The collectives a data-parallel run needs (DESIGN.md, "Scale-out path"): the trainer, the
// sharded embedding and the evaluator talk to a Communicator and never to a process group.
// LocalCommunicator is the world of one process (every call a copy or nothing); the c10d one
// (dist/process_group.h) runs the same calls over LibTorch's Gloo backend (or NCCL).
//
// Every call is collective: all ranks make it, in the same order, with matching arguments,
// or the run deadlocks until the backend's timeout ends it with an error.

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace funnel::dist {

/// Bytes and calls of the collectives so far (this rank's view: what it sent).
struct CommStats {
  uint64_t all_reduce_calls = 0, all_reduce_bytes = 0;
  uint64_t all_to_all_calls = 0, all_to_all_bytes = 0;  ///< bytes sent to the other ranks
  uint64_t other_calls = 0, other_bytes = 0;            ///< broadcast, all-gather, barrier
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;

  /// Sums a contiguous CPU tensor over the ranks, in place; every rank gets the same values
  /// (bit for bit).
  virtual void all_reduce_sum(at::Tensor& t) = 0;
  /// Variable all-to-all over dimension 0 of contiguous CPU tensors of one dtype: this rank
  /// sends rows [sum(send_splits[<r]), +send_splits[r]) of `send` to rank r and receives
  /// recv_splits[r] rows from rank r into `recv` (allocated by the call), in rank order.
  virtual void all_to_all(const at::Tensor& send, const std::vector<int64_t>& send_splits,
                          at::Tensor& recv, const std::vector<int64_t>& recv_splits) = 0;
  /// Rank `root`'s values of a contiguous CPU tensor to every rank (same shape everywhere).
  virtual void broadcast(at::Tensor& t, int root) = 0;
  /// Every rank's `t` (same shape on all ranks), in rank order.
  virtual std::vector<at::Tensor> all_gather(const at::Tensor& t) = 0;
  virtual void barrier() = 0;

  const CommStats& stats() const { return stats_; }

 protected:
  CommStats stats_;
};

/// One process: all-reduce and broadcast leave the tensor as it is, all-to-all copies.
class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  void all_reduce_sum(at::Tensor& t) override {}
  void all_to_all(const at::Tensor& send, const std::vector<int64_t>& send_splits, at::Tensor& recv,
                  const std::vector<int64_t>& recv_splits) override;
  void broadcast(at::Tensor& t, int root) override {}
  std::vector<at::Tensor> all_gather(const at::Tensor& t) override;
  void barrier() override {}
};

/// Checks the split vectors of an all_to_all call against the world and `send`; throws
/// funnel::Error with the values otherwise.
void check_splits(const at::Tensor& send, const std::vector<int64_t>& send_splits,
                  const std::vector<int64_t>& recv_splits, int world_size);

}  // namespace funnel::dist
