#include "train/funnel_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "metric/gauc.h"
#include "metric/metric_set.h"
#include "metric/top_k.h"

namespace funnel::train {
namespace {

/// JSON has no NaN: undefined values are null.
nlohmann::json num(double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); }

/// Metrics of probabilities `p` against `y` on the rows where `mask` is set (all if empty).
nlohmann::json evaluate(const std::vector<float>& p, const float* y, const std::vector<uint8_t>& mask,
                        const std::vector<uint64_t>& group, const FunnelMetricsOptions& o) {
  std::vector<float> ps, ys;
  std::vector<uint64_t> gs;
  const size_t n = p.size();
  ps.reserve(n);
  ys.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (!mask.empty() && !mask[i]) continue;
    ps.push_back(p[i]);
    ys.push_back(y[i]);
    if (!group.empty()) gs.push_back(group[i]);
  }
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

nlohmann::json funnel_metrics(const FunnelPredictions& p, const std::vector<std::string>& events,
                              const std::vector<int>& parents, const FunnelMetricsOptions& o) {
  const size_t E = events.size();
  FUNNEL_CHECK(E >= 1 && parents.size() == E, "funnel_metrics: one parent per event");
  FUNNEL_CHECK(p.log_p.size() == E * p.n && p.labels.size() == E * p.n,
               "funnel_metrics: predictions and labels must be [events x rows]");
  FUNNEL_CHECK(p.group.empty() || p.group.size() == p.n, "funnel_metrics: one group per row");
  const size_t n = p.n;
  auto prob = [&](size_t e) {
    std::vector<float> out(n);
    for (size_t i = 0; i < n; ++i) out[i] = std::exp(p.log_p[e * n + i]);
    return out;
  };
  /// P(e | a) for an ancestor a of e: exp(log P(e) - log P(a)), on rows where a happened.
  auto conditional = [&](size_t e, size_t a, std::vector<uint8_t>& mask) {
    std::vector<float> out(n);
    mask.assign(n, 0);
    for (size_t i = 0; i < n; ++i) {
      out[i] = std::min(1.0f, std::exp(p.log_p[e * n + i] - p.log_p[a * n + i]));
      mask[i] = p.labels[a * n + i] > 0.5f;
    }
    return out;
  };
  const std::vector<uint8_t> all;
  nlohmann::json j = nlohmann::json::object();
  j["ctr"] = evaluate(prob(0), &p.labels[0], all, p.group, o);
  if (E == 1) return j;
  const size_t last = E - 1;
  std::vector<uint8_t> mask;
  const auto cvr = conditional(last, 0, mask);
  j["cvr"] = evaluate(cvr, &p.labels[last * n], mask, p.group, o);
  j["ctcvr"] = evaluate(prob(last), &p.labels[last * n], all, p.group, o);
  for (size_t e = 1; e < last; ++e) {
    j[events[e]] = evaluate(prob(e), &p.labels[e * n], all, p.group, o);
    if (parents[e] >= 0) {
      const auto c = conditional(e, static_cast<size_t>(parents[e]), mask);
      j[events[e] + "|" + events[parents[e]]] = evaluate(c, &p.labels[e * n], mask, p.group, o);
    }
  }
  if (E > 2 && parents[last] >= 0 && parents[last] != 0) {
    const auto c = conditional(last, static_cast<size_t>(parents[last]), mask);
    j[events[last] + "|" + events[parents[last]]] =
        evaluate(c, &p.labels[last * n], mask, p.group, o);
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

}  // namespace funnel::train
