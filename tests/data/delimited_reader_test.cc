#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data/reader.h"
#include "test_util.h"

namespace funnel::data {
namespace {
using testing::expect_data_error;
using testing::test_dir;
using testing::write_file;

DataConfig config(const std::string& labels_json = R"(["click", "buy"])") {
  nlohmann::json j = {{"train", {"x"}},
                      {"labels", nlohmann::json::parse(labels_json)},
                      {"categorical", {"user", "item"}}};
  return parse_data_config(j, "");
}

std::vector<std::vector<std::string>> read_all(const DataConfig& c, const InputFile& f) {
  auto r = open_reader(c, f);
  std::vector<std::vector<std::string>> rows;
  RawRow row;
  while (r->next(row)) {
    std::vector<std::string> cells;
    for (auto v : row.cell) cells.emplace_back(v);
    rows.push_back(cells);
  }
  return rows;
}

TEST(DelimitedReader, MapsColumnsByHeaderAndIgnoresOthers) {
  const auto dir = test_dir();
  const auto p = write_file(dir, "a.csv", "item,extra,click,user,buy\ni1,zz,1,u1,0\ni2,yy,0,u2,0\n");
  const auto rows = read_all(config(), {p});
  ASSERT_EQ(rows.size(), 2u);
  // Slots: click, buy, user, item.
  EXPECT_EQ(rows[0], (std::vector<std::string>{"1", "0", "u1", "i1"}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"0", "0", "u2", "i2"}));
}

TEST(DelimitedReader, QuotedFieldsCrlfAndBom) {
  const auto dir = test_dir();
  const auto p = write_file(dir, "q.csv",
                            "\xEF\xBB\xBF" "click,buy,user,item\r\n"
                            "1,0,\"u,1\",\"say \"\"hi\"\"\"\r\n"
                            "0,0,\"multi\nline\",i2\r\n"
                            "0,0,,\"\"\n");
  auto r = open_reader(config(), {p});
  RawRow row;
  ASSERT_TRUE(r->next(row));
  EXPECT_EQ(row.cell[2], "u,1");
  EXPECT_EQ(row.cell[3], "say \"hi\"");
  EXPECT_EQ(row.line, 2u);
  ASSERT_TRUE(r->next(row));
  EXPECT_EQ(row.cell[2], "multi\nline");
  EXPECT_EQ(row.line, 3u);  // the record starts on line 3 and spans line 4
  ASSERT_TRUE(r->next(row));
  EXPECT_EQ(row.cell[2], "");
  EXPECT_EQ(row.cell[3], "");
  EXPECT_EQ(row.line, 5u);
  EXPECT_FALSE(r->next(row));
  EXPECT_EQ(r->non_data_lines(), 1u);
}

TEST(DelimitedReader, TabSeparatedWithoutHeader) {
  const auto dir = test_dir();
  const auto p = write_file(dir, "a.tsv", "1\t0\tu1\ti1\n");
  DataConfig c = config();
  c.format.delimiter = '\t';
  c.format.header = false;
  c.format.columns = {"click", "buy", "user", "item"};
  const auto rows = read_all(c, {p});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][3], "i1");
  // Per-file override: the same config reads a file with a header.
  const auto h = write_file(dir, "h.tsv", "user\titem\tclick\tbuy\nu\ti\t1\t1\n");
  InputFile with_header{h, "", 1};
  EXPECT_EQ(read_all(c, with_header)[0], (std::vector<std::string>{"1", "1", "u", "i"}));
}

TEST(DelimitedReader, MissingSchemaColumnNamesFileLineAndColumn) {
  const auto dir = test_dir();
  const auto p = write_file(dir, "m.csv", "click,buy,user\n1,0,u\n");
  const DataError e = expect_data_error([&] { open_reader(config(), {p}); });
  EXPECT_EQ(e.file(), p);
  EXPECT_EQ(e.line(), 1u);
  EXPECT_EQ(e.column(), "item");
  EXPECT_EQ(e.kind(), "missing_column");
  EXPECT_NE(std::string(e.what()).find("click,buy,user"), std::string::npos) << e.what();
}

