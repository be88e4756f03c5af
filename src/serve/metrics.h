#pragma once
// The server's counters in the Prometheus text format (GET /metrics): requests by route and
// status, latency histograms, items scored, out-of-vocabulary values by model and field, the
// time spent in each phase of a scoring request, model versions, load times and failed
// reloads. Every update takes one short lock; rendering takes the same lock.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace funnel::serve {

/// Seconds spent in the phases of one scoring request.
struct ScoreTimes {
  double parse = 0;     // body -> JSON
  double encode = 0;    // JSON -> batch (encoder, vocabularies, broadcast)
  double forward = 0;   // embedding lookup + model + entire-space products
  double serialise = 0; // scores -> JSON text
};

class ServerMetrics {
 public:
  /// One finished request: its route ("/v1/score"), HTTP status and seconds in the handler.
  void request(const std::string& route, int status, double seconds);
  void scored(const std::string& model, uint64_t items, const ScoreTimes& times);
  void oov(const std::string& model, const std::string& field, uint64_t values);
  void model_loaded(const std::string& model, const std::string& version, double load_seconds,
                    double unix_time);
  void reload_failed(const std::string& model);
  /// Requests answered 503 because the queue was full.
  void rejected();
  /// A keep-alive connection closed after an answer because others waited for a worker.
  void yielded();

  std::string prometheus() const;

 private:
  struct Histogram {
    std::vector<uint64_t> counts;  // per bucket (cumulative when rendered)
    double sum = 0;
    uint64_t count = 0;
  };
  static const std::vector<double>& buckets();

  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  std::map<std::string, uint64_t> items_;
  std::map<std::pair<std::string, std::string>, uint64_t> oov_;
  std::map<std::string, ScoreTimes> phases_;
  struct Loaded {
    std::string version;
    double load_seconds = 0, unix_time = 0;
  };
  std::map<std::string, Loaded> models_;
  std::map<std::string, uint64_t> reload_failures_;
  uint64_t rejected_ = 0;
  uint64_t yielded_ = 0;
};

}  // namespace funnel::serve
