#include "data/stats.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "core/utf8.h"
#include "data/cache_format.h"
#include "data/list_index.h"

namespace funnel::data {
using nlohmann::json;

namespace {

double ratio(uint64_t a, uint64_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / b; }

/// Length at a quantile of the bag-length histogram.
uint64_t quantile(const std::vector<uint64_t>& hist, double q) {
  uint64_t total = 0;
  for (auto c : hist) total += c;
  if (total == 0) return 0;
  const auto target = static_cast<uint64_t>(q * static_cast<double>(total - 1));
  uint64_t seen = 0;
  for (size_t i = 0; i < hist.size(); ++i) {
    seen += hist[i];
    if (seen > target) return i;
  }
  return hist.size() - 1;
}

double mean_length(const std::vector<uint64_t>& hist) {
  uint64_t total = 0, sum = 0;
  for (size_t i = 0; i < hist.size(); ++i) {
    total += hist[i];
    sum += hist[i] * i;
  }
  return ratio(sum, total);
}

/// Conditional rate of event e given its parent (or the impression when it has none).
double conditional(const SplitStats& s, const Layout& l, size_t e) {
  const int p = l.event_parent[e];
  return ratio(s.positives[e], p < 0 ? s.rows : s.positives[p]);
}

}  // namespace

void count_lists(const std::string& split_dir, const Layout& layout, SplitStats& stats) {
  if (!layout.has_list) return;
  stats.has_lists = true;
  if (stats.rows == 0) {
    stats.list_lengths = ListIndex().length_histogram();
    return;
  }
  const MappedFile list(join_path(split_dir, cache::kList));
  std::unique_ptr<MappedFile> position;
  if (layout.has_position) position = std::make_unique<MappedFile>(join_path(split_dir, cache::kPosition));
  FUNNEL_CHECK(list.size() == stats.rows * sizeof(uint64_t),
               list.path() << ": " << list.size() << " bytes for " << stats.rows << " rows");
  const ListIndex index = ListIndex::scan(
      reinterpret_cast<const uint64_t*>(list.data()),
      position ? reinterpret_cast<const int32_t*>(position->data()) : nullptr, 0, stats.rows,
      split_dir);
  stats.lists = index.lists();
  stats.max_list_length = index.max_length();
  stats.list_lengths = index.length_histogram();
  stats.lists_ungrouped = index.ungrouped;
  stats.lists_unordered = index.unordered;
  if (!index.first_problem.empty()) log_warning(index.first_problem);
}

std::string unread_fields_line(const std::map<std::string, uint64_t>& fields) {
  constexpr size_t kShown = 12;  // the rest is in the JSON
  uint64_t entries = 0;
  for (const auto& [name, n] : fields) entries += n;
  std::string out = std::to_string(entries) + " entries of " + std::to_string(fields.size()) +
                    (fields.size() == 1 ? " field" : " fields") + " not in the schema, ignored:";
  size_t shown = 0;
  for (const auto& [name, n] : fields) {
    if (shown++ == kShown) {
      out += " ...";
      break;
    }
    out += " " + printable(name, 40) + " (" + std::to_string(n) + ")";
  }
  return out;
}

json stats_to_json(const DatasetStats& st, const Layout& layout) {
  json j;
  for (const auto& [name, in] : st.inputs) {
    json v;
    v["files"] = in.files;
    v["bytes"] = in.bytes;
    v["lines"] = in.lines;
    v["header_lines"] = in.header_lines;
    v["rows_written"] = in.rows_written;
    v["bad_rows"] = in.bad_rows;
    v["bad_lines"] = in.bad_lines;
    v["bad_by_kind"] = in.bad_by_kind;
    v["bad_examples"] = in.bad_examples;
    json viol;
    for (size_t e = 0; e < layout.num_events(); ++e) {
      viol[layout.events[e]] = e < in.violations.size() ? in.violations[e] : 0;
    }
    v["funnel_violations"] = viol;
    v["violations_dropped"] = in.violations_dropped;
    v["list_rows_dropped"] = in.list_rows_dropped;
    v["unread_fields"] = in.unread_fields;
    v["seconds"] = in.seconds;
    v["mb_per_second"] = in.seconds > 0 ? in.bytes / in.seconds / 1e6 : 0.0;
    v["rows_per_second"] = in.seconds > 0 ? (in.lines - in.header_lines) / in.seconds : 0.0;
    j["inputs"][name] = v;
  }
  for (const auto& [name, s] : st.splits) {
    json v;
    v["rows"] = s.rows;
    json events;
    for (size_t e = 0; e < layout.num_events(); ++e) {
      json ev;
      ev["positives"] = s.positives[e];
      ev["rate"] = ratio(s.positives[e], s.rows);
      const int p = layout.event_parent[e];
      if (p >= 0) ev["rate_given_" + layout.events[p]] = conditional(s, layout, e);
      ev["violations_kept"] = e < s.violations_kept.size() ? s.violations_kept[e] : 0;
      events[layout.events[e]] = ev;
    }
    v["events"] = events;
    if (s.has_lists) {
      json hist = json::array();  // [[bucket, lists], ...] in bucket order
      for (const auto& [bucket, n] : s.list_lengths) hist.push_back({bucket, n});
      v["lists"] = {{"lists", s.lists},
                    {"max_length", s.max_list_length},
                    {"mean_length", ratio(s.rows, s.lists)},
                    {"length_histogram", hist},
                    {"ungrouped", s.lists_ungrouped},
                    {"unordered", s.lists_unordered},
                    {"sorted", s.lists_sorted},
                    {"sort_runs", s.list_sort_runs},
                    {"truncated", s.lists_truncated},
                    {"rows_dropped", s.list_rows_dropped}};
    }
    json fields = json::array();
    for (size_t f = 0; f < s.fields.size(); ++f) {
      const auto& fs = s.fields[f];
      json fv;
      fv["name"] = layout.sparse[f].name;
      fv["values"] = fs.values;
      fv["oov"] = fs.oov;
      fv["oov_rate"] = ratio(fs.oov, fs.values);
      fv["missing_rows"] = fs.missing_rows;
      fv["min_len"] = fs.min_len;
      fv["max_len"] = fs.max_len;
      if (!fs.length_histogram.empty()) {
        fv["mean_len"] = mean_length(fs.length_histogram);
        fv["p50_len"] = quantile(fs.length_histogram, 0.5);
        fv["p99_len"] = quantile(fs.length_histogram, 0.99);
        // Sparse form of the histogram: {length: rows}.
        json h = json::object();
        for (size_t i = 0; i < fs.length_histogram.size(); ++i) {
          if (fs.length_histogram[i]) h[std::to_string(i)] = fs.length_histogram[i];
        }
        fv["length_histogram"] = h;
      }
      fields.push_back(fv);
    }
    v["fields"] = fields;
    j["splits"][name] = v;
  }
  json fields = json::array();
  for (size_t f = 0; f < layout.sparse.size(); ++f) {
    fields.push_back({{"name", layout.sparse[f].name},
                      {"vocab_size", st.vocab_sizes[f]},
                      {"distinct_in_train", st.vocab_distinct_seen[f]}});
  }
  j["vocabulary"] = fields;
  json dense = json::array();
  for (size_t d = 0; d < layout.dense.size(); ++d) {
    dense.push_back({{"name", layout.dense[d]}, {"mean", st.dense_mean[d]}, {"std", st.dense_std[d]}});
  }
  j["dense"] = dense;
  j["seconds"] = st.seconds;
  j["peak_rss_bytes"] = st.peak_rss_bytes;
  return j;
}

DatasetStats stats_from_json(const json& j, const Layout& layout) {
  DatasetStats st;
  for (const auto& [name, v] : j.at("inputs").items()) {
    InputStats in;
    in.files = v.at("files").get<std::vector<std::string>>();
    in.bytes = v.at("bytes");
    in.lines = v.at("lines");
    in.header_lines = v.at("header_lines");
    in.rows_written = v.at("rows_written");
    in.bad_rows = v.at("bad_rows");
    in.bad_lines = v.value("bad_lines", in.bad_rows);  // caches before bad_lines
    in.bad_by_kind = v.at("bad_by_kind").get<std::map<std::string, uint64_t>>();
    in.bad_examples = v.at("bad_examples").get<std::vector<std::string>>();
    for (const auto& e : layout.events) in.violations.push_back(v.at("funnel_violations").at(e));
    in.violations_dropped = v.at("violations_dropped");
    in.list_rows_dropped = v.value("list_rows_dropped", uint64_t{0});  // caches before grouping
    if (v.contains("unread_fields")) {
      in.unread_fields = v.at("unread_fields").get<std::map<std::string, uint64_t>>();
    }
    in.seconds = v.at("seconds");
    st.inputs[name] = in;
  }
  for (const auto& [name, v] : j.at("splits").items()) {
    SplitStats s;
    s.rows = v.at("rows");
    for (const auto& e : layout.events) {
      s.positives.push_back(v.at("events").at(e).at("positives"));
      s.violations_kept.push_back(v.at("events").at(e).at("violations_kept"));
    }
    if (v.contains("lists")) {
      const json& l = v.at("lists");
      s.has_lists = true;
      s.lists = l.at("lists");
      s.max_list_length = l.at("max_length");
      s.lists_ungrouped = l.at("ungrouped");
      s.lists_unordered = l.at("unordered");
      // Caches written before the converter grouped lists lack these.
      s.lists_sorted = l.value("sorted", false);
      s.list_sort_runs = l.value("sort_runs", uint64_t{0});
      s.lists_truncated = l.value("truncated", uint64_t{0});
      s.list_rows_dropped = l.value("rows_dropped", uint64_t{0});
      for (const auto& b : l.at("length_histogram")) {
        s.list_lengths.emplace_back(b.at(0).get<std::string>(), b.at(1).get<uint64_t>());
      }
    }
    for (const auto& fv : v.at("fields")) {
      SparseFieldStats fs;
      fs.values = fv.at("values");
      fs.oov = fv.at("oov");
      fs.missing_rows = fv.at("missing_rows");
      fs.min_len = fv.at("min_len");
      fs.max_len = fv.at("max_len");
      if (fv.contains("length_histogram")) {
        fs.length_histogram.assign(1025, 0);
        for (const auto& [len, rows] : fv.at("length_histogram").items()) {
          fs.length_histogram[std::stoul(len)] = rows.get<uint64_t>();
        }
      }
      s.fields.push_back(fs);
    }
    st.splits[name] = s;
  }
  for (const auto& f : j.at("vocabulary")) {
    st.vocab_sizes.push_back(f.at("vocab_size"));
    st.vocab_distinct_seen.push_back(f.at("distinct_in_train"));
  }
  for (const auto& d : j.at("dense")) {
    st.dense_mean.push_back(d.at("mean"));
    st.dense_std.push_back(d.at("std"));
  }
  st.seconds = j.value("seconds", 0.0);
  st.peak_rss_bytes = j.value("peak_rss_bytes", uint64_t{0});
  return st;
}

std::string stats_table(const DatasetStats& st, const Layout& layout) {
  std::string out;
  char buf[512];
  const char* order[] = {"train", "validation", "test"};
  bool list_drops = false;
  for (const auto& [name, in] : st.inputs) list_drops = list_drops || in.list_rows_dropped > 0;
  out += list_drops ? "Input accounting (every line: header + written + bad + dropped by funnel "
                      "rule + dropped by max_list_length)\n"
                    : "Input accounting (every line: header + written + bad + dropped by funnel "
                      "rule)\n";
  std::snprintf(buf, sizeof buf, "  %-11s %12s %8s %12s %10s %10s %9s %9s\n", "input", "lines",
                "header", "written", "bad", "dropped", "MB/s", "seconds");
  out += buf;
  for (const char* name : order) {
    const auto it = st.inputs.find(name);
    if (it == st.inputs.end()) continue;
    const auto& in = it->second;
    std::snprintf(buf, sizeof buf, "  %-11s %12llu %8llu %12llu %10llu %10llu %9.1f %9.2f\n", name,
                  (unsigned long long)in.lines, (unsigned long long)in.header_lines,
                  (unsigned long long)in.rows_written, (unsigned long long)in.bad_rows,
                  (unsigned long long)in.violations_dropped,
                  in.seconds > 0 ? in.bytes / in.seconds / 1e6 : 0.0, in.seconds);
    out += buf;
    for (const auto& [kind, n] : in.bad_by_kind) {
      std::snprintf(buf, sizeof buf, "      bad %-22s %llu\n", kind.c_str(), (unsigned long long)n);
      out += buf;
    }
    if (in.bad_lines > in.bad_rows) {
      std::snprintf(buf, sizeof buf, "      bad rows span %llu lines\n",
                    (unsigned long long)in.bad_lines);
      out += buf;
    }
    if (!in.unread_fields.empty()) out += "      " + unread_fields_line(in.unread_fields) + "\n";
    if (in.list_rows_dropped > 0) {
      std::snprintf(buf, sizeof buf, "      rows dropped by max_list_length: %llu\n",
                    (unsigned long long)in.list_rows_dropped);
      out += buf;
    }
    for (size_t e = 0; e < layout.num_events() && e < in.violations.size(); ++e) {
      if (in.violations[e] == 0) continue;
      const int p = layout.event_parent[e];
      std::snprintf(buf, sizeof buf, "      %s without %s: %llu (%s)\n", layout.events[e].c_str(),
                    p >= 0 ? layout.events[p].c_str() : "?", (unsigned long long)in.violations[e],
                    in.violations_dropped > 0 ? "dropped" : "kept");
      out += buf;
    }
  }
  out += "\nFunnel rates per split\n";
  std::string head = "  split            rows";
  for (size_t e = 0; e < layout.num_events(); ++e) {
    head += "  " + layout.events[e] + " (rate";
    if (layout.event_parent[e] >= 0) head += ", |" + layout.events[layout.event_parent[e]];
    head += ")";
  }
  if (layout.num_events() >= 2) head += "  " + layout.events.back() + "|" + layout.events[0];
  out += head + "\n";
  for (const char* name : order) {
    const auto it = st.splits.find(name);
    if (it == st.splits.end()) continue;
    const auto& s = it->second;
    std::snprintf(buf, sizeof buf, "  %-10s %10llu", name, (unsigned long long)s.rows);
    out += buf;
    for (size_t e = 0; e < layout.num_events(); ++e) {
      std::snprintf(buf, sizeof buf, "  %llu (%.4f%%", (unsigned long long)s.positives[e],
                    100 * ratio(s.positives[e], s.rows));
      out += buf;
      if (layout.event_parent[e] >= 0) {
        std::snprintf(buf, sizeof buf, ", %.3f%%", 100 * conditional(s, layout, e));
        out += buf;
      }
      out += ")";
    }
    if (layout.num_events() >= 2) {
      std::snprintf(buf, sizeof buf, "  %.3f%%",
                    100 * ratio(s.positives.back(), s.positives.front()));
      out += buf;
    }
    out += "\n";
  }
  bool lists_heading = false;
  for (const char* name : order) {
    const auto it = st.splits.find(name);
    if (it == st.splits.end() || !it->second.has_lists) continue;
    const auto& s = it->second;
    std::snprintf(buf, sizeof buf, "  %-10s %llu lists, mean length %.2f, longest %llu; lengths:",
                  name, (unsigned long long)s.lists, ratio(s.rows, s.lists),
                  (unsigned long long)s.max_list_length);
    if (!lists_heading) out += "\nLists per split\n";
    lists_heading = true;
    out += buf;
    for (const auto& [bucket, n] : s.list_lengths) {
      if (n == 0) continue;
      std::snprintf(buf, sizeof buf, " %s: %llu", bucket.c_str(), (unsigned long long)n);
      out += buf;
    }
    out += "\n";
    if (s.lists_sorted) {
      std::snprintf(buf, sizeof buf,
                    "      rows grouped by list and ordered by the converter (%llu %s spilled)\n",
                    (unsigned long long)s.list_sort_runs, s.list_sort_runs == 1 ? "run" : "runs");
      out += buf;
    }
    if (s.lists_truncated > 0) {
      std::snprintf(buf, sizeof buf,
                    "      %llu lists longer than max_list_length truncated, %llu rows dropped\n",
                    (unsigned long long)s.lists_truncated, (unsigned long long)s.list_rows_dropped);
      out += buf;
    }
    if (s.lists_ungrouped + s.lists_unordered > 0) {
      std::snprintf(buf, sizeof buf,
                    "      %llu lists not consecutive, %llu not ordered by position: list "
                    "batches refuse this split (convert with data.group_lists true)\n",
                    (unsigned long long)s.lists_ungrouped, (unsigned long long)s.lists_unordered);
      out += buf;
    }
  }
  out += "\nSparse fields (vocabulary from train; OOV = values mapped to id 0)\n";
  std::snprintf(buf, sizeof buf, "  %-14s %10s %12s", "field", "vocab", "seen(train)");
  out += buf;
  for (const char* name : order) {
    if (st.splits.count(name)) {
      std::snprintf(buf, sizeof buf, " %10s", (std::string(name).substr(0, 5) + " OOV").c_str());
      out += buf;
    }
  }
  out += "   len min/mean/p99/max\n";
  for (size_t f = 0; f < layout.sparse.size(); ++f) {
    std::snprintf(buf, sizeof buf, "  %-14s %10llu %12llu", layout.sparse[f].name.c_str(),
                  (unsigned long long)st.vocab_sizes[f],
                  (unsigned long long)st.vocab_distinct_seen[f]);
    out += buf;
    const SparseFieldStats* train_fs = nullptr;
    for (const char* name : order) {
      const auto it = st.splits.find(name);
      if (it == st.splits.end()) continue;
      const auto& fs = it->second.fields[f];
      if (train_fs == nullptr) train_fs = &fs;
      std::snprintf(buf, sizeof buf, " %9.2f%%", 100 * ratio(fs.oov, fs.values));
      out += buf;
    }
    if (train_fs != nullptr && !train_fs->length_histogram.empty()) {
      std::snprintf(buf, sizeof buf, "   %llu/%.1f/%llu/%llu", (unsigned long long)train_fs->min_len,
                    mean_length(train_fs->length_histogram),
                    (unsigned long long)quantile(train_fs->length_histogram, 0.99),
                    (unsigned long long)train_fs->max_len);
      out += buf;
    }
    out += "\n";
  }
  if (!layout.dense.empty()) {
    out += "\nDense fields (train mean / std, used in tanh((x-mean)/std))\n";
    constexpr size_t kShown = 12;  // the rest is in the JSON
    for (size_t d = 0; d < layout.dense.size() && d < kShown; ++d) {
      std::snprintf(buf, sizeof buf, "  %-14s %12.5g %12.5g\n", layout.dense[d].c_str(),
                    st.dense_mean[d], st.dense_std[d]);
      out += buf;
    }
    if (layout.dense.size() > kShown) {
      out += "  ... " + std::to_string(layout.dense.size() - kShown) + " more (see --json)\n";
    }
  }
  return out;
}

}  // namespace funnel::data
