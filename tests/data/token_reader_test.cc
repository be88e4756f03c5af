#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data/reader.h"
#include "test_util.h"

namespace funnel::data {
namespace {
using testing::expect_data_error;
using testing::test_dir;
using testing::write_file;

DataConfig token_config() {
  nlohmann::json j = nlohmann::json::parse(R"({
    "format": "tokens", "train": ["x"],
    "labels": ["click", {"event": "purchase", "column": "buy"}],
    "categorical": ["205", {"name": "210", "multi": true}, "101"],
    "group": "101"})");
  return parse_data_config(j, "");
}

TEST(TokenReader, LeadingColumnsAndRepeatedFields) {
  const auto dir = test_dir();
  const auto p = write_file(dir, "t.txt", "7,1,0,210:a,205:x,999:skip,210:b,101:u1\n8,0,0,205:y\n");
  auto r = open_reader(token_config(), {p});
  RawRow row;
  ASSERT_TRUE(r->next(row));
  // Slots: click, buy, 205, 210, 101 (categorical), 101 (group).
  EXPECT_EQ(row.cell[0], "1");
  EXPECT_EQ(row.cell[1], "0");
  ASSERT_EQ(row.tokens[2].size(), 1u);
  EXPECT_EQ(row.tokens[2][0].text, "x");
  ASSERT_EQ(row.tokens[3].size(), 2u);
  EXPECT_EQ(row.tokens[3][1].text, "b");
  EXPECT_EQ(row.tokens[4][0].text, "u1");
  EXPECT_EQ(row.cell[5], "u1");  // the same field feeds the group slot
  ASSERT_TRUE(r->next(row));
  EXPECT_TRUE(row.tokens[3].empty());  // 210 absent: an empty bag
  EXPECT_FALSE(row.present[4]);
  EXPECT_FALSE(r->next(row));
}

TEST(TokenReader, Errors) {
  const auto dir = test_dir();
  const auto p = write_file(dir, "t.txt",
                            "1,0,0,205:x,205:y\n"  // single-valued field twice
                            "2,0,0,205x\n"         // not field:id
                            "3,0\n"                // too few leading columns
                            "4,0,0,205:z\n"
                            "6,0,0,205::12\n"  // two ':' (was read as the value ':12')
                            "5,0");            // truncated last line
  auto r = open_reader(token_config(), {p});
  RawRow row;
  DataError e = expect_data_error([&] { r->next(row); });
  EXPECT_EQ(e.kind(), "multiple_values");
  EXPECT_EQ(e.line(), 1u);
  EXPECT_EQ(e.column(), "205");
  e = expect_data_error([&] { r->next(row); });
  EXPECT_EQ(e.kind(), "token");
  EXPECT_EQ(e.line(), 2u);
  e = expect_data_error([&] { r->next(row); });
  EXPECT_EQ(e.kind(), "column_count");
  ASSERT_TRUE(r->next(row));
  EXPECT_EQ(row.tokens[2][0].text, "z");
  e = expect_data_error([&] { r->next(row); });
  EXPECT_EQ(e.kind(), "token");
  EXPECT_NE(std::string(e.what()).find("'205::12' has more than one ':'"), std::string::npos)
      << e.what();
  e = expect_data_error([&] { r->next(row); });
  EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  EXPECT_EQ(expect_data_error([&] { open_reader(token_config(), {write_file(dir, "e", "")}); }).kind(),
            "empty_file");
}

TEST(TokenReader, FieldsNotInTheSchemaAreCountedPerNameAndTooManyNamesFail) {
  // Issue 20, defect 6: a token whose field name was corrupted ('2O5') was ignored silently.
  const auto dir = test_dir();
  const auto p = write_file(dir, "t.txt",
                            "7,1,0,205:x,999:a,999:b,101:u\n"
                            "8,0,0,2O5:y,999:c\n"
                            "9,0,0,205:z\n");
  auto r = open_reader(token_config(), {p});
  RawRow row;
  while (r->next(row)) {
  }
  const auto* unread = r->unread_fields();
  ASSERT_NE(unread, nullptr);
  ASSERT_EQ(unread->size(), 2u);
  EXPECT_EQ(unread->at("999").entries, 3u);
  EXPECT_EQ(unread->at("999").first_seen, p + ":1");
  EXPECT_EQ(unread->at("2O5").entries, 1u);
  EXPECT_EQ(unread->at("2O5").first_seen, p + ":2");
  EXPECT_EQ(r->lines_consumed(), 3u);

  // More distinct names than data.max_unread_fields: the names look corrupted.
  DataConfig c = token_config();
  c.max_unread_fields = 1;
  auto strict = open_reader(c, {p});
  ASSERT_TRUE(strict->next(row));
  try {
    strict->next(row);
    FAIL() << "expected funnel::Error";
  } catch (const DataError& e) {
    FAIL() << "not a bad row (--on-bad-row skip must not pass it over): " << e.what();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(p + ":2: field '2O5' is not in the schema"), std::string::npos) << m;
    EXPECT_NE(m.find("'999' (" + p + ":1)"), std::string::npos) << m;
    EXPECT_NE(m.find("data.max_unread_fields = 1"), std::string::npos) << m;
  }
}

TEST(TokenReader, RealPaddleRecSample) {
  nlohmann::json j = nlohmann::json::parse(R"({
    "format": "tokens", "train": ["x"],
    "labels": ["click", {"event": "purchase", "column": "buy"}],
    "categorical": ["205", {"name": "150_14", "multi": true}, {"name": "853", "multi": true}]})");
  const DataConfig c = parse_data_config(j, "");
  auto r = open_reader(c, {testing::samples_dir() + "/aliccp_paddle_tokens_train.txt"});
  RawRow row;
  size_t rows = 0, with_853_twice = 0;
  while (r->next(row)) {
    ++rows;
    EXPECT_EQ(row.tokens[2].size(), 1u);           // one item id per impression
    EXPECT_GT(row.tokens[3].size(), 10u);          // long user history
    with_853_twice += row.tokens[4].size() > 1;    // cross feature is multi-valued here
  }
  EXPECT_EQ(rows, 10u);
  EXPECT_GT(with_853_twice, 0u);
}

}  // namespace
}  // namespace funnel::data
