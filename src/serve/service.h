#pragma once
// The scoring service behind `funnel serve`, without HTTP: the served models (one loaded
// bundle each, swapped atomically on reload), scoring a request, describing the models.
// Requests being scored keep the model they started with (a shared_ptr) while a reload swaps
// in the new one; a bundle that fails to load leaves the old one serving.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/bundle.h"
#include "serve/metrics.h"
#include "serve/predictor.h"
#include "serve/request.h"

namespace funnel::serve {

/// One loaded bundle with what scoring it needs. Immutable once built.
struct ServedModel {
  std::string name;
  std::string path;
  model::LoadedBundle bundle;
  /// The bundle file's checksum in hex: what /v1/score answers as "version".
  std::string version;
  double load_seconds = 0;
  double loaded_unix_time = 0;
  /// The training run's metrics (metrics.json beside the bundle), null when absent.
  nlohmann::json training_metrics;
  /// The file as loaded (size and modification time), to notice a new one (--watch).
  uint64_t file_size = 0;
  int64_t file_mtime_ns = 0;
  std::unique_ptr<Predictor> predictor;
  std::unique_ptr<RequestEncoder> encoder;
  std::vector<std::string> score_names;

  /// Loads `path`; throws funnel::Error when the bundle cannot be read or built.
  static std::shared_ptr<const ServedModel> load(const std::string& name, const std::string& path);
};

class ScoringService {
 public:
  struct Options {
    /// Items per request at most (413 above).
    size_t max_items = 1000;
  };

  /// `bundles`: (name, path) pairs, names unique; every bundle must load.
  ScoringService(const std::vector<std::pair<std::string, std::string>>& bundles, Options options,
                 ServerMetrics* metrics);

  /// The answer to a parsed /v1/score body, as JSON text; throws RequestError (4xx). Adds
  /// its phase times (parse is the caller's) to `times` when given.
  struct Answer {
    std::string body;
    std::string model;  // the served name
    size_t items = 0;
  };
  Answer score(const nlohmann::json& body, ScoreTimes* times = nullptr) const;
  /// GET /v1/models.
  nlohmann::json models() const;
  /// Loads the bundle of model `name` (every model when empty) from its path again and swaps
  /// it in: {"<name>": {"status": "reloaded" | "failed", "version", "error"}}. A failure (the
  /// file does not load, or it reads other fields or events than the one serving: clients
  /// would break) keeps the model serving the old bundle.
  nlohmann::json reload(const std::string& name = "");
  /// Reloads the models whose file changed since it was loaded (size or modification time);
  /// returns what reload() returns for them (empty when nothing changed).
  nlohmann::json reload_changed();

  std::vector<std::string> names() const;
  /// The model serving `name` now ("" = the only one); throws RequestError (404) otherwise.
  std::shared_ptr<const ServedModel> get(const std::string& name) const;

 private:
  nlohmann::json reload_one(const std::string& name);

  Options options_;
  ServerMetrics* metrics_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const ServedModel>> models_;
  /// The file state of a failed reload, not retried by reload_changed() until it changes.
  std::map<std::string, std::pair<uint64_t, int64_t>> failed_stamp_;
};

}  // namespace funnel::serve
