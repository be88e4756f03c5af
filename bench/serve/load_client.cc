// Closed-loop load generator for `funnel serve` and the Python reference (bench/serve/run.sh,
// docs/serving_benchmark.md). Prints one JSON object.
//
//   load_client --port P --csv TEST.csv --items K [--connections C] [--seconds D]
//               [--requests N] [--warmup N] [--user-fields 101,121,...] [--model NAME]
//               [--metrics] [--write-requests FILE --count M]
//
// Requests are built from real rows: the CSV's rows (header first, comma-separated, no
// quoting) are ordered by user (the first user field), stably, and cut into requests of K
// consecutive rows. The user fields of a request come from its first row, once, in "user";
// every other field the model reads (GET /v1/models) goes into each item with the row's
// value, as a production ranking request does: one user, K candidates. The requests cycle.
//
// C connections (one thread and one keep-alive httplib::Client each) send requests back to
// back, each for D seconds or N requests, whichever comes first (closed loop: a connection
// sends its next request when the answer of the last one is in). Before the timed phase
// every connection sends --warmup requests on a connection of its own that is then closed,
// so that the timed phase starts on warm caches with no idle keep-alive connection holding
// a server worker. Reported: client-observed latency (p50, p90, p99, p99.9, mean, max, over
// every timed request), requests/s and items/s over the timed phase's wall time, errors
// (transport errors and non-200 answers, by kind). An answer of status 200 counts as an
// error when it does not hold K scores (checked on every answer: a count of "pctr" keys).
//
// --metrics: GET /metrics before and after the timed phase (after the warm-up connections
// closed, after the timed ones closed) and report the deltas: requests, the handler-time
// histogram of /v1/score (with quantiles interpolated inside its buckets, as Prometheus'
// histogram_quantile does), its mean, and the phase split per request.
//
// Only 127.0.0.1: the port is the caller's.

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/common/split.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

const char* const kHost = "127.0.0.1";

struct Args {
  int port = 0;
  std::string csv;
  size_t items = 50;
  size_t connections = 1;
  double seconds = 10;
  uint64_t requests = 1000000;  // per connection
  uint64_t warmup = 20;         // per connection
  std::vector<std::string> user_fields = {"101", "121", "122", "124", "125",
                                          "126", "127", "128", "129"};
  std::string model;
  bool metrics = false;
  std::string write_requests;
  size_t count = 1;
};

[[noreturn]] void usage(const std::string& what) {
  std::fprintf(stderr,
               "load_client: %s\nusage: load_client --port P --csv FILE --items K "
               "[--connections C] [--seconds D] [--requests N] [--warmup N] [--user-fields a,b] "
               "[--model NAME] [--metrics] [--write-requests FILE --count M]\n",
               what.c_str());
  std::exit(2);
}

using funnel::bench::split;

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(k + ": a value is missing");
      return argv[++i];
    };
    auto number = [&](double lo, double hi) {
      const std::string v = value();
      char* end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != 0 || !(x >= lo && x <= hi)) {
        usage(k + ": expected a number in [" + std::to_string(lo) + ", " + std::to_string(hi) +
              "], got '" + v + "'");
      }
      return x;
    };
    if (k == "--port") {
      a.port = static_cast<int>(number(1, 65535));
    } else if (k == "--csv") {
      a.csv = value();
    } else if (k == "--items") {
      a.items = static_cast<size_t>(number(1, 1e6));
    } else if (k == "--connections") {
      a.connections = static_cast<size_t>(number(1, 256));
    } else if (k == "--seconds") {
      a.seconds = number(0.1, 7200);
    } else if (k == "--requests") {
      a.requests = static_cast<uint64_t>(number(1, 1e9));
    } else if (k == "--warmup") {
      a.warmup = static_cast<uint64_t>(number(0, 1e6));
    } else if (k == "--user-fields") {
      a.user_fields = split(value(), ',');
    } else if (k == "--model") {
      a.model = value();
    } else if (k == "--metrics") {
      a.metrics = true;
    } else if (k == "--write-requests") {
      a.write_requests = value();
    } else if (k == "--count") {
      a.count = static_cast<size_t>(number(1, 1e6));
    } else {
      usage("unknown option " + k);
    }
  }
  if (a.port == 0) usage("--port is required");
  if (a.csv.empty()) usage("--csv is required");
  return a;
}

// ---------------------------------------------------------------------------------------------
// Requests from rows

