#include "data/schema.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace funnel::data {
namespace {
using nlohmann::json;

json base() {
  return json::parse(R"({
    "format": "csv",
    "train": ["train.csv"],
    "labels": ["click", {"event": "purchase", "column": "buy"}],
    "categorical": ["user", {"name": "hist", "multi": true, "weighted": true, "dim": 8}],
    "numeric": ["price", {"name": "age", "transform": "bucketize", "boundaries": [18, 30, 50]}],
    "group": "user"
  })");
}

std::string error_of(const json& j) {
  try {
    parse_data_config(j, "/base");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Schema, ParsesShorthandAndFullForms) {
  const DataConfig c = parse_data_config(base(), "/base");
  ASSERT_EQ(c.schema.labels.size(), 2u);
  EXPECT_EQ(c.schema.labels[0].columns, std::vector<std::string>{"click"});
  EXPECT_EQ(c.schema.labels[0].parent, -1);
  EXPECT_EQ(c.schema.labels[1].columns, std::vector<std::string>{"buy"});
  EXPECT_EQ(c.schema.labels[1].parent, 0);
  ASSERT_EQ(c.schema.categorical.size(), 2u);
  EXPECT_EQ(c.schema.categorical[1].dim, 8);
  EXPECT_TRUE(c.schema.categorical[1].weighted);
  EXPECT_EQ(c.schema.numeric[1].transform, NumericTransform::kBucketize);
  EXPECT_EQ(c.train[0].path, "/base/train.csv");
  EXPECT_EQ(c.format.delimiter, ',');
  // Slots: label columns first, then features, then the group column.
  const auto slots = c.schema.slots();
  ASSERT_EQ(slots.size(), 7u);
  EXPECT_EQ(slots[0].column, "click");
  EXPECT_EQ(slots[1].column, "buy");
  EXPECT_EQ(slots.back().kind, SlotKind::kGroup);
}

TEST(Schema, OrOfColumnsAndExplicitParent) {
  json j = base();
  j["labels"] = json::parse(R"([
    "click",
    {"event": "action", "columns": ["cart", "wish"]},
    {"event": "purchase", "column": "buy", "parent": "click"}])");
  const DataConfig c = parse_data_config(j, "");
  EXPECT_EQ(c.schema.labels[1].columns, (std::vector<std::string>{"cart", "wish"}));
  EXPECT_EQ(c.schema.labels[2].parent, 0);  // ESM2: purchase may happen without the action
  EXPECT_EQ(c.schema.num_label_columns(), 4);
}

TEST(Schema, LabelAsFeatureIsLeakage) {
  json j = base();
  j["categorical"].push_back("buy");
  EXPECT_NE(error_of(j).find("label leakage"), std::string::npos) << error_of(j);
  j = base();
  j["group"] = "click";
  EXPECT_NE(error_of(j).find("label leakage"), std::string::npos);
}

TEST(Schema, RejectsInconsistencies) {
  json j = base();
  j["categorical"].push_back("user");
  EXPECT_NE(error_of(j).find("listed twice"), std::string::npos);
  j = base();
  j["numeric"][1]["boundaries"] = {30, 18};
  EXPECT_NE(error_of(j).find("strictly increase"), std::string::npos);
  j = base();
  j["labels"][1]["parent"] = "nope";
  EXPECT_NE(error_of(j).find("not an earlier event"), std::string::npos);
  j = base();
  j["categorical"][1]["multi"] = false;
  EXPECT_NE(error_of(j).find("weighted values need multi"), std::string::npos);
  j = base();
  j.erase("labels");
  EXPECT_NE(error_of(j).find("data.labels"), std::string::npos);
}

TEST(Schema, UnknownKeysAreErrorsWithTheirPath) {
  json j = base();
  j["categorical"][1]["mutli"] = true;
  EXPECT_NE(error_of(j).find("data.categorical[1]: unknown key(s) mutli"), std::string::npos)
      << error_of(j);
  j = base();
  j["valdation_ratio"] = 0.1;
  EXPECT_NE(error_of(j).find("valdation_ratio"), std::string::npos);
  j = base();
  j["vocab"] = {{"min_count", "11"}};
  EXPECT_NE(error_of(j).find("data.vocab.min_count: expected an integer"), std::string::npos)
      << error_of(j);
}

