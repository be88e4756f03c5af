// The simulator's Criteo attribution writer: the exact format, the invariants that tie its
// columns together, and the round trip through the criteo_attribution reader and the
// converter back to the simulation's items, clicks and purchases.

#include "sim/criteo_writer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/file.h"
#include "data/cache.h"
#include "data/converter.h"
#include "data/criteo_attribution.h"
#include "sim/output.h"
#include "sim/simulator.h"

namespace funnel::sim {
namespace criteo_writer_test {
namespace cr = data::criteo;

std::string fresh_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string dir =
      join_path(::testing::TempDir(), std::string("funnel_criteo_") + info->name());
  remove_all(dir);
  make_dirs(dir);
  return dir;
}

SimConfig small_lists(uint64_t rows) {
  SimConfig c = SimConfig::preset_named("lists");
  c.update({{"rows", rows}, {"seed", 7}, {"cvr", 0.2}});  // many purchases: several per list
  return c;
}

std::string write(const Simulator& sim, const std::string& path, bool grouped) {
  CriteoWriter::Options o;
  o.grouped = grouped;
  CriteoWriter w(sim, path, o);
  sim.generate_batches([&](const SimRow* rows, size_t n) { w.add(rows, n); }, 333);
  w.finish();
  return read_text_file(path);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.push_back("");
  return out;
}

int64_t integer(const std::string& s) {
  int64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  EXPECT_TRUE(r.ec == std::errc() && r.ptr == s.data() + s.size()) << "'" << s << "'";
  return v;
}

/// One parsed line.
struct Row {
  int64_t v[cr::kNumColumns];
  double cost, cpo;
};

std::vector<Row> parse(const std::string& text, std::string* header) {
  std::vector<std::string> lines = split(text, '\n');
  EXPECT_EQ(lines.back(), "") << "the file ends with a newline";
  lines.pop_back();
  *header = lines.at(0);
  std::vector<Row> out;
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto cells = split(lines[i], '\t');
    EXPECT_EQ(cells.size(), static_cast<size_t>(cr::kNumColumns)) << lines[i];
    if (cells.size() != static_cast<size_t>(cr::kNumColumns)) continue;
    Row r{};
    for (int c = 0; c < cr::kNumColumns; ++c) {
      if (c == cr::kCost || c == cr::kCpo) continue;
      r.v[c] = integer(cells[c]);
    }
    r.cost = std::stod(cells[cr::kCost]);
    r.cpo = std::stod(cells[cr::kCpo]);
    out.push_back(r);
  }
  return out;
}

/// What the simulation holds, counted from its rows directly.
struct Expected {
  std::vector<SimRow> rows;
  uint64_t clicks = 0, purchases = 0, sequences = 0;
};

Expected expected_of(const Simulator& sim) {
  Expected e;
  sim.generate([&](const SimRow& r, const Simulator&) { e.rows.push_back(r); });
  for (size_t i = 0; i < e.rows.size(); ++i) {
    const SimRow& r = e.rows[i];
    e.clicks += r.label_columns[0];
    e.purchases += r.label_columns[1];
    const bool list_ends = i + 1 == e.rows.size() || e.rows[i + 1].list != r.list;
    // A sequence ends at each purchase, and at the end of a list after non-purchases.
    if (r.label_columns[1] || (list_ends && !r.label_columns[1])) ++e.sequences;
  }
  return e;
}

