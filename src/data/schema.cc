#include "data/schema.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/choice.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json_fields.h"
#include "core/utf8.h"

namespace funnel::data {
using nlohmann::json;

const char* slot_kind_name(SlotKind kind) {
  switch (kind) {
    case SlotKind::kLabel: return "label";
    case SlotKind::kCategorical: return "categorical";
    case SlotKind::kNumeric: return "numeric";
    case SlotKind::kGroup: return "group";
    case SlotKind::kList: return "list";
    case SlotKind::kPosition: return "position";
    case SlotKind::kTimestamp: return "timestamp";
    case SlotKind::kAux: return "aux";
  }
  return "?";
}

std::vector<Slot> Schema::slots() const {
  std::vector<Slot> out;
  // Label columns first, each distinct column once (an event may OR several columns).
  std::vector<std::string> label_cols;
  for (const auto& l : labels) {
    for (const auto& c : l.columns) {
      if (std::find(label_cols.begin(), label_cols.end(), c) == label_cols.end()) {
        label_cols.push_back(c);
      }
    }
  }
  for (size_t i = 0; i < label_cols.size(); ++i) {
    out.push_back({label_cols[i], SlotKind::kLabel, static_cast<int>(i)});
  }
  for (size_t i = 0; i < categorical.size(); ++i) {
    out.push_back({categorical[i].column, SlotKind::kCategorical, static_cast<int>(i)});
  }
  for (size_t i = 0; i < numeric.size(); ++i) {
    out.push_back({numeric[i].column, SlotKind::kNumeric, static_cast<int>(i)});
  }
  if (!group_column.empty()) out.push_back({group_column, SlotKind::kGroup, 0});
  if (!list_column.empty()) out.push_back({list_column, SlotKind::kList, 0});
  if (!position_column.empty()) out.push_back({position_column, SlotKind::kPosition, 0});
  if (!timestamp_column.empty()) out.push_back({timestamp_column, SlotKind::kTimestamp, 0});
  for (size_t i = 0; i < aux_columns.size(); ++i) {
    out.push_back({aux_columns[i], SlotKind::kAux, static_cast<int>(i)});
  }
  return out;
}

int Schema::num_label_columns() const {
  int n = 0;
  for (const auto& s : slots()) n += s.kind == SlotKind::kLabel;
  return n;
}

void Schema::validate() const {
  FUNNEL_CHECK(!labels.empty(), "schema: at least one label (funnel event) is required");
  std::set<std::string> events;
  std::set<std::string> label_cols;
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto& l = labels[i];
    FUNNEL_CHECK(!l.event.empty(), "schema: label " << i << " has no event name");
    FUNNEL_CHECK(events.insert(l.event).second, "schema: event '" << l.event << "' listed twice");
    FUNNEL_CHECK(!l.columns.empty(), "schema: event '" << l.event << "' names no column");
    FUNNEL_CHECK(l.parent < static_cast<int>(i),
                 "schema: event '" << l.event << "': parent must be an earlier event");
    for (const auto& c : l.columns) label_cols.insert(c);
  }
  // Feature names are unique (they name cache files, vocabularies and embeddings).
  std::set<std::string> names;
  auto feature = [&](const std::string& name, const std::string& column) {
    FUNNEL_CHECK(!name.empty(), "schema: a feature has an empty name");
    FUNNEL_CHECK(names.insert(name).second, "schema: feature '" << name << "' listed twice");
    FUNNEL_CHECK(label_cols.count(column) == 0,
                 "schema: column '" << column << "' is a label and cannot be a feature "
                                   "(label leakage)");
  };
  for (const auto& c : categorical) {
    feature(c.name, c.column);
    FUNNEL_CHECK(c.dim >= 0, "schema: feature '" << c.name << "': dim must be >= 0");
    FUNNEL_CHECK(!c.weighted || c.multi,
                 "schema: feature '" << c.name << "': weighted values need multi: true");
  }
  for (const auto& n : numeric) {
    feature(n.name, n.column);
    if (n.transform == NumericTransform::kBucketize) {
      FUNNEL_CHECK(!n.boundaries.empty(),
                   "schema: feature '" << n.name << "': bucketize needs boundaries");
      FUNNEL_CHECK(std::is_sorted(n.boundaries.begin(), n.boundaries.end()) &&
                       std::adjacent_find(n.boundaries.begin(), n.boundaries.end()) ==
                           n.boundaries.end(),
                   "schema: feature '" << n.name << "': boundaries must strictly increase");
    }
  }
  for (const auto* col : {&group_column, &list_column, &position_column, &timestamp_column}) {
    FUNNEL_CHECK(col->empty() || label_cols.count(*col) == 0,
                 "schema: column '" << *col << "' is a label and cannot be a feature "
                                    "(label leakage)");
  }
}

