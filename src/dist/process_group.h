#pragma once
// A Communicator over LibTorch's c10d: a ProcessGroupGloo (CPU tensors over TCP) that meets
// its peers through a TCPStore. This header includes no c10d header; the process group
// lives in process_group.cc.

#include <cstdint>
#include <memory>
#include <string>

#include "dist/communicator.h"

namespace funnel::dist {

struct GlooOptions {
  int rank = 0;
  int world_size = 1;
  /// The store's address (the master); the ranks' Gloo connections use the loopback
  /// interface when this is a loopback address, else the interface of this host's name.
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  /// Rank 0 runs the store's server. False: another process does (`funnel train --workers`'
  /// parent, which holds it for its children).
  bool rank0_hosts_store = true;
  /// A collective (or the rendezvous) that waits longer than this fails with an error, so a
  /// dead or hung rank stops the others instead of hanging them.
  double timeout_seconds = 60;
};

/// Connects this process to the others (blocks until all `world_size` ranks are there or the
/// timeout passes; throws funnel::Error naming the address and rank then).
std::unique_ptr<Communicator> connect_gloo(const GlooOptions& options);

/// `world_size` communicators of one process (one per rank, over an in-memory store): for
/// tests, which drive each from its own thread.
std::vector<std::unique_ptr<Communicator>> in_process_gloo(int world_size,
                                                           double timeout_seconds = 60);

/// The server side of a TCPStore on `host`, on a free port: the rendezvous point that
/// `funnel train --workers` holds for its children.
class StoreServer {
 public:
  StoreServer(const std::string& host, int world_size, double timeout_seconds);
  ~StoreServer();
  StoreServer(const StoreServer&) = delete;
  StoreServer& operator=(const StoreServer&) = delete;
  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace funnel::dist
