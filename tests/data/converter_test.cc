#include "data/converter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>

#include "core/utf8.h"
#include "data/cache.h"
#include "data/loader.h"
#include "data/row_encoder.h"
#include "data/stats.h"
#include "synthetic.h"

namespace funnel::data {
namespace {
using testing::make_synthetic;
using testing::synthetic_config_json;
using testing::test_dir;
using testing::write_file;

/// The synthetic schema over one training file `csv`, bad rows skipped up to 5 %.
DataConfig skip_bad_rows_config(const std::string& csv) {
  nlohmann::json j = synthetic_config_json(csv, csv);
  j.erase("test");
  DataConfig config = parse_data_config(j, "");
  config.on_bad_row = BadRowPolicy::kSkip;
  config.max_bad_fraction = 0.05;
  return config;
}

ConvertOptions quiet() {
  ConvertOptions o;
  o.progress = false;
  return o;
}

TEST(Converter, RoundTripEveryValue) {
  const std::string dir = test_dir();
  const auto train = make_synthetic(dir, "train.csv", 3000, 1);
  const auto test = make_synthetic(dir, "test.csv", 500, 2, 100000);
  nlohmann::json j = synthetic_config_json(train.path, test.path);
  j["validation_ratio"] = 0.2;
  const DataConfig config = parse_data_config(j, "");
  const std::string out = join_path(dir, "cache");
  const DatasetStats stats = convert_to_cache(config, out, quiet());

  std::map<int, const testing::SyntheticRow*> by_id;
  for (const auto& r : train.rows) by_id[r.id] = &r;
  for (const auto& r : test.rows) by_id[r.id] = &r;

  // Expected vocabulary: train-split counts (validation rows excluded) with min_count 2.
  const Cache cache(out);
  ASSERT_EQ(cache.split_names(), (std::vector<std::string>{"test", "train", "validation"}));
  std::map<std::string, int> user_count, item_count, hist_count;
  {
    Loader l(cache, cache.split("train"), {});
    l.start_epoch(0);
    Batch b;
    while (l.next(b)) {
      for (size_t i = 0; i < b.size; ++i) {
        const auto& r = *by_id.at(static_cast<int>(b.aux[i]));
        ++user_count[r.user];
        ++item_count[r.item];
        for (const auto& [h, w] : r.hist) ++hist_count[h];
      }
    }
  }
  std::vector<Vocabulary> vocab;
  for (size_t f = 0; f < 3; ++f) vocab.push_back(cache.load_vocab(f));
  auto expect_id = [&](const Vocabulary& v, const std::map<std::string, int>& counts,
                       const std::string& value, uint32_t id) {
    const auto it = counts.find(value);
    const bool kept = it != counts.end() && it->second >= 2;
    EXPECT_EQ(id != 0, kept) << value;
    EXPECT_EQ(id, v.id(value_key(value))) << value;
  };

  size_t seen = 0, dropped = 0;
  for (const auto& r : train.rows) dropped += r.buy && !r.click;
  for (const auto& r : test.rows) dropped += r.buy && !r.click;
  for (const std::string split : {"train", "validation", "test"}) {
    LoaderOptions lo;
    lo.shuffle = false;
    lo.batch_size = 97;
    Loader l(cache, cache.split(split), lo);
    l.start_epoch(0);
    Batch b;
    int last_id = -1;
    while (l.next(b)) {
      for (size_t i = 0; i < b.size; ++i) {
        const int id = static_cast<int>(b.aux[i]);
        ASSERT_GT(id, last_id);  // input order is kept within a split
        last_id = id;
        const auto& r = *by_id.at(id);
        ++seen;
        ASSERT_FALSE(r.buy && !r.click) << "violations are dropped by default";
        EXPECT_EQ(b.label(0, i), r.click);
        EXPECT_EQ(b.label(1, i), r.buy);
        expect_id(vocab[0], user_count, r.user, b.sparse[0].ids[i]);
        expect_id(vocab[1], item_count, r.item, b.sparse[1].ids[i]);
        const auto& hs = b.sparse[2];
        ASSERT_EQ(hs.offsets[i + 1] - hs.offsets[i], r.hist.size());
        for (size_t k = 0; k < r.hist.size(); ++k) {
          expect_id(vocab[2], hist_count, r.hist[k].first, hs.ids[hs.offsets[i] + k]);
          EXPECT_EQ(hs.weights[hs.offsets[i] + k], r.hist[k].second);
        }
        EXPECT_EQ(b.group[i], value_key(r.user));
        const float x = b.dense[i];
        if (std::isnan(r.price)) {
          EXPECT_EQ(x, 0.0f);
        } else {
          EXPECT_NEAR(x, std::tanh((r.price - cache.dense_mean()[0]) / cache.dense_std()[0]), 1e-5);
        }
      }
    }
  }
  EXPECT_EQ(seen + dropped, train.rows.size() + test.rows.size());
  // The validation share is close to the ratio.
  const double val = static_cast<double>(cache.split("validation").rows());
  EXPECT_NEAR(val / (val + cache.split("train").rows()), 0.2, 0.03);

  // Dense statistics are over the training split only.
  double sum = 0, sq = 0;
  int n = 0;
  {
    Loader l(cache, cache.split("train"), {});
    l.start_epoch(0);
    Batch b;
    while (l.next(b)) {
      for (size_t i = 0; i < b.size; ++i) {
        const double p = by_id.at(static_cast<int>(b.aux[i]))->price;
        if (std::isnan(p)) continue;
        sum += p;
        sq += p * p;
        ++n;
      }
    }
  }
  const double mean = sum / n;
  EXPECT_NEAR(cache.dense_mean()[0], mean, 1e-3);
  EXPECT_NEAR(cache.dense_std()[0], std::sqrt((sq - n * mean * mean) / (n - 1)), 1e-3);

  // Accounting: every line is a header, a written row, a bad row or a dropped row.
  for (const auto& [name, in] : stats.inputs) {
    EXPECT_EQ(in.lines, in.header_lines + in.rows_written + in.bad_rows + in.violations_dropped)
        << name;
  }
  EXPECT_EQ(stats.inputs.at("train").lines, 3001u);
  // Stats survive the trip through meta.json.
  const DatasetStats back = stats_from_json(cache.meta().at("stats"), cache.layout());
  EXPECT_EQ(stats_to_json(back, cache.layout()), stats_to_json(stats, cache.layout()));
}

TEST(Converter, SameSeedSameBytes) {
  const std::string dir = test_dir();
  const auto train = make_synthetic(dir, "train.csv", 500, 1);
  nlohmann::json j = synthetic_config_json(train.path, train.path);
  j["validation_ratio"] = 0.3;
  const DataConfig config = parse_data_config(j, "");
  convert_to_cache(config, join_path(dir, "a"), quiet());
  convert_to_cache(config, join_path(dir, "b"), quiet());
  for (const char* f : {"train/f0.ids.u32", "train/f2.off.u64", "validation/labels.u8",
                        "vocab/f1.vocab", "test/dense.f32"}) {
    EXPECT_EQ(read_text_file(join_path(dir, std::string("a/") + f)),
              read_text_file(join_path(dir, std::string("b/") + f)))
        << f;
  }
}

TEST(Converter, BadRowPolicies) {
  const std::string dir = test_dir();
  std::string csv = "rid,click,buy,user,item,hist,price\n";
  for (int i = 0; i < 200; ++i) {
    csv += std::to_string(i) + ",1,0,u" + std::to_string(i % 5) + ",i,h1:1,1.5\n";
  }
  csv += "900,2,0,u,i,,1\n";    // label not 0/1 (line 202)
  csv += "901,1,0,u,i\n";       // too few columns
  csv += "902,1,0,u,i,,abc\n";  // non-numeric price
  csv += "903,0,1,u,i,,1\n";    // conversion without click
  const std::string p = write_file(dir, "bad.csv", csv);
  nlohmann::json j = synthetic_config_json(p, p);
  j.erase("test");
  DataConfig config = parse_data_config(j, "");

  // fail (default): the first bad row stops the conversion, naming file, line and column.
  const std::string out = join_path(dir, "cache");
  try {
    convert_to_cache(config, out, quiet());
    FAIL() << "expected a DataError";
  } catch (const DataError& e) {
    EXPECT_EQ(e.file(), p);
    EXPECT_EQ(e.line(), 202u);
    EXPECT_EQ(e.column(), "click");
    EXPECT_NE(std::string(e.what()).find("--on-bad-row skip"), std::string::npos);
  }
  EXPECT_FALSE(path_exists(out)) << "a failed conversion leaves nothing behind";

  // skip: counted by kind, the rest converts.
  config.on_bad_row = BadRowPolicy::kSkip;
  config.max_bad_fraction = 0.05;
  const DatasetStats st = convert_to_cache(config, out, quiet());
  const InputStats& in = st.inputs.at("train");
  EXPECT_EQ(in.bad_rows, 3u);
  EXPECT_EQ(in.bad_by_kind.at("label_value"), 1u);
  EXPECT_EQ(in.bad_by_kind.at("column_count"), 1u);
  EXPECT_EQ(in.bad_by_kind.at("numeric_value"), 1u);
  EXPECT_EQ(in.violations[1], 1u);
  EXPECT_EQ(in.violations_dropped, 1u);
  EXPECT_EQ(in.rows_written, 200u);
  EXPECT_EQ(in.lines, 205u);
  EXPECT_EQ(in.bad_examples.size(), 3u);
  EXPECT_NE(in.bad_examples[1].find(p + ":203"), std::string::npos) << in.bad_examples[1];

  // skip, but above the allowed fraction: fail anyway.
  config.max_bad_fraction = 0.01;
  try {
    convert_to_cache(config, join_path(dir, "c2"), quiet());
    FAIL();
  } catch (const DataError&) {
    FAIL() << "expected the fraction error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_bad_fraction"), std::string::npos) << e.what();
  }

