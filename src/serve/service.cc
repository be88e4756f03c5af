#include "serve/service.h"

#include <sys/stat.h>
#include <torch/types.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "core/file.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/stopwatch.h"
#include "serve/scores.h"

namespace funnel::serve {
namespace {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// Size and modification time (ns) of a file; (0, 0) when it cannot be read.
std::pair<uint64_t, int64_t> file_stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {0, 0};
  return {static_cast<uint64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::shared_ptr<const ServedModel> ServedModel::load(const std::string& name,
                                                     const std::string& path) {
  Stopwatch watch;
  auto m = std::make_shared<ServedModel>();
  m->name = name;
  m->path = path;
  std::tie(m->file_size, m->file_mtime_ns) = file_stamp(path);
  m->bundle = model::load_bundle(path);
  if (m->bundle.net->reads_lists()) {
    // A request is one list, its items in the order shown; what a request cannot carry, a
    // model that needs it cannot be served.
    const nlohmann::json o = m->bundle.model.options.to_json();
    FUNNEL_CHECK(!m->bundle.net->reads_feedback(),
                 path << ": model '" << m->bundle.model.name
                      << "' reads the observed behaviour on earlier items (feedback: observed), "
                         "which a request does not carry; serve a bundle trained with feedback: "
                         "none");
    FUNNEL_CHECK(o.value("time", "position") != "timestamp",
                 path << ": model '" << m->bundle.model.name
                      << "' measures time by the time stamp column (time: timestamp), which a "
                         "request does not carry; serve a bundle trained with time: position");
  }
  m->version = hex(m->bundle.checksum);
  m->predictor = std::make_unique<Predictor>(m->bundle);
  m->encoder = std::make_unique<RequestEncoder>(m->bundle, m->bundle.net->reads_lists());
  m->score_names = serve::score_names(m->bundle.funnel);
  const std::string metrics =
      join_path(std::filesystem::path(path).parent_path().string(), "metrics.json");
  if (path_exists(metrics)) {
    try {
      const nlohmann::json j = nlohmann::json::parse(read_text_file(metrics));
      for (const char* split : {"validation", "test"}) {
        if (j.contains(split)) m->training_metrics[split] = j[split];
      }
    } catch (const std::exception& e) {
      log_warning(metrics + ": not read (" + e.what() + ")");
    }
  }
  m->load_seconds = watch.seconds();
  m->loaded_unix_time = unix_now();
  return m;
}

ScoringService::ScoringService(const std::vector<std::pair<std::string, std::string>>& bundles,
                               Options options, ServerMetrics* metrics)
    : options_(options), metrics_(metrics) {
  FUNNEL_CHECK(!bundles.empty(), "serve: no bundle to serve");
  for (const auto& [name, path] : bundles) {
    FUNNEL_CHECK(!name.empty() && models_.count(name) == 0,
                 "serve: model names must be unique and not empty, got '" << name << "' twice");
    auto m = ServedModel::load(name, path);
    if (metrics_) metrics_->model_loaded(name, m->version, m->load_seconds, m->loaded_unix_time);
    log_info("serving " + name + " (" + m->bundle.model.name + ", version " + m->version +
             ") from " + path);
    models_[name] = std::move(m);
  }
}

std::vector<std::string> ScoringService::names() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, m] : models_) out.push_back(name);
  return out;
}

std::shared_ptr<const ServedModel> ScoringService::get(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (name.empty()) {
    if (models_.size() == 1) return models_.begin()->second;
    std::string known;
    for (const auto& [n, m] : models_) known += (known.empty() ? "" : ", ") + n;
    throw RequestError(400, "model: required when several models are served (" + known + ")");
  }
  const auto it = models_.find(name);
  if (it == models_.end()) {
    std::string known;
    for (const auto& [n, m] : models_) known += (known.empty() ? "" : ", ") + n;
    throw RequestError(404, "model: unknown model '" + name + "' (served: " + known + ")");
  }
  return it->second;
}