// ---------------------------------------------------------------------------------------------
namespace {

std::vector<std::string> string_list(const json& v, const std::string& path) {
  std::vector<std::string> out;
  if (v.is_string()) return {v.get<std::string>()};
  FUNNEL_CHECK(v.is_array(), path << ": expected a string or a list of strings, got " << v.dump());
  for (const auto& e : v) {
    FUNNEL_CHECK(e.is_string(), path << ": expected strings, got " << e.dump());
    out.push_back(e.get<std::string>());
  }
  return out;
}

char single_char(const std::string& s, const std::string& path) {
  if (s == "\\t" || s == "tab") return '\t';
  FUNNEL_CHECK(s.size() == 1, path << ": expected a single character, got '" << s << "'");
  return s[0];
}

// A format name picks the reader and, for "csv" and "tsv" (one reader), the delimiter; the
// other formats keep FormatSpec's default delimiter ','.
struct FormatType {
  Format format;
  char delimiter;
};
bool operator==(const FormatType& a, const FormatType& b) {
  return a.format == b.format && a.delimiter == b.delimiter;
}
constexpr Choice<FormatType> kFormatTypes[] = {
    {"csv", {Format::kDelimited, ','}},
    {"tsv", {Format::kDelimited, '\t'}},
    {"tokens", {Format::kTokens, ','}},
    {"aliccp_raw", {Format::kAliccpRaw, ','}},
    {"criteo_attribution", {Format::kCriteoAttribution, '\t'}},
};

constexpr Choice<criteo::Conversion> kCriteoConversions[] = {
    {"last_click", criteo::Conversion::kLastClick},
    {"attributed", criteo::Conversion::kAttributed},
    {"any_click", criteo::Conversion::kAnyClick},
};

FormatType parse_format_type(const std::string& name, const std::string& path) {
  for (const auto& c : kFormatTypes) {
    if (name == c.name) return c.value;
  }
  // parse_choice's wording plus "unknown format", kept from the earlier message that users and
  // tests search for.
  throw Error(path + ": unknown format, expected " + choice_list(choice_names(kFormatTypes)) +
              ", got '" + name + "'");
}

constexpr Choice<BadRowPolicy> kBadRowPolicies[] = {{"fail", BadRowPolicy::kFail},
                                                    {"skip", BadRowPolicy::kSkip}};
constexpr Choice<ListKeep> kListKeeps[] = {{"first", ListKeep::kFirst}, {"last", ListKeep::kLast}};
constexpr Choice<NumericTransform> kTransforms[] = {{"normalize", NumericTransform::kNormalize},
                                                    {"bucketize", NumericTransform::kBucketize}};

std::vector<InputFile> parse_files(const json& v, const std::string& path,
                                   const std::string& base_dir) {
  auto resolve = [&](const std::string& p) {
    if (p.empty() || p[0] == '/' || base_dir.empty()) return p;
    return join_path(base_dir, p);
  };
  std::vector<InputFile> out;
  const json list = v.is_array() ? v : json::array({v});
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& e = list[i];
    const std::string ep = path + "[" + std::to_string(i) + "]";
    if (e.is_string()) {
      out.push_back({resolve(e.get<std::string>()), ""});
    } else {
      // {"path": F, "header": false} or, for raw Ali-CCP, {"skeleton": F, "common": G}.
      JsonFields o(e, ep);
      InputFile f;
      if (o.has("skeleton")) {
        f.path = resolve(o.require<std::string>("skeleton"));
        f.common_path = resolve(o.get<std::string>("common", ""));
      } else {
        f.path = resolve(o.require<std::string>("path"));
        if (o.has("header")) f.header = o.require<bool>("header") ? 1 : 0;
      }
      o.finish();
      out.push_back(f);
    }
  }
  return out;
}

