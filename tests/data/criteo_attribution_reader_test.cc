// The criteo_attribution reader on generated files: the derived list key and item-level
// conversion under each option, the features, and the errors of broken files.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "../common/error_of.h"
#include "core/error.h"
#include "data/cache.h"
#include "data/converter.h"
#include "data/criteo_attribution.h"
#include "data/reader.h"
#include "test_util.h"

namespace funnel::data {
namespace criteo_reader_test {
using funnel::testing::error_of;
using testing::expect_data_error;
using testing::test_dir;
using testing::write_file;

const char kHeader[] =
    "timestamp\tuid\tcampaign\tconversion\tconversion_timestamp\tconversion_id\tattribution\t"
    "click\tclick_pos\tclick_nb\tcost\tcpo\ttime_since_last_click\tcat1\tcat2\tcat3\tcat4\tcat5\t"
    "cat6\tcat7\tcat8\tcat9\n";

/// One impression with what the reader should make of it, known from how it was generated.
struct Impression {
  int64_t timestamp, uid, conversion_id;
  int campaign, click;
  bool converted, attributed;
  bool last_click;  // the last click of a converting sequence
  int64_t click_pos = -1, click_nb = -1;
  std::string cats[9];

  std::string line() const {
    std::string s = std::to_string(timestamp) + "\t" + std::to_string(uid) + "\t" +
                    std::to_string(campaign) + "\t" + (converted ? "1" : "0") + "\t" +
                    (converted ? std::to_string(timestamp + 500000) : "-1") + "\t" +
                    std::to_string(conversion_id) + "\t" + (attributed ? "1" : "0") + "\t" +
                    std::to_string(click) + "\t" + std::to_string(click_pos) + "\t" +
                    std::to_string(click_nb) + "\t0.00012\t" + (attributed ? "0.25" : "-1") +
                    "\t-1";
    for (const auto& c : cats) s += "\t" + c;
    return s + "\n";
  }
};

/// Sequences of a few users, some converting (with at least one click), interleaved in time
/// like the real file. (uid 1, conversion 23) and (uid 12, conversion 3) both occur.
std::vector<Impression> make_impressions(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Impression> out;
  const std::pair<int64_t, int64_t> sequences[] = {{1, 23}, {12, 3}, {1, -1}, {12, -1}, {7, 5},
                                                   {7, -1}, {3, 8},  {3, 9},  {40, -1}, {5, 11}};
  for (const auto& [uid, conv] : sequences) {
    const int n = 1 + static_cast<int>(rng() % 6);
    std::vector<Impression> seq;
    int64_t t = static_cast<int64_t>(rng() % 1000);
    for (int i = 0; i < n; ++i) {
      Impression m{};
      m.timestamp = t;
      t += 1 + static_cast<int64_t>(rng() % 300);
      m.uid = uid;
      m.conversion_id = conv;
      m.campaign = static_cast<int>(rng() % 4);
      m.click = rng() % 2;
      m.converted = conv >= 0;
      m.attributed = m.converted && conv % 2 == 1;
      for (int c = 0; c < 9; ++c) m.cats[c] = std::to_string(c * 100 + rng() % 3);
      seq.push_back(m);
    }
    if (conv >= 0) {
      seq[rng() % seq.size()].click = 1;
      std::vector<size_t> clicks;
      for (size_t i = 0; i < seq.size(); ++i) {
        if (seq[i].click) clicks.push_back(i);
      }
      for (size_t k = 0; k < clicks.size(); ++k) {
        seq[clicks[k]].click_pos = static_cast<int64_t>(k);
        seq[clicks[k]].click_nb = static_cast<int64_t>(clicks.size());
      }
      seq[clicks.back()].last_click = true;
    }
    out.insert(out.end(), seq.begin(), seq.end());
  }
  std::stable_sort(out.begin(), out.end(), [](const Impression& a, const Impression& b) {
    return a.timestamp < b.timestamp;
  });
  return out;
}

std::string file_text(const std::vector<Impression>& rows) {
  std::string s = kHeader;
  for (const auto& r : rows) s += r.line();
  return s;
}

nlohmann::json config_json(const std::string& path, const std::string& conversion) {
  nlohmann::json cats = {"campaign"};
  for (int c = 1; c <= 9; ++c) cats.push_back("cat" + std::to_string(c));
  return {{"format", {{"type", "criteo_attribution"}, {"conversion", conversion}}},
          {"train", path},
          {"labels", {"click", {{"event", "conversion"}, {"column", "post_click_conversion"}}}},
          {"categorical", cats},
          {"group", "uid"},
          {"list", "list_id"},
          {"position", "timestamp"},
          {"timestamp", "timestamp"}};
}

/// Reads every row of `path` as the cells of the schema's slots, by column name.
std::vector<std::map<std::string, std::string>> read_all(const DataConfig& config) {
  auto reader = open_reader(config, config.train.at(0));
  const auto slots = config.schema.slots();
  std::vector<std::map<std::string, std::string>> out;
  RawRow row;
  while (reader->next(row)) {
    std::map<std::string, std::string> cells;
    for (size_t s = 0; s < slots.size(); ++s) {
      EXPECT_TRUE(row.present[s]);
      cells[slots[s].column] = std::string(row.cell[s]);
    }
    out.push_back(cells);
  }
  EXPECT_EQ(reader->non_data_lines(), 1u);
  return out;
}

TEST(CriteoAttributionReader, ListKeysLabelsAndFeaturesOfEachConversionOption) {
  const std::string dir = test_dir();
  const auto rows = make_impressions(5);
  const std::string path = write_file(dir, "criteo.tsv", file_text(rows));
  for (const std::string option : {"last_click", "attributed", "any_click"}) {
    SCOPED_TRACE(option);
    const DataConfig config = parse_data_config(config_json(path, option), "");
    const auto got = read_all(config);
    ASSERT_EQ(got.size(), rows.size());
    int conversions = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      const Impression& m = rows[i];
      bool expected;
      if (option == "last_click") {
        expected = m.last_click;
      } else if (option == "attributed") {
        expected = m.click && m.attributed;
      } else {
        expected = m.click && m.converted;
      }
      conversions += expected;
      EXPECT_EQ(got[i].at("post_click_conversion"), expected ? "1" : "0") << "row " << i;
      EXPECT_EQ(got[i].at("click"), std::to_string(m.click));
      EXPECT_EQ(got[i].at("list_id"),
                std::to_string(m.uid) + "/" + std::to_string(m.conversion_id));
      EXPECT_EQ(got[i].at("timestamp"), std::to_string(m.timestamp));
      EXPECT_EQ(got[i].at("uid"), std::to_string(m.uid));
      EXPECT_EQ(got[i].at("campaign"), std::to_string(m.campaign));
      for (int c = 0; c < 9; ++c) EXPECT_EQ(got[i].at("cat" + std::to_string(c + 1)), m.cats[c]);
    }
    EXPECT_GT(conversions, 0);
  }
  // Each converting sequence has exactly one last click; the options differ on this file.
  int last = 0, any = 0;
  for (const auto& m : rows) {
    last += m.last_click;
    any += m.click && m.converted;
  }
  EXPECT_EQ(last, 6);
  EXPECT_GT(any, last);
}

TEST(CriteoAttributionReader, ListKeysOfUidAndConversionIdDoNotCollide) {
  const std::string dir = test_dir();
  const auto rows = make_impressions(9);
  const std::string path = write_file(dir, "criteo.tsv", file_text(rows));
  const DataConfig config = parse_data_config(config_json(path, "last_click"), "");
  std::map<std::string, std::pair<int64_t, int64_t>> owner;
  for (const auto& cells : read_all(config)) {
    const std::pair<int64_t, int64_t> seq{std::stoll(cells.at("uid")), 0};
    const auto [it, fresh] = owner.emplace(cells.at("list_id"), seq);
    EXPECT_EQ(it->second.first, seq.first) << "list " << cells.at("list_id");
  }
  EXPECT_EQ(owner.count("1/23"), 1u);
  EXPECT_EQ(owner.count("12/3"), 1u);
  EXPECT_EQ(owner.size(), 10u) << "one list per (uid, conversion_id)";
}

TEST(CriteoAttributionReader, ConvertsWithTheLabelsAndListsOfTheFile) {
  const std::string dir = test_dir();
  const auto rows = make_impressions(3);
  const std::string path = write_file(dir, "criteo.tsv", file_text(rows));
  DataConfig config = parse_data_config(config_json(path, "last_click"), "");
  ConvertOptions quiet;
  quiet.progress = false;
  const DatasetStats stats = convert_to_cache(config, join_path(dir, "cache"), quiet);
  const InputStats& in = stats.inputs.at("train");
  EXPECT_EQ(in.rows_written, rows.size());
  EXPECT_EQ(in.header_lines, 1u);
  EXPECT_EQ(in.violations_dropped, 0u) << "no item conversion without its click";
  const Cache cache(join_path(dir, "cache"));
  const CacheSplit& train = cache.split("train");
  ASSERT_EQ(train.rows(), rows.size());
  // The converter groups the interleaved sequences (data.group_lists): lists in the order of
  // their first row, each ordered by position (here the time stamp), then input order.
  std::map<std::string, size_t> first_seen;
  std::vector<size_t> order(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    order[i] = i;
    first_seen.emplace(std::to_string(rows[i].uid) + "/" + std::to_string(rows[i].conversion_id),
                       first_seen.size());
  }
  auto seq_of = [&](size_t i) {
    return first_seen.at(std::to_string(rows[i].uid) + "/" + std::to_string(rows[i].conversion_id));
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::make_pair(seq_of(a), rows[a].timestamp) < std::make_pair(seq_of(b), rows[b].timestamp);
  });
  std::map<uint64_t, std::string> list_of_key;
  for (size_t k = 0; k < rows.size(); ++k) {
    const size_t i = order[k];
    EXPECT_EQ(train.labels()[2 * k], rows[i].click);
    EXPECT_EQ(train.labels()[2 * k + 1], rows[i].last_click ? 1 : 0);
    EXPECT_EQ(train.timestamp()[k], rows[i].timestamp);
    EXPECT_EQ(train.position()[k], rows[i].timestamp);
    const std::string seq =
        std::to_string(rows[i].uid) + "/" + std::to_string(rows[i].conversion_id);
    const auto [it, fresh] = list_of_key.emplace(train.list()[k], seq);
    EXPECT_EQ(it->second, seq) << "one cache list key per sequence";
  }
  EXPECT_EQ(list_of_key.size(), 10u);
}

