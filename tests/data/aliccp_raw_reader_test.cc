#include "data/aliccp_raw_reader.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/file.h"
#include "core/rng.h"
#include "data/reader.h"
#include "data/readers.h"

namespace funnel::data {
namespace {

// ---- the raw byte format -------------------------------------------------------------------
std::string entry(const std::string& field, const std::string& feature,
                  const std::string& value = "1.0") {
  return field + "\x02" + feature + "\x03" + value;
}

std::string join(const std::vector<std::string>& entries) {
  std::string out;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out += '\x01';
    out += entries[i];
  }
  return out;
}

std::string md5_of(int i) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx",
                static_cast<unsigned long long>(i) * 0x9e3779b97f4a7c15ULL,
                static_cast<unsigned long long>(i));
  return buf;
}

std::string skeleton_line(int sample_id, int click, int buy, const std::string& md5,
                          const std::vector<std::string>& entries) {
  return std::to_string(sample_id) + "," + std::to_string(click) + "," + std::to_string(buy) + "," +
         md5 + "," + std::to_string(entries.size()) + "," + join(entries) + "\n";
}

std::string common_line(const std::string& md5, const std::vector<std::string>& entries) {
  return md5 + "," + std::to_string(entries.size()) + "," + join(entries) + "\n";
}

// ---- fixtures ------------------------------------------------------------------------------
class AliccpRawTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = join_path(::testing::TempDir(), std::string("aliccp_raw_") + info->name());
    remove_all(dir_);
    make_dirs(dir_);
    config_.format.type = Format::kAliccpRaw;
    config_.schema.labels = {{"click", {"click"}, -1}, {"conversion", {"buy"}, 0}};
    auto cat = [](const std::string& name, bool multi, bool weighted) {
      CategoricalSpec c;
      c.name = name;
      c.column = name;
      c.multi = multi;
      c.weighted = weighted;
      return c;
    };
    config_.schema.categorical = {cat("101", false, false), cat("205", false, false),
                                  cat("210", true, false), cat("109_14", true, true)};
    config_.schema.group_column = "101";
  }
  void TearDown() override { remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content) {
    const std::string path = join_path(dir_, name);
    std::ofstream out(path, std::ios::binary);
    out << content;
    return path;
  }

  /// Writes sample_skeleton_t.csv and common_features_t.csv; returns the input pair.
  InputFile write_pair(const std::string& skeleton, const std::string& common) {
    return {write("sample_skeleton_t.csv", skeleton), write("common_features_t.csv", common)};
  }

  std::unique_ptr<AliccpRawReader> open(const InputFile& file) {
    return std::make_unique<AliccpRawReader>(config_, file);
  }

  int slot(const std::string& column, SlotKind kind) const {
    const auto slots = config_.schema.slots();
    for (size_t i = 0; i < slots.size(); ++i) {
      if (slots[i].column == column && slots[i].kind == kind) return static_cast<int>(i);
    }
    ADD_FAILURE() << "no slot " << column;
    return 0;
  }

  std::vector<std::string> texts(const RawRow& row, const std::string& column) const {
    std::vector<std::string> out;
    for (const auto& t : row.tokens[slot(column, SlotKind::kCategorical)]) {
      out.emplace_back(t.text);
    }
    return out;
  }

  std::string dir_;
  DataConfig config_;
};