json files_to_json(const std::vector<InputFile>& files) {
  json out = json::array();
  for (const auto& f : files) {
    if (!f.common_path.empty()) {
      out.push_back(json{{"skeleton", f.path}, {"common", f.common_path}});
    } else if (f.header >= 0) {
      out.push_back(json{{"path", f.path}, {"header", f.header != 0}});
    } else {
      out.push_back(f.path);
    }
  }
  return out;
}

}  // namespace

FormatSpec parse_format(const json& v, const std::string& path) {
  FormatSpec f;
  auto set_type = [&](const FormatType& t) {
    f.type = t.format;
    f.delimiter = t.delimiter;
  };
  if (v.is_string()) {
    set_type(parse_format_type(v.get<std::string>(), path));
    return f;
  }
  JsonFields o(v, path);
  set_type(parse_format_type(o.require<std::string>("type"), o.path("type")));
  auto char_key = [&](const char* key, char* out) {
    if (o.has(key)) *out = single_char(o.require<std::string>(key), o.path(key));
  };
  char_key("delimiter", &f.delimiter);
  char_key("quote", &f.quote);
  f.header = o.get<bool>("header", f.header);
  if (o.has("columns")) f.columns = string_list(o.at("columns"), o.path("columns"));
  char_key("multi_separator", &f.multi_separator);
  char_key("weight_separator", &f.weight_separator);
  if (o.has("leading_columns")) {
    f.leading_columns = string_list(o.at("leading_columns"), o.path("leading_columns"));
  }
  if (o.has("conversion")) {
    FUNNEL_CHECK(f.type == Format::kCriteoAttribution,
                 o.path("conversion") << ": only the criteo_attribution format has this option");
    f.criteo_conversion = parse_choice(o.require<std::string>("conversion"), kCriteoConversions,
                                       o.path("conversion"));
  }
  o.finish();
  FUNNEL_CHECK(f.header || !f.columns.empty() || f.type != Format::kDelimited,
               path << ": header is false, so 'columns' must name the file's columns");
  FUNNEL_CHECK(f.multi_separator != f.delimiter && f.weight_separator != f.delimiter,
               path << ": multi/weight separators must differ from the delimiter");
  FUNNEL_CHECK(f.type != Format::kCriteoAttribution || (f.delimiter == '\t' && f.header),
               path << ": criteo_attribution files are tab-separated with a header line "
                       "(delimiter and header cannot change)");
  return f;
}

json format_to_json(const FormatSpec& f) {
  // The delimiter is written anyway; the name only has to pick the same reader ("tsv" for a
  // tab reads better).
  FormatType named{f.type, ','};
  if (f.type == Format::kDelimited) named.delimiter = f.delimiter == '\t' ? '\t' : ',';
  // A one-character string reads back as itself, a tab included (JSON writes it as "\t").
  auto chr = [](char c) { return std::string(1, c); };
  if (f.type == Format::kCriteoAttribution) named.delimiter = '\t';
  json out = {{"type", choice_name(named, kFormatTypes)},
              {"delimiter", chr(f.delimiter)},
              {"quote", chr(f.quote)},
              {"header", f.header},
              {"columns", f.columns},
              {"multi_separator", chr(f.multi_separator)},
              {"weight_separator", chr(f.weight_separator)},
              {"leading_columns", f.leading_columns}};
  if (f.type == Format::kCriteoAttribution) {
    out["conversion"] = choice_name(f.criteo_conversion, kCriteoConversions);
  }
  return out;
}

