#include "metric/funnel_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "core/choice.h"
#include "core/error.h"
#include "metric/gauc.h"
#include "metric/metric_set.h"
#include "metric/ndcg.h"
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

// The NDCG cut-offs of an entry: the whole list (HEROES §5.1) and the usual top ranks.
constexpr size_t kWholeList = SIZE_MAX;
const std::vector<size_t> kNdcgCuts = {kWholeList, 1, 3, 5, 10};
const std::vector<std::string> kNdcgKeys = {"ndcg", "ndcg@1", "ndcg@3", "ndcg@5", "ndcg@10"};

/// NDCG of each list ranked by `ps` against the 0/1 labels `ys` (rows aligned with `lists`).
void add_ndcg(const std::vector<float>& ps, const std::vector<float>& ys,
              const std::vector<uint64_t>& lists, nlohmann::json* j) {
  // With 0/1 labels the exponential gain 2^y - 1 equals y: the choice does not matter.
  const auto rs =
      metric::ndcg(ps.data(), ys.data(), lists.data(), ps.size(), kNdcgCuts, Gain::kExponential);
  for (size_t c = 0; c < kNdcgCuts.size(); ++c) (*j)[kNdcgKeys[c]] = num(rs[c].value);
  // A list with a positive has IDCG@k > 0 at every k: the counts do not depend on k.
  (*j)["ndcg_lists_used"] = rs[0].lists_used;
  (*j)["ndcg_lists_skipped"] = rs[0].lists_skipped;
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
    {"auc", true},    {"gauc", true},   {"gauc_unweighted", true}, {"ndcg", true}, {"ndcg@1", true},
    {"ndcg@3", true}, {"ndcg@5", true}, {"ndcg@10", true},         {"nll", false}};

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
  const std::vector<FunnelMetricEntry> entries = funnel_metric_entries(events, parents);
  std::vector<std::string> names, all_impressions;
  for (const auto& e : entries) {
    names.push_back(e.name);
    if (e.given < 0) all_impressions.push_back(e.name);
  }
  check_choice(entry, names, path + " (entry before the dot)");
  if (metric.compare(0, 4, "ndcg") == 0) {
    // funnel_metrics writes NDCG only for the entries on all impressions (see the header).
    const auto it = std::find_if(entries.begin(), entries.end(),
                                 [&](const FunnelMetricEntry& e) { return e.name == entry; });
    FUNNEL_CHECK(it->given < 0, path << ": " << metric << " is measured on all impressions only ("
                                     << choice_list(all_impressions) << "), not on " << entry);
  }
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
  FUNNEL_CHECK(p.group.empty() || p.group.size() == p.n,
               who << ": one group per row, got " << p.group.size() << " for " << p.n << " rows");
  FUNNEL_CHECK(p.list.empty() || p.list.size() == p.n,
               who << ": one list id per row, got " << p.list.size() << " for " << p.n << " rows");
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
    // On all impressions entry_rows keeps every row in order, so probs line up with p.list.
    if (o.ndcg && !p.list.empty() && entry.given < 0) {
      add_ndcg(probs, labels, p.list, &j[entry.name]);
    }
  }
  return j;
}

std::string funnel_metrics_table(const nlohmann::json& splits) {
  auto value = [](const nlohmann::json& v) { return v.is_number() ? v.get<double>() : NAN; };
  char buf[256];
  int width = 10;     // the split column fits the longest name ("test (oracle)")
  bool ndcg = false;  // an NDCG column when some entry has one (data with lists)
  for (const auto& [split, metrics] : splits.items()) {
    width = std::max(width, static_cast<int>(std::min<size_t>(split.size(), 60)));
    if (!metrics.is_object()) continue;
    for (const auto& [entry, m] : metrics.items()) ndcg = ndcg || m.contains("ndcg");
  }
  std::snprintf(buf, sizeof buf, "%-*s %-20s %8s %8s %10s", width, "split", "entry", "AUC", "NLL",
                "rows");
  std::string out = buf;
  out += ndcg ? "     NDCG\n" : "\n";
  for (const auto& [split, metrics] : splits.items()) {
    if (!metrics.is_object()) continue;
    std::vector<std::string> entries = {"ctr", "cvr", "ctcvr"};
    for (const auto& [entry, m] : metrics.items()) {
      if (entry != "ctr" && entry != "cvr" && entry != "ctcvr") entries.push_back(entry);
    }
    for (const auto& entry : entries) {
      if (!metrics.contains(entry)) continue;
      const auto& m = metrics.at(entry);
      std::snprintf(buf, sizeof buf, "%-*s %-20s %8.4f %8.5f %10llu", width, split.c_str(),
                    entry.c_str(), value(m.value("auc", nlohmann::json())),
                    value(m.value("nll", nlohmann::json())),
                    static_cast<unsigned long long>(m.value("count", 0)));
      out += buf;
      if (ndcg && m.contains("ndcg")) {
        std::snprintf(buf, sizeof buf, " %8.4f", value(m["ndcg"]));
        out += buf;
      } else if (ndcg) {
        out += "        -";  // a conditional entry: no NDCG (see the header)
      }
      out += "\n";
    }
  }
  return out;
}

}  // namespace funnel::metric