/// Runs `fn`, expects a DataError of `kind` at `file`:`line`; returns its message.
std::string expect_data_error(const std::function<void()>& fn, const std::string& file,
                              uint64_t line, const std::string& kind) {
  try {
    fn();
  } catch (const DataError& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_EQ(e.file(), file) << e.what();
    EXPECT_EQ(e.line(), line) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected a DataError of kind " << kind;
  return "";
}

// ---- join ----------------------------------------------------------------------------------
TEST_F(AliccpRawTest, JoinsSkeletonAndCommonFeatures) {
  const std::string a = md5_of(1), b = md5_of(2);
  const std::string common = common_line(a, {entry("101", "u1"), entry("109_14", "c1", "0.5"),
                                             entry("124", "g1"), entry("109_14", "c2", "2.25")}) +
                             common_line(b, {entry("101", "u2"), entry("110_14", "s9", "1.5")});
  const std::string skeleton =
      skeleton_line(1, 1, 0, a,
                    {entry("205", "i1"), entry("210", "n1"), entry("206", "k"), entry("210", "n2"),
                     entry("301", "p1")}) +
      skeleton_line(2, 0, 0, b, {entry("205", "i2", "3.0")});
  auto reader = open(write_pair(skeleton, common));
  EXPECT_EQ(reader->non_data_lines(), 0u);
  EXPECT_EQ(reader->bytes_total(), skeleton.size());

  RawRow row;
  ASSERT_TRUE(reader->next(row));
  EXPECT_EQ(row.line, 1u);
  EXPECT_EQ(row.cell[slot("click", SlotKind::kLabel)], "1");
  EXPECT_EQ(row.cell[slot("buy", SlotKind::kLabel)], "0");
  EXPECT_EQ(texts(row, "205"), (std::vector<std::string>{"i1"}));
  EXPECT_EQ(texts(row, "210"), (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(texts(row, "101"), (std::vector<std::string>{"u1"}));
  EXPECT_EQ(texts(row, "109_14"), (std::vector<std::string>{"c1", "c2"}));
  const auto& hist = row.tokens[slot("109_14", SlotKind::kCategorical)];
  EXPECT_FLOAT_EQ(hist[0].weight, 0.5f);
  EXPECT_FLOAT_EQ(hist[1].weight, 2.25f);
  EXPECT_EQ(row.cell[slot("101", SlotKind::kGroup)], "u1");
  EXPECT_TRUE(row.present[slot("101", SlotKind::kGroup)]);
  EXPECT_TRUE(row.present[slot("109_14", SlotKind::kCategorical)]);

  ASSERT_TRUE(reader->next(row));
  EXPECT_EQ(row.line, 2u);
  EXPECT_EQ(row.cell[slot("click", SlotKind::kLabel)], "0");
  EXPECT_EQ(texts(row, "205"), (std::vector<std::string>{"i2"}));
  // Unweighted fields get weight 1 whatever the value.
  EXPECT_FLOAT_EQ(row.tokens[slot("205", SlotKind::kCategorical)][0].weight, 1.0f);
  EXPECT_EQ(texts(row, "101"), (std::vector<std::string>{"u2"}));
  EXPECT_TRUE(texts(row, "210").empty());
  EXPECT_FALSE(row.present[slot("210", SlotKind::kCategorical)]);
  EXPECT_FALSE(row.present[slot("109_14", SlotKind::kCategorical)]);
  EXPECT_FALSE(reader->next(row));
  EXPECT_EQ(reader->bytes_read(), skeleton.size());
}

TEST_F(AliccpRawTest, OpenReaderDispatchesOnFormat) {
  const std::string a = md5_of(7);
  const InputFile file = write_pair(skeleton_line(1, 0, 0, a, {entry("205", "i")}),
                                    common_line(a, {entry("101", "u")}));
  auto reader = open_reader(config_, file);
  RawRow row;
  ASSERT_TRUE(reader->next(row));
  EXPECT_EQ(texts(row, "101"), (std::vector<std::string>{"u"}));
}

TEST_F(AliccpRawTest, CellSlotsTakeFeatureIdOrValue) {
  NumericSpec num;
  num.name = "age_score";
  num.column = "125";
  config_.schema.numeric = {num};
  config_.schema.position_column = "301";
  config_.schema.list_column = "sample_id";
  const std::string a = md5_of(3);
  const InputFile file =
      write_pair(skeleton_line(42, 0, 0, a, {entry("205", "i"), entry("301", "pos2")}),
                 common_line(a, {entry("101", "u"), entry("125", "age", "0.75")}));
  auto reader = open(file);
  RawRow row;
  ASSERT_TRUE(reader->next(row));
  EXPECT_EQ(row.cell[slot("125", SlotKind::kNumeric)], "0.75");
  EXPECT_EQ(row.cell[slot("301", SlotKind::kPosition)], "pos2");
  EXPECT_EQ(row.cell[slot("sample_id", SlotKind::kList)], "42");
  EXPECT_TRUE(row.present[slot("125", SlotKind::kNumeric)]);
}

TEST_F(AliccpRawTest, SharedMd5ServesManyRowsFromOneFetch) {
  const std::string a = md5_of(5);
  std::vector<std::string> history;
  for (int i = 0; i < 300; ++i) history.push_back(entry("109_14", "h" + std::to_string(i), "2"));
  history.push_back(entry("101", "user5"));
  std::string skeleton;
  for (int i = 0; i < 100; ++i) {
    skeleton += skeleton_line(i, i % 3 == 0, 0, a, {entry("205", "item" + std::to_string(i))});
  }
  auto reader = open(write_pair(skeleton, common_line(a, history)));
  RawRow row;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(reader->next(row));
    EXPECT_EQ(texts(row, "205"), (std::vector<std::string>{"item" + std::to_string(i)}));
    EXPECT_EQ(texts(row, "101"), (std::vector<std::string>{"user5"}));
    ASSERT_EQ(row.tokens[slot("109_14", SlotKind::kCategorical)].size(), 300u);
    EXPECT_EQ(row.tokens[slot("109_14", SlotKind::kCategorical)][299].text, "h299");
    EXPECT_FLOAT_EQ(row.tokens[slot("109_14", SlotKind::kCategorical)][7].weight, 2.0f);
  }
  EXPECT_FALSE(reader->next(row));
  EXPECT_EQ(reader->join_stats().cache_misses, 1u);
  EXPECT_EQ(reader->join_stats().cache_hits, 99u);
  EXPECT_EQ(reader->join_stats().common_lines, 1u);
}

TEST_F(AliccpRawTest, InterleavedMd5sStayCorrectUnderEviction) {
  constexpr int kUsers = 7;
  std::string common;
  for (int u = kUsers - 1; u >= 0; --u) {  // common order differs from md5 order
    std::vector<std::string> e = {entry("101", "user" + std::to_string(u))};
    for (int h = 0; h <= u * 10; ++h) {
      e.push_back(entry("109_14", "u" + std::to_string(u) + "h" + std::to_string(h),
                        std::to_string(h) + ".5"));
    }
    common += common_line(md5_of(u), e);
  }
  Rng rng(11);
  std::vector<int> users;
  std::string skeleton;
  for (int i = 0; i < 400; ++i) {
    const int u = static_cast<int>(rng.below(kUsers));
    users.push_back(u);
    skeleton += skeleton_line(i, 0, 0, md5_of(u), {entry("205", "i" + std::to_string(i))});
  }
  const InputFile file = write_pair(skeleton, common);
  for (size_t budget : {size_t{1}, size_t{6000}, size_t{1} << 20}) {
    SCOPED_TRACE(budget);
    config_.common_cache_bytes = budget;
    auto reader = open(file);
    RawRow row;
    for (int i = 0; i < 400; ++i) {
      ASSERT_TRUE(reader->next(row));
      const int u = users[static_cast<size_t>(i)];
      ASSERT_EQ(texts(row, "101"), (std::vector<std::string>{"user" + std::to_string(u)}));
      const auto& hist = row.tokens[slot("109_14", SlotKind::kCategorical)];
      ASSERT_EQ(hist.size(), static_cast<size_t>(u * 10 + 1));
      EXPECT_EQ(hist.back().text, "u" + std::to_string(u) + "h" + std::to_string(u * 10));
      EXPECT_FLOAT_EQ(hist.back().weight, u * 10 + 0.5f);
      EXPECT_EQ(texts(row, "205"), (std::vector<std::string>{"i" + std::to_string(i)}));
    }
    EXPECT_FALSE(reader->next(row));
    const auto& stats = reader->join_stats();
    EXPECT_EQ(stats.cache_hits + stats.cache_misses, 400u);
    if (budget == 1) {
      EXPECT_GT(stats.cache_evictions, 100u);
    }
    if (budget == (size_t{1} << 20)) {
      EXPECT_EQ(stats.cache_misses, static_cast<uint64_t>(kUsers));
      EXPECT_EQ(stats.cache_evictions, 0u);
    }
  }
}

TEST_F(AliccpRawTest, AcceptsCrlfAndEmptyFeatureList) {
  const std::string a = md5_of(1), b = md5_of(2);
  std::string common = common_line(a, {entry("101", "ua")}) + common_line(b, {});
  common.insert(common.find('\n'), "\r");
  const std::string skeleton =
      "1,0,0," + b + ",0,\r\n" + "2,1,1," + a + ",1," + entry("205", "x") + "\r\n";
  auto reader = open(write_pair(skeleton, common));
  RawRow row;
  ASSERT_TRUE(reader->next(row));
  EXPECT_TRUE(texts(row, "101").empty());
  EXPECT_TRUE(texts(row, "205").empty());
  ASSERT_TRUE(reader->next(row));
  EXPECT_EQ(texts(row, "101"), (std::vector<std::string>{"ua"}));
  EXPECT_EQ(texts(row, "205"), (std::vector<std::string>{"x"}));
  EXPECT_EQ(row.cell[slot("buy", SlotKind::kLabel)], "1");
}

// ---- errors in skeleton rows -----------------------------------------------------------------
struct BadSkeleton {
  const char* name;
  std::string line;  // the second skeleton line (the first is good)
  const char* kind;
  const char* column;
};

TEST_F(AliccpRawTest, SkeletonErrorsNameFileLineColumnAndKind) {
  const std::string a = md5_of(1);
  const std::string common = common_line(a, {entry("101", "u")});
  const std::string good = skeleton_line(1, 0, 0, a, {entry("205", "i")});
  const std::vector<BadSkeleton> cases = {
      {"five columns", "2,0,0," + a + ",0\n", "column_count", ""},
      {"seven columns", "2,0,0," + a + ",1," + entry("205", "i,j") + "\n", "column_count", ""},
      {"empty line", "\n", "column_count", ""},
      {"short md5", "2,0,0," + a.substr(1) + ",0,\n", "md5", "md5"},
      {"non-hex md5", "2,0,0," + std::string(31, '0') + "g,0,\n", "md5", "md5"},
      {"unknown md5", skeleton_line(2, 0, 0, md5_of(99), {}), "md5_not_found", "md5"},
      {"feature_num text", "2,0,0," + a + ",x," + entry("205", "i") + "\n", "feature_num",
       "feature_num"},
      {"feature_num mismatch", "2,0,0," + a + ",2," + entry("205", "i") + "\n", "feature_num",
       "feature_num"},
      {"no 0x02", "2,0,0," + a + ",1,205x" + std::string("\x03") + "1.0\n", "feature_entry",
       "feature_list"},
      {"no 0x03", "2,0,0," + a + ",1,205\x02x1.0\n", "feature_entry", "feature_list"},
      {"unlisted field without 0x03", "2,0,0," + a + ",1,999\x02x1.0\n", "feature_entry",
       "feature_list"},
      {"trailing 0x01", "2,0,0," + a + ",2," + entry("205", "i") + "\x01\n", "feature_entry",
       "feature_list"},
      {"empty field id", "2,0,0," + a + ",1," + entry("", "i") + "\n", "feature_entry",
       "feature_list"},
      {"bad value", skeleton_line(2, 0, 0, a, {entry("205", "i", "abc")}), "feature_value", "205"},
      {"empty value", skeleton_line(2, 0, 0, a, {entry("210", "n", "")}), "feature_value", "210"},
      {"nan value", skeleton_line(2, 0, 0, a, {entry("109_14", "c", "nan")}), "feature_value",
       "109_14"},
      {"single-valued twice", skeleton_line(2, 0, 0, a, {entry("205", "i"), entry("205", "j")}),
       "multiple_values", "205"},
      {"single-valued in both files", skeleton_line(2, 0, 0, a, {entry("101", "u")}),
       "multiple_values", "101"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const InputFile file = write_pair(good + c.line + good, common);
    auto reader = open(file);
    RawRow row;
    ASSERT_TRUE(reader->next(row));
    std::string column;
    try {
      reader->next(row);
      ADD_FAILURE() << "no error";
    } catch (const DataError& e) {
      EXPECT_EQ(e.kind(), c.kind) << e.what();
      EXPECT_EQ(e.file(), file.path) << e.what();
      EXPECT_EQ(e.line(), 2u) << e.what();
      EXPECT_EQ(e.column(), c.column) << e.what();
    }
    // The reader goes on with the next row.
    ASSERT_TRUE(reader->next(row));
    EXPECT_EQ(row.line, 3u);
    EXPECT_EQ(texts(row, "205"), (std::vector<std::string>{"i"}));
    EXPECT_EQ(texts(row, "101"), (std::vector<std::string>{"u"}));
    EXPECT_FALSE(reader->next(row));
  }
}

TEST_F(AliccpRawTest, TruncatedLastLineMentionsMissingNewline) {
  const std::string a = md5_of(1);
  const std::string skeleton = skeleton_line(1, 0, 0, a, {}) + "2,0,0," + a.substr(0, 10);
  const InputFile file = write_pair(skeleton, common_line(a, {}));
  auto reader = open(file);
  RawRow row;
  ASSERT_TRUE(reader->next(row));
  const std::string msg =
      expect_data_error([&] { reader->next(row); }, file.path, 2, "column_count");
  EXPECT_NE(msg.find("newline"), std::string::npos) << msg;
  EXPECT_FALSE(reader->next(row));
}

TEST_F(AliccpRawTest, UnterminatedLastLineThatIsCompleteIsAccepted) {
  const std::string a = md5_of(1);
  std::string skeleton = skeleton_line(1, 0, 0, a, {entry("205", "i")});
  skeleton.pop_back();
  std::string common = common_line(a, {entry("101", "u")});
  common.pop_back();
  auto reader = open(write_pair(skeleton, common));
  RawRow row;
  ASSERT_TRUE(reader->next(row));
  EXPECT_EQ(texts(row, "101"), (std::vector<std::string>{"u"}));
  EXPECT_EQ(texts(row, "205"), (std::vector<std::string>{"i"}));
  EXPECT_FALSE(reader->next(row));
}

TEST_F(AliccpRawTest, ContinuesAfterBadRows) {
  const std::string a = md5_of(1), b = md5_of(2);
  const std::string common = common_line(a, {entry("101", "ua")}) +
                             common_line(b, {entry("101", "ub"), entry("109_14", "c", "x")});
  const std::string skeleton = skeleton_line(1, 0, 0, a, {entry("205", "1")}) +  // good
                               "2,0,0\n" +                                       // columns
                               skeleton_line(3, 0, 0, a, {entry("205", "3")}) +  // good
                               skeleton_line(4, 0, 0, md5_of(9), {}) +           // not found
                               skeleton_line(5, 0, 0, b, {}) +                   // bad common value
                               skeleton_line(6, 0, 0, a, {entry("205", "6", "?")}) +  // value
                               skeleton_line(7, 0, 0, b, {}) +  // the bad common line again
                               skeleton_line(8, 1, 0, a, {entry("205", "8")});  // good
  const InputFile file = write_pair(skeleton, common);
  auto reader = open(file);
  RawRow row;
  std::vector<uint64_t> good;
  std::vector<std::string> errors;
  for (;;) {
    try {
      if (!reader->next(row)) break;
      good.push_back(row.line);
      EXPECT_EQ(texts(row, "205"), (std::vector<std::string>{std::to_string(row.line)}));
      EXPECT_EQ(texts(row, "101"), (std::vector<std::string>{"ua"}));
    } catch (const DataError& e) {
      errors.push_back(base_name(e.file()) + ":" + std::to_string(e.line()) + ":" + e.kind());
    }
  }
  EXPECT_EQ(good, (std::vector<uint64_t>{1, 3, 8}));
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "sample_skeleton_t.csv:2:column_count",
                        "sample_skeleton_t.csv:4:md5_not_found",
                        "common_features_t.csv:2:feature_value",
                        "sample_skeleton_t.csv:6:feature_value",
                        "common_features_t.csv:2:feature_value",
                    }));
}

