#include "metric/compare_report.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace funnel::metric {
namespace {

const nlohmann::json* find_path(const nlohmann::json& j, const std::vector<std::string>& path) {
  const nlohmann::json* at = &j;
  for (const std::string& key : path) {
    if (!at->is_object() || !at->contains(key)) return nullptr;
    at = &(*at)[key];
  }
  return at;
}

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string mean_std(const SeedStats& s, int decimals) {
  if (s.n == 0) return "-";
  if (s.n == 1) return fixed(s.mean, decimals);
  return fixed(s.mean, decimals) + " ± " + fixed(s.std, decimals);
}

std::string signed_fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  return (v >= 0 ? "+" : "") + fixed(v, decimals);
}

/// `key`: "oracle" (the truth) or "oracle_inherent" (list data: the inherent truth).
double oracle_value(const nlohmann::json& compare, const std::vector<std::string>& path,
                    const char* key = "oracle") {
  std::vector<std::string> p = {key};
  p.insert(p.end(), path.begin(), path.end());
  const nlohmann::json* v = find_path(compare, p);
  return v && v->is_number() ? v->get<double>() : NAN;
}

struct Column {
  std::string title;
  std::vector<std::string> path;  // inside a run, e.g. test.cvr.auc
  int decimals;
};

size_t ok_runs(const nlohmann::json& compare, const std::string& model) {
  size_t n = 0;
  for (const auto& run : compare.value("runs", nlohmann::json::array())) {
    if (run.value("model", "") == model && run.value("status", "") == "ok") ++n;
  }
  return n;
}

void table_header(std::ostringstream& out, const std::vector<std::string>& titles) {
  out << "|";
  for (const auto& t : titles) out << " " << t << " |";
  out << "\n|";
  for (size_t i = 0; i < titles.size(); ++i) out << (i == 0 ? "---|" : "---:|");
  out << "\n";
}

// A table of mean +- std per model (and the oracle's value) over `columns`.
void stats_table(std::ostringstream& out, const nlohmann::json& compare,
                 const std::vector<std::string>& models, const std::vector<Column>& columns,
                 bool with_std) {
  std::vector<std::string> titles = {"model", "runs"};
  for (const auto& c : columns) titles.push_back(c.title);
  table_header(out, titles);
  for (const auto& m : models) {
    out << "| " << m << " | " << ok_runs(compare, m) << " |";
    for (const auto& c : columns) {
      SeedStats s = seed_stats(run_values(compare, m, c.path));
      if (!with_std && s.n > 1) s.n = 1;
      out << " " << mean_std(s, c.decimals) << " |";
    }
    out << "\n";
  }
  for (const auto& [key, label] : {std::pair<const char*, const char*>{"oracle", "*oracle*"},
                                    {"oracle_inherent", "*oracle (inherent)*"}}) {
    if (!compare.contains(key)) continue;
    out << "| " << label << " | - |";
    for (const auto& c : columns) {
      out << " " << fixed(oracle_value(compare, c.path, key), c.decimals) << " |";
    }
    out << "\n";
  }
}

}  // namespace

SeedStats seed_stats(const std::vector<double>& values) {
  SeedStats s;
  double sum = 0;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    sum += v;
    ++s.n;
  }
  if (s.n == 0) {
    s.mean = s.std = NAN;
    return s;
  }
  s.mean = sum / static_cast<double>(s.n);
  double sq = 0;
  for (double v : values) {
    if (std::isfinite(v)) sq += (v - s.mean) * (v - s.mean);
  }
  s.std = s.n > 1 ? std::sqrt(sq / static_cast<double>(s.n - 1)) : 0.0;
  return s;
}

double auc_gain_points(double auc, double baseline_auc) {
  if (!std::isfinite(auc) || !std::isfinite(baseline_auc)) return NAN;
  return 100.0 * (auc - baseline_auc);
}

std::vector<double> run_values(const nlohmann::json& compare, const std::string& model,
                               const std::vector<std::string>& path) {
  std::vector<double> values;
  for (const auto& run : compare.value("runs", nlohmann::json::array())) {
    if (run.value("model", "") != model || run.value("status", "") != "ok") continue;
    const nlohmann::json* v = find_path(run, path);
    if (v && v->is_number()) values.push_back(v->get<double>());
  }
  return values;
}