Schema parse_schema(const json& data) {
  Schema s;
  // Labels.
  FUNNEL_CHECK(data.contains("labels"), "data.labels: required (the funnel events, in order)");
  const json& labels = data.at("labels");
  FUNNEL_CHECK(labels.is_array() && !labels.empty(),
               "data.labels: expected a non-empty list, got " << labels.dump());
  std::vector<std::string> parents;
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::string p = "data.labels[" + std::to_string(i) + "]";
    LabelSpec l;
    std::string parent;
    if (labels[i].is_string()) {
      l.event = labels[i].get<std::string>();
      l.columns = {l.event};
    } else {
      JsonFields o(labels[i], p);
      l.event = o.require<std::string>("event");
      FUNNEL_CHECK(!(o.has("column") && o.has("columns")),
                   p << ": give either 'column' or 'columns', not both");
      if (o.has("columns")) {
        l.columns = string_list(o.at("columns"), o.path("columns"));
      } else {
        l.columns = {o.get<std::string>("column", l.event)};
      }
      parent = o.get<std::string>("parent", "");
      o.finish();
    }
    s.labels.push_back(l);
    parents.push_back(parent);
  }
  for (size_t i = 0; i < s.labels.size(); ++i) {
    if (parents[i].empty()) {
      s.labels[i].parent = static_cast<int>(i) - 1;
    } else if (parents[i] == "none") {
      s.labels[i].parent = -1;
    } else {
      int found = -1;
      for (size_t j = 0; j < i; ++j) {
        if (s.labels[j].event == parents[i]) found = static_cast<int>(j);
      }
      FUNNEL_CHECK(found >= 0, "data.labels[" << i << "].parent: '" << parents[i]
                                              << "' is not an earlier event");
      s.labels[i].parent = found;
    }
  }
  // Categorical features.
  if (data.contains("categorical")) {
    const json& cats = data.at("categorical");
    FUNNEL_CHECK(cats.is_array(), "data.categorical: expected a list");
    for (size_t i = 0; i < cats.size(); ++i) {
      CategoricalSpec c;
      if (cats[i].is_string()) {
        c.name = cats[i].get<std::string>();
      } else {
        JsonFields o(cats[i], "data.categorical[" + std::to_string(i) + "]");
        c.name = o.require<std::string>("name");
        c.column = o.get<std::string>("column", "");
        c.multi = o.get<bool>("multi", false);
        c.weighted = o.get<bool>("weighted", false);
        c.dim = o.get<int>("dim", 0);
        c.min_count = o.get<int64_t>("min_count", -1);
        c.hash_buckets = o.get<int64_t>("hash_buckets", -1);
        o.finish();
      }
      if (c.column.empty()) c.column = c.name;
      s.categorical.push_back(c);
    }
  }
  // Numeric features.
  if (data.contains("numeric")) {
    const json& nums = data.at("numeric");
    FUNNEL_CHECK(nums.is_array(), "data.numeric: expected a list");
    for (size_t i = 0; i < nums.size(); ++i) {
      NumericSpec n;
      if (nums[i].is_string()) {
        n.name = nums[i].get<std::string>();
      } else {
        JsonFields o(nums[i], "data.numeric[" + std::to_string(i) + "]");
        n.name = o.require<std::string>("name");
        n.column = o.get<std::string>("column", "");
        n.transform = parse_choice(o.get<std::string>("transform", "normalize"), kTransforms,
                                   o.path("transform"));
        n.boundaries = o.get<std::vector<double>>("boundaries", {});
        n.dim = o.get<int>("dim", 0);
        o.finish();
      }
      if (n.column.empty()) n.column = n.name;
      s.numeric.push_back(n);
    }
  }
  auto opt = [&](const char* key) {
    if (!data.contains(key)) return std::string();
    const json& v = data.at(key);
    FUNNEL_CHECK(v.is_string(),
                 "data." << key << ": expected a column name (a string), got "
                         << printable(v.dump(-1, ' ', false, json::error_handler_t::replace), 60));
    return v.get<std::string>();
  };
  s.group_column = opt("group");
  s.list_column = opt("list");
  s.position_column = opt("position");
  s.timestamp_column = opt("timestamp");
  if (data.contains("aux")) s.aux_columns = string_list(data.at("aux"), "data.aux");
  // "truth" / "inherent_truth": {"event": "column", ...}, each column also an aux column.
  auto truth_map = [&](const char* key, std::vector<std::string>& columns) {
    if (!data.contains(key)) return;
    const json& t = data.at(key);
    FUNNEL_CHECK(t.is_object(), "data." << key << ": expected {\"event\": \"column\", ...}");
    columns.assign(s.labels.size(), "");
    for (auto it = t.begin(); it != t.end(); ++it) {
      size_t e = 0;
      while (e < s.labels.size() && s.labels[e].event != it.key()) ++e;
      FUNNEL_CHECK(e < s.labels.size(), "data." << key << "." << it.key() << ": no such event");
      FUNNEL_CHECK(it.value().is_string() && !it.value().get<std::string>().empty(),
                   "data." << key << "." << it.key() << ": expected a column name");
      columns[e] = it.value().get<std::string>();
      if (std::find(s.aux_columns.begin(), s.aux_columns.end(), columns[e]) ==
          s.aux_columns.end()) {
        s.aux_columns.push_back(columns[e]);
      }
    }
  };
  truth_map("truth", s.truth_columns);
  truth_map("inherent_truth", s.inherent_truth_columns);
  s.validate();
  return s;
}