TEST_F(AliccpRawTest, FieldsNotInTheSchemaAreCountedOncePerLine) {
  // Issue 20, defect 6: entries of fields the schema does not read are counted per name; a
  // common line counts once however many rows join it, also when it is evicted and read
  // again.
  const std::string a = md5_of(1), b = md5_of(2);
  const std::string common =
      common_line(a, {entry("101", "ua"), entry("127_14", "x", "0.5"), entry("127_14", "y")}) +
      common_line(b, {entry("101", "ub"), entry("150_14", "z")});
  std::string skeleton;
  for (int i = 0; i < 6; ++i) {
    skeleton += skeleton_line(i, 0, 0, i % 2 ? b : a, {entry("205", "1"), entry("216", "s")});
  }
  config_.common_cache_bytes = 1;  // one line at a time: every row evicts the other
  const InputFile file = write_pair(skeleton, common);
  auto reader = open(file);
  RawRow row;
  while (reader->next(row)) EXPECT_EQ(texts(row, "205"), (std::vector<std::string>{"1"}));
  EXPECT_GT(reader->join_stats().cache_evictions, 2u);
  const auto& unread = *reader->unread_fields();
  ASSERT_EQ(unread.size(), 3u);
  EXPECT_EQ(unread.at("127_14").entries, 2u);
  EXPECT_EQ(unread.at("127_14").first_seen, file.common_path + ":1");
  EXPECT_EQ(unread.at("150_14").entries, 1u);
  EXPECT_EQ(unread.at("216").entries, 6u);
  EXPECT_EQ(unread.at("216").first_seen, file.path + ":1");
  EXPECT_EQ(reader->lines_consumed(), 6u);

  config_.max_unread_fields = 2;
  auto strict = open(file);
  try {
    while (strict->next(row)) {
    }
    FAIL() << "expected funnel::Error";
  } catch (const DataError& e) {
    FAIL() << "not a bad row: " << e.what();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_unread_fields = 2"), std::string::npos) << e.what();
  }
}