ScoringService::Answer ScoringService::score(const nlohmann::json& body, ScoreTimes* times) const {
  if (!body.is_object()) throw RequestError(400, "the request must be a JSON object");
  std::string name;
  const auto model_it = body.find("model");
  if (model_it != body.end() && !model_it->is_null()) {
    if (!model_it->is_string()) throw RequestError(400, "model: expected a string");
    name = model_it->get<std::string>();
  }
  // This request keeps this model to the end, whatever a reload swaps in meanwhile.
  const std::shared_ptr<const ServedModel> m = get(name);
  Stopwatch watch;
  const EncodedRequest req = m->encoder->encode(body, options_.max_items);
  const double encode = watch.seconds();
  watch.reset();
  // A list model's request is one list (the encoder gives the batch its offsets).
  const model::BatchScores s = m->predictor->score(req.batch);
  const double forward = watch.seconds();
  watch.reset();
  // The answer's text, written directly (no JSON tree for a few thousand numbers):
  // {"model", "version", "events", "scores": [{"id", <score name>: value, ...}], "unknown_values"}
  Answer a;
  a.model = m->name;
  a.items = req.batch.size;
  std::string& out = a.body;
  out.reserve(64 + req.batch.size * (24 + 28 * m->score_names.size()));
  const auto text = [](const nlohmann::json& j) { return json_text(j); };
  out += "{\"model\":" + text(m->name) + ",\"version\":" + text(m->version) +
         ",\"events\":" + text(m->bundle.funnel.events) + ",\"scores\":[";
  std::vector<std::string> keys;  // ,"<score name>":
  for (const std::string& c : m->score_names) keys.push_back("," + text(c) + ":");
  std::vector<double> values;
  char num[32];
  for (size_t i = 0; i < req.batch.size; ++i) {
    score_values(m->bundle.funnel, s, i, values);
    out += i == 0 ? "{\"id\":" : ",{\"id\":";
    out += text(req.ids[i]);
    for (size_t c = 0; c < values.size(); ++c) {
      out += keys[c];
      // Shortest text that reads back as the same double (as nlohmann's dump writes it);
      // scores are probabilities, always finite.
      const auto r = std::to_chars(num, num + sizeof num, values[c]);
      out.append(num, r.ptr);
    }
    out += '}';
  }
  out += ']';
  const nlohmann::json oov = unknown_values_json(m->bundle.layout, req.oov);
  if (metrics_) {
    for (const auto& [field, n] : oov.items()) metrics_->oov(m->name, field, n.get<uint64_t>());
  }
  if (!oov.empty()) out += ",\"unknown_values\":" + text(oov);
  out += '}';
  if (times) {
    times->encode += encode;
    times->forward += forward;
    times->serialise += watch.seconds();
  }
  return a;
}

nlohmann::json ScoringService::models() const {
  std::map<std::string, std::shared_ptr<const ServedModel>> snapshot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot = models_;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, m] : snapshot) {
    out.push_back({{"name", name},
                   {"model", m->bundle.model.name},
                   {"version", m->version},
                   {"path", m->path},
                   {"loaded_at", m->loaded_unix_time},
                   {"events", m->bundle.funnel.events},
                   {"scores", m->score_names},
                   {"fields", m->encoder->fields()},
                   {"training_metrics", m->training_metrics}});
  }
  return {{"models", out}};
}

nlohmann::json ScoringService::reload_one(const std::string& name) {
  const std::shared_ptr<const ServedModel> old = get(name);
  try {
    auto fresh = ServedModel::load(name, old->path);
    FUNNEL_CHECK(fresh->encoder->fields() == old->encoder->fields() &&
                     fresh->bundle.funnel.events == old->bundle.funnel.events,
                 old->path << ": the new bundle reads other fields or events than the one "
                              "serving (restart the server to serve it)");
    {
      std::lock_guard<std::mutex> lock(mu_);
      models_[name] = fresh;
    }
    if (metrics_) {
      metrics_->model_loaded(name, fresh->version, fresh->load_seconds, fresh->loaded_unix_time);
    }
    log_info("reloaded " + name + ": version " + old->version + " -> " + fresh->version);
    return {{"status", "reloaded"}, {"version", fresh->version}, {"previous", old->version}};
  } catch (const std::exception& e) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      failed_stamp_[name] = file_stamp(old->path);
    }
    if (metrics_) metrics_->reload_failed(name);
    log_warning("reload of " + name + " failed, still serving version " + old->version + ": " +
                e.what());
    return {{"status", "failed"}, {"version", old->version}, {"error", e.what()}};
  }
}

nlohmann::json ScoringService::reload(const std::string& name) {
  nlohmann::json out = nlohmann::json::object();
  if (!name.empty()) {
    out[name] = reload_one(name);
    return out;
  }
  for (const std::string& n : names()) out[n] = reload_one(n);
  return out;
}

nlohmann::json ScoringService::reload_changed() {
  nlohmann::json out = nlohmann::json::object();
  for (const std::string& n : names()) {
    const std::shared_ptr<const ServedModel> m = get(n);
    const auto stamp = file_stamp(m->path);
    if (stamp.first == 0) continue;  // being replaced (or gone): look again later
    bool failed_before;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const auto it = failed_stamp_.find(n);
      failed_before = it != failed_stamp_.end() && it->second == stamp;
    }
    if (!failed_before && (stamp.first != m->file_size || stamp.second != m->file_mtime_ns)) {
      out[n] = reload_one(n);
    }
  }
  return out;
}

}  // namespace funnel::serve