TEST(CriteoWriter, WritesTheExactFormatWithConsistentColumns) {
  const std::string dir = fresh_dir();
  const Simulator sim(small_lists(20000));
  const Expected want = expected_of(sim);
  ASSERT_GT(want.purchases, 100u);
  std::string header;
  const std::vector<Row> rows = parse(write(sim, join_path(dir, kCriteoFileName), false), &header);
  EXPECT_EQ(header,
            "timestamp\tuid\tcampaign\tconversion\tconversion_timestamp\tconversion_id\t"
            "attribution\tclick\tclick_pos\tclick_nb\tcost\tcpo\ttime_since_last_click\tcat1\t"
            "cat2\tcat3\tcat4\tcat5\tcat6\tcat7\tcat8\tcat9");
  ASSERT_EQ(rows.size(), want.rows.size());

  // Per (uid, conversion_id): its rows in file order.
  std::map<std::pair<int64_t, int64_t>, std::vector<const Row*>> seqs;
  std::map<int64_t, int64_t> uid_of_conversion;
  uint64_t clicks = 0, last_clicks = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    if (i > 0) {
      EXPECT_LE(rows[i - 1].v[cr::kTimestamp], r.v[cr::kTimestamp]) << "row " << i;
    }
    EXPECT_GE(r.v[cr::kTimestamp], 0);
    EXPECT_TRUE(r.v[cr::kClick] == 0 || r.v[cr::kClick] == 1);
    EXPECT_EQ(r.v[cr::kConversion], r.v[cr::kConversionId] >= 0 ? 1 : 0);
    EXPECT_EQ(r.v[cr::kAttribution], r.v[cr::kConversion]);
    EXPECT_GE(r.cost, 1e-4);
    EXPECT_LT(r.cost, 1e-3);
    seqs[{r.v[cr::kUid], r.v[cr::kConversionId]}].push_back(&r);
    if (r.v[cr::kConversionId] >= 0) {
      const auto [it, fresh] = uid_of_conversion.emplace(r.v[cr::kConversionId], r.v[cr::kUid]);
      EXPECT_EQ(it->second, r.v[cr::kUid]) << "a conversion id belongs to one user";
    }
    clicks += r.v[cr::kClick];
    last_clicks +=
        cr::item_conversion(cr::Conversion::kLastClick, r.v[cr::kClick], r.v[cr::kConversion],
                            r.v[cr::kAttribution], r.v[cr::kClickPos], r.v[cr::kClickNb]);
  }
  EXPECT_EQ(clicks, want.clicks);
  EXPECT_EQ(last_clicks, want.purchases) << "the last click of each conversion is a purchase";
  EXPECT_EQ(seqs.size(), want.sequences);
  EXPECT_EQ(uid_of_conversion.size(), want.purchases);

  for (const auto& [key, seq] : seqs) {
    const bool converts = key.second >= 0;
    int64_t clicks_in = 0;
    std::vector<int64_t> ranks;
    double cost = 0;
    for (size_t k = 0; k < seq.size(); ++k) {
      const Row& r = *seq[k];
      if (k > 0) {
        EXPECT_LT(seq[k - 1]->v[cr::kTimestamp], r.v[cr::kTimestamp]);
      }
      cost += r.cost;
      if (r.v[cr::kClick]) {
        ++clicks_in;
        ranks.push_back(r.v[cr::kClickPos]);
      } else {
        EXPECT_EQ(r.v[cr::kClickPos], -1);
      }
    }
    const Row& last = *seq.back();
    for (const Row* r : seq) {
      if (converts) {
        EXPECT_EQ(r->v[cr::kClickNb], clicks_in);
        EXPECT_GT(r->v[cr::kConversionTimestamp], last.v[cr::kTimestamp]);
        EXPECT_EQ(r->v[cr::kConversionTimestamp], last.v[cr::kConversionTimestamp]);
        EXPECT_NEAR(r->cpo, cost, 1e-5);
      } else {
        EXPECT_EQ(r->v[cr::kClickNb], -1);
        EXPECT_EQ(r->v[cr::kClickPos], -1);
        EXPECT_EQ(r->v[cr::kConversionTimestamp], -1);
        EXPECT_EQ(r->cpo, -1.0);
      }
    }
    if (converts) {
      // Clicks ranked 0..n-1 in time order, the last click is the sequence's last row.
      for (size_t k = 0; k < ranks.size(); ++k) EXPECT_EQ(ranks[k], static_cast<int64_t>(k));
      EXPECT_EQ(last.v[cr::kClick], 1);
      EXPECT_EQ(last.v[cr::kClickPos], clicks_in - 1);
    }
  }

  // Lists interleave: some user's rows are not consecutive in the file.
  std::set<int64_t> closed;
  uint64_t reopened = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    if (rows[i].v[cr::kUid] != rows[i - 1].v[cr::kUid]) {
      closed.insert(rows[i - 1].v[cr::kUid]);
      reopened += closed.count(rows[i].v[cr::kUid]);
    }
  }
  EXPECT_GT(reopened, rows.size() / 20);

  // time_since_last_click: the seconds since the same user's previous click.
  std::map<int64_t, int64_t> last_click_at;
  for (const Row& r : rows) {
    const auto it = last_click_at.find(r.v[cr::kUid]);
    EXPECT_EQ(r.v[cr::kTimeSinceLastClick],
              it == last_click_at.end() ? -1 : r.v[cr::kTimestamp] - it->second);
    if (r.v[cr::kClick]) last_click_at[r.v[cr::kUid]] = r.v[cr::kTimestamp];
  }
}