// ---- errors in common lines ----------------------------------------------------------------
TEST_F(AliccpRawTest, CommonLineErrorsAtJoinNameTheCommonLine) {
  const std::string a = md5_of(1), b = md5_of(2), c = md5_of(3), d = md5_of(4);
  const std::string common =
      common_line(a, {entry("101", "ua")}) + b + ",3," +
      join({entry("101", "ub"), entry("205", "x")}) + "\n" +      // feature_num
      common_line(c, {entry("101", "u1"), entry("101", "u2")}) +  // multiple_values
      d + ",1,101\x02ud\n";                                       // feature_entry
  const std::string skeleton = skeleton_line(1, 0, 0, b, {}) + skeleton_line(2, 0, 0, c, {}) +
                               skeleton_line(3, 0, 0, d, {}) + skeleton_line(4, 0, 0, a, {});
  const InputFile file = write_pair(skeleton, common);
  auto reader = open(file);
  RawRow row;
  std::string msg =
      expect_data_error([&] { reader->next(row); }, file.common_path, 2, "feature_num");
  EXPECT_NE(msg.find("line 1 of"), std::string::npos) << msg;  // names the skeleton line
  expect_data_error([&] { reader->next(row); }, file.common_path, 3, "multiple_values");
  expect_data_error([&] { reader->next(row); }, file.common_path, 4, "feature_entry");
  ASSERT_TRUE(reader->next(row));
  EXPECT_EQ(texts(row, "101"), (std::vector<std::string>{"ua"}));
}

