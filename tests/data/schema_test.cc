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

}  // namespace
}  // namespace funnel::data