  // Keeping funnel violations: the row is written and counted as kept.
  config.max_bad_fraction = 0.05;
  config.keep_funnel_violations = true;
  const DatasetStats kept = convert_to_cache(config, join_path(dir, "c3"), quiet());
  EXPECT_EQ(kept.inputs.at("train").rows_written, 201u);
  EXPECT_EQ(kept.splits.at("train").violations_kept[1], 1u);
}

TEST(Converter, AnUnterminatedQuoteCountsTheLinesItSwallowedAgainstMaxBadFraction) {
  // Issue 20, defect 6: under --on-bad-row skip an unterminated quote read the rest of the
  // file as one bad row (70 rows of a 101-line file), and the fraction of bad *records* (1 of
  // 31) passed max_bad_fraction.
  const std::string dir = test_dir();
  std::string csv = "rid,click,buy,user,item,hist,price\n";
  for (int i = 0; i < 100; ++i) {
    csv += std::to_string(i) + ",1,0," + (i == 30 ? "\"u" : "u") + ",i,h1:1,1.5\n";
  }
  const std::string p = write_file(dir, "quote.csv", csv);
  DataConfig config = skip_bad_rows_config(p);
  try {
    convert_to_cache(config, join_path(dir, "c1"), quiet());
    FAIL() << "expected the fraction error";
  } catch (const DataError& e) {
    FAIL() << e.what();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("1 bad row (70 lines) in 101 lines"), std::string::npos) << m;
    EXPECT_NE(m.find("max_bad_fraction"), std::string::npos) << m;
    EXPECT_NE(m.find(p + ":32: quoted field is not closed"), std::string::npos) << m;
    EXPECT_NE(m.find("the 70 lines from here on were read as one row"), std::string::npos) << m;
  }
  config.max_bad_fraction = 0.8;
  const DatasetStats st = convert_to_cache(config, join_path(dir, "c2"), quiet());
  const InputStats& in = st.inputs.at("train");
  EXPECT_EQ(in.bad_rows, 1u);
  EXPECT_EQ(in.bad_lines, 70u);
  EXPECT_EQ(in.rows_written, 30u);
  const Cache cache(join_path(dir, "c2"));
  EXPECT_EQ(stats_from_json(stats_to_json(st, cache.layout()), cache.layout())
                .inputs.at("train")
                .bad_lines,
            70u);
  EXPECT_NE(stats_table(st, cache.layout()).find("bad rows span 70 lines"), std::string::npos);
}

