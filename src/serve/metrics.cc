#include "serve/metrics.h"

#include <cstdio>
#include <sstream>

namespace funnel::serve {
namespace {

/// A label value escaped as the text format wants (backslash, quote, newline).
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

const std::vector<double>& ServerMetrics::buckets() {
  static const std::vector<double> kBuckets = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                               0.05,   0.1,   0.2,   0.5,   1.0,  5.0};
  return kBuckets;
}

void ServerMetrics::request(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, status}];
  Histogram& h = latency_[route];
  if (h.counts.empty()) h.counts.assign(buckets().size(), 0);
  for (size_t b = 0; b < buckets().size(); ++b) {
    if (seconds <= buckets()[b]) {
      ++h.counts[b];
      break;
    }
  }
  h.sum += seconds;
  ++h.count;
}

void ServerMetrics::scored(const std::string& model, uint64_t items, const ScoreTimes& t) {
  std::lock_guard<std::mutex> lock(mu_);
  items_[model] += items;
  ScoreTimes& p = phases_[model];
  p.parse += t.parse;
  p.encode += t.encode;
  p.forward += t.forward;
  p.serialise += t.serialise;
}

void ServerMetrics::oov(const std::string& model, const std::string& field, uint64_t values) {
  if (values == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  oov_[{model, field}] += values;
}

void ServerMetrics::model_loaded(const std::string& model, const std::string& version,
                                 double load_seconds, double unix_time) {
  std::lock_guard<std::mutex> lock(mu_);
  models_[model] = {version, load_seconds, unix_time};
}

void ServerMetrics::reload_failed(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  ++reload_failures_[model];
}

void ServerMetrics::rejected() {
  std::lock_guard<std::mutex> lock(mu_);
  ++rejected_;
}

void ServerMetrics::yielded() {
  std::lock_guard<std::mutex> lock(mu_);
  ++yielded_;
}

std::string ServerMetrics::prometheus() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream s;
  s << "# HELP funnel_requests_total Requests by route and HTTP status.\n"
       "# TYPE funnel_requests_total counter\n";
  for (const auto& [k, n] : requests_) {
    s << "funnel_requests_total{route=\"" << label(k.first) << "\",status=\"" << k.second
      << "\"} " << n << "\n";
  }
  s << "# HELP funnel_request_seconds Time in the handler, by route.\n"
       "# TYPE funnel_request_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    uint64_t cumulative = 0;
    for (size_t b = 0; b < buckets().size(); ++b) {
      cumulative += h.counts[b];
      s << "funnel_request_seconds_bucket{route=\"" << label(route) << "\",le=\""
        << num(buckets()[b]) << "\"} " << cumulative << "\n";
    }
    s << "funnel_request_seconds_bucket{route=\"" << label(route) << "\",le=\"+Inf\"} " << h.count
      << "\n";
    s << "funnel_request_seconds_sum{route=\"" << label(route) << "\"} " << num(h.sum) << "\n";
    s << "funnel_request_seconds_count{route=\"" << label(route) << "\"} " << h.count << "\n";
  }
  s << "# HELP funnel_items_scored_total Items scored, by model.\n"
       "# TYPE funnel_items_scored_total counter\n";
  for (const auto& [m, n] : items_) {
    s << "funnel_items_scored_total{model=\"" << label(m) << "\"} " << n << "\n";
  }
  s << "# HELP funnel_score_phase_seconds_total Time in each phase of scoring requests.\n"
       "# TYPE funnel_score_phase_seconds_total counter\n";
  for (const auto& [m, p] : phases_) {
    const std::pair<const char*, double> phases[] = {
        {"parse", p.parse}, {"encode", p.encode}, {"forward", p.forward},
        {"serialise", p.serialise}};
    for (const auto& [name, v] : phases) {
      s << "funnel_score_phase_seconds_total{model=\"" << label(m) << "\",phase=\"" << name
        << "\"} " << num(v) << "\n";
    }
  }
  s << "# HELP funnel_oov_values_total Request values mapped to the out-of-vocabulary id.\n"
       "# TYPE funnel_oov_values_total counter\n";
  for (const auto& [k, n] : oov_) {
    s << "funnel_oov_values_total{model=\"" << label(k.first) << "\",field=\"" << label(k.second)
      << "\"} " << n << "\n";
  }
  s << "# HELP funnel_model_info The bundle each model serves (1), by version.\n"
       "# TYPE funnel_model_info gauge\n";
  for (const auto& [m, l] : models_) {
    s << "funnel_model_info{model=\"" << label(m) << "\",version=\"" << label(l.version)
      << "\"} 1\n";
  }
  s << "# HELP funnel_model_load_seconds Seconds the serving bundle took to load.\n"
       "# TYPE funnel_model_load_seconds gauge\n";
  for (const auto& [m, l] : models_) {
    s << "funnel_model_load_seconds{model=\"" << label(m) << "\"} " << num(l.load_seconds)
      << "\n";
  }
  s << "# HELP funnel_model_loaded_timestamp_seconds When the serving bundle was loaded.\n"
       "# TYPE funnel_model_loaded_timestamp_seconds gauge\n";
  for (const auto& [m, l] : models_) {
    s << "funnel_model_loaded_timestamp_seconds{model=\"" << label(m) << "\"} "
      << num(l.unix_time) << "\n";
  }
  s << "# HELP funnel_reload_failures_total Reloads that failed (the old bundle kept serving).\n"
       "# TYPE funnel_reload_failures_total counter\n";
  for (const auto& [m, n] : reload_failures_) {
    s << "funnel_reload_failures_total{model=\"" << label(m) << "\"} " << n << "\n";
  }
  s << "# HELP funnel_rejected_total Requests answered 503 because the queue was full.\n"
       "# TYPE funnel_rejected_total counter\n"
       "funnel_rejected_total "
    << rejected_ << "\n";
  s << "# HELP funnel_connections_yielded_total Keep-alive connections closed after an answer "
       "because other connections waited for a worker.\n"
       "# TYPE funnel_connections_yielded_total counter\n"
       "funnel_connections_yielded_total "
    << yielded_ << "\n";
  return s.str();
}

}  // namespace funnel::serve