json schema_to_json(const Schema& s) {
  json labels = json::array();
  for (size_t i = 0; i < s.labels.size(); ++i) {
    const LabelSpec& l = s.labels[i];
    json e = {{"event", l.event}, {"columns", l.columns}};
    // The default parent (the previous event) is left implicit: written by name it would read
    // back as -1 when that event is called "none".
    if (l.parent != static_cast<int>(i) - 1) {
      e["parent"] = l.parent >= 0 ? s.labels[l.parent].event : "none";
    }
    labels.push_back(e);
  }
  json cats = json::array();
  for (const auto& c : s.categorical) {
    cats.push_back({{"name", c.name}, {"column", c.column}, {"multi", c.multi},
                    {"weighted", c.weighted}, {"dim", c.dim}, {"min_count", c.min_count},
                    {"hash_buckets", c.hash_buckets}});
  }
  json nums = json::array();
  for (const auto& n : s.numeric) {
    json e = {{"name", n.name},
              {"column", n.column},
              {"transform", choice_name(n.transform, kTransforms)}};
    // Unset ones read back as their defaults (no boundaries, dim 0).
    if (!n.boundaries.empty()) e["boundaries"] = n.boundaries;
    if (n.dim != 0) e["dim"] = n.dim;
    nums.push_back(e);
  }
  json out = {{"labels", labels}, {"categorical", cats}, {"numeric", nums}};
  if (!s.group_column.empty()) out["group"] = s.group_column;
  if (!s.list_column.empty()) out["list"] = s.list_column;
  if (!s.position_column.empty()) out["position"] = s.position_column;
  if (!s.timestamp_column.empty()) out["timestamp"] = s.timestamp_column;
  if (!s.aux_columns.empty()) out["aux"] = s.aux_columns;
  auto truth_map = [&](const char* key, const std::vector<std::string>& columns) {
    if (columns.empty()) return;
    json truth = json::object();
    for (size_t e = 0; e < columns.size(); ++e) {
      if (!columns[e].empty()) truth[s.labels[e].event] = columns[e];
    }
    out[key] = truth;
  };
  truth_map("truth", s.truth_columns);
  truth_map("inherent_truth", s.inherent_truth_columns);
  return out;
}

/// parse_data_config without the net for JSON type errors (below).
static DataConfig parse_data_config_checked(const json& data, const std::string& base_dir);

DataConfig parse_data_config(const json& data, const std::string& base_dir) {
  try {
    return parse_data_config_checked(data, base_dir);
  } catch (const json::exception& e) {
    // A value of the wrong JSON type somewhere no check names it yet: still the user's error,
    // with the section (found by fuzzing: "group": {...}).
    throw Error(std::string("data: a value of the wrong type: ") + e.what());
  }
}