TEST(CriteoAttributionReader, TimeSinceLastClickIsANumericFeatureOnRequest) {
  const std::string dir = test_dir();
  std::string text = kHeader;
  text += "5\t1\t2\t0\t-1\t-1\t0\t1\t-1\t-1\t0.1\t-1\t-1\t1\t2\t3\t4\t5\t6\t7\t8\t9\n";
  text += "9\t1\t2\t0\t-1\t-1\t0\t0\t-1\t-1\t0.1\t-1\t4\t1\t2\t3\t4\t5\t6\t7\t8\t9\n";
  const std::string path = write_file(dir, "c.tsv", text);
  nlohmann::json j = config_json(path, "last_click");
  j["numeric"] = {"time_since_last_click"};
  const DataConfig config = parse_data_config(j, "");
  const auto got = read_all(config);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].at("time_since_last_click"), "-1");
  EXPECT_EQ(got[1].at("time_since_last_click"), "4");
}

// ---- broken files and configs -----------------------------------------------------------
std::string good_line(int ts) {
  return std::to_string(ts) +
         "\t1\t2\t0\t-1\t-1\t0\t0\t-1\t-1\t0.1\t-1\t-1\t1\t2\t3\t4\t5\t6\t7\t8\t9\n";
}

DataError open_error(const std::string& path) {
  const DataConfig config = parse_data_config(config_json(path, "last_click"), "");
  return expect_data_error([&] { open_reader(config, config.train.at(0)); });
}

