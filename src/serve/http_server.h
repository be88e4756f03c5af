#pragma once
// `funnel serve`'s HTTP layer (cpp-httplib): routes, limits, the bounded worker pool, reload
// and the bundle watcher, over a ScoringService (docs/serving.md).
//
//   POST /v1/score    score items          GET /v1/models   the models and their fields
//   POST /v1/reload   load bundles again   GET /healthz     200 "ok"
//   GET  /metrics     Prometheus text
//
// Limits: request bodies above max_body_bytes are refused (413), items above max_items (413);
// read and write timeouts per connection; `threads` workers serve connections and at most
// `queue` connections wait for one (a worker closes its keep-alive connection after an
// answer while others wait, so that they take turns); beyond that a connection is answered 503 with
// Retry-After by a separate thread, so an overload is refused fast instead of queueing
// without bound. Errors are JSON {"error": "..."} naming the field and the item index.

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>

#include "serve/metrics.h"
#include "serve/service.h"

namespace httplib {
class Server;
}

namespace funnel::serve {

struct ServerOptions {
  /// Loopback unless asked otherwise.
  std::string host = "127.0.0.1";
  /// 0 = any free port (bind() returns it).
  int port = 8080;
  /// Worker threads (each serves one connection at a time, and closes it after an answer
  /// while other connections wait for a worker).
  size_t threads = 2;
  /// Connections waiting for a worker at most; more are answered 503.
  size_t queue = 64;
  size_t max_body_bytes = size_t{1} << 20;
  int read_timeout_seconds = 5;
  int write_timeout_seconds = 5;
  /// Requests one keep-alive connection may send before the server closes it.
  size_t keep_alive_max = 100;
  /// Poll the bundle files and reload the ones that change (every watch_ms).
  bool watch = false;
  int watch_ms = 1000;
};

class HttpServer {
 public:
  HttpServer(ScoringService& service, ServerMetrics& metrics, ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds the listening socket; returns the port. Throws funnel::Error when it cannot.
  int bind();
  /// Serves until stop(); returns after the requests in flight and the queued connections
  /// are answered.
  void run();
  /// Stops accepting (thread-safe; also from a signal-waiting thread).
  void stop();
  std::string url() const;

 private:
  void routes();

  ScoringService& service_;
  ServerMetrics& metrics_;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  /// Connections waiting for a worker (kept by the pool).
  std::shared_ptr<std::atomic<size_t>> waiting_ = std::make_shared<std::atomic<size_t>>(0);
  std::atomic<bool> stopping_{false};
  std::thread watcher_;
};

}  // namespace funnel::serve