TEST(Schema, FormatAndSplitOptions) {
  json j = base();
  j["format"] = {{"type", "tsv"}, {"header", false}, {"columns", {"click", "buy", "user"}}};
  j["validation_ratio"] = 0.25;
  j["test"] = {{{"path", "t.csv"}, {"header", true}}};
  const DataConfig c = parse_data_config(j, "");
  EXPECT_EQ(c.format.delimiter, '\t');
  EXPECT_FALSE(c.format.header);
  EXPECT_EQ(c.test[0].header, 1);
  EXPECT_DOUBLE_EQ(c.validation_ratio, 0.25);
  j["validation"] = {"v.csv"};
  EXPECT_NE(error_of(j).find("not both"), std::string::npos);
  j = base();
  j["format"] = "parquet";
  EXPECT_NE(error_of(j).find("unknown format"), std::string::npos);
}

TEST(Schema, JsonRoundTrip) {
  const DataConfig c = parse_data_config(base(), "");
  const Schema back = parse_schema(schema_to_json(c.schema));
  EXPECT_EQ(schema_to_json(back), schema_to_json(c.schema));
  EXPECT_EQ(back.labels[1].parent, 0);
  EXPECT_EQ(back.numeric[1].boundaries, (std::vector<double>{18, 30, 50}));
}

// ---------------------------------------------------------------------------------------------
// Round trips: every field compared on its own, so a field the writer drops fails here.

void expect_same(const FormatSpec& a, const FormatSpec& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.delimiter, b.delimiter);
  EXPECT_EQ(a.quote, b.quote);
  EXPECT_EQ(a.header, b.header);
  EXPECT_EQ(a.columns, b.columns);
  EXPECT_EQ(a.multi_separator, b.multi_separator);
  EXPECT_EQ(a.weight_separator, b.weight_separator);
  EXPECT_EQ(a.leading_columns, b.leading_columns);
}

void expect_same(const Schema& a, const Schema& b) {
  ASSERT_EQ(a.labels.size(), b.labels.size());
  for (size_t i = 0; i < a.labels.size(); ++i) {
    SCOPED_TRACE("label " + std::to_string(i));
    EXPECT_EQ(a.labels[i].event, b.labels[i].event);
    EXPECT_EQ(a.labels[i].columns, b.labels[i].columns);
    EXPECT_EQ(a.labels[i].parent, b.labels[i].parent);
  }
  ASSERT_EQ(a.categorical.size(), b.categorical.size());
  for (size_t i = 0; i < a.categorical.size(); ++i) {
    SCOPED_TRACE("categorical " + std::to_string(i));
    const CategoricalSpec &x = a.categorical[i], &y = b.categorical[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.column, y.column);
    EXPECT_EQ(x.multi, y.multi);
    EXPECT_EQ(x.weighted, y.weighted);
    EXPECT_EQ(x.dim, y.dim);
    EXPECT_EQ(x.min_count, y.min_count);
    EXPECT_EQ(x.hash_buckets, y.hash_buckets);
  }
  ASSERT_EQ(a.numeric.size(), b.numeric.size());
  for (size_t i = 0; i < a.numeric.size(); ++i) {
    SCOPED_TRACE("numeric " + std::to_string(i));
    const NumericSpec &x = a.numeric[i], &y = b.numeric[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.column, y.column);
    EXPECT_EQ(x.transform, y.transform);
    EXPECT_EQ(x.boundaries, y.boundaries);
    EXPECT_EQ(x.dim, y.dim);
  }
  EXPECT_EQ(a.group_column, b.group_column);
  EXPECT_EQ(a.list_column, b.list_column);
  EXPECT_EQ(a.position_column, b.position_column);
  EXPECT_EQ(a.timestamp_column, b.timestamp_column);
  EXPECT_EQ(a.aux_columns, b.aux_columns);
  EXPECT_EQ(a.truth_columns, b.truth_columns);
}

void expect_same(const std::vector<InputFile>& a, const std::vector<InputFile>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].path, b[i].path);
    EXPECT_EQ(a[i].common_path, b[i].common_path);
    EXPECT_EQ(a[i].header, b[i].header);
  }
}

void expect_same(const DataConfig& a, const DataConfig& b) {
  expect_same(a.format, b.format);
  expect_same(a.schema, b.schema);
  expect_same(a.train, b.train);
  expect_same(a.validation, b.validation);
  expect_same(a.test, b.test);
  EXPECT_EQ(a.validation_ratio, b.validation_ratio);
  EXPECT_EQ(a.split_seed, b.split_seed);
  EXPECT_EQ(a.vocab.min_count, b.vocab.min_count);
  EXPECT_EQ(a.vocab.hash_buckets, b.vocab.hash_buckets);
  EXPECT_EQ(a.on_bad_row, b.on_bad_row);
  EXPECT_EQ(a.max_bad_fraction, b.max_bad_fraction);
  EXPECT_EQ(a.keep_funnel_violations, b.keep_funnel_violations);
  EXPECT_EQ(a.max_value_bytes, b.max_value_bytes);
  EXPECT_EQ(a.common_cache_bytes, b.common_cache_bytes);
  EXPECT_EQ(a.group_lists, b.group_lists);
  EXPECT_EQ(a.sort_memory_bytes, b.sort_memory_bytes);
  EXPECT_EQ(a.max_list_length, b.max_list_length);
  EXPECT_EQ(a.list_keep, b.list_keep);
}