TEST(Converter, TokenFieldsNotInTheSchemaAreInTheStats) {
  const std::string dir = test_dir();
  std::string text;
  for (int i = 0; i < 50; ++i) {
    text += std::to_string(i) + ",1,0,205:i" + std::to_string(i % 7) + ",999:x" +
            (i == 17 ? ",2O5:y" : "") + "\n";
  }
  const std::string p = write_file(dir, "t.txt", text);
  const DataConfig config = parse_data_config(nlohmann::json::parse(R"({
    "format": "tokens", "train": [")" + p + R"("],
    "labels": ["click", {"event": "purchase", "column": "buy"}], "categorical": ["205"]})"),
                                              "");
  const DatasetStats st = convert_to_cache(config, join_path(dir, "cache"), quiet());
  const auto& unread = st.inputs.at("train").unread_fields;
  EXPECT_EQ(unread, (std::map<std::string, uint64_t>{{"2O5", 1}, {"999", 50}}));
  const Cache cache(join_path(dir, "cache"));
  EXPECT_EQ(
      stats_from_json(cache.meta().at("stats"), cache.layout()).inputs.at("train").unread_fields,
      unread);
  EXPECT_NE(stats_table(st, cache.layout())
                .find("51 entries of 2 fields not in the schema, ignored: 2O5 (1) 999 (50)"),
            std::string::npos)
      << stats_table(st, cache.layout());
}