TEST(DelimitedReader, WrongColumnCountThenContinues) {
  const auto dir = test_dir();
  const auto p = write_file(dir, "c.csv", "click,buy,user,item\n1,0,u\n0,0,u2,i2\n\n0,1,u3,i3");
  auto r = open_reader(config(), {p});
  RawRow row;
  DataError e = expect_data_error([&] { r->next(row); });
  EXPECT_EQ(e.line(), 2u);
  EXPECT_EQ(e.kind(), "column_count");
  EXPECT_NE(std::string(e.what()).find("expected 4 columns, found 3"), std::string::npos);
  ASSERT_TRUE(r->next(row));  // the reader goes on after a bad row
  EXPECT_EQ(row.cell[2], "u2");
  e = expect_data_error([&] { r->next(row); });
  EXPECT_EQ(e.line(), 4u);
  EXPECT_NE(std::string(e.what()).find("empty line"), std::string::npos);
  ASSERT_TRUE(r->next(row));  // last line without newline but complete: fine
  EXPECT_EQ(row.cell[2], "u3");
  EXPECT_FALSE(r->next(row));
}

TEST(DelimitedReader, TruncatedLastLine) {
  const auto dir = test_dir();
  const auto p = write_file(dir, "t.csv", "click,buy,user,item\n1,0,u,i\n0,0,u");
  auto r = open_reader(config(), {p});
  RawRow row;
  ASSERT_TRUE(r->next(row));
  const DataError e = expect_data_error([&] { r->next(row); });
  EXPECT_EQ(e.line(), 3u);
  EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
}

TEST(DelimitedReader, EmptyFileAndBadQuotes) {
  const auto dir = test_dir();
  const auto empty = write_file(dir, "e.csv", "");
  EXPECT_EQ(expect_data_error([&] { open_reader(config(), {empty}); }).kind(), "empty_file");
  const auto q = write_file(dir, "q.csv", "click,buy,user,item\n1,0,\"u\"x,i\n1,0,\"open,i\n");
  auto r = open_reader(config(), {q});
  RawRow row;
  EXPECT_EQ(expect_data_error([&] { r->next(row); }).kind(), "quote");
  const DataError e = expect_data_error([&] { r->next(row); });
  EXPECT_EQ(e.kind(), "quote");
  EXPECT_EQ(e.line(), 3u);
}

TEST(DelimitedReader, DuplicateHeaderColumn) {
  const auto dir = test_dir();
  const auto p = write_file(dir, "d.csv", "click,buy,user,user,item\n");
  EXPECT_EQ(expect_data_error([&] { open_reader(config(), {p}); }).kind(), "header");
}

TEST(DelimitedReader, RealSamplesLoad) {
  // torch-rechub Ali-CCP: 100/50/50 data rows after the header (the last line of each has no
  // newline); AliExpress: 100/20; AITM train: 48.
  struct Case {
    const char* file;
    const char* label1;
    size_t rows;
  } cases[] = {{"aliccp_rechub_train.csv", "purchase", 100},
               {"aliccp_rechub_val.csv", "purchase", 50},
               {"aliccp_rechub_test.csv", "purchase", 50},
               {"aliexpress_rechub_train.csv", "conversion", 100},
               {"aliexpress_rechub_test.csv", "conversion", 20},
               {"aliccp_aitm_train.csv", "purchase", 48}};
  for (const auto& c : cases) {
    nlohmann::json j = {{"train", {"x"}}, {"labels", {"click", c.label1}}};
    const DataConfig cfg = parse_data_config(j, "");
    const auto rows = read_all(cfg, {testing::samples_dir() + "/" + c.file});
    EXPECT_EQ(rows.size(), c.rows) << c.file;
    for (const auto& r : rows) {
      EXPECT_TRUE(r[0] == "0" || r[0] == "1") << c.file;
    }
  }
}

}  // namespace
}  // namespace funnel::data