/// Every key set to a valid value other than its default (validation files and
/// validation_ratio exclude each other: the ratio here, the files in a variant).
json every_key() {
  return json::parse(R"({
    "format": {"type": "tsv", "delimiter": ";", "quote": "'", "header": false,
               "columns": ["click", "cart", "wish", "buy", "share", "user", "hist_col", "price_col",
                           "age", "grp", "lst", "pos", "ts", "p_click", "extra"],
               "multi_separator": "#", "weight_separator": "=",
               "leading_columns": ["sid", "c"]},
    "train": ["a.csv", {"path": "b.csv", "header": false}],
    "test": [{"skeleton": "sk.txt", "common": "common.txt"}, {"path": "t.csv", "header": true}],
    "validation_ratio": 0.125,
    "split_seed": 7,
    "vocab": {"min_count": 11, "hash_buckets": 1000},
    "on_bad_row": "skip",
    "max_bad_fraction": 0.25,
    "keep_funnel_violations": true,
    "max_value_bytes": 64,
    "common_cache_mb": 3,
    "group_lists": true,
    "sort_memory_mb": 5,
    "max_list_length": 20,
    "list_keep": "last",
    "labels": ["click",
               {"event": "action", "columns": ["cart", "wish"]},
               {"event": "purchase", "column": "buy", "parent": "click"},
               {"event": "share", "parent": "none"}],
    "categorical": ["user",
                    {"name": "hist", "column": "hist_col", "multi": true, "weighted": true,
                     "dim": 8, "min_count": 3, "hash_buckets": 50}],
    "numeric": [{"name": "price", "column": "price_col", "transform": "normalize"},
                {"name": "age", "transform": "bucketize", "boundaries": [18, 30.5, 50],
                 "dim": 4}],
    "group": "grp",
    "list": "lst",
    "position": "pos",
    "timestamp": "ts",
    "aux": ["extra"],
    "truth": {"click": "p_click"}
  })");
}

/// parse -> to_json -> parse: the JSON is a fixed point and the structs agree field by field.
void expect_round_trip(const json& j, const std::string& base_dir) {
  const DataConfig first = parse_data_config(j, base_dir);
  const json written = data_config_to_json(first);
  const DataConfig second = parse_data_config(written, "");
  EXPECT_EQ(data_config_to_json(second), written) << written.dump(2);
  expect_same(first, second);
  // Through text too (as a bundle or cache stores it).
  expect_same(first, parse_data_config(json::parse(written.dump()), ""));
}