TEST(Converter, SkippedRowsWithInvalidOrCutUtf8AreCountedAndTheStatsWritten) {
  // Issue 20, defect 1: a bad row's message holding bytes that are not UTF-8, or a value whose
  // UTF-8 the message's truncation cut inside a character, ended the conversion with a JSON
  // writer's "invalid UTF-8 byte" exception.
  const std::string dir = test_dir();
  std::string csv = "rid,click,buy,user,item,hist,price\n";
  for (int i = 0; i < 100; ++i) {
    csv += std::to_string(i) + ",1,0,u" + std::to_string(i % 5) + ",i,h1:1,1.5\n";
  }
  std::string accents = "a";
  for (int k = 0; k < 200; ++k) accents += "\xC3\xA9";  // 'a' + 200 x 'é'
  csv +=
      "900,1,0,u,i,,\xFF\xFE"
      "1\n";                                // not UTF-8, in a numeric cell
  csv += "901,1,0,u,i,," + accents + "\n";  // valid, cut by the message
  csv += "902,1,0,u\xC3,i,,1,extra\n";      // not UTF-8, too many columns
  const std::string p = write_file(dir, "utf8.csv", csv);
  DataConfig config = skip_bad_rows_config(p);
  const std::string out = join_path(dir, "cache");
  const DatasetStats st = convert_to_cache(config, out, quiet());
  const InputStats& in = st.inputs.at("train");
  EXPECT_EQ(in.bad_rows, 3u);
  EXPECT_EQ(in.rows_written, 100u);
  ASSERT_EQ(in.bad_examples.size(), 3u);
  for (const std::string& m : in.bad_examples) EXPECT_TRUE(valid_utf8(m)) << m;
  EXPECT_NE(in.bad_examples[0].find("\\xff\\xfe1"), std::string::npos) << in.bad_examples[0];
  EXPECT_NE(in.bad_examples[1].find("a\xC3\xA9"), std::string::npos) << in.bad_examples[1];
  // The strict writer (throws on invalid UTF-8) takes the stats as they are.
  const Cache cache(out);
  EXPECT_NO_THROW(stats_to_json(st, cache.layout()).dump());
}

TEST(Converter, HashingMode) {
  const std::string dir = test_dir();
  const auto train = make_synthetic(dir, "train.csv", 300, 4);
  nlohmann::json j = synthetic_config_json(train.path, train.path);
  j["vocab"] = {{"hash_buckets", 64}};
  const DataConfig config = parse_data_config(j, "");
  const DatasetStats st = convert_to_cache(config, join_path(dir, "cache"), quiet());
  EXPECT_EQ(st.vocab_sizes, (std::vector<uint64_t>{64, 64, 64}));
  const Cache cache(join_path(dir, "cache"));
  const uint32_t* ids = cache.split("test").ids(1);
  for (uint64_t r = 0; r < cache.split("test").rows(); ++r) {
    EXPECT_GE(ids[r], 1u);
    EXPECT_LT(ids[r], 64u);
  }
  EXPECT_EQ(st.splits.at("test").fields[1].oov, 0u);  // hashing has no OOV
}

