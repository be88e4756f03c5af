// End to end on the shipped real samples (examples/*.json) and on a raw Ali-CCP pair: the
// converted statistics must equal counts taken naively from the text.

#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "data/cache.h"
#include "data/converter.h"
#include "data/loader.h"
#include "data/row_encoder.h"
#include "test_util.h"

namespace funnel::data {
namespace {

struct Counts {
  uint64_t rows = 0, clicks = 0, buys = 0, buy_without_click = 0;
};

std::vector<std::string> split(const std::string& line, char d) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, d)) out.push_back(cell);
  if (!line.empty() && line.back() == d) out.emplace_back();
  return out;
}

/// Naive count of a delimited or token file: label columns by position.
Counts naive(const std::string& path, bool header, int click_col, int buy_col) {
  std::stringstream ss(read_text_file(path));
  std::string line;
  Counts c;
  if (header) std::getline(ss, line);
  while (std::getline(ss, line)) {
    const auto cells = split(line, ',');
    const bool click = cells.at(click_col) == "1", buy = cells.at(buy_col) == "1";
    ++c.rows;
    c.buy_without_click += buy && !click;
    if (buy && !click) continue;  // dropped by default
    c.clicks += click;
    c.buys += buy;
  }
  return c;
}

DatasetStats convert_example(const std::string& name, const std::string& out) {
  const std::string dir = std::string(FUNNEL_SOURCE_DIR) + "/examples";
  const auto j = nlohmann::json::parse(read_text_file(dir + "/" + name + ".json"));
  ConvertOptions o;
  o.progress = false;
  return convert_to_cache(parse_data_config(j.at("data"), dir), out, o);
}

void expect_counts(const DatasetStats& st, const std::string& input,
                   const std::vector<std::string>& splits, const Counts& c) {
  const InputStats& in = st.inputs.at(input);
  EXPECT_EQ(in.lines - in.header_lines, c.rows) << input;
  EXPECT_EQ(in.violations[1], c.buy_without_click) << input;
  EXPECT_EQ(in.bad_rows, 0u);
  uint64_t rows = 0, clicks = 0, buys = 0;
  for (const auto& s : splits) {
    rows += st.splits.at(s).rows;
    clicks += st.splits.at(s).positives[0];
    buys += st.splits.at(s).positives[1];
  }
  EXPECT_EQ(rows, c.rows - c.buy_without_click) << input;
  EXPECT_EQ(clicks, c.clicks) << input;
  EXPECT_EQ(buys, c.buys) << input;
}

TEST(RealSamples, TorchRechubAliCcp) {
  const auto dir = testing::test_dir();
  const auto st = convert_example("aliccp_rechub", join_path(dir, "c"));
  const auto s = testing::samples_dir();
  expect_counts(st, "train", {"train"}, naive(s + "/aliccp_rechub_train.csv", true, 0, 1));
  expect_counts(st, "validation", {"validation"}, naive(s + "/aliccp_rechub_val.csv", true, 0, 1));
  expect_counts(st, "test", {"test"}, naive(s + "/aliccp_rechub_test.csv", true, 0, 1));
  // 23 sparse fields and 8 normalised dense fields.
  const Cache cache(join_path(dir, "c"));
  EXPECT_EQ(cache.layout().sparse.size(), 23u);
  EXPECT_EQ(cache.layout().dense.size(), 8u);
}

TEST(RealSamples, AitmFormatWithHeaderlessTestFile) {
  const auto dir = testing::test_dir();
  const auto st = convert_example("aliccp_aitm", join_path(dir, "c"));
  const auto s = testing::samples_dir();
  // Train is split 90/10 into train and validation by the seeded row hash.
  expect_counts(st, "train", {"train", "validation"}, naive(s + "/aliccp_aitm_train.csv", true, 0, 1));
  expect_counts(st, "test", {"test"}, naive(s + "/aliccp_aitm_test.csv", false, 0, 1));
}

TEST(RealSamples, PaddleRecTokens) {
  const auto dir = testing::test_dir();
  const auto st = convert_example("aliccp_paddle_tokens", join_path(dir, "c"));
  const auto s = testing::samples_dir();
  expect_counts(st, "train", {"train"}, naive(s + "/aliccp_paddle_tokens_train.txt", false, 1, 2));
  expect_counts(st, "test", {"test"}, naive(s + "/aliccp_paddle_tokens_test.txt", false, 1, 2));
  // Multi-valued histories: every row has a 109_14 bag of the length in the text.
  const Cache cache(join_path(dir, "c"));
  size_t field = 0;
  while (cache.layout().sparse[field].name != "109_14") ++field;
  std::stringstream ss(read_text_file(s + "/aliccp_paddle_tokens_train.txt"));
  std::string line;
  const uint64_t* off = cache.split("train").offsets(field);
  for (uint64_t r = 0; std::getline(ss, line); ++r) {
    uint64_t n = 0;
    for (const auto& tok : split(line, ',')) n += tok.rfind("109_14:", 0) == 0;
    EXPECT_EQ(off[r + 1] - off[r], n) << "row " << r;
  }
}