TEST_F(AliccpRawTest, CommonIndexErrorsNameTheCommonLine) {
  const std::string a = md5_of(1), b = md5_of(2), c = md5_of(3);
  const std::string skeleton = skeleton_line(1, 0, 0, a, {});
  struct Case {
    const char* name;
    std::string common;
    uint64_t line;
    const char* kind;
  };
  const std::vector<Case> cases = {
      {"bad md5", common_line(a, {}) + common_line(b, {}) + common_line("xyz", {}), 3, "md5"},
      {"upper-case hex is fine, 31 digits is not",
       common_line(a, {}) + common_line(std::string(31, 'A'), {}), 2, "md5"},
      {"duplicate md5",
       common_line(a, {}) + common_line(b, {}) + common_line(c, {}) + common_line(b, {}), 4,
       "duplicate_md5"},
      {"first duplicate in the file",
       common_line(c, {}) + common_line(b, {}) + common_line(c, {}) + common_line(a, {}) +
           common_line(a, {}) + common_line(b, {}),
       3, "duplicate_md5"},
      {"two columns", common_line(a, {}) + b + ",0\n", 2, "column_count"},
      {"four columns", common_line(a, {}) + b + ",1," + entry("101", "u,v") + "\n", 2,
       "column_count"},
      {"truncated", common_line(a, {}) + b.substr(0, 5), 2, "column_count"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const InputFile file = write_pair(skeleton, c.common);
    const std::string msg =
        expect_data_error([&] { open(file); }, file.common_path, c.line, c.kind);
    if (std::string(c.name) == "truncated") {
      EXPECT_NE(msg.find("newline"), std::string::npos) << msg;
    }
  }
}

// ---- files ---------------------------------------------------------------------------------
TEST_F(AliccpRawTest, DerivesCommonPathFromSkeletonName) {
  EXPECT_EQ(aliccp_common_path("/d/sample_skeleton_train.csv"), "/d/common_features_train.csv");
  EXPECT_EQ(aliccp_common_path("sample_skeleton_test.csv"), "common_features_test.csv");
  EXPECT_EQ(aliccp_common_path("/sample_skeleton_x/sample_skeleton_t.csv"),
            "/sample_skeleton_x/common_features_t.csv");
  EXPECT_THROW(aliccp_common_path("/sample_skeleton_x/train.csv"), Error);

  const std::string a = md5_of(1);
  InputFile file = write_pair(skeleton_line(1, 0, 0, a, {}), common_line(a, {entry("101", "u")}));
  file.common_path.clear();
  auto reader = open(file);
  EXPECT_EQ(reader->common_path(), join_path(dir_, "common_features_t.csv"));
  RawRow row;
  ASSERT_TRUE(reader->next(row));
  EXPECT_EQ(texts(row, "101"), (std::vector<std::string>{"u"}));

  InputFile orphan{write("sample_skeleton_orphan.csv", skeleton_line(1, 0, 0, a, {})), ""};
  expect_data_error([&] { open(orphan); }, orphan.path, 0, "missing_file");
}

TEST_F(AliccpRawTest, EmptyFilesAreErrors) {
  const std::string a = md5_of(1);
  InputFile file = write_pair("", common_line(a, {}));
  expect_data_error([&] { open(file); }, file.path, 0, "empty_file");
  file = write_pair(skeleton_line(1, 0, 0, a, {}), "");
  expect_data_error([&] { open(file); }, file.common_path, 0, "empty_file");
}

TEST_F(AliccpRawTest, LabelColumnMustBeASkeletonColumn) {
  config_.schema.labels[1].columns = {"purchase"};
  const std::string a = md5_of(1);
  const InputFile file = write_pair(skeleton_line(1, 0, 0, a, {}), common_line(a, {}));
  expect_data_error([&] { open(file); }, file.path, 0, "missing_column");
}

}  // namespace
}  // namespace funnel::data
