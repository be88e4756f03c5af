#include "data/row_encoder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace funnel::data {
namespace {
using testing::expect_data_error;

DataConfig config() {
  nlohmann::json j = nlohmann::json::parse(R"({
    "train": ["x"],
    "labels": ["click", {"event": "action", "columns": ["cart", "wish"]},
               {"event": "buy", "parent": "click"}],
    "categorical": ["user", {"name": "hist", "multi": true, "weighted": true},
                    {"name": "tags", "multi": true}],
    "numeric": ["price", {"name": "age", "transform": "bucketize", "boundaries": [18, 30]}],
    "group": "user", "position": "pos", "aux": ["truth"]})");
  return parse_data_config(j, "");
}

// Slots: click, cart, wish, buy | user, hist, tags | price, age | group(user) | pos | truth
RawRow row(std::vector<std::string_view> cells) {
  RawRow r;
  r.reset(cells.size());
  r.line = 7;
  for (size_t i = 0; i < cells.size(); ++i) {
    r.cell[i] = cells[i];
    r.present[i] = 1;
  }
  return r;
}

TEST(RowEncoder, EncodesEveryKind) {
  const DataConfig c = config();
  RowEncoder enc(c);
  EncodedRow out;
  enc.encode(row({"1", "0", "1", "1", "u1", "a:0.5|b|c:2", "x|y", "3.5", "25", "u1", "4", "0.25"}),
             "f.csv", out);
  EXPECT_EQ(out.labels, (std::vector<uint8_t>{1, 1, 1}));  // action = cart OR wish
  EXPECT_EQ(out.violation, -1);
  ASSERT_EQ(out.keys.size(), 4u);  // user, hist, tags, age (bucketised)
  EXPECT_EQ(out.single[0], value_key("u1"));
  EXPECT_EQ(out.keys[1], (std::vector<uint64_t>{value_key("a"), value_key("b"), value_key("c")}));
  EXPECT_EQ(out.weights[1], (std::vector<float>{0.5f, 1.0f, 2.0f}));
  EXPECT_TRUE(out.weights[2].empty());
  EXPECT_EQ(out.single[3], 2u);  // 18 <= 25 < 30 -> bucket 2
  EXPECT_FLOAT_EQ(out.dense[0], 3.5f);
  EXPECT_EQ(out.group, value_key("u1"));
  EXPECT_EQ(out.position, 4);
  EXPECT_FLOAT_EQ(out.aux[0], 0.25f);
}

TEST(RowEncoder, BucketBoundariesAndMissingValues) {
  RowEncoder enc(config());
  EncodedRow out;
  for (auto [x, bucket] : std::vector<std::pair<const char*, uint64_t>>{
           {"-5", 1}, {"17.99", 1}, {"18", 2}, {"29", 2}, {"30", 3}, {"1e9", 3}}) {
    enc.encode(row({"0", "0", "0", "0", "u", "", "", "", x, "u", "0", ""}), "f", out);
    EXPECT_EQ(out.single[3], bucket) << x;
  }
  enc.encode(row({"0", "0", "0", "0", "", "", "", "", "", "u", "0", ""}), "f", out);
  EXPECT_EQ(out.single[0], 0u);  // missing single value -> id 0 later
  EXPECT_TRUE(out.keys[1].empty());  // empty bag
  EXPECT_EQ(out.single[3], 0u);
  EXPECT_TRUE(std::isnan(out.dense[0]));
  EXPECT_TRUE(std::isnan(out.aux[0]));
}

TEST(RowEncoder, FunnelViolation) {
  RowEncoder enc(config());
  EncodedRow out;
  // Bought without a click: violation at event 2 (buy's parent is click).
  enc.encode(row({"0", "0", "0", "1", "u", "", "", "", "", "u", "0", ""}), "f", out);
  EXPECT_EQ(out.violation, 2);
  // Bought after a click without the action: allowed (ESM2's OAction path).
  enc.encode(row({"1", "0", "0", "1", "u", "", "", "", "", "u", "0", ""}), "f", out);
  EXPECT_EQ(out.violation, -1);
  // Cart without click: violation at event 1.
  enc.encode(row({"0", "1", "0", "0", "u", "", "", "", "", "u", "0", ""}), "f", out);
  EXPECT_EQ(out.violation, 1);
}

TEST(RowEncoder, BadValuesNameLineAndColumn) {
  const DataConfig c = config();
  RowEncoder enc(c);
  EncodedRow out;
  auto bad = [&](std::vector<std::string_view> cells) {
    return expect_data_error([&] { enc.encode(row(cells), "f.csv", out); });
  };
  DataError e = bad({"2", "0", "0", "0", "u", "", "", "", "", "u", "0", ""});
  EXPECT_EQ(e.kind(), "label_value");
  EXPECT_EQ(e.column(), "click");
  EXPECT_EQ(e.line(), 7u);
  EXPECT_EQ(e.file(), "f.csv");
  EXPECT_EQ(bad({"", "0", "0", "0", "u", "", "", "", "", "u", "0", ""}).kind(), "label_value");
  EXPECT_EQ(bad({"yes", "0", "0", "0", "u", "", "", "", "", "u", "0", ""}).kind(), "label_value");
  e = bad({"0", "0", "0", "0", "u\xFF", "", "", "", "", "u", "0", ""});
  EXPECT_EQ(e.kind(), "value_utf8");
  EXPECT_EQ(e.column(), "user");
  // A NUL byte inside a value (issue 20: it was kept as part of the value), short and long.
  for (const std::string& v : {std::string("u\0v", 3), std::string("abcdefgh\0ijk", 12),
                              std::string("abcdefghij\0", 11)}) {
    e = bad({"0", "0", "0", "0", v, "", "", "", "", "u", "0", ""});
    EXPECT_EQ(e.kind(), "value_nul") << e.what();
    EXPECT_NE(e.message().find("\\x00"), std::string::npos) << e.message();
  }
  const std::string long_value(300, 'x');
  EXPECT_EQ(bad({"0", "0", "0", "0", long_value, "", "", "", "", "u", "0", ""}).kind(),
            "value_too_long");
  EXPECT_EQ(bad({"0", "0", "0", "0", "u", "a:zz", "", "", "", "u", "0", ""}).kind(),
            "weight_value");
  EXPECT_EQ(bad({"0", "0", "0", "0", "u", "", "x||y", "", "", "u", "0", ""}).kind(),
            "empty_value");
  e = bad({"0", "0", "0", "0", "u", "", "", "abc", "", "u", "0", ""});
  EXPECT_EQ(e.kind(), "numeric_value");
  EXPECT_EQ(e.column(), "price");
  EXPECT_EQ(bad({"0", "0", "0", "0", "u", "", "", "inf", "", "u", "0", ""}).kind(),
            "numeric_value");
  EXPECT_EQ(bad({"0", "0", "0", "0", "u", "", "", "", "", "u", "x", ""}).kind(), "position_value");
}

}  // namespace
}  // namespace funnel::data
