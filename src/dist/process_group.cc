#include "dist/process_group.h"

#define USE_C10D_GLOO 1
#include <ATen/ops/empty.h>

#include <chrono>
#include <exception>
#include <numeric>
#include <thread>
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "core/error.h"

namespace funnel::dist {
namespace {

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

class GlooCommunicator final : public Communicator {
 public:
  GlooCommunicator(const c10::intrusive_ptr<c10d::Store>& store, int rank, int world_size,
                   const std::string& host, double timeout_seconds)
      : rank_(rank), world_size_(world_size) {
    auto options = c10d::ProcessGroupGloo::Options::create(to_ms(timeout_seconds));
    options->devices.push_back(is_loopback(host)
                                   ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                   : c10d::ProcessGroupGloo::createDefaultDevice());
    try {
      pg_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, options);
    } catch (const std::exception& e) {
      throw Error("rank " + std::to_string(rank) + " of " + std::to_string(world_size) +
                  ": cannot join the process group: " + what(e));
    }
  }

  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }

  void all_reduce_sum(at::Tensor& t) override {
    std::vector<at::Tensor> v{t};
    run("all-reduce", [&] { pg_->allreduce(v)->wait(); });
    ++stats_.all_reduce_calls;
    stats_.all_reduce_bytes += t.nbytes();
  }

  void all_to_all(const at::Tensor& send, const std::vector<int64_t>& send_splits, at::Tensor& recv,
                  const std::vector<int64_t>& recv_splits) override {
    check_splits(send, send_splits, recv_splits, world_size_);
    std::vector<int64_t> shape = send.sizes().vec();
    shape[0] = std::accumulate(recv_splits.begin(), recv_splits.end(), int64_t{0});
    recv = at::empty(shape, send.options());
    at::Tensor in = send;
    std::vector<int64_t> out_splits = recv_splits, in_splits = send_splits;
    run("all-to-all", [&] { pg_->alltoall_base(recv, in, out_splits, in_splits)->wait(); });
    ++stats_.all_to_all_calls;
    const int64_t row_bytes = send.size(0) ? send.nbytes() / send.size(0) : 0;
    stats_.all_to_all_bytes += (send.size(0) - send_splits[rank_]) * row_bytes;
  }

  void broadcast(at::Tensor& t, int root) override {
    std::vector<at::Tensor> v{t};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    run("broadcast", [&] { pg_->broadcast(v, o)->wait(); });
    ++stats_.other_calls;
    if (rank_ == root) stats_.other_bytes += t.nbytes();
  }

  std::vector<at::Tensor> all_gather(const at::Tensor& t) override {
    std::vector<std::vector<at::Tensor>> out(1);
    for (int r = 0; r < world_size_; ++r) out[0].push_back(at::empty_like(t));
    std::vector<at::Tensor> in{t};
    run("all-gather", [&] { pg_->allgather(out, in)->wait(); });
    ++stats_.other_calls;
    stats_.other_bytes += t.nbytes();
    return out[0];
  }

  void barrier() override {
    run("barrier", [&] { pg_->barrier()->wait(); });
    ++stats_.other_calls;
  }

 private:
  static std::string what(const std::exception& e) {
    if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
    return e.what();
  }

  template <typename F>
  void run(const char* name, F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      // A peer that died closes its connections; one that hangs runs into the timeout.
      throw Error("rank " + std::to_string(rank_) + " of " + std::to_string(world_size_) + ": " +
                  name + " failed (did another rank stop?): " + what(e));
    }
  }

  int rank_, world_size_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg_;
};

}  // namespace

std::unique_ptr<Communicator> connect_gloo(const GlooOptions& o) {
  FUNNEL_CHECK(o.world_size >= 1 && o.rank >= 0 && o.rank < o.world_size,
               "distributed: rank " << o.rank << " is not in [0, " << o.world_size << ")");
  FUNNEL_CHECK(o.timeout_seconds > 0, "distributed: timeout must be > 0 s");
  c10d::TCPStoreOptions so;
  so.port = o.port;
  so.isServer = o.rank == 0 && o.rank0_hosts_store;
  so.numWorkers = o.world_size;
  so.waitWorkers = false;
  so.timeout = to_ms(o.timeout_seconds);
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(o.host, so);
  } catch (const std::exception& e) {
    const auto* c = dynamic_cast<const c10::Error*>(&e);
    throw Error("rank " + std::to_string(o.rank) + ": cannot reach the master " + o.host + ":" +
                std::to_string(o.port) + ": " + (c ? c->what_without_backtrace() : e.what()));
  }
  return std::make_unique<GlooCommunicator>(store, o.rank, o.world_size, o.host, o.timeout_seconds);
}

std::vector<std::unique_ptr<Communicator>> in_process_gloo(int world_size, double timeout_seconds) {
  auto store = c10::make_intrusive<c10d::HashStore>();
  std::vector<std::unique_ptr<Communicator>> comms(world_size);
  std::vector<std::exception_ptr> errors(world_size);
  std::vector<std::thread> threads;
  // The process groups meet each other while being constructed: one thread each.
  for (int r = 0; r < world_size; ++r) {
    threads.emplace_back([&, r] {
      try {
        comms[r] =
            std::make_unique<GlooCommunicator>(store, r, world_size, "127.0.0.1", timeout_seconds);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return comms;
}

struct StoreServer::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
};

StoreServer::StoreServer(const std::string& host, int world_size, double timeout_seconds)
    : impl_(std::make_unique<Impl>()) {
  c10d::TCPStoreOptions so;
  so.port = 0;  // a free port, chosen by the kernel
  so.isServer = true;
  so.numWorkers = world_size;
  so.waitWorkers = false;
  so.timeout = to_ms(timeout_seconds);
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>(host, so);
  } catch (const std::exception& e) {
    const auto* c = dynamic_cast<const c10::Error*>(&e);
    throw Error("cannot start the rendezvous store on " + host + ": " +
                (c ? c->what_without_backtrace() : e.what()));
  }
}

StoreServer::~StoreServer() = default;

uint16_t StoreServer::port() const { return impl_->store->getPort(); }

}  // namespace funnel::dist