TEST(Cache, CorruptedCacheIsAClearError) {
  const std::string dir = test_dir();
  const auto train = make_synthetic(dir, "train.csv", 100, 5);
  const DataConfig config = parse_data_config(synthetic_config_json(train.path, train.path), "");
  const std::string out = join_path(dir, "cache");
  convert_to_cache(config, out, quiet());
  EXPECT_THROW(Cache(join_path(dir, "nope")), Error);
  // Truncate one column file.
  const std::string col = join_path(out, "test/f1.ids.u32");
  const std::string bytes = read_text_file(col);
  write_file(out, "test/f1.ids.u32", bytes.substr(0, bytes.size() - 4));
  try {
    Cache c(out);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f1.ids.u32"), std::string::npos) << e.what();
  }
  // Refuse to overwrite a folder that is not a cache.
  make_dirs(join_path(dir, "precious"));
  EXPECT_THROW(convert_to_cache(config, join_path(dir, "precious"), quiet()), Error);
}

TEST(Cache, DamagedContentsAreFoundWhenOpenedNamingTheFile) {
  // Issue 20, defect 4: the cache was checked by file sizes only. A label byte of 7 trained
  // silently (AUC 0.5); a deleted or truncated vocabulary surfaced after a full epoch; a
  // vocab_size of 4e9 in meta.json grew train to 24 GB.
  const std::string dir = test_dir();
  const auto train = make_synthetic(dir, "train.csv", 100, 5);
  const DataConfig config = parse_data_config(synthetic_config_json(train.path, train.path), "");
  const std::string clean = join_path(dir, "clean");
  convert_to_cache(config, clean, quiet());
  EXPECT_NO_THROW(Cache{clean});
  int n = 0;
  auto damaged = [&](const std::function<void(const std::string&)>& damage) {
    const std::string d = join_path(dir, "damaged" + std::to_string(n++));
    std::filesystem::copy(clean, d, std::filesystem::copy_options::recursive);
    damage(d);
    try {
      Cache c(d);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(opened)");
  };
  std::string m = damaged([](const std::string& d) {
    std::string b = read_text_file(join_path(d, "train/labels.u8"));
    b[3] = 7;
    write_text_file_atomic(join_path(d, "train/labels.u8"), b);
  });
  EXPECT_NE(m.find("labels.u8: row 2, event 'buy': label 7, expected 0 or 1"), std::string::npos)
      << m;
  m = damaged([](const std::string& d) { remove_all(join_path(d, "vocab/f1.vocab")); });
  EXPECT_NE(m.find("f1.vocab: vocabulary file missing"), std::string::npos) << m;
  m = damaged([](const std::string& d) {
    const std::string b = read_text_file(join_path(d, "vocab/f0.vocab"));
    write_text_file_atomic(join_path(d, "vocab/f0.vocab"), b.substr(0, b.size() - 5));
  });
  EXPECT_NE(m.find("f0.vocab: vocabulary is truncated"), std::string::npos) << m;
  m = damaged([](const std::string& d) {
    nlohmann::json meta = nlohmann::json::parse(read_text_file(join_path(d, "meta.json")));
    meta["sparse"][0]["vocab_size"] = 4000000000ull;
    write_text_file_atomic(join_path(d, "meta.json"), meta.dump());
  });
  EXPECT_NE(m.find("f0.vocab: vocabulary of "), std::string::npos) << m;
  EXPECT_NE(m.find("meta.json says 4000000000"), std::string::npos) << m;
  m = damaged([](const std::string& d) {
    std::string b = read_text_file(join_path(d, "test/f0.ids.u32"));
    const uint32_t big = 1u << 30;
    std::memcpy(&b[4], &big, 4);
    write_text_file_atomic(join_path(d, "test/f0.ids.u32"), b);
  });
  EXPECT_NE(m.find("f0.ids.u32: value 2 of field 'user': id 1073741824, not below the "
                   "vocabulary's size"),
            std::string::npos)
      << m;
}

TEST(Converter, RequiresTrainingFiles) {
  const std::string dir = test_dir();
  const auto test = make_synthetic(dir, "test.csv", 50, 6);
  nlohmann::json j = synthetic_config_json(test.path, test.path);
  j.erase("train");
  const DataConfig config = parse_data_config(j, "");  // parses: a cache user needs no files
  const std::string out = join_path(dir, "cache");
  try {
    convert_to_cache(config, out, quiet());
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("data.train: at least one file is required", 0), 0u)
        << e.what();
  }
  EXPECT_FALSE(path_exists(out));  // checked before anything is written
}

}  // namespace
}  // namespace funnel::data