/// The error of the first bad row of `path` (a good header) at `line`.
DataError row_error(const std::string& path) {
  const DataConfig config = parse_data_config(config_json(path, "last_click"), "");
  auto reader = open_reader(config, config.train.at(0));
  RawRow row;
  return expect_data_error([&] {
    while (reader->next(row)) {
    }
  });
}

TEST(CriteoAttributionReader, AMisnamedOrMissingHeaderColumnIsNamed) {
  const std::string dir = test_dir();
  std::string misnamed = kHeader;
  misnamed.replace(misnamed.find("click_pos"), 9, "clickpos");
  const std::string p1 = write_file(dir, "misnamed.tsv", misnamed + good_line(1));
  const DataError e1 = open_error(p1);
  EXPECT_EQ(e1.file(), p1);
  EXPECT_EQ(e1.line(), 1u);
  EXPECT_EQ(e1.column(), "click_pos");
  EXPECT_EQ(e1.kind(), "missing_column");

  std::string missing = kHeader;
  missing.erase(missing.find("\tcpo"), 4);
  const DataError e2 = open_error(write_file(dir, "missing.tsv", missing + good_line(1)));
  EXPECT_EQ(e2.column(), "cpo");
  EXPECT_NE(std::string(e2.what()).find("missing.tsv:1: column 'cpo'"), std::string::npos)
      << e2.what();

  std::string extra = kHeader;
  extra.insert(extra.size() - 1, "\tcat10");
  const DataError e3 = open_error(write_file(dir, "extra.tsv", extra));
  EXPECT_EQ(e3.column(), "cat10");
  EXPECT_EQ(e3.kind(), "header");

  std::string twice = kHeader;
  twice.insert(twice.size() - 1, "\tcat9");
  EXPECT_EQ(open_error(write_file(dir, "twice.tsv", twice)).kind(), "header");
  EXPECT_EQ(open_error(write_file(dir, "empty.tsv", "")).kind(), "empty_file");
}