static DataConfig parse_data_config_checked(const json& data, const std::string& base_dir) {
  DataConfig c;
  JsonFields o(data, "data");
  c.schema = parse_schema(data);
  for (const char* k : {"labels", "categorical", "numeric", "group", "list", "position",
                        "timestamp", "aux", "truth", "inherent_truth"}) {
    o.get<json>(k, json());  // consumed by parse_schema
  }
  c.format = o.has("format") ? parse_format(o.at("format"), o.path("format")) : FormatSpec();
  // Files are optional here (a config used with an existing cache names none);
  // convert_to_cache requires training files.
  if (o.has("train")) c.train = parse_files(o.at("train"), o.path("train"), base_dir);
  if (o.has("validation")) {
    c.validation = parse_files(o.at("validation"), o.path("validation"), base_dir);
  }
  if (o.has("test")) c.test = parse_files(o.at("test"), o.path("test"), base_dir);
  c.cache = o.get<std::string>("cache", "");
  if (!c.cache.empty() && c.cache[0] != '/' && !base_dir.empty()) {
    c.cache = join_path(base_dir, c.cache);
  }
  c.validation_ratio = o.get<double>("validation_ratio", 0.0);
  FUNNEL_CHECK(c.validation_ratio >= 0 && c.validation_ratio < 1,
               "data.validation_ratio: expected a fraction in [0, 1), got " << c.validation_ratio);
  FUNNEL_CHECK(c.validation.empty() || c.validation_ratio == 0,
               "data: give validation files or validation_ratio, not both");
  c.split_seed = o.get<uint64_t>("split_seed", c.split_seed);
  if (o.has("vocab")) {
    JsonFields v(o.at("vocab"), "data.vocab");
    c.vocab.min_count = v.get<int64_t>("min_count", c.vocab.min_count);
    c.vocab.hash_buckets = v.get<int64_t>("hash_buckets", c.vocab.hash_buckets);
    v.finish();
  }
  FUNNEL_CHECK(c.vocab.min_count >= 1, "data.vocab.min_count: must be >= 1");
  FUNNEL_CHECK(c.vocab.hash_buckets == 0 || c.vocab.hash_buckets >= 2,
               "data.vocab.hash_buckets: must be 0 (vocabulary) or >= 2");
  c.on_bad_row =
      parse_choice(o.get<std::string>("on_bad_row", "fail"), kBadRowPolicies, o.path("on_bad_row"));
  c.max_bad_fraction = o.get<double>("max_bad_fraction", c.max_bad_fraction);
  FUNNEL_CHECK(c.max_bad_fraction >= 0 && c.max_bad_fraction <= 1,
               "data.max_bad_fraction: expected a fraction in [0, 1]");
  c.max_unread_fields =
      o.get_in<size_t>("max_unread_fields", c.max_unread_fields, 0, size_t{1} << 20);
  c.keep_funnel_violations = o.get<bool>("keep_funnel_violations", false);
  c.max_value_bytes = o.get<size_t>("max_value_bytes", c.max_value_bytes);
  c.common_cache_bytes =
      o.get_in<size_t>("common_cache_mb", c.common_cache_bytes >> 20, 0, size_t{1} << 24) << 20;
  c.group_lists = o.get<bool>("group_lists", c.group_lists);
  c.sort_memory_bytes =
      o.get_in<size_t>("sort_memory_mb", c.sort_memory_bytes >> 20, 1, size_t{1} << 24) << 20;
  c.max_list_length = o.get<uint64_t>("max_list_length", c.max_list_length);
  c.list_keep =
      parse_choice(o.get<std::string>("list_keep", "first"), kListKeeps, o.path("list_keep"));
  if (c.max_list_length > 0) {
    FUNNEL_CHECK(!c.schema.list_column.empty(),
                 "data.max_list_length: needs a list column (data.list), got "
                     << c.max_list_length << " without one");
    FUNNEL_CHECK(c.group_lists,
                 "data.max_list_length: needs data.group_lists (the items kept "
                 "are the first or last in list order)");
  }
  o.finish();
  return c;
}

json data_config_to_json(const DataConfig& c) {
  json out = schema_to_json(c.schema);
  out["format"] = format_to_json(c.format);
  out["train"] = files_to_json(c.train);
  out["validation"] = files_to_json(c.validation);
  out["test"] = files_to_json(c.test);
  if (!c.cache.empty()) out["cache"] = c.cache;
  out["validation_ratio"] = c.validation_ratio;
  out["split_seed"] = c.split_seed;
  out["vocab"] = {{"min_count", c.vocab.min_count}, {"hash_buckets", c.vocab.hash_buckets}};
  out["on_bad_row"] = choice_name(c.on_bad_row, kBadRowPolicies);
  out["max_bad_fraction"] = c.max_bad_fraction;
  out["max_unread_fields"] = c.max_unread_fields;
  out["keep_funnel_violations"] = c.keep_funnel_violations;
  out["max_value_bytes"] = c.max_value_bytes;
  out["common_cache_mb"] = c.common_cache_bytes >> 20;
  out["group_lists"] = c.group_lists;
  out["sort_memory_mb"] = c.sort_memory_bytes >> 20;
  out["max_list_length"] = c.max_list_length;
  out["list_keep"] = choice_name(c.list_keep, kListKeeps);
  return out;
}

}  // namespace funnel::data
