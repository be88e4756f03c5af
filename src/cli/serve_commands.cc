// funnel serve: the HTTP scoring service (docs/serving.md).

#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <torch/utils.h>

#include "cli/commands.h"
#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "serve/http_server.h"
#include "serve/service.h"

namespace funnel::cli {
namespace {

struct ServeArgs {
  std::vector<std::string> bundles;
  serve::ServerOptions server;
  size_t max_items = 1000;
  std::string port_file;
};

/// "NAME=PATH" or "PATH" (named after the bundle's run folder, e.g. run_esmm).
std::pair<std::string, std::string> named_bundle(const std::string& arg) {
  const size_t eq = arg.find('=');
  if (eq != std::string::npos && eq > 0) return {arg.substr(0, eq), arg.substr(eq + 1)};
  std::filesystem::path p(arg);
  std::string name = p.parent_path().filename().string();
  if (name.empty() || name == ".") name = p.stem().string();
  return {name, arg};
}

void serve(const ServeArgs& args) {
  std::vector<std::pair<std::string, std::string>> bundles;
  for (const auto& b : args.bundles) {
    auto nb = named_bundle(b);
    FUNNEL_CHECK(path_exists(nb.second), "--bundle " << b << ": no such file");
    bundles.push_back(nb);
  }
  // One intra-op thread per request: the server's threads serve requests side by side.
  torch::set_num_threads(1);
  // Signals: SIGINT / SIGTERM stop the server from a thread that waits for them (never from a
  // signal handler); a client closing its socket early must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // inherited by every thread from here

  serve::ServerMetrics metrics;
  serve::ScoringService::Options so;
  so.max_items = args.max_items;
  serve::ScoringService service(bundles, so, &metrics);
  serve::HttpServer server(service, metrics, args.server);
  server.bind();
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    log_info(std::string("funnel serve: ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
             ", finishing the requests in flight");
    server.stop();
  });
  std::string names;
  for (const auto& [n, p] : bundles) names += (names.empty() ? "" : ", ") + n;
  std::printf("serving %s on %s (POST /v1/score, GET /v1/models, /metrics)\n", names.c_str(),
              server.url().c_str());
  std::fflush(stdout);
  if (!args.port_file.empty()) {
    write_text_file_atomic(args.port_file, server.url().substr(server.url().rfind(':') + 1) + "\n");
  }
  // A long-running server gives memory back. main() tunes glibc for training (blocks up to
  // 256 MB from the heap and no trim below 1 GB of slack, so that a training's large batches
  // reuse the heap: kept, it is the fast path here too); under load the bodies, answers and
  // tensors of large requests then raised the heap's high-water mark once and it stayed (RSS
  // +6 % in a 10-minute run, docs/serving_benchmark.md). Every 10 s the free parts of the heap
  // are returned to the system. (A 128 KiB mmap threshold instead kept RSS flat too but made
  // 1,000-item requests ~3x slower: every large buffer mapped and unmapped.)
  std::atomic<bool> stopped{false};
  std::thread trimmer([&] {
    for (int tick = 1; !stopped; ++tick) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
#ifdef __GLIBC__
      if (tick % 100 == 0) malloc_trim(0);
#endif
    }
  });
  server.run();
  stopped = true;
  trimmer.join();
  // Stopped by a signal, or by the server itself: wake the waiter if it still waits.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  log_info("funnel serve: stopped");
}

}  // namespace

void add_serve_commands(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd =
      app.add_subcommand("serve", "Serve bundles over HTTP: POST /v1/score (docs/serving.md)");
  cmd->add_option("--bundle", args->bundles,
                  "RUN_DIR/model.bundle, or NAME=PATH (repeatable: several models)")
      ->required();
  cmd->add_option("--host", args->server.host, "Address to listen on (default 127.0.0.1)");
  cmd->add_option("--port", args->server.port, "Port (default 8080; 0 = any free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--threads", args->server.threads, "Worker threads (default 2)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--queue", args->server.queue,
                  "Connections waiting for a worker at most; more get 503 (default 64)");
  cmd->add_option("--max-items", args->max_items, "Items per request at most (default 1000)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--max-body-bytes", args->server.max_body_bytes,
                  "Request body size at most (default 1 MiB)");
  cmd->add_option("--read-timeout", args->server.read_timeout_seconds,
                  "Seconds to wait for a request's bytes (default 5)")
      ->check(CLI::Range(1, 3600));
  cmd->add_flag("--watch", args->server.watch,
                "Reload a bundle when its file changes (checked every second)");
  cmd->add_option("--port-file", args->port_file, "Write the port listened on to this file");
  cmd->callback([args] { serve(*args); });
}

}  // namespace funnel::cli
