#include "report/run_report.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/file.h"
#include "metric/compare_report.h"
#include "report/gate_figure.h"
#include "report/html.h"
#include "report/plot.h"

namespace funnel::report {
namespace {

using nlohmann::json;

json read_json(const std::string& path) {
  const std::string text = read_text_file(path);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
}

/// The lines of a JSONL log; a missing file is an empty log.
std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> out;
  if (!path_exists(path)) return out;
  std::istringstream in(read_text_file(path));
  size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty()) continue;
    try {
      out.push_back(json::parse(line));
    } catch (const json::exception& e) {
      throw Error(path + ":" + std::to_string(line_no) + ": not valid JSON: " + e.what());
    }
  }
  return out;
}

/// j[path...] or null.
const json& at(const json& j, std::initializer_list<const char*> path) {
  static const json kNull;
  const json* p = &j;
  for (const char* key : path) {
    if (!p->is_object() || !p->contains(key)) return kNull;
    p = &(*p)[key];
  }
  return *p;
}

double number(const json& v) { return v.is_number() ? v.get<double>() : NAN; }

std::string cell(double v, const char* format = "%.4f") {
  return std::isfinite(v) ? fmt(v, format) : "&ndash;";
}

std::string text(const json& v) {
  if (v.is_string()) return html_escape(v.get<std::string>());
  if (v.is_null()) return "&ndash;";
  return html_escape(v.dump());
}

std::string figure(const std::string& id, const std::string& svg, const std::string& caption) {
  return "<figure id=\"" + id + "\">\n" + svg + "<figcaption>" + caption +
         "</figcaption>\n</figure>\n";
}

/// The metric entries of a funnel_metrics object: ctr, cvr, ctcvr, then the rest in order.
std::vector<std::string> entries_of(const json& metrics) {
  std::vector<std::string> out;
  for (const char* e : {"ctr", "cvr", "ctcvr"}) {
    if (metrics.is_object() && metrics.contains(e)) out.push_back(e);
  }
  if (metrics.is_object()) {
    for (const auto& [k, v] : metrics.items()) {
      if (k != "ctr" && k != "cvr" && k != "ctcvr" && v.is_object() && v.contains("auc")) {
        out.push_back(k);
      }
    }
  }
  return out;
}

/// What one folder contributes to the page.
struct Part {
  std::string dir;
  RunKind kind;
  int k;
  json main;                                                  // metrics.json or compare.json
  std::vector<std::pair<std::string, std::string>> sections;  // id, html
  std::string sid(const std::string& name) const { return name + "-" + std::to_string(k); }
  std::string fid(const std::string& name) const { return "fig-" + sid(name); }
  std::string label() const {
    return std::string(run_kind_name(kind)) + " " + std::to_string(k) + ": " + dir;
  }
};

std::string config_block(const json& config) {
  if (config.is_null()) return "";
  return "<details><summary>resolved configuration</summary><pre>" + html_escape(config.dump(2)) +
         "</pre></details>\n";
}

std::string machine_line(const json& machine) {
  if (!machine.is_object()) return "";
  return "<li>machine: " + text(at(machine, {"host"})) + ", " + text(at(machine, {"cpus"})) +
         " CPUs, " + text(at(machine, {"threads"})) + " LibTorch thread(s)</li>\n";
}

std::string data_lines(const json& data, const json& test) {
  std::ostringstream s;
  if (data.is_object()) {
    std::string rows;
    for (const auto& [split, n] : at(data, {"rows"}).items()) {
      rows += (rows.empty() ? "" : ", ") + html_escape(split) + " " + text(n);
    }
    std::string events;
    for (const auto& e : at(data, {"events"})) {
      events += (events.empty() ? "" : " &rarr; ") + text(e);
    }
    s << "<li>data: events " << events << "; rows " << rows
      << (at(data, {"truth"}) == true ? "; simulated (true probabilities known)" : "") << "</li>\n";
  }
  // Rates of the test split, from its metrics (the observed rate of each entry).
  if (test.is_object()) {
    std::string rates;
    for (const std::string& e : entries_of(test)) {
      rates += (rates.empty() ? "" : ", ") + html_escape(e) + " " +
               cell(number(at(test[e], {"observed_rate"})), "%.5f") + " (" +
               text(at(test[e], {"count"})) + " rows)";
    }
    s << "<li>test rates: " << rates << "</li>\n";
  }
  return s.str();
}