TEST(SchemaRoundTrip, EveryKeyOfTheDataSection) {
  const DataConfig c = parse_data_config(every_key(), "/base");
  // Nothing left at its default, so a dropped field cannot read back equal by chance.
  const DataConfig d;
  const FormatSpec& f = c.format;
  EXPECT_NE(f.delimiter, d.format.delimiter);
  EXPECT_NE(f.quote, d.format.quote);
  EXPECT_NE(f.header, d.format.header);
  EXPECT_NE(f.columns, d.format.columns);
  EXPECT_NE(f.multi_separator, d.format.multi_separator);
  EXPECT_NE(f.weight_separator, d.format.weight_separator);
  EXPECT_NE(f.leading_columns, d.format.leading_columns);
  EXPECT_NE(c.validation_ratio, d.validation_ratio);
  EXPECT_NE(c.split_seed, d.split_seed);
  EXPECT_NE(c.vocab.min_count, d.vocab.min_count);
  EXPECT_NE(c.vocab.hash_buckets, d.vocab.hash_buckets);
  EXPECT_NE(c.on_bad_row, d.on_bad_row);
  EXPECT_NE(c.max_bad_fraction, d.max_bad_fraction);
  EXPECT_NE(c.keep_funnel_violations, d.keep_funnel_violations);
  EXPECT_NE(c.max_value_bytes, d.max_value_bytes);
  EXPECT_NE(c.common_cache_bytes, d.common_cache_bytes);
  EXPECT_NE(c.sort_memory_bytes, d.sort_memory_bytes);
  EXPECT_NE(c.max_list_length, d.max_list_length);
  EXPECT_NE(c.list_keep, d.list_keep);
  const Schema& s = c.schema;
  EXPECT_EQ(s.labels[1].columns, (std::vector<std::string>{"cart", "wish"}));
  EXPECT_EQ(s.labels[2].parent, 0);
  EXPECT_EQ(s.labels[3].parent, -1);
  const CategoricalSpec& hist = s.categorical[1];
  EXPECT_EQ(hist.column, "hist_col");
  EXPECT_EQ(hist.min_count, 3);
  EXPECT_EQ(hist.hash_buckets, 50);
  EXPECT_EQ(s.numeric[0].column, "price_col");
  EXPECT_EQ(s.numeric[1].dim, 4);
  EXPECT_EQ(s.aux_columns, (std::vector<std::string>{"extra", "p_click"}));
  EXPECT_EQ(s.truth_columns, (std::vector<std::string>{"p_click", "", "", ""}));
  EXPECT_EQ(c.train[1].header, 0);
  EXPECT_EQ(c.test[0].path, "/base/sk.txt");
  EXPECT_EQ(c.test[0].common_path, "/base/common.txt");
  EXPECT_EQ(c.test[1].header, 1);
  EXPECT_EQ(c.common_cache_bytes, size_t{3} << 20);

  expect_round_trip(every_key(), "/base");
  // Written paths are resolved: a plain string where nothing else is set.
  const json written = data_config_to_json(c);
  EXPECT_EQ(written["train"][0], "/base/a.csv");
  EXPECT_EQ(written["test"][0],
            (json{{"skeleton", "/base/sk.txt"}, {"common", "/base/common.txt"}}));

  json with_files = every_key();
  with_files.erase("validation_ratio");
  with_files["validation"] = {"v.csv", {{"path", "v2.csv"}, {"header", false}}};
  expect_round_trip(with_files, "/base");
  // group_lists is true above (max_list_length needs it): false round-trips too.
  json ungrouped = every_key();
  ungrouped["group_lists"] = false;
  ungrouped.erase("max_list_length");
  EXPECT_FALSE(parse_data_config(ungrouped, "/base").group_lists);
  expect_round_trip(ungrouped, "/base");
  // Defaults only (and no files at all) round-trip as well.
  expect_round_trip(json{{"labels", {"click"}}}, "");
  expect_round_trip(base(), "/base");
}

TEST(SchemaRoundTrip, DefaultParentOfAnEventCalledNone) {
  // "none" as a parent name means "no parent", so the default parent is left implicit.
  const Schema s = parse_schema(json{{"labels", {"none", "click"}}});
  ASSERT_EQ(s.labels[1].parent, 0);
  expect_same(s, parse_schema(schema_to_json(s)));
}

TEST(SchemaRoundTrip, Formats) {
  const json formats[] = {
      "csv",
      "tsv",
      "tokens",
      "aliccp_raw",
      json::parse(R"({"type": "csv", "delimiter": "tab", "quote": "'", "header": false,
                      "columns": ["a", "b"], "multi_separator": ";", "weight_separator": "="})"),
      json::parse(R"({"type": "tsv", "delimiter": "\\t", "multi_separator": ","})"),
      json::parse(R"({"type": "tokens", "delimiter": " ", "leading_columns": []})"),
      json::parse(R"({"type": "aliccp_raw", "weight_separator": "\u0003"})"),
  };
  for (const json& j : formats) {
    SCOPED_TRACE(j.dump());
    const FormatSpec first = parse_format(j);
    const json written = format_to_json(first);
    const FormatSpec second = parse_format(written);
    expect_same(first, second);
    EXPECT_EQ(format_to_json(second), written);
    expect_same(first, parse_format(json::parse(written.dump())));
    for (const char* key : {"type", "delimiter", "quote", "header", "columns", "multi_separator",
                            "weight_separator", "leading_columns"}) {
      EXPECT_TRUE(written.contains(key)) << key;
    }
  }
  EXPECT_EQ(parse_format("tsv").delimiter, '\t');
  EXPECT_EQ(format_to_json(parse_format("tsv"))["type"], "tsv");
  EXPECT_EQ(format_to_json(parse_format("tsv"))["delimiter"], "\t");
  EXPECT_EQ(parse_format("tokens").type, Format::kTokens);
  EXPECT_EQ(parse_format("aliccp_raw").type, Format::kAliccpRaw);
}

