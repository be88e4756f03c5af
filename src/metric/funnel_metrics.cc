#include "metric/funnel_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/choice.h"
#include "core/error.h"
#include "metric/gauc.h"
#include "metric/metric_set.h"
#include "metric/top_k.h"

namespace funnel::metric {
namespace {

/// JSON has no NaN: undefined values are null.
nlohmann::json num(double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); }

/// Metrics of probabilities `ps` against `ys` (and their groups `gs`, empty when none).
nlohmann::json evaluate(const std::vector<float>& ps, const std::vector<float>& ys,
                        const std::vector<uint64_t>& gs, const FunnelMetricsOptions& o) {
  nlohmann::json j = metric::MetricSet::compute(ps, ys);
  if (o.gauc && !gs.empty()) {
    const auto g = metric::gauc(ps, ys, gs);
    j["gauc"] = num(g.value_weighted);
    j["gauc_unweighted"] = num(g.value_unweighted);
    j["gauc_groups_used"] = g.groups_used;
    j["gauc_groups_skipped"] = g.groups_skipped;
  }
  if (o.top_k && !ps.empty()) {
    std::vector<double> fr(metric::kEsm2TopFractions.begin(), metric::kEsm2TopFractions.end());
    nlohmann::json tk = nlohmann::json::object();
    for (const auto& r : metric::top_k(ps, ys, fr)) {
      char key[32];
      std::snprintf(key, sizeof key, "top%.1f%%", 100 * r.fraction);
      tk[key] = {{"k", r.k}, {"precision", num(r.precision)}, {"recall", num(r.recall)},
                 {"f1", num(r.f1)}};
    }
    j["top_k"] = tk;
  }
  return j;
}

}  // namespace

std::vector<FunnelMetricEntry> funnel_metric_entries(const std::vector<std::string>& events,
                                                     const std::vector<int>& parents) {
  const size_t E = events.size();
  std::vector<FunnelMetricEntry> out = {{"ctr", 0, -1}};
  if (E == 1) return out;
  const size_t last = E - 1;
  out.push_back({"cvr", last, 0});
  out.push_back({"ctcvr", last, -1});
  for (size_t e = 1; e < last; ++e) {
    out.push_back({events[e], e, -1});
    if (parents[e] >= 0) out.push_back({events[e] + "|" + events[parents[e]], e, parents[e]});
  }
  if (E > 2 && parents[last] > 0) {
    out.push_back({events[last] + "|" + events[parents[last]], last, parents[last]});
  }
  return out;
}

namespace {

// The scalars early stopping can follow, and their direction.
constexpr Choice<bool> kFollowable[] = {
    {"auc", true}, {"gauc", true}, {"gauc_unweighted", true}, {"nll", false}};

}  // namespace

MetricPath parse_metric_path(const std::string& text, const std::string& path) {
  const size_t dot = text.rfind('.');
  FUNNEL_CHECK(dot != std::string::npos && dot > 0,
               path << ": expected <entry>.<metric> (e.g. cvr.auc, ctcvr.nll), got '" << text
                    << "'");
  MetricPath m;
  m.entry = text.substr(0, dot);
  m.metric = text.substr(dot + 1);
  m.higher_is_better = parse_choice(m.metric, kFollowable, path + " (metric after the dot)");
  return m;
}

void MetricPath::check_entry(const std::vector<std::string>& events,
                             const std::vector<int>& parents, const std::string& path) const {
  std::vector<std::string> names;
  for (const auto& e : funnel_metric_entries(events, parents)) names.push_back(e.name);
  check_choice(entry, names, path + " (entry before the dot)");
}

double MetricPath::value_in(const nlohmann::json& metrics) const {
  if (!metrics.is_object() || !metrics.contains(entry) || !metrics[entry].contains(metric)) {
    return NAN;
  }
  const auto& v = metrics[entry][metric];
  return v.is_number() ? v.get<double>() : NAN;
}

void check_funnel_predictions(const FunnelPredictions& p, const std::vector<std::string>& events,
                              const std::vector<int>& parents, const char* who) {
  const size_t E = events.size();
  FUNNEL_CHECK(E >= 1 && parents.size() == E, who << ": one parent per event");
  FUNNEL_CHECK(p.log_p.size() == E * p.n && p.labels.size() == E * p.n,
               who << ": predictions and labels must be [events x rows]");
  FUNNEL_CHECK(p.group.empty() || p.group.size() == p.n, who << ": one group per row");
}

void entry_rows(const FunnelPredictions& p, const FunnelMetricEntry& entry,
                std::vector<float>* probs, std::vector<float>* labels,
                std::vector<uint64_t>* group) {
  const size_t n = p.n, e = entry.event;
  probs->clear();
  labels->clear();
  if (group) group->clear();
  probs->reserve(n);
  labels->reserve(n);
  for (size_t i = 0; i < n; ++i) {
    float prob;
    if (entry.given < 0) {
      prob = std::exp(p.log_p[e * n + i]);
    } else {
      // P(e | a) on the rows where the ancestor a happened.
      const auto a = static_cast<size_t>(entry.given);
      if (!(p.labels[a * n + i] > 0.5f)) continue;
      prob = capped_conditional(p.log_p[e * n + i], p.log_p[a * n + i]);
    }
    probs->push_back(prob);
    labels->push_back(p.labels[e * n + i]);
    if (group && !p.group.empty()) group->push_back(p.group[i]);
  }
}

nlohmann::json funnel_metrics(const FunnelPredictions& p, const std::vector<std::string>& events,
                              const std::vector<int>& parents, const FunnelMetricsOptions& o) {
  check_funnel_predictions(p, events, parents, "funnel_metrics");
  nlohmann::json j = nlohmann::json::object();
  std::vector<float> probs, labels;
  std::vector<uint64_t> group;
  for (const FunnelMetricEntry& entry : funnel_metric_entries(events, parents)) {
    entry_rows(p, entry, &probs, &labels, &group);
    j[entry.name] = evaluate(probs, labels, group, o);
  }
  return j;
}

std::string funnel_metrics_table(const nlohmann::json& splits) {
  auto value = [](const nlohmann::json& v) { return v.is_number() ? v.get<double>() : NAN; };
  char buf[256];
  int width = 10;  // the split column fits the longest name ("test (oracle)")
  for (const auto& [split, metrics] : splits.items()) {
    width = std::max(width, static_cast<int>(std::min<size_t>(split.size(), 60)));
  }
  std::snprintf(buf, sizeof buf, "%-*s %-20s %8s %8s %10s\n", width, "split", "entry", "AUC", "NLL",
                "rows");
  std::string out = buf;
  for (const auto& [split, metrics] : splits.items()) {
    if (!metrics.is_object()) continue;
    std::vector<std::string> entries = {"ctr", "cvr", "ctcvr"};
    for (const auto& [entry, m] : metrics.items()) {
      if (entry != "ctr" && entry != "cvr" && entry != "ctcvr") entries.push_back(entry);
    }
    for (const auto& entry : entries) {
      if (!metrics.contains(entry)) continue;
      const auto& m = metrics.at(entry);
      std::snprintf(buf, sizeof buf, "%-*s %-20s %8.4f %8.5f %10llu\n", width, split.c_str(),
                    entry.c_str(), value(m.value("auc", nlohmann::json())),
                    value(m.value("nll", nlohmann::json())),
                    static_cast<unsigned long long>(m.value("count", 0)));
      out += buf;
    }
  }
  return out;
}

}  // namespace funnel::metric