/// Metrics per split and entry, the oracle row and the model's gap to it.
std::string metrics_table(const json& m, const std::string& model) {
  std::vector<std::string> header = {"split", "row"};
  std::vector<std::string> entries;
  for (const char* split : {"validation", "test"}) {
    for (const std::string& e : entries_of(at(m, {split}))) {
      if (std::find(entries.begin(), entries.end(), e) == entries.end()) entries.push_back(e);
    }
  }
  if (entries.empty()) return "<p class=\"muted\">no metrics</p>\n";
  for (const auto& e : entries) {
    header.push_back(html_escape(e) + " AUC");
    header.push_back(html_escape(e) + " NLL");
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> classes;
  for (const char* split : {"validation", "test"}) {
    const json& s = at(m, {split});
    if (!s.is_object()) continue;
    const json& oracle = at(m, {"oracle", split});
    auto row = [&](const std::string& name, const json& src) {
      std::vector<std::string> r = {split, name};
      for (const auto& e : entries) {
        r.push_back(cell(number(at(src, {e.c_str(), "auc"}))));
        r.push_back(cell(number(at(src, {e.c_str(), "nll"})), "%.5f"));
      }
      return r;
    };
    rows.push_back(row(html_escape(model), s));
    classes.push_back("");
    if (oracle.is_object()) {
      rows.push_back(row("oracle", oracle));
      classes.push_back("oracle");
      std::vector<std::string> gap = {split, "gap to the oracle"};
      for (const auto& e : entries) {
        const double d = number(at(s, {e.c_str(), "auc"})) - number(at(oracle, {e.c_str(), "auc"}));
        gap.push_back(std::isfinite(d) ? fmt(d, "%+.4f") : "&ndash;");
        const double dn =
            number(at(s, {e.c_str(), "nll"})) - number(at(oracle, {e.c_str(), "nll"}));
        gap.push_back(std::isfinite(dn) ? fmt(dn, "%+.5f") : "&ndash;");
      }
      rows.push_back(gap);
      classes.push_back("");
    }
  }
  return html_table(header, rows, classes);
}

/// The early-stopping metric of a run ("cvr.auc") split into entry and metric.
std::pair<std::string, std::string> early_stop_metric(const json& config) {
  const json& v = at(config, {"train", "early_stop_metric"});
  const std::string s = v.is_string() ? v.get<std::string>() : "cvr.auc";
  const size_t dot = s.rfind('.');
  if (dot == std::string::npos) return {"cvr", "auc"};
  return {s.substr(0, dot), s.substr(dot + 1)};
}

/// The loss smoothed by a debiased exponential moving average (TensorBoard's), its weight
/// growing with the number of points (none for under 10, 0.9 at 100, at most 0.95) so that a
/// short run is not drawn as one long lag.
double smoothing_weight(size_t n) { return std::min(0.95, std::max(0.0, 1.0 - 10.0 / n)); }

std::vector<double> smoothed(const std::vector<double>& v, double weight) {
  std::vector<double> out;
  double ema = 0, norm = 0;
  for (double x : v) {
    if (std::isfinite(x)) {
      ema = weight * ema + (1 - weight) * x;
      norm = weight * norm + (1 - weight);
    }
    out.push_back(norm > 0 ? ema / norm : NAN);
  }
  return out;
}

/// Training curves: the loss per step and the validation metrics per evaluation, with the
/// early-stopping point.
std::string curves_section(const Part& p, const std::string& loss_file, const std::string& log_file,
                           const std::string& loss_name, bool early_stopping) {
  std::ostringstream s;
  const std::vector<json> loss = read_jsonl(join_path(p.dir, loss_file));
  const std::vector<json> log = read_jsonl(join_path(p.dir, log_file));
  LineChart lc;
  lc.id = "svg-" + p.sid("loss");
  lc.title = loss_name + " per step";
  lc.x_label = "step";
  lc.y_label = "loss";
  Series raw{"every " + std::string(loss.empty() ? "evaluation" : "logged window"),
             {},
             {},
             "#bbbbbb",
             false,
             false};
  if (!loss.empty()) {
    for (const json& l : loss) {
      raw.x.push_back(number(at(l, {"step"})));
      raw.y.push_back(number(at(l, {"loss"})));
    }
  } else {
    for (const json& l : log) {  // older runs: the mean loss between evaluations only
      raw.x.push_back(number(at(l, {"step"})));
      raw.y.push_back(number(at(l, {"train_loss"})));
    }
  }
  lc.series.push_back(raw);
  const double w = smoothing_weight(raw.y.size());
  if (w > 0) {
    lc.series.push_back(
        {"smoothed (EMA " + fmt(w) + ")", raw.x, smoothed(raw.y, w), "", false, false});
  }
  s << "<div class=\"figures\">\n"
    << figure(p.fid("loss"), render(lc),
              "Training loss (the funnel loss with the model's own terms) of every " +
                  std::string(loss.empty()
                                  ? "stretch between evaluations (log.jsonl)"
                                  : "window of train.log_loss_every steps (" + loss_file + ")") +
                  ", and its exponential moving average.");
  const auto [stop_entry, stop_metric] = early_stop_metric(at(p.main, {"config"}));
  LineChart vc;
  vc.id = "svg-" + p.sid("validation");
  vc.title = "validation AUC per evaluation";
  vc.x_label = "step";
  vc.y_label = "AUC";
  std::vector<std::string> entries;
  for (const json& l : log) {
    for (const auto& e : entries_of(at(l, {"validation"}))) {
      if (std::find(entries.begin(), entries.end(), e) == entries.end()) entries.push_back(e);
    }
  }
  for (const std::string& e : entries) {
    Series ser{e, {}, {}, "", true, false};
    for (const json& l : log) {
      ser.x.push_back(number(at(l, {"step"})));
      ser.y.push_back(number(at(l, {"validation", e.c_str(), "auc"})));
    }
    vc.series.push_back(ser);
  }
  // The best evaluation of the early-stopping metric: the state the run kept.
  const bool higher = stop_metric != "nll";
  double best = NAN, best_step = NAN;
  for (const json& l : log) {
    const double v = number(at(l, {"validation", stop_entry.c_str(), stop_metric.c_str()}));
    if (std::isfinite(v) && (std::isnan(best) || (higher ? v > best : v < best))) {
      best = v;
      best_step = number(at(l, {"step"}));
    }
  }
  if (early_stopping && std::isfinite(best_step)) {
    vc.markers.push_back(
        {best_step, "best " + stop_entry + "." + stop_metric + " " + fmt(best, "%.4f")});
  }
  s << figure(p.fid("validation"), render(vc),
              "AUC of each entry on the validation split at every evaluation (" + log_file +
                  (early_stopping ? "); the dashed line marks the best " +
                                        html_escape(stop_entry + "." + stop_metric) +
                                        ", the state the run kept (early stopping)."
                                  : "); the search keeps its last supernet."))
    << "</div>\n";
  return s.str();
}

std::string calibration_section(const Part& p) {
  const std::string path = join_path(p.dir, "curves.json");
  if (!path_exists(path)) {
    return "<p class=\"muted\">no curves.json in this run (written by funnel train since the "
           "report exists)</p>\n";
  }
  const json c = read_json(path);
  const json& entries = at(c, {"entries"});
  FUNNEL_CHECK(entries.is_object(), path << ": expected an object \"entries\"");
  std::ostringstream s;
  s << "<div class=\"figures\">\n";
  LineChart roc;
  roc.id = "svg-" + p.sid("roc");
  roc.title = "ROC curves (" + text(at(c, {"split"})) + " split)";
  roc.x_label = "false positive rate";
  roc.y_label = "true positive rate";
  roc.x_min = roc.y_min = 0;
  roc.x_max = roc.y_max = 1;
  roc.diagonal = true;
  roc.frame.width = 420;
  roc.frame.height = 380;
  std::vector<std::string> names;
  for (const char* e : {"ctr", "cvr", "ctcvr"}) {
    if (entries.contains(e)) names.push_back(e);
  }
  for (const auto& [name, e] : entries.items()) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  for (const std::string& name : names) {
    const json& e = entries[name];
    LineChart rel;
    rel.id = "svg-" + p.sid("reliability-" + name);
    rel.title = "reliability: " + name;
    rel.x_label = "mean prediction in the bin";
    rel.y_label = "observed rate";
    rel.diagonal = true;
    rel.frame.width = 420;
    rel.frame.height = 380;
    Series bins{"quantile bins", {}, {}, "", true, false};
    double hi = 0;
    for (const json& b : at(e, {"reliability"})) {
      bins.x.push_back(number(at(b, {"mean_prediction"})));
      bins.y.push_back(number(at(b, {"observed_rate"})));
      hi = std::max({hi, std::isfinite(bins.x.back()) ? bins.x.back() : 0.0,
                     std::isfinite(bins.y.back()) ? bins.y.back() : 0.0});
    }
    rel.series.push_back(bins);
    rel.x_min = rel.y_min = 0;
    if (hi > 0) rel.x_max = rel.y_max = hi;
    s << figure(p.fid("reliability-" + name), render(rel),
                "Reliability of " + html_escape(name) + " on " + text(at(e, {"rows"})) +
                    " rows: rows sorted by prediction in " +
                    std::to_string(at(e, {"reliability"}).size()) +
                    " bins of equal size; a calibrated model lies on the diagonal.");
    Series r{name, {}, {}, "", false, false};
    for (const json& v : at(e, {"roc", "fpr"})) r.x.push_back(number(v));
    for (const json& v : at(e, {"roc", "tpr"})) r.y.push_back(number(v));
    roc.series.push_back(r);
  }
  s << figure(p.fid("roc"), render(roc),
              "ROC curve of each entry (cvr on clicked rows with p(conversion | click)); the "
              "diagonal is a random ranking.")
    << "</div>\n";
  return s.str();
}

void train_part(Part& p) {
  const json& m = p.main;
  const std::string model = at(m, {"model"}).is_string() ? m["model"].get<std::string>() : "?";
  std::ostringstream s;
  s << "<ul>\n<li>model: <b>" << html_escape(model) << "</b></li>\n"
    << data_lines(at(m, {"data"}), at(m, {"test"}));
  const json& t = at(m, {"timing"});
  if (p.kind == RunKind::kSearch) {
    s << "<li>search: " << text(at(t, {"iterations"})) << " iterations in "
      << cell(number(at(t, {"search_seconds"})), "%.1f") << " s (total "
      << cell(number(at(t, {"total_seconds"})), "%.1f") << " s), "
      << cell(number(at(t, {"samples_per_second"})), "%.0f") << " samples/s; "
      << text(at(m, {"arch", "num_connections"})) << " connections kept, derived by "
      << text(at(m, {"arch", "derived_by"})) << "</li>\n";
  } else {
    s << "<li>training: " << text(at(t, {"steps"})) << " steps, "
      << cell(number(at(t, {"train_seconds"})), "%.1f") << " s (wall "
      << cell(number(at(t, {"total_seconds"})), "%.1f") << " s with evaluation), "
      << cell(number(at(t, {"samples_per_second"})), "%.0f") << " samples/s</li>\n";
  }
  s << machine_line(at(m, {"machine"})) << "</ul>\n" << config_block(at(m, {"config"}));
  p.sections.push_back(
      {p.sid("summary"),
       "<h2>Summary: " + html_escape(std::string(run_kind_name(p.kind)) + " " + p.dir) + "</h2>\n" +
           s.str()});
  p.sections.push_back(
      {p.sid("metrics"),
       "<h2>Metrics</h2>\n" + metrics_table(m, model) +
           (p.kind == RunKind::kSearch
                ? "<p class=\"muted\">of the supernet with relaxed alpha, not of the retrained "
                  "architecture</p>\n"
                : "")});
  if (p.kind == RunKind::kSearch) {
    p.sections.push_back(
        {p.sid("training"),
         "<h2>Search curves</h2>\n" +
             curves_section(p, "search_loss.jsonl", "search_log.jsonl", "theta loss", false)});
  } else {
    p.sections.push_back({p.sid("training"),
                          "<h2>Training curves</h2>\n" +
                              curves_section(p, "loss.jsonl", "log.jsonl", "training loss", true)});
    p.sections.push_back(
        {p.sid("calibration"), "<h2>Calibration and ROC (test)</h2>\n" + calibration_section(p)});
  }
  const std::string gates = join_path(p.dir, "gates.json");
  if (path_exists(gates)) {
    p.sections.push_back(
        {p.sid("gates"),
         "<h2>TAML gate weights</h2>\n" +
             figure(
                 p.fid("gates"),
                 gate_weights_svg(read_json(gates), "TAML gate weights", "svg-" + p.sid("gates")),
                 "Mean gate weight of each expert group per task and learner (TAML Fig. 4), "
                 "from gates.json (funnel inspect gates).")});
  }
}

void search_part(Part& p) {
  train_part(p);
  std::ostringstream s;
  const std::string svg_path = join_path(p.dir, "arch.svg");
  if (path_exists(svg_path)) {
    s << figure(p.fid("arch"),
                inline_svg(read_text_file(svg_path), p.sid("arch"), "svg-" + p.sid("arch")),
                "The searched connections (AutoHERI Fig. 2) from arch.svg: alpha per candidate "
                "connection, the kept ones framed.");
  }
  // Alpha trajectories: one chart per edge group, one line per candidate connection.
  const std::vector<json> alpha = read_jsonl(join_path(p.dir, "alpha.jsonl"));
  const json arch = path_exists(join_path(p.dir, "arch.json"))
                        ? read_json(join_path(p.dir, "arch.json"))
                        : json();
  auto event = [&](const json& index) {
    const json& events = at(arch, {"events"});
    if (index.is_number_integer() && events.is_array() && index.get<size_t>() < events.size()) {
      return events[index.get<size_t>()].get<std::string>();
    }
    return "tower " + index.dump();
  };
  if (!alpha.empty()) {
    const json& edges = at(alpha.front(), {"edges"});
    s << "<div class=\"figures\">\n";
    for (size_t g = 0; g < edges.size(); ++g) {
      LineChart c;
      c.id = "svg-" + p.sid("alpha-" + std::to_string(g + 1));
      c.title =
          "alpha: " + event(at(edges[g], {"from"})) + " \u2192 " + event(at(edges[g], {"to"}));
      c.x_label = "search iteration";
      c.y_label = "alpha";
      c.y_min = 0;
      c.y_max = 1;
      c.frame.width = 520;
      const json& m0 = at(edges[g], {"alpha"});
      for (size_t i = 0; i < m0.size(); ++i) {
        for (size_t j = 0; j < m0[i].size(); ++j) {
          if (m0[i][j].is_null()) continue;  // not a candidate
          Series ser{"h" + std::to_string(i + 1) + "\u2192h" + std::to_string(j + 1),
                     {},
                     {},
                     "",
                     false,
                     false};
          for (const json& line : alpha) {
            const json& e = at(line, {"edges"});
            if (!e.is_array() || g >= e.size()) continue;
            const json& a = at(e[g], {"alpha"});
            ser.x.push_back(number(at(line, {"step"})));
            ser.y.push_back(i < a.size() && j < a[i].size() ? number(a[i][j]) : NAN);
          }
          c.series.push_back(ser);
        }
      }
      s << figure(p.fid("alpha-" + std::to_string(g + 1)), render(c),
                  "Connection probability alpha of each candidate over the search (alpha.jsonl).");
    }
    s << "</div>\n";
  }
  p.sections.push_back({p.sid("arch"), "<h2>AutoHERI architecture</h2>\n" + s.str()});
}

void compare_part(Part& p) {
  const json& c = p.main;
  std::ostringstream s;
  const size_t total = at(c, {"models"}).size() * std::max<size_t>(1, at(c, {"seeds"}).size());
  size_t failed = 0, done = 0;
  for (const json& r : at(c, {"runs"})) {
    ++done;
    if (at(r, {"status"}) != "ok") ++failed;
  }
  s << "<ul>\n" << data_lines(at(c, {"data"}), json()) << "<li>models: ";
  for (const json& m : at(c, {"models"})) s << text(m) << " ";
  s << "&times; " << at(c, {"seeds"}).size() << " seed(s); " << done << " runs, " << failed
    << " failed; " << cell(number(at(c, {"wall_seconds"})), "%.0f") << " s in all"
    << (at(c, {"finished"}) == true ? ""
                                    : " (<b>not finished</b>: " + std::to_string(done) + " of " +
                                          std::to_string(total) + " runs)")
    << "</li>\n"
    << machine_line(at(c, {"machine"})) << "</ul>\n"
    << config_block(at(c, {"config"}));
  p.sections.push_back(
      {p.sid("summary"),
       "<h2>Summary: " + html_escape(std::string(run_kind_name(p.kind)) + " " + p.dir) + "</h2>\n" +
           s.str()});

  // Every run with its status; a failed one says why.
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> classes;
  for (const json& r : at(c, {"runs"})) {
    const bool ok = at(r, {"status"}) == "ok";
    rows.push_back({text(at(r, {"model"})), text(at(r, {"seed"})),
                    ok ? "ok" : "<span class=\"status-failed\">failed</span>",
                    cell(number(at(r, {"test", "cvr", "auc"}))),
                    cell(number(at(r, {"test", "ctcvr", "auc"}))),
                    cell(number(at(r, {"timing", "train_seconds"})), "%.1f"),
                    ok ? "" : "<span class=\"text\">" + text(at(r, {"error"})) + "</span>"});
    classes.push_back(ok ? "" : "failed");
  }
  std::ostringstream t;
  t << markdown_to_html(metric::compare_markdown(c)) << "<h3>Runs</h3>\n"
    << html_table({"model", "seed", "status", "test cvr AUC", "test ctcvr AUC", "train s", "error"},
                  rows, classes, "runs-table-" + std::to_string(p.k));

  // Bars: test AUC per model, mean with the seed spread (sample std) as error bars.
  BarChart auc;
  auc.id = "svg-" + p.sid("compare-auc");
  auc.title = "test AUC per model (mean \u00b1 std over seeds)";
  auc.y_label = "AUC";
  BarChart seconds;
  seconds.id = "svg-" + p.sid("compare-time");
  seconds.title = "training time per model (mean \u00b1 std over seeds)";
  seconds.y_label = "seconds";
  BarSeries cvr{"cvr AUC", {}, {}, ""}, ctcvr{"ctcvr AUC", {}, {}, ""},
      secs{"train seconds", {}, {}, ""};
  for (const json& mj : at(c, {"models"})) {
    const std::string m = mj.is_string() ? mj.get<std::string>() : mj.dump();
    auc.categories.push_back(m);
    seconds.categories.push_back(m);
    const auto a = metric::seed_stats(metric::run_values(c, m, {"test", "cvr", "auc"}));
    const auto b = metric::seed_stats(metric::run_values(c, m, {"test", "ctcvr", "auc"}));
    const auto ts = metric::seed_stats(metric::run_values(c, m, {"timing", "train_seconds"}));
    cvr.values.push_back(a.n ? a.mean : NAN);
    cvr.errors.push_back(a.n > 1 ? a.std : 0);
    ctcvr.values.push_back(b.n ? b.mean : NAN);
    ctcvr.errors.push_back(b.n > 1 ? b.std : 0);
    secs.values.push_back(ts.n ? ts.mean : NAN);
    secs.errors.push_back(ts.n > 1 ? ts.std : 0);
  }
  if (at(c, {"oracle", "test"}).is_object()) {
    auc.categories.push_back("oracle");
    cvr.values.push_back(number(at(c, {"oracle", "test", "cvr", "auc"})));
    ctcvr.values.push_back(number(at(c, {"oracle", "test", "ctcvr", "auc"})));
  }
  auc.series = {cvr, ctcvr};
  seconds.series = {secs};
  auc.frame.width = seconds.frame.width =
      std::max(520.0, 120 + 110.0 * static_cast<double>(auc.categories.size()));
  t << "<div class=\"figures\">\n"
    << figure(p.fid("compare-auc"), render(auc),
              "Test CVR AUC (clicked rows) and CTCVR AUC (all impressions) per model: the bar is "
              "the mean over the successful seeds, the error bar the sample standard deviation; "
              "the oracle (true probabilities) where the data is simulated. Failed runs count "
              "in neither.")
    << figure(p.fid("compare-time"), render(seconds), "Training seconds per run, mean over seeds.");
  // Validation curves of the first seed of each model.
  LineChart vc;
  vc.id = "svg-" + p.sid("compare-validation");
  const auto [entry, metric_name] = early_stop_metric(at(c, {"config"}));
  vc.title = "validation " + entry + "." + metric_name + " (first seed)";
  vc.x_label = "step";
  vc.y_label = entry + "." + metric_name;
  std::set<std::string> drawn;  // models whose first run is drawn
  for (const json& r : at(c, {"runs"})) {
    if (!at(r, {"run_dir"}).is_string() || !at(r, {"model"}).is_string()) continue;
    if (!drawn.insert(r["model"].get<std::string>()).second) continue;
    std::vector<json> log;
    const std::string run_dir = r["run_dir"].get<std::string>();
    // The run folder as recorded, else beside compare.json (a moved comparison).
    const std::string name = run_dir.substr(run_dir.find_last_of('/') + 1);
    const std::string local = join_path(join_path(p.dir, "runs"), name);
    log = read_jsonl(join_path(path_exists(local) ? local : run_dir, "log.jsonl"));
    Series ser{at(r, {"model"}).is_string() ? r["model"].get<std::string>() : "?",
               {},
               {},
               "",
               true,
               false};
    for (const json& l : log) {
      ser.x.push_back(number(at(l, {"step"})));
      ser.y.push_back(number(at(l, {"validation", entry.c_str(), metric_name.c_str()})));
    }
    if (!ser.x.empty()) vc.series.push_back(ser);
  }
  t << figure(p.fid("compare-validation"), render(vc),
              "The early-stopping metric on the validation split at every evaluation, first "
              "seed of each model (runs/*/log.jsonl).")
    << "</div>\n";
  p.sections.push_back({p.sid("compare"), "<h2>Comparison</h2>\n" + t.str()});
}

std::string overview(const std::vector<Part>& parts) {
  std::vector<std::vector<std::string>> rows;
  LineChart vc;
  vc.id = "svg-overview-validation";
  vc.title = "validation early-stopping metric per evaluation";
  vc.x_label = "step";
  for (const Part& p : parts) {
    const json& m = p.main;
    if (p.kind == RunKind::kCompare) {
      rows.push_back({std::to_string(p.k), html_escape(p.dir), "compare",
                      std::to_string(at(m, {"models"}).size()) + " models", "", "", ""});
      continue;
    }
    rows.push_back(
        {std::to_string(p.k), html_escape(p.dir), run_kind_name(p.kind), text(at(m, {"model"})),
         cell(number(at(m, {"test", "cvr", "auc"}))), cell(number(at(m, {"test", "ctcvr", "auc"}))),
         cell(number(at(
                  m, {"timing", p.kind == RunKind::kSearch ? "search_seconds" : "train_seconds"})),
              "%.1f")});
    const auto [entry, metric_name] = early_stop_metric(at(m, {"config"}));
    Series ser{std::to_string(p.k) + ": " +
                   (at(m, {"model"}).is_string() ? m["model"].get<std::string>() : "?") + " " +
                   entry + "." + metric_name,
               {},
               {},
               "",
               true,
               false};
    for (const json& l : read_jsonl(
             join_path(p.dir, p.kind == RunKind::kSearch ? "search_log.jsonl" : "log.jsonl"))) {
      ser.x.push_back(number(at(l, {"step"})));
      ser.y.push_back(number(at(l, {"validation", entry.c_str(), metric_name.c_str()})));
    }
    vc.series.push_back(ser);
  }
  return "<h2>Overview</h2>\n" +
         html_table({"#", "folder", "kind", "model", "test cvr AUC", "test ctcvr AUC", "train s"},
                    rows) +
         figure("fig-overview-validation", render(vc),
                "Each run's early-stopping metric on its validation split.");
}

}  // namespace