/// The model's fields (GET /v1/models of the server under test; the first model, or --model).
std::vector<std::string> model_fields(int port, const std::string& model) {
  httplib::Client cli(kHost, port);
  cli.set_connection_timeout(5, 0);
  cli.set_read_timeout(10, 0);
  auto res = cli.Get("/v1/models");
  if (!res || res->status != 200) {
    throw std::runtime_error("GET /v1/models on port " + std::to_string(port) + " failed" +
                             (res ? ": HTTP " + std::to_string(res->status)
                                  : ": " + httplib::to_string(res.error())));
  }
  const json j = json::parse(res->body);
  for (const json& m : j.at("models")) {
    if (!model.empty() && m.at("name") != model) continue;
    std::vector<std::string> out;
    for (const json& f : m.at("fields")) out.push_back(f.at("name").get<std::string>());
    return out;
  }
  throw std::runtime_error("GET /v1/models: no model '" + model + "'");
}

/// Request bodies of K rows each, built as the file comment says.
std::vector<std::string> build_requests(const Args& a, const std::vector<std::string>& fields,
                                        size_t max_requests) {
  std::ifstream in(a.csv);
  if (!in) throw std::runtime_error(a.csv + ": cannot open");
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(a.csv + ": empty");
  const std::vector<std::string> header = split(line, ',');
  std::vector<int> column(fields.size(), -1);
  std::vector<bool> is_user(fields.size(), false);
  for (size_t f = 0; f < fields.size(); ++f) {
    for (size_t c = 0; c < header.size(); ++c) {
      if (header[c] == fields[f]) column[f] = static_cast<int>(c);
    }
    if (column[f] < 0) throw std::runtime_error(a.csv + ": no column for field " + fields[f]);
    is_user[f] = std::find(a.user_fields.begin(), a.user_fields.end(), fields[f]) !=
                 a.user_fields.end();
  }
  if (a.user_fields.empty() || std::find(fields.begin(), fields.end(), a.user_fields[0]) ==
                                   fields.end()) {
    throw std::runtime_error("--user-fields: the first one must be a field of the model");
  }
  const size_t user_col =
      column[std::find(fields.begin(), fields.end(), a.user_fields[0]) - fields.begin()];
  std::vector<std::vector<std::string>> rows;
  // Enough rows for max_requests requests (and never more than the file has).
  const size_t want = max_requests * a.items;
  while (rows.size() < want && std::getline(in, line)) {
    if (line.find('"') != std::string::npos) {
      throw std::runtime_error(a.csv + ": quoted cells are not supported");
    }
    std::vector<std::string> cells = split(line, ',');
    if (cells.size() != header.size()) {
      throw std::runtime_error(a.csv + ": a row of " + std::to_string(cells.size()) +
                               " cells, the header has " + std::to_string(header.size()));
    }
    rows.push_back(std::move(cells));
  }
  if (rows.size() < a.items) {
    throw std::runtime_error(a.csv + ": " + std::to_string(rows.size()) + " rows, fewer than " +
                             std::to_string(a.items) + " items per request");
  }
  std::stable_sort(rows.begin(), rows.end(), [&](const auto& x, const auto& y) {
    return x[user_col] < y[user_col];
  });
  std::vector<std::string> out;
  auto cell = [](const std::string& v) { return v.empty() ? json(nullptr) : json(v); };
  for (size_t start = 0; start + a.items <= rows.size() && out.size() < max_requests;
       start += a.items) {
    json req = json::object();
    if (!a.model.empty()) req["model"] = a.model;
    json user = json::object();
    for (size_t f = 0; f < fields.size(); ++f) {
      if (is_user[f]) user[fields[f]] = cell(rows[start][column[f]]);
    }
    req["user"] = std::move(user);
    json items = json::array();
    for (size_t r = start; r < start + a.items; ++r) {
      json item = json::object();
      item["id"] = r;
      for (size_t f = 0; f < fields.size(); ++f) {
        if (!is_user[f]) item[fields[f]] = cell(rows[r][column[f]]);
      }
      items.push_back(std::move(item));
    }
    req["items"] = std::move(items);
    out.push_back(req.dump());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Server metrics (Prometheus text) and their deltas

/// Every sample line "name{labels} value" of a /metrics answer.
std::map<std::string, double> scrape(int port) {
  httplib::Client cli(kHost, port);
  cli.set_connection_timeout(5, 0);
  cli.set_read_timeout(10, 0);
  auto res = cli.Get("/metrics");
  if (!res || res->status != 200) throw std::runtime_error("GET /metrics failed");
  std::map<std::string, double> out;
  std::istringstream s(res->body);
  std::string line;
  while (std::getline(s, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    out[line.substr(0, sp)] = std::strtod(line.c_str() + sp + 1, nullptr);
  }
  return out;
}

/// The server's view of the timed phase: deltas of the /v1/score histogram and phases.
json server_deltas(const std::map<std::string, double>& before,
                   const std::map<std::string, double>& after) {
  auto delta = [&](const std::string& k) {
    const auto a = after.find(k), b = before.find(k);
    return (a == after.end() ? 0.0 : a->second) - (b == before.end() ? 0.0 : b->second);
  };
  const std::string route = "route=\"/v1/score\"";
  const double count = delta("funnel_request_seconds_count{" + route + "}");
  const double sum = delta("funnel_request_seconds_sum{" + route + "}");
  // Buckets in order of their bound; cumulative counts.
  std::vector<std::pair<double, double>> buckets;
  const std::string prefix = "funnel_request_seconds_bucket{" + route + ",le=\"";
  for (const auto& [k, v] : after) {
    if (k.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string le = k.substr(prefix.size(), k.size() - prefix.size() - 2);
    const double bound = le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr);
    buckets.push_back({bound, delta(k)});
  }
  std::sort(buckets.begin(), buckets.end());
  // histogram_quantile: the bucket where the rank falls, linear inside it.
  auto quantile = [&](double q) -> double {
    if (count <= 0 || buckets.empty()) return NAN;
    const double rank = q * count;
    double lower = 0, below = 0;
    for (const auto& [bound, cum] : buckets) {
      if (cum >= rank) {
        if (std::isinf(bound)) return lower;  // beyond the last finite bound
        return lower + (bound - lower) * (cum > below ? (rank - below) / (cum - below) : 0);
      }
      lower = bound;
      below = cum;
    }
    return lower;
  };
  json hist = json::array();
  for (const auto& [bound, cum] : buckets) {
    hist.push_back({{"le_ms", std::isinf(bound) ? json("+Inf") : json(bound * 1e3)},
                    {"cumulative", cum}});
  }
  // Phases of the model the requests went to (one model per server here).
  json phases = json::object();
  double items = 0;
  for (const auto& [k, v] : after) {
    if (k.rfind("funnel_items_scored_total{", 0) == 0) items += delta(k);
    const std::string p = "funnel_score_phase_seconds_total{";
    if (k.rfind(p, 0) != 0) continue;
    const size_t at = k.find("phase=\"");
    if (at == std::string::npos) continue;
    const std::string phase = k.substr(at + 7, k.find('"', at + 7) - at - 7);
    const double d = delta(k);
    phases[phase] = (phases.contains(phase) ? phases[phase].get<double>() : 0.0) +
                    (count > 0 ? 1e3 * d / count : 0.0);
  }
  double fraction_2ms = NAN;
  for (const auto& [bound, cum] : buckets) {
    if (std::fabs(bound - 0.002) < 1e-12 && count > 0) fraction_2ms = cum / count;
  }
  return {{"requests", count},
          {"items", items},
          {"mean_ms", count > 0 ? 1e3 * sum / count : NAN},
          {"p50_ms_interpolated", 1e3 * quantile(0.5)},
          {"p99_ms_interpolated", 1e3 * quantile(0.99)},
          {"fraction_le_2ms", fraction_2ms},
          {"phase_ms_per_request", phases},
          {"histogram", hist},
          {"rejected", delta("funnel_rejected_total")}};
}

// ---------------------------------------------------------------------------------------------
// The load

struct ConnectionResult {
  std::vector<double> latency_ms;
  uint64_t ok = 0;
  std::map<std::string, uint64_t> errors;
  uint64_t response_bytes = 0;
};

/// Number of scores in an answer (a count of "pctr" keys: cheap, and exact for this format).
size_t count_scores(const std::string& body) {
  size_t n = 0;
  for (size_t at = body.find("\"pctr\""); at != std::string::npos;
       at = body.find("\"pctr\"", at + 6)) {
    ++n;
  }
  return n;
}

/// One request on `cli`; records it into `r` when `record`.
void send_one(httplib::Client& cli, const std::string& body, size_t items, bool record,
              ConnectionResult& r) {
  const auto t0 = Clock::now();
  auto res = cli.Post("/v1/score", body, "application/json");
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (!record) return;
  if (!res) {
    ++r.errors["transport: " + httplib::to_string(res.error())];
    return;
  }
  if (res->status != 200) {
    ++r.errors["HTTP " + std::to_string(res->status)];
    return;
  }
  if (count_scores(res->body) != items) {
    ++r.errors["wrong number of scores"];
    return;
  }
  ++r.ok;
  r.response_bytes += res->body.size();
  r.latency_ms.push_back(ms);
}

/// Waits until `n` threads arrived.
class Barrier {
 public:
  explicit Barrier(size_t n) : n_(n) {}
  void wait() {
    std::unique_lock<std::mutex> lock(mu_);
    if (++arrived_ == n_) {
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return arrived_ >= n_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t n_, arrived_ = 0;
};

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return NAN;
  const size_t rank = static_cast<size_t>(std::ceil(q * sorted.size()));
  return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

json load_average() {
  std::ifstream f("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  f >> a >> b >> c;
  return json::array({a, b, c});
}

int run(const Args& a) {
  const std::vector<std::string> fields = model_fields(a.port, a.model);
  if (!a.write_requests.empty()) {
    const std::vector<std::string> reqs = build_requests(a, fields, a.count);
    std::ofstream out(a.write_requests);
    for (const auto& r : reqs) out << r << "\n";
    if (!out) throw std::runtime_error(a.write_requests + ": cannot write");
    std::printf("%zu requests of %zu items written to %s\n", reqs.size(), a.items,
                a.write_requests.c_str());
    return 0;
  }
  // Distinct requests: up to 2000 (fewer when the file runs out), cycled.
  const std::vector<std::string> reqs = build_requests(a, fields, 2000);
  double body_bytes = 0;
  for (const auto& r : reqs) body_bytes += r.size();

  const size_t C = a.connections;
  std::vector<ConnectionResult> results(C);
  std::vector<std::thread> threads;
  // Warm-up: every connection at once, then closed.
  for (size_t c = 0; c < C; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client cli(kHost, a.port);
      cli.set_keep_alive(true);
      cli.set_read_timeout(30, 0);
      for (uint64_t n = 0; n < a.warmup; ++n) {
        send_one(cli, reqs[(c * 7919 + n) % reqs.size()], a.items, false, results[c]);
      }
    });
  }
  for (auto& t : threads) t.join();
  threads.clear();
  std::map<std::string, double> before;
  if (a.metrics) before = scrape(a.port);

  Barrier start(C + 1);
  Clock::time_point t_start;
  const auto budget = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(a.seconds));
  for (size_t c = 0; c < C; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client cli(kHost, a.port);
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);
      cli.set_connection_timeout(5, 0);
      cli.set_read_timeout(30, 0);
      ConnectionResult& r = results[c];
      r.latency_ms.reserve(std::min<uint64_t>(a.requests, 2000000));
      start.wait();
      const Clock::time_point deadline = t_start + budget;
      size_t next = (c * 7919) % reqs.size();
      for (uint64_t n = 0; n < a.requests && Clock::now() < deadline; ++n) {
        send_one(cli, reqs[next], a.items, true, r);
        next = (next + 1) % reqs.size();
      }
    });
  }
  t_start = Clock::now();
  start.wait();
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t_start).count();

  std::vector<double> all;
  uint64_t ok = 0, bytes = 0;
  std::map<std::string, uint64_t> errors;
  uint64_t error_count = 0;
  for (const auto& r : results) {
    all.insert(all.end(), r.latency_ms.begin(), r.latency_ms.end());
    ok += r.ok;
    bytes += r.response_bytes;
    for (const auto& [k, n] : r.errors) {
      errors[k] += n;
      error_count += n;
    }
  }
  std::sort(all.begin(), all.end());
  double mean = 0;
  for (double v : all) mean += v;
  mean = all.empty() ? NAN : mean / all.size();
  json out = {
      {"host", kHost},
      {"port", a.port},
      {"items", a.items},
      {"connections", C},
      {"seconds_limit", a.seconds},
      {"requests_limit_per_connection", a.requests},
      {"warmup_per_connection", a.warmup},
      {"distinct_requests", reqs.size()},
      {"request_bytes_mean", body_bytes / reqs.size()},
      {"response_bytes_mean", ok ? static_cast<double>(bytes) / ok : 0.0},
      {"requests", ok},
      {"errors", error_count},
      {"error_kinds", errors},
      {"wall_seconds", wall},
      {"requests_per_s", ok / wall},
      {"items_per_s", ok * a.items / wall},
      {"latency_ms",
       {{"p50", percentile(all, 0.5)},
        {"p90", percentile(all, 0.9)},
        {"p99", percentile(all, 0.99)},
        {"p999", percentile(all, 0.999)},
        {"mean", mean},
        {"min", all.empty() ? NAN : all.front()},
        {"max", all.empty() ? NAN : all.back()}}},
      {"load_average", load_average()},
  };
  if (a.metrics) out["server"] = server_deltas(before, scrape(a.port));
  std::printf("%s\n", out.dump(1).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse_args(argc, argv);
  try {
    return run(a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "load_client: %s\n", e.what());
    return 1;
  }
}