std::string format_error(const json& j, const std::string& path) {
  try {
    parse_format(j, path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Schema, MisspelledNamesGiveThePathAndTheChoices) {
  EXPECT_EQ(format_error("parquet", "data.format"),
            "data.format: unknown format, expected csv, tsv, tokens, aliccp_raw or "
            "criteo_attribution, got 'parquet'");
  EXPECT_EQ(format_error(json{{"type", "tvs"}}, "x.format"),
            "x.format.type: unknown format, expected csv, tsv, tokens, aliccp_raw or "
            "criteo_attribution, got 'tvs'");
  json j = base();
  j["format"] = {{"type", "tvs"}};
  EXPECT_NE(error_of(j).find("data.format.type: unknown format, expected csv, tsv, tokens, "
                             "aliccp_raw or criteo_attribution, got 'tvs'"),
            std::string::npos)
      << error_of(j);
  j = base();
  j["on_bad_row"] = "skp";
  EXPECT_EQ(error_of(j), "data.on_bad_row: expected fail or skip, got 'skp'");
  j = base();
  j["numeric"][1]["transform"] = "bucketise";
  EXPECT_EQ(error_of(j), "data.numeric[1].transform: expected normalize or bucketize, got "
                         "'bucketise'");
  // The other format checks name the given path too.
  EXPECT_NE(format_error(json{{"type", "csv"}, {"header", false}}, "x.format")
                .find("x.format: header is false"),
            std::string::npos);
}

TEST(Schema, ListOptionsAreCheckedWithThePathAndTheValue) {
  json j = base();
  j["list"] = "lst";
  j["position"] = "pos";
  const DataConfig ok = parse_data_config(j, "");
  EXPECT_TRUE(ok.group_lists);
  EXPECT_EQ(ok.sort_memory_bytes, size_t{64} << 20);
  EXPECT_EQ(ok.max_list_length, 0u);
  EXPECT_EQ(ok.list_keep, ListKeep::kFirst);
  auto with = [&](const char* key, const json& value) {
    json k = j;
    k[key] = value;
    return error_of(k);
  };
  EXPECT_EQ(with("list_keep", "middle"), "data.list_keep: expected first or last, got 'middle'");
  EXPECT_EQ(with("list_keep", 3), "data.list_keep: expected a string, got 3");
  EXPECT_EQ(with("max_list_length", -5),
            "data.max_list_length: expected an integer in [0, 18446744073709551615], got -5");
  EXPECT_EQ(with("max_list_length", "10"), "data.max_list_length: expected an integer, got \"10\"");
  EXPECT_EQ(with("max_list_length", 2.5), "data.max_list_length: expected an integer, got 2.5");
  EXPECT_EQ(with("sort_memory_mb", 0),
            "data.sort_memory_mb: expected a value in [1, 16777216], got 0");
  EXPECT_EQ(with("sort_memory_mb", -1),
            "data.sort_memory_mb: expected an integer in [0, 18446744073709551615], got -1");
  EXPECT_EQ(with("group_lists", "yes"), "data.group_lists: expected true or false, got \"yes\"");
  // max_list_length keeps the first or last items in list order: it needs lists, grouped.
  json no_list = base();
  no_list["max_list_length"] = 10;
  EXPECT_EQ(error_of(no_list),
            "data.max_list_length: needs a list column (data.list), got 10 without one");
  json k = j;
  k["max_list_length"] = 10;
  k["group_lists"] = false;
  EXPECT_NE(error_of(k).find("data.max_list_length: needs data.group_lists"), std::string::npos)
      << error_of(k);
  k["group_lists"] = true;
  k["list_keep"] = "last";
  EXPECT_EQ(parse_data_config(k, "").max_list_length, 10u);
  EXPECT_EQ(parse_data_config(k, "").list_keep, ListKeep::kLast);
}

TEST(Schema, TrainFilesAreOptional) {
  json j = base();
  j.erase("train");
  const DataConfig c = parse_data_config(j, "/base");
  EXPECT_TRUE(c.train.empty());
  EXPECT_EQ(c.schema.labels.size(), 2u);
  // Schema and format only, as a config used with an existing cache.
  const DataConfig bare = parse_data_config(json{{"labels", {"click"}}, {"format", "tsv"}}, "");
  EXPECT_TRUE(bare.train.empty());
  EXPECT_TRUE(bare.validation.empty());
  EXPECT_TRUE(bare.test.empty());
  EXPECT_EQ(bare.format.delimiter, '\t');
}

}  // namespace
}  // namespace funnel::data