TEST(CriteoAttributionReader, BadValuesAndShortLinesNameFileLineAndColumn) {
  const std::string dir = test_dir();
  struct Case {
    std::string line, column, kind;
  };
  const Case cases[] = {
      {"1.5\t1\t2\t0\t-1\t-1\t0\t0\t-1\t-1\t0.1\t-1\t-1\t1\t2\t3\t4\t5\t6\t7\t8\t9\n", "timestamp",
       "timestamp_value"},
      {"-3\t1\t2\t0\t-1\t-1\t0\t0\t-1\t-1\t0.1\t-1\t-1\t1\t2\t3\t4\t5\t6\t7\t8\t9\n", "timestamp",
       "timestamp_value"},
      {"3\t1\t2\t0\t-1\t-1\t0\t2\t-1\t-1\t0.1\t-1\t-1\t1\t2\t3\t4\t5\t6\t7\t8\t9\n", "click",
       "label_value"},
      {"3\tu1\t2\t0\t-1\t-1\t0\t0\t-1\t-1\t0.1\t-1\t-1\t1\t2\t3\t4\t5\t6\t7\t8\t9\n", "uid",
       "criteo_value"},
      {"3\t1\t2\t1\t9\t-1\t0\t0\t-1\t-1\t0.1\t-1\t-1\t1\t2\t3\t4\t5\t6\t7\t8\t9\n", "conversion_id",
       "criteo_value"},
      {"3\t1\t2\t0\t-1\t-1\t1\t0\t-1\t-1\t0.1\t-1\t-1\t1\t2\t3\t4\t5\t6\t7\t8\t9\n", "attribution",
       "criteo_value"},
      {"3\t1\t2\t0\t-1\t-1\t0\t0\t-1\tx\t0.1\t-1\t-1\t1\t2\t3\t4\t5\t6\t7\t8\t9\n", "click_nb",
       "criteo_value"},
      {"3\t1\t2\t0\t-1\t-1\t0\t0\t-1\t-1\t0.1\t-1\t-1\t1\t2\t3\t4\t5\t6\t7\t8\n", "",
       "column_count"},
  };
  int n = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    const std::string path =
        write_file(dir, "bad" + std::to_string(n++) + ".tsv",
                   std::string(kHeader) + good_line(1) + good_line(2) + c.line);
    const DataError e = row_error(path);
    EXPECT_EQ(e.file(), path);
    EXPECT_EQ(e.line(), 4u);
    EXPECT_EQ(e.column(), c.column);
    EXPECT_EQ(e.kind(), c.kind);
    const std::string where =
        path + ":4" + (c.column.empty() ? std::string(":") : ": column '" + c.column + "'");
    EXPECT_EQ(std::string(e.what()).rfind(where, 0), 0u) << e.what();
  }
}