TEST(RealSamples, AliExpress) {
  const auto dir = testing::test_dir();
  const auto st = convert_example("aliexpress", join_path(dir, "c"));
  const auto s = testing::samples_dir();
  // click and conversion are the last two of 82 columns.
  expect_counts(st, "train", {"train", "validation"},
                naive(s + "/aliexpress_rechub_train.csv", true, 80, 81));
  expect_counts(st, "test", {"test"}, naive(s + "/aliexpress_rechub_test.csv", true, 80, 81));
}

// A raw Ali-CCP pair in the exact byte format, through the whole conversion.
TEST(RealSamples, RawAliCcpPairEndToEnd) {
  const auto dir = testing::test_dir();
  auto entry = [](const std::string& f, const std::string& id, const std::string& v = "1.0") {
    return f + '\x02' + id + '\x03' + v;
  };
  auto join = [](const std::vector<std::string>& e) {
    std::string s;
    for (size_t i = 0; i < e.size(); ++i) s += (i ? "\x01" : "") + e[i];
    return s;
  };
  const std::string m1 = "0123456789abcdef0123456789abcdef", m2 = "fedcba9876543210fedcba9876543210";
  std::string common = m1 + ",3," + join({entry("101", "u1"), entry("109_14", "c1", "2.5"),
                                          entry("109_14", "c2", "0.5")}) + "\n";
  common += m2 + ",1," + join({entry("101", "u2")}) + "\n";
  std::string skeleton;
  for (int i = 0; i < 6; ++i) {
    const int click = i % 2, buy = i == 3;
    skeleton += std::to_string(i) + "," + std::to_string(click) + "," + std::to_string(buy) + "," +
                (i < 4 ? m1 : m2) + ",2," +
                join({entry("205", "item" + std::to_string(i % 3)), entry("210", "t" + std::to_string(i))}) +
                "\n";
  }
  skeleton += "6,0,1," + m2 + ",1," + join({entry("205", "item0")}) + "\n";  // buy without click
  testing::write_file(dir, "sample_skeleton_train.csv", skeleton);
  testing::write_file(dir, "common_features_train.csv", common);
  const auto j = nlohmann::json::parse(R"({
    "format": "aliccp_raw", "train": ["sample_skeleton_train.csv"],
    "labels": ["click", {"event": "purchase", "column": "buy"}],
    "categorical": ["101", "205", {"name": "210", "multi": true},
                    {"name": "109_14", "multi": true, "weighted": true}],
    "group": "101"})");
  ConvertOptions o;
  o.progress = false;
  const auto st = convert_to_cache(parse_data_config(j, dir), join_path(dir, "c"), o);
  const auto& in = st.inputs.at("train");
  EXPECT_EQ(in.lines, 7u);
  EXPECT_EQ(in.rows_written, 6u);
  EXPECT_EQ(in.violations_dropped, 1u);
  EXPECT_EQ(st.splits.at("train").positives, (std::vector<uint64_t>{3, 1}));
  EXPECT_EQ(st.vocab_sizes, (std::vector<uint64_t>{3, 4, 7, 3}));
  const Cache cache(join_path(dir, "c"));
  LoaderOptions lo;
  lo.shuffle = false;
  Loader l(cache, cache.split("train"), lo);
  l.start_epoch(0);
  Batch b;
  ASSERT_TRUE(l.next(b));
  ASSERT_EQ(b.size, 6u);
  const Vocabulary users = cache.load_vocab(0), hist = cache.load_vocab(3);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(b.sparse[0].ids[i], users.id(value_key(i < 4 ? "u1" : "u2")));  // joined on md5
    EXPECT_EQ(b.group[i], value_key(i < 4 ? "u1" : "u2"));
    const auto& h = b.sparse[3];
    if (i < 4) {
      ASSERT_EQ(h.offsets[i + 1] - h.offsets[i], 2u);
      EXPECT_EQ(h.ids[h.offsets[i]], hist.id(value_key("c1")));
      EXPECT_FLOAT_EQ(h.weights[h.offsets[i]], 2.5f);
      EXPECT_FLOAT_EQ(h.weights[h.offsets[i] + 1], 0.5f);
    } else {
      EXPECT_EQ(h.offsets[i + 1], h.offsets[i]);  // no history in the second common line
    }
  }
}

}  // namespace
}  // namespace funnel::data
