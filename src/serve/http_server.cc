#include "serve/http_server.h"

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "core/error.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/stopwatch.h"

namespace funnel::serve {
namespace {

/// True on the thread that answers the connections the queue had no room for.
thread_local bool t_overflow = false;

/// httplib's task queue with a bound: `threads` workers take connections in arrival order;
/// when every worker is busy and `max_queued` are already waiting, a new one goes to one
/// overflow thread instead, whose
/// every request the server answers 503 at once (see the pre-routing handler). A connection
/// must be handed to a thread either way (dropping the task would leak its socket), and the
/// overflow thread does nothing slow, so the overflow drains as fast as it comes.
class BoundedPool : public httplib::TaskQueue {
 public:
  /// `waiting`: kept equal to the number of connections waiting for a worker.
  BoundedPool(size_t threads, size_t max_queued, std::shared_ptr<std::atomic<size_t>> waiting)
      : max_queued_(max_queued), waiting_(std::move(waiting)), idle_(threads) {
    for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { loop(jobs_, false); });
    workers_.emplace_back([this] { loop(overflow_, true); });
  }
  ~BoundedPool() override = default;

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      // Room: an idle worker takes it at once, or it waits among at most max_queued.
      (jobs_.size() >= idle_ + max_queued_ ? overflow_ : jobs_).push_back(std::move(fn));
      *waiting_ = jobs_.size() > idle_ ? jobs_.size() - idle_ : 0;
    }
    cond_.notify_all();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutdown_ = true;
    }
    cond_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  void loop(std::deque<std::function<void()>>& queue, bool overflow) {
    t_overflow = overflow;
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cond_.wait(lock, [&] { return !queue.empty() || shutdown_; });
        if (queue.empty()) return;  // shut down, and nothing left to answer
        fn = std::move(queue.front());
        queue.pop_front();
        if (!overflow) {
          --idle_;
          *waiting_ = jobs_.size() > idle_ ? jobs_.size() - idle_ : 0;
        }
      }
      fn();
      if (!overflow) {
        std::lock_guard<std::mutex> lock(mu_);
        ++idle_;
        *waiting_ = jobs_.size() > idle_ ? jobs_.size() - idle_ : 0;
      }
    }
  }

  size_t max_queued_;
  std::shared_ptr<std::atomic<size_t>> waiting_;
  std::mutex mu_;
  std::condition_variable cond_;
  std::deque<std::function<void()>> jobs_, overflow_;
  size_t idle_;  // workers not serving a connection (counted from the start: no startup race)
  bool shutdown_ = false;
  std::vector<std::thread> workers_;
};

void json_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(json_text({{"error", message}}), "application/json");
}

}  // namespace

HttpServer::HttpServer(ScoringService& service, ServerMetrics& metrics, ServerOptions options)
    : service_(service), metrics_(metrics), options_(std::move(options)) {
  FUNNEL_CHECK(options_.threads >= 1, "serve: --threads must be >= 1");
  server_ = std::make_unique<httplib::Server>();
  const size_t threads = options_.threads, queue = options_.queue;
  server_->new_task_queue = [threads, queue, waiting = waiting_] {
    return new BoundedPool(threads, queue, waiting);
  };
  server_->set_payload_max_length(options_.max_body_bytes);
  server_->set_read_timeout(options_.read_timeout_seconds, 0);
  server_->set_write_timeout(options_.write_timeout_seconds, 0);
  server_->set_keep_alive_max_count(options_.keep_alive_max);
  server_->set_tcp_nodelay(true);
  routes();
}

HttpServer::~HttpServer() {
  stop();
  if (watcher_.joinable()) watcher_.join();
}