TEST(CriteoAttributionReader, BadRowsFollowTheConvertersPolicy) {
  const std::string dir = test_dir();
  std::string text = kHeader;
  for (int i = 0; i < 300; ++i) text += good_line(i);
  text += "7\t1\t2\t0\t-1\t-1\t0\t2\t-1\t-1\t0.1\t-1\t-1\t1\t2\t3\t4\t5\t6\t7\t8\t9\n";
  text += "8\t1\t2\t0\t-1\t-1\n";
  const std::string path = write_file(dir, "c.tsv", text);
  DataConfig config = parse_data_config(config_json(path, "last_click"), "");
  ConvertOptions quiet;
  quiet.progress = false;
  const DataError e =
      expect_data_error([&] { convert_to_cache(config, join_path(dir, "a"), quiet); });
  EXPECT_EQ(e.line(), 302u);
  EXPECT_EQ(e.column(), "click");
  config.on_bad_row = BadRowPolicy::kSkip;
  const DatasetStats stats = convert_to_cache(config, join_path(dir, "b"), quiet);
  const InputStats& in = stats.inputs.at("train");
  EXPECT_EQ(in.rows_written, 300u);
  EXPECT_EQ(in.bad_by_kind.at("label_value"), 1u);
  EXPECT_EQ(in.bad_by_kind.at("column_count"), 1u);
  EXPECT_EQ(in.lines, 303u);
}

TEST(CriteoAttributionReader, OutcomeColumnsAreRefusedAsFeaturesAndTheRawConversionAsLabel) {
  const std::string dir = test_dir();
  const std::string path = write_file(dir, "c.tsv", std::string(kHeader) + good_line(1));
  for (const char* col : {"conversion", "conversion_timestamp", "conversion_id", "attribution",
                          "click_pos", "click_nb", "cpo"}) {
    nlohmann::json j = config_json(path, "last_click");
    j["categorical"].push_back(col);
    const DataConfig config = parse_data_config(j, "");
    const std::string msg = error_of([&] { open_reader(config, config.train.at(0)); });
    EXPECT_NE(msg.find(std::string("column '") + col + "' encodes the conversion outcome"),
              std::string::npos)
        << msg;
  }
  // cost is known when the impression is shown: allowed.
  nlohmann::json j = config_json(path, "last_click");
  j["numeric"] = {"cost"};
  EXPECT_NO_THROW(read_all(parse_data_config(j, "")));

  j = config_json(path, "last_click");
  j["labels"][1]["column"] = "conversion";
  const DataConfig raw = parse_data_config(j, "");
  EXPECT_NE(error_of([&] { open_reader(raw, raw.train.at(0)); }).find("post_click_conversion"),
            std::string::npos);

  j = config_json(path, "last_click");
  j["categorical"].push_back("cat10");
  const DataConfig unknown = parse_data_config(j, "");
  const DataError e = expect_data_error([&] { open_reader(unknown, unknown.train.at(0)); });
  EXPECT_EQ(e.column(), "cat10");
  EXPECT_EQ(e.kind(), "missing_column");
}

TEST(CriteoAttributionReader, AGzipFileSaysHowToDecompressIt) {
  const std::string dir = test_dir();
  const std::string path =
      write_file(dir, "criteo_attribution_dataset.tsv.gz", std::string("\x1f\x8b\x08\x00rest", 8));
  const DataError e = open_error(path);
  EXPECT_NE(std::string(e.what()).find("zcat"), std::string::npos) << e.what();
}

TEST(CriteoAttributionFormat, ParsesItsOptionAndWritesItBack) {
  const FormatSpec plain = parse_format(nlohmann::json("criteo_attribution"));
  EXPECT_EQ(plain.type, Format::kCriteoAttribution);
  EXPECT_EQ(plain.criteo_conversion, criteo::Conversion::kLastClick);
  const FormatSpec any =
      parse_format({{"type", "criteo_attribution"}, {"conversion", "any_click"}});
  EXPECT_EQ(any.criteo_conversion, criteo::Conversion::kAnyClick);
  const FormatSpec back = parse_format(format_to_json(any));
  EXPECT_EQ(back.type, Format::kCriteoAttribution);
  EXPECT_EQ(back.criteo_conversion, criteo::Conversion::kAnyClick);
  EXPECT_EQ(format_to_json(parse_format(nlohmann::json("csv"))).count("conversion"), 0u);

  const std::string typo = error_of([] {
    parse_format({{"type", "criteo_attribution"}, {"conversion", "last"}});
  });
  EXPECT_NE(typo.find("last_click"), std::string::npos) << typo;
  EXPECT_NE(typo.find("data.format.conversion"), std::string::npos) << typo;
  EXPECT_NE(error_of([] {
              parse_format({{"type", "csv"}, {"conversion", "any_click"}});
            }).find("only the criteo_attribution format"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse_format({{"type", "criteo_attribution"}, {"delimiter", ","}});
            }),
            "");
}

}  // namespace criteo_reader_test
}  // namespace funnel::data