std::string compare_markdown(const nlohmann::json& compare) {
  std::vector<std::string> models;
  for (const auto& m : compare.value("models", nlohmann::json::array())) {
    models.push_back(m.get<std::string>());
  }
  const std::string baseline = compare.value("baseline", std::string("dnn"));
  const bool have_baseline = ok_runs(compare, baseline) > 0;
  std::ostringstream out;
  out << "Test split; mean ± sample std over seeds";
  if (compare.contains("seeds")) out << " " << compare["seeds"].dump();
  out << ".";
  if (compare.contains("data")) {
    const auto& d = compare["data"];
    if (d.contains("rows")) out << " Rows: " << d["rows"].dump() << ".";
    if (d.contains("events")) out << " Funnel: " << d["events"].dump() << ".";
  }
  if (compare.contains("wall_seconds")) {
    out << " Wall time of the whole compare: " << fixed(compare["wall_seconds"].get<double>(), 0)
        << " s.";
  }
  out << "\n\n";

  // (a) AutoHERI Table 2: AUC and NLL of CVR and CTCVR, gain over DNN, training time.
  out << "#### AUC and NLL (AutoHERI Table 2 style)\n\n";
  std::vector<std::string> titles = {"model", "runs", "CTR AUC", "CVR AUC", "CVR NLL",
                                     "CTCVR AUC", "CTCVR NLL"};
  if (have_baseline) {
    titles.push_back("CVR AUC gain (pp)");
    titles.push_back("CTCVR AUC gain (pp)");
  }
  titles.push_back("train s / run");
  titles.push_back("samples/s");
  titles.push_back("scored/s");
  table_header(out, titles);
  const std::vector<Column> main = {{"CTR AUC", {"test", "ctr", "auc"}, 4},
                                    {"CVR AUC", {"test", "cvr", "auc"}, 4},
                                    {"CVR NLL", {"test", "cvr", "nll"}, 5},
                                    {"CTCVR AUC", {"test", "ctcvr", "auc"}, 4},
                                    {"CTCVR NLL", {"test", "ctcvr", "nll"}, 5}};
  const double base_cvr = seed_stats(run_values(compare, baseline, {"test", "cvr", "auc"})).mean;
  const double base_ctcvr =
      seed_stats(run_values(compare, baseline, {"test", "ctcvr", "auc"})).mean;
  for (const auto& m : models) {
    out << "| " << m << " | " << ok_runs(compare, m) << " |";
    for (const auto& c : main) {
      out << " " << mean_std(seed_stats(run_values(compare, m, c.path)), c.decimals) << " |";
    }
    if (have_baseline) {
      const double cvr = seed_stats(run_values(compare, m, {"test", "cvr", "auc"})).mean;
      const double ctcvr = seed_stats(run_values(compare, m, {"test", "ctcvr", "auc"})).mean;
      out << " " << signed_fixed(auc_gain_points(cvr, base_cvr), 2) << " | "
          << signed_fixed(auc_gain_points(ctcvr, base_ctcvr), 2) << " |";
    }
    out << " " << mean_std(seed_stats(run_values(compare, m, {"timing", "train_seconds"})), 1)
        << " | "
        << fixed(seed_stats(run_values(compare, m, {"timing", "samples_per_second"})).mean, 0)
        << " | "
        << fixed(seed_stats(run_values(compare, m, {"timing", "predict_samples_per_second"})).mean,
                 0)
        << " |\n";
  }
  for (const auto& [key, label] : {std::pair<const char*, const char*>{"oracle", "*oracle*"},
                                    {"oracle_inherent", "*oracle (inherent)*"}}) {
    if (!compare.contains(key)) continue;
    out << "| " << label << " | - |";
    for (const auto& c : main) {
      out << " " << fixed(oracle_value(compare, c.path, key), c.decimals) << " |";
    }
    if (have_baseline) {
      out << " "
          << signed_fixed(auc_gain_points(oracle_value(compare, {"test", "cvr", "auc"}, key), base_cvr), 2)
          << " | "
          << signed_fixed(
                 auc_gain_points(oracle_value(compare, {"test", "ctcvr", "auc"}, key), base_ctcvr), 2)
          << " |";
    }
    out << " - | - | - |\n";
  }
  out << "\n";
  if (have_baseline) {
    out << "Gain: AUC(model) - AUC(" << baseline
        << ") of the seed means, in AUC points x 100 (percentage points). ";
  }
  out << "CVR: p(conversion | click) on clicked rows; CTCVR: p(conversion) on all impressions. "
         "Train seconds exclude evaluation.\n\n";

  // (b) ESM2 tables 4-5: precision, recall, F1 at the top fractions, per event.
  for (const auto& [entry, title] :
       std::vector<std::pair<std::string, std::string>>{{"cvr", "CVR"}, {"ctcvr", "CTCVR"}}) {
    nlohmann::json keys;
    for (const auto& run : compare.value("runs", nlohmann::json::array())) {
      const nlohmann::json* tk = find_path(run, {"test", entry, "top_k"});
      if (tk && tk->is_object()) {
        keys = *tk;
        break;
      }
    }
    if (keys.is_null()) continue;
    std::vector<Column> cols;
    for (auto it = keys.begin(); it != keys.end(); ++it) {
      const std::string at = it.key().substr(3);  // "top0.1%" -> "0.1%"
      for (const auto& [metric, short_name] : std::vector<std::pair<std::string, std::string>>{
               {"precision", "P"}, {"recall", "R"}, {"f1", "F1"}}) {
        cols.push_back({short_name + "@" + at, {"test", entry, "top_k", it.key(), metric}, 4});
      }
    }
    out << "#### " << title << " precision / recall / F1 at the top k (ESM2 tables 4-5 style)\n\n";
    stats_table(out, compare, models, cols, /*with_std=*/false);
    out << "\nMeans over seeds; top k% of the " << (entry == "cvr" ? "clicked rows" : "impressions")
        << " ranked by the model's " << title << ".\n\n";
  }

  // (c) GAUC where the data has a group column.
  bool gauc = false;
  for (const auto& run : compare.value("runs", nlohmann::json::array())) {
    if (find_path(run, {"test", "cvr", "gauc"})) gauc = true;
  }
  if (gauc) {
    out << "#### GAUC (by the group column, impression-weighted)\n\n";
    stats_table(out, compare, models,
                {{"CTR GAUC", {"test", "ctr", "gauc"}, 4},
                 {"CVR GAUC", {"test", "cvr", "gauc"}, 4},
                 {"CTCVR GAUC", {"test", "ctcvr", "gauc"}, 4}},
                /*with_std=*/true);
    out << "\n";
  }

  // (d) NDCG where the data has a list column (HEROES §5.1: over the whole list).
  bool ndcg = false;
  for (const auto& run : compare.value("runs", nlohmann::json::array())) {
    if (find_path(run, {"test", "ctr", "ndcg"})) ndcg = true;
  }
  if (ndcg) {
    out << "#### NDCG (whole list)\n\n";
    stats_table(out, compare, models,
                {{"CTR NDCG", {"test", "ctr", "ndcg"}, 4},
                 {"CTR NDCG@5", {"test", "ctr", "ndcg@5"}, 4},
                 {"CTCVR NDCG", {"test", "ctcvr", "ndcg"}, 4},
                 {"CTCVR NDCG@5", {"test", "ctcvr", "ndcg@5"}, 4}},
                /*with_std=*/true);
    out << "\nEach list ranked by the model's P(click) (CTR) or entire-space P(conversion) "
           "(CTCVR) against the event's 0/1 label; mean over the lists with a positive.\n\n";
  }

  // Failed runs: recorded, not fatal.
  bool failed = false;
  for (const auto& run : compare.value("runs", nlohmann::json::array())) {
    if (run.value("status", "") != "failed") continue;
    if (!failed) {
      out << "#### Failed runs\n\n";
      table_header(out, {"model", "seed", "error"});
      failed = true;
    }
    std::string error = run.value("error", "");
    for (size_t i = 0; i < error.size(); ++i) {
      if (error[i] == '\n') error[i] = ' ';
      if (error[i] == '|') error.insert(i++, "\\");
    }
    out << "| " << run.value("model", "") << " | " << run.value("seed", 0) << " | " << error
        << " |\n";
  }
  if (failed) out << "\n";
  return out.str();
}

}  // namespace funnel::metric