void HttpServer::routes() {
  httplib::Server& s = *server_;
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!t_overflow) return httplib::Server::HandlerResponse::Unhandled;
    metrics_.rejected();
    metrics_.request(req.path, 503, 0.0);
    res.set_header("Retry-After", "1");
    res.set_header("Connection", "close");
    json_error(res, 503, "the server is busy (every worker taken, the queue full): retry later");
    return httplib::Server::HandlerResponse::Handled;
  });

  // A worker serves one keep-alive connection at a time (httplib's model): while other
  // connections wait for a worker, it closes its connection after this answer, so that the
  // waiting ones are served in turn instead of after the next keep_alive_max requests of
  // this one. (The client reconnects, and queues behind them.)
  s.set_post_routing_handler([this](const httplib::Request&, httplib::Response& res) {
    if (!t_overflow && waiting_->load() > 0) {
      res.set_header("Connection", "close");
      metrics_.yielded();
    }
  });

  s.Post("/v1/score", [this](const httplib::Request& req, httplib::Response& res) {
    Stopwatch watch;
    ScoreTimes times;
    std::string model;
    size_t items = 0;
    try {
      const nlohmann::json body = parse_request_body(req.body);
      times.parse = watch.seconds();
      ScoringService::Answer out = service_.score(body, &times);
      model = std::move(out.model);
      items = out.items;
      res.status = 200;
      res.body = std::move(out.body);
      res.set_header("Content-Type", "application/json");
      metrics_.scored(model, items, times);
    } catch (const RequestError& e) {
      json_error(res, e.status(), e.what());
    } catch (const std::exception& e) {
      log_warning(std::string("scoring failed: ") + e.what());
      json_error(res, 500, std::string("internal error: ") + e.what());
    }
    metrics_.request("/v1/score", res.status, watch.seconds());
  });

  s.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(json_text(service_.models()), "application/json");
    metrics_.request("/v1/models", res.status, 0.0);
  });

  s.Post("/v1/reload", [this](const httplib::Request& req, httplib::Response& res) {
    Stopwatch watch;
    try {
      std::string name;
      if (!req.body.empty()) {
        const nlohmann::json body = parse_request_body(req.body);
        if (!body.is_object()) throw RequestError(400, "expected {\"model\": name} or no body");
        for (auto it = body.begin(); it != body.end(); ++it) {
          if (it.key() != "model")
            throw RequestError(400, it.key() + ": unknown key (known: model)");
        }
        if (body.contains("model")) {
          if (!body["model"].is_string()) throw RequestError(400, "model: expected a string");
          name = body["model"].get<std::string>();
          service_.get(name);  // 404 for an unknown model
        }
      }
      const nlohmann::json out = service_.reload(name);
      bool failed = false;
      for (const auto& [n, r] : out.items()) failed = failed || r["status"] == "failed";
      res.status = failed ? 500 : 200;
      res.set_content(json_text(out), "application/json");
    } catch (const RequestError& e) {
      json_error(res, e.status(), e.what());
    }
    metrics_.request("/v1/reload", res.status, watch.seconds());
  });

  s.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content("ok\n", "text/plain");
    metrics_.request("/healthz", 200, 0.0);
  });

  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(metrics_.prometheus(), "text/plain; version=0.0.4");
  });

  // Every other answer of an error status gets a JSON body too (unknown routes, bodies over
  // the limit, ...).
  s.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string what = "no such route: " + req.method + " " + req.path;
    if (res.status == 413) {
      what =
          "the request body is larger than " + std::to_string(options_.max_body_bytes) + " bytes";
    } else if (res.status == 405) {
      what = "method not allowed: " + req.method + " " + req.path;
    } else if (res.status != 404) {
      what = "HTTP " + std::to_string(res.status);
    }
    json_error(res, res.status, what);
    metrics_.request(req.path, res.status, 0.0);
  });
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what += std::string(": ") + e.what();
        } catch (...) {
        }
        json_error(res, 500, what);
      });
}

int HttpServer::bind() {
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
    FUNNEL_CHECK(port_ > 0, "serve: cannot listen on " << options_.host);
  } else {
    FUNNEL_CHECK(server_->bind_to_port(options_.host, options_.port),
                 "serve: cannot listen on " << options_.host << ":" << options_.port
                                            << " (in use, or not an address of this machine)");
    port_ = options_.port;
  }
  return port_;
}

void HttpServer::run() {
  FUNNEL_CHECK(port_ > 0, "serve: bind() before run()");
  if (options_.watch) {
    watcher_ = std::thread([this] {
      const auto period = std::chrono::milliseconds(options_.watch_ms);
      auto next = std::chrono::steady_clock::now() + period;
      while (!stopping_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (std::chrono::steady_clock::now() < next) continue;
        next = std::chrono::steady_clock::now() + period;
        try {
          service_.reload_changed();
        } catch (const std::exception& e) {
          log_warning(std::string("bundle watch: ") + e.what());
        }
      }
    });
  }
  server_->listen_after_bind();
  stopping_ = true;
  if (watcher_.joinable()) watcher_.join();
}

void HttpServer::stop() {
  stopping_ = true;
  if (server_) server_->stop();
}

std::string HttpServer::url() const {
  return "http://" + options_.host + ":" + std::to_string(port_);
}

}  // namespace funnel::serve