const char* run_kind_name(RunKind kind) {
  switch (kind) {
    case RunKind::kTrain:
      return "train";
    case RunKind::kSearch:
      return "search";
    case RunKind::kCompare:
      return "compare";
  }
  return "?";
}

RunKind detect_run_kind(const std::string& dir) {
  if (path_exists(join_path(dir, "compare.json"))) return RunKind::kCompare;
  const std::string metrics = join_path(dir, "metrics.json");
  FUNNEL_CHECK(path_exists(metrics),
               dir << ": not a result folder of funnel train, search or compare (it holds "
                      "neither metrics.json nor compare.json)");
  return read_json(metrics).contains("arch") ? RunKind::kSearch : RunKind::kTrain;
}

std::string render_report(const std::vector<std::string>& dirs, const ReportOptions& options) {
  FUNNEL_CHECK(!dirs.empty(), "report: no folder given");
  std::vector<Part> parts;
  for (size_t k = 0; k < dirs.size(); ++k) {
    Part p;
    p.dir = dirs[k];
    p.kind = detect_run_kind(p.dir);
    p.k = static_cast<int>(k + 1);
    p.main =
        read_json(join_path(p.dir, p.kind == RunKind::kCompare ? "compare.json" : "metrics.json"));
    FUNNEL_CHECK(p.main.is_object(), p.dir << ": its result file is not a JSON object");
    switch (p.kind) {
      case RunKind::kTrain:
        train_part(p);
        break;
      case RunKind::kSearch:
        search_part(p);
        break;
      case RunKind::kCompare:
        compare_part(p);
        break;
    }
    parts.push_back(std::move(p));
  }
  std::ostringstream body, nav;
  body << "<header><h1>" << html_escape(options.title) << "</h1>\n<p class=\"muted\">";
  for (const Part& p : parts) body << html_escape(p.label()) << "<br>\n";
  body << "</p></header>\n";
  std::ostringstream sections;
  if (parts.size() > 1) {
    nav << "<li><a href=\"#overview\">Overview</a></li>\n";
    sections << "<section id=\"overview\">\n" << overview(parts) << "</section>\n";
  }
  for (const Part& p : parts) {
    for (const auto& [id, html] : p.sections) {
      const size_t h = html.find("<h2>"), e = html.find("</h2>");
      const std::string title = h == std::string::npos ? id : html.substr(h + 4, e - h - 4);
      nav << "<li><a href=\"#" << id << "\">" << p.k << ". " << title << "</a></li>\n";
      sections << "<section id=\"" << id << "\">\n" << html << "</section>\n";
    }
  }
  body << "<nav><ul>\n" << nav.str() << "</ul></nav>\n" << sections.str();
  return html_page(options.title, body.str());
}

}  // namespace funnel::report