TEST(CriteoWriter, GroupedModeHoldsTheSameRowsInTheSimulatorsOrder) {
  const std::string dir = fresh_dir();
  const Simulator sim(small_lists(5000));
  const Expected want = expected_of(sim);
  const std::string timed = write(sim, join_path(dir, "t.tsv"), false);
  const std::string grouped = write(sim, join_path(dir, "g.tsv"), true);
  EXPECT_TRUE(timed != grouped) << "the time-ordered file interleaves the lists";
  std::vector<std::string> a = split(timed, '\n'), b = split(grouped, '\n');
  EXPECT_EQ(a.front(), b.front());
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  EXPECT_EQ(a, b) << "the same lines in another order";
  std::string header;
  const auto rows = parse(grouped, &header);
  ASSERT_EQ(rows.size(), want.rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].v[cr::kUid], static_cast<int64_t>(want.rows[i].list + 1));
    EXPECT_EQ(rows[i].v[cr::kClick], want.rows[i].label_columns[0]);
    EXPECT_EQ(rows[i].v[cr::kCampaign], static_cast<int64_t>(want.rows[i].shop));
    EXPECT_EQ(rows[i].v[cr::kCat1], static_cast<int64_t>(want.rows[i].item));
    EXPECT_EQ(rows[i].v[cr::kCat1 + 8], static_cast<int64_t>(want.rows[i].position));
  }
}

TEST(CriteoWriter, RoundTripsThroughTheReaderToTheSimulationsLabels) {
  const std::string dir = fresh_dir();
  const Simulator sim(small_lists(20000));
  const Expected want = expected_of(sim);
  const std::string tsv = join_path(dir, kCriteoFileName);
  write(sim, tsv, true);
  // The example config's data section, on this file.
  const std::string examples = std::string(FUNNEL_SOURCE_DIR) + "/examples";
  nlohmann::json data =
      nlohmann::json::parse(read_text_file(examples + "/criteo_attribution.json")).at("data");
  data["train"] = {tsv};
  data.erase("validation");
  data.erase("test");
  data["vocab"]["min_count"] = 1;
  data::ConvertOptions quiet;
  quiet.progress = false;
  const data::DatasetStats stats =
      data::convert_to_cache(data::parse_data_config(data, examples), join_path(dir, "c"), quiet);
  const auto& split = stats.splits.at("train");
  EXPECT_EQ(split.rows, want.rows.size());
  EXPECT_EQ(split.positives[0], want.clicks);
  EXPECT_EQ(split.positives[1], want.purchases);
  EXPECT_EQ(split.lists, want.sequences);
  EXPECT_EQ(split.lists_ungrouped, 0u);
  EXPECT_EQ(split.lists_unordered, 0u);
  const data::Cache cache(join_path(dir, "c"));
  const data::CacheSplit& train = cache.split("train");
  ASSERT_EQ(train.rows(), want.rows.size());
  for (size_t i = 0; i < want.rows.size(); ++i) {
    EXPECT_EQ(train.labels()[2 * i], want.rows[i].label_columns[0]) << "row " << i;
    EXPECT_EQ(train.labels()[2 * i + 1], want.rows[i].label_columns[1]) << "row " << i;
    if (i > 0 && train.list()[i] == train.list()[i - 1]) {
      EXPECT_LT(train.position()[i - 1], train.position()[i]);
    }
    // A new list starts exactly after a purchase or where the simulated list changes.
    if (i > 0) {
      const bool starts =
          want.rows[i - 1].label_columns[1] || want.rows[i - 1].list != want.rows[i].list;
      EXPECT_EQ(train.list()[i] != train.list()[i - 1], starts) << "row " << i;
    }
  }
}

TEST(CriteoWriter, WriteSimulationWritesTheFileOnRequestAndARerunWithoutItRemovesIt) {
  const std::string dir = fresh_dir();
  const Simulator sim(small_lists(3000));
  OutputOptions o;
  o.criteo = CriteoOutput::kGrouped;
  const WriteResult w = write_simulation(sim, dir, o);
  EXPECT_EQ(w.criteo_path, join_path(dir, kCriteoFileName));
  EXPECT_EQ(w.criteo_bytes, file_size(w.criteo_path));
  std::string header;
  EXPECT_EQ(parse(read_text_file(w.criteo_path), &header).size(), 3000u);
  const auto summary = nlohmann::json::parse(read_text_file(join_path(dir, "simulation.json")));
  EXPECT_EQ(summary.at("outputs").at("criteo"), "grouped");
  write_simulation(sim, dir, OutputOptions());
  EXPECT_FALSE(path_exists(w.criteo_path)) << "it would describe another simulation";
}

TEST(CriteoWriter, RefusesASimulationWithoutLists) {
  const std::string dir = fresh_dir();
  SimConfig c = SimConfig::preset_named("aliccp-like");
  c.update({{"rows", 1000}});
  const Simulator sim(c);
  EXPECT_THROW(CriteoWriter(sim, join_path(dir, "x.tsv"), {}), Error);
}

}  // namespace criteo_writer_test
}  // namespace funnel::sim
