// The simulator against its own contract: calibrated target rates, calibrated truth (labels
// drawn from the recorded probabilities), funnel order, determinism, list dynamics, configs.

#include "sim/simulator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "data/converter.h"
#include "data/cache.h"
#include "data/schema.h"
#include "sim/output.h"

namespace funnel::sim {
namespace {

SimConfig small(const std::string& preset, uint64_t rows = 200000) {
  SimConfig c = SimConfig::preset_named(preset);
  c.rows = rows;
  c.users = 5000;
  c.items = 20000;
  c.shops = 3000;
  c.brands = 2000;
  return c;
}

std::vector<SimRow> rows_of(const SimConfig& c) {
  std::vector<SimRow> rows;
  Simulator(c).generate([&](const SimRow& r, const Simulator&) { rows.push_back(r); });
  return rows;
}

/// |observed - expected| within 4.5 binomial standard deviations (plus 2 % of the expectation
/// for the calibration sample's own noise).
void expect_rate(double observed, double expected, double n, const std::string& what) {
  const double sd = std::sqrt(expected * (1 - expected) / n);
  EXPECT_NEAR(observed, expected, 4.5 * sd + 0.02 * expected) << what << " over " << n << " rows";
}

TEST(Simulator, RealisedRatesMatchTheTargets) {
  for (const std::string preset : {"aliccp-like", "ads-3stage", "esm2", "lists"}) {
    const SimConfig c = small(preset);
    const Simulator sim(c);
    // The calibration sample hits the targets (bisection).
    for (size_t s = 0; s < sim.calibration().rate.size(); ++s) {
      EXPECT_NEAR(sim.calibration().rate[s], sim.calibration().target[s],
                  1e-6 * sim.calibration().target[s] + 1e-9)
          << preset << " stage " << s;
    }
    // And the generated rows: rate of each stage among the rows where its condition holds.
    double n = 0, clicks = 0, second = 0, third = 0, third_base = 0, no_action_buy = 0,
           no_action = 0;
    sim.generate([&](const SimRow& r, const Simulator&) {
      ++n;
      clicks += r.label_columns[0];
      if (!r.label_columns[0]) return;
      switch (c.funnel) {
        case FunnelKind::kClickConversion:
        case FunnelKind::kLists:
          second += r.label_columns[1];
          break;
        case FunnelKind::kClickArrivalConversion:
          second += r.label_columns[1];
          if (r.label_columns[1]) third_base += 1, third += r.label_columns[2];
          break;
        case FunnelKind::kEsm2: {
          const bool action = r.label_columns[1] || r.label_columns[2];
          second += action;
          if (action) third_base += 1, third += r.label_columns[3];
          if (!action) no_action += 1, no_action_buy += r.label_columns[3];
          break;
        }
      }
    });
    expect_rate(clicks / n, c.ctr, n, preset + " ctr");
    switch (c.funnel) {
      case FunnelKind::kClickConversion:
      case FunnelKind::kLists:
        expect_rate(second / clicks, c.cvr, clicks, preset + " cvr");
        break;
      case FunnelKind::kClickArrivalConversion:
        expect_rate(second / clicks, c.arrival_rate, clicks, preset + " arrival");
        expect_rate(third / third_base, c.vr, third_base, preset + " vr");
        break;
      case FunnelKind::kEsm2:
        expect_rate(second / clicks, c.action_rate, clicks, preset + " action");
        expect_rate(third / third_base, c.purchase_after_action, third_base, preset + " buy|action");
        expect_rate(no_action_buy / no_action, c.purchase_without_action, no_action,
                    preset + " buy|no action");
        break;
    }
  }
}

TEST(Simulator, LabelsAreDrawnFromTheRecordedTruth) {
  // Calibration of the simulator itself: in each decile of true P(click), the click rate is
  // the mean true probability; likewise P(purchase | click) on clicked rows.
  for (const std::string preset : {"aliccp-like", "lists"}) {
    const std::vector<SimRow> rows = rows_of(small(preset, 300000));
    for (int event : {0, 1}) {
      std::vector<std::pair<float, uint8_t>> v;
      for (const SimRow& r : rows) {
        if (event == 1 && !r.label_columns[0]) continue;
        v.push_back({r.truth[event], r.label_columns[event]});
      }
      std::sort(v.begin(), v.end());
      const size_t buckets = 10;
      for (size_t b = 0; b < buckets; ++b) {
        const size_t lo = v.size() * b / buckets, hi = v.size() * (b + 1) / buckets;
        double p = 0, y = 0;
        for (size_t i = lo; i < hi; ++i) p += v[i].first, y += v[i].second;
        const double n = static_cast<double>(hi - lo);
        EXPECT_NEAR(y / n, p / n, 4.5 * std::sqrt(p / n * (1 - p / n) / n) + 1e-4)
            << preset << " event " << event << " bucket " << b;
      }
    }
  }
}

TEST(Simulator, LabelsRespectTheFunnel) {
  for (const std::string preset : {"aliccp-like", "ads-3stage", "esm2", "lists"}) {
    const SimConfig c = small(preset, 100000);
    uint64_t later_events = 0;
    Simulator(c).generate([&](const SimRow& r, const Simulator&) {
      const bool click = r.label_columns[0];
      for (int l = 1; l < 4; ++l) {
        if (r.label_columns[l]) {
          ASSERT_TRUE(click) << preset << ": a later event without a click";
          ++later_events;
        }
      }
      if (c.funnel == FunnelKind::kClickArrivalConversion && r.label_columns[2]) {
        ASSERT_TRUE(r.label_columns[1]) << "conversion without arrival";
      }
      for (size_t e = 0; e < sim_events(c.funnel).size(); ++e) {
        ASSERT_GT(r.truth[e], 0.0f);
        ASSERT_LT(r.truth[e], 1.0f);
      }
    });
    EXPECT_GT(later_events, 0u) << preset;
  }
  // ESM2: purchases happen both after the action and without it (§3), and the recorded
  // P(purchase | click) is the marginal over the action.
  uint64_t with = 0, without = 0;
  Simulator(small("esm2", 200000)).generate([&](const SimRow& r, const Simulator&) {
    if (!r.label_columns[3]) return;
    (r.label_columns[1] || r.label_columns[2] ? with : without) += 1;
  });
  EXPECT_GT(with, 0u);
  EXPECT_GT(without, 0u);
}

TEST(Simulator, SameSeedSameBytesOtherSeedOtherBytes) {
  const std::string dir = "/tmp/funnel_sim_test_" + std::to_string(getpid());
  SimConfig c = small("esm2", 20000);
  write_csv(Simulator(c), dir + "/a", false);
  write_csv(Simulator(c), dir + "/b", false);
  c.seed = 2;
  write_csv(Simulator(c), dir + "/c", false);
  for (const char* f : {"train.csv", "validation.csv", "test.csv", "experiment.json"}) {
    EXPECT_EQ(read_text_file(dir + "/a/" + f), read_text_file(dir + "/b/" + f)) << f;
  }
  EXPECT_NE(read_text_file(dir + "/a/train.csv"), read_text_file(dir + "/c/train.csv"));
  remove_all(dir);
}

TEST(Simulator, WrittenFilesConvertWithTheirConfig) {
  const std::string dir = "/tmp/funnel_sim_convert_" + std::to_string(getpid());
  const SimConfig c = small("esm2", 30000);
  const WriteResult w = write_csv(Simulator(c), dir, false);
  EXPECT_EQ(w.rows[0] + w.rows[1] + w.rows[2], c.rows);
  const auto experiment = nlohmann::json::parse(read_text_file(w.config_path));
  const data::DataConfig config = data::parse_data_config(experiment.at("data"), dir);
  data::ConvertOptions co;
  co.progress = false;
  const data::DatasetStats stats = data::convert_to_cache(config, dir + "/cache", co);
  (void)stats;
  const data::Cache cache(dir + "/cache");
  EXPECT_EQ(cache.split("train").rows(), w.rows[0]);
  EXPECT_EQ(cache.split("test").rows(), w.rows[2]);
  // ESM2's funnel: action = cart OR wish, purchase's parent is the click; truth per event.
  EXPECT_EQ(cache.layout().events, (std::vector<std::string>{"click", "action", "purchase"}));
  EXPECT_EQ(cache.layout().event_parent, (std::vector<int>{-1, 0, 0}));
  ASSERT_TRUE(cache.layout().has_truth());
  EXPECT_EQ(cache.schema().labels[1].columns, (std::vector<std::string>{"cart", "wish"}));
  // The cached truth equals the generated truth, row for row (train split, in order).
  std::vector<SimRow> train;
  Simulator(c).generate([&](const SimRow& r, const Simulator&) {
    if (r.split == SimRow::kTrain) train.push_back(r);
  });
  const data::CacheSplit& s = cache.split("train");
  const size_t A = cache.layout().aux.size();
  for (size_t i = 0; i < train.size(); i += 97) {
    for (size_t e = 0; e < 3; ++e) {
      ASSERT_EQ(s.aux()[i * A + cache.layout().truth_aux[e]], train[i].truth[e]) << i;
    }
    ASSERT_EQ(s.labels()[i * 3 + 1], train[i].label_columns[1] | train[i].label_columns[2]);
  }
  remove_all(dir);
}

TEST(Simulator, ListsHavePositionBiasAndContext) {
  const SimConfig c = small("lists", 200000);
  std::vector<double> truth_at(c.list_length + 1, 0), n_at(c.list_length + 1, 0);
  double after_click = 0, n_after_click = 0, after_none = 0, n_after_none = 0;
  uint64_t list = ~0ULL;
  uint32_t expected_position = 1;
  bool prev_click = false;
  Simulator(c).generate([&](const SimRow& r, const Simulator&) {
    if (r.list != list) list = r.list, expected_position = 1, prev_click = false;
    ASSERT_EQ(r.position, expected_position++);
    truth_at[r.position] += r.truth[0];
    n_at[r.position] += 1;
    if (r.position == 5) {
      (prev_click ? after_click : after_none) += r.truth[0];
      (prev_click ? n_after_click : n_after_none) += 1;
    }
    prev_click = r.label_columns[0];
  });
  // Examination decays with the position (HEROES §5.4) ...
  EXPECT_GT(truth_at[1] / n_at[1], 1.5 * truth_at[c.list_length] / n_at[c.list_length]);
  // ... and a click excites further clicks (HEROES §1).
  EXPECT_GT(after_click / n_after_click, 1.3 * after_none / n_after_none);
}

// HEROES's two notions of relevance (issue 15, §5): the behavioural truth of a click is the
// inherent one moved by the list's history, logit(truth) = logit(inherent) + excitation x
// (clicks among the last 3 items) - inhibition x (a purchase earlier in the list); the
// purchase given the click has no history term. At a list's first item they are equal.
TEST(Simulator, ListsCarryTheInherentTruthBesideTheBehaviouralOne) {
  const SimConfig c = small("lists", 50000);
  ASSERT_GT(c.excitation, 0);
  ASSERT_GT(c.inhibition, 0);
  const std::vector<SimEvent> ev = sim_events(FunnelKind::kLists);
  EXPECT_EQ(ev[0].inherent_column, "inherent_click");
  EXPECT_EQ(ev[1].inherent_column, "inherent_purchase");
  EXPECT_TRUE(sim_events(FunnelKind::kClickConversion)[0].inherent_column.empty());
  auto logit = [](double p) { return std::log(p / (1 - p)); };
  uint64_t list = ~0ULL, moved = 0, rows = 0;
  int recent[3] = {0, 0, 0};
  bool purchased = false;
  Simulator(c).generate([&](const SimRow& r, const Simulator&) {
    if (r.list != list) {
      list = r.list;
      recent[0] = recent[1] = recent[2] = 0;
      purchased = false;
      EXPECT_EQ(r.truth[0], r.inherent[0]);
    }
    const double context =
        c.excitation * (recent[0] + recent[1] + recent[2]) - (purchased ? c.inhibition : 0.0);
    EXPECT_NEAR(logit(r.truth[0]) - logit(r.inherent[0]), context, 2e-3) << rows;
    EXPECT_EQ(r.truth[1], r.inherent[1]);
    moved += context != 0;
    ++rows;
    recent[2] = recent[1];
    recent[1] = recent[0];
    recent[0] = r.label_columns[0];
    purchased = purchased || r.label_columns[1];
  });
  EXPECT_GT(moved, rows / 20) << "the history moves a good share of the clicks";
}

// HEROES §5.4's position-bias protocol: PBM clicks P(c_i) = rho_i^tau P(r_i) on lists ordered
// by the initial ranker. Per position, the clicks match rho_i^tau x the relevance of the items
// shown there (their sum, so the ranker's ordering is accounted for) within binomial noise.
TEST(Simulator, PbmClickRatePerPositionIsRhoToTheTauTimesRelevance) {
  for (const double tau : {0.0, 1.0, 2.0}) {
    SimConfig c = small("lists-pbm", 200000);
    c.tau = tau;
    const size_t L = static_cast<size_t>(c.list_length);
    std::vector<double> clicks(L + 1, 0), expected(L + 1, 0), var(L + 1, 0), rel(L + 1, 0);
    std::vector<double> n(L + 1, 0);
    uint64_t list = ~0ULL;
    uint32_t expected_position = 1;
    double purchases_without_click = 0;
    Simulator(c).generate([&](const SimRow& r, const Simulator&) {
      if (r.list != list) list = r.list, expected_position = 1;
      ASSERT_EQ(r.position, expected_position++);
      const double p = pbm_examination(static_cast<int>(r.position), tau) * r.inherent[0];
      EXPECT_NEAR(r.truth[0], p, 1e-6);
      clicks[r.position] += r.label_columns[0];
      expected[r.position] += p;
      var[r.position] += p * (1 - p);
      rel[r.position] += r.inherent[0];
      n[r.position] += 1;
      purchases_without_click += r.label_columns[1] && !r.label_columns[0];
    });
    EXPECT_EQ(purchases_without_click, 0);
    for (size_t i = 1; i <= L; ++i) {
      EXPECT_NEAR(clicks[i], expected[i], 4.5 * std::sqrt(var[i]))
          << "tau " << tau << ", position " << i;
      // The same as rho_i^tau x the mean relevance at the position.
      EXPECT_NEAR(expected[i] / n[i], pbm_examination(static_cast<int>(i), tau) * rel[i] / n[i],
                  1e-9);
    }
    // The initial ranker puts more relevant items first (ranker_noise 1 against signal 1).
    EXPECT_GT(rel[1] / n[1], 1.3 * rel[L] / n[L]) << "tau " << tau;
  }
}

TEST(Simulator, PbmRelevanceLabelsShareTheLists) {
  SimConfig c = small("lists-pbm", 20000);
  SimConfig r = c;
  r.labels = SimLabels::kRelevance;
  const std::vector<SimRow> a = rows_of(c), b = rows_of(r);
  ASSERT_EQ(a.size(), b.size());
  double rel = 0, p_rel = 0;
  size_t clicks_not_relevant = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].item, b[i].item);
    ASSERT_EQ(a[i].position, b[i].position);
    ASSERT_EQ(a[i].inherent[0], b[i].inherent[0]);
    EXPECT_EQ(b[i].truth[0], b[i].inherent[0]);  // the truth of a relevance label
    // A click is an observed relevant item: never where the relevance label is 0.
    clicks_not_relevant += a[i].label_columns[0] && !b[i].label_columns[0];
    EXPECT_LE(a[i].label_columns[1], b[i].label_columns[1]);
    rel += b[i].label_columns[0];
    p_rel += b[i].inherent[0];
  }
  EXPECT_EQ(clicks_not_relevant, 0u);
  expect_rate(rel / a.size(), p_rel / a.size(), static_cast<double>(a.size()), "relevance");
}

TEST(Simulator, PbmWithoutRankerNoiseShowsTheIdealOrder) {
  SimConfig c = small("lists-pbm", 5000);
  c.ranker_noise = 0;
  const std::vector<SimRow> rows = rows_of(c);
  for (size_t i = 1; i < rows.size(); ++i) {
    if (rows[i].list == rows[i - 1].list) {
      EXPECT_LE(rows[i].inherent[0], rows[i - 1].inherent[0]) << "row " << i;
    }
  }
}

TEST(Simulator, PbmExaminationAndConfigErrors) {
  EXPECT_DOUBLE_EQ(pbm_examination(1, 1.0), 0.68);
  EXPECT_DOUBLE_EQ(pbm_examination(10, 1.0), 0.06);
  EXPECT_DOUBLE_EQ(pbm_examination(4, 2.0), 0.34 * 0.34);
  EXPECT_DOUBLE_EQ(pbm_examination(7, 0.0), 1.0);
  EXPECT_NEAR(pbm_examination(12, 1.0), 0.06 * 0.75 * 0.75, 1e-12);
  EXPECT_THROW(pbm_examination(0, 1.0), Error);
  SimConfig c = SimConfig::preset_named("lists-pbm");
  EXPECT_THROW(c.update({{"tau", -1}}), Error);
  EXPECT_THROW(c.update({{"excitation", 0.5}}), Error);  // PBM has no history term
  EXPECT_THROW(c.update({{"click_model", "cascade"}}), Error);
  EXPECT_THROW(c.update({{"labels", "clicks"}}), Error);
  SimConfig l = SimConfig::preset_named("lists");
  EXPECT_THROW(l.update({{"labels", "relevance"}}), Error);  // relevance labels need PBM
  SimConfig a = SimConfig::preset_named("aliccp-like");
  EXPECT_THROW(a.update({{"click_model", "pbm"}}), Error);
  c.update({{"tau", 1.5}, {"labels", "relevance"}, {"ranker_noise", 0.5}});
  SimConfig round;
  round.update(c.to_json());
  EXPECT_EQ(round.to_json(), c.to_json());
}

TEST(SimConfig, PresetsAndOverridesAreStrict) {
  EXPECT_THROW(SimConfig::preset_named("criteo"), Error);
  SimConfig c = SimConfig::preset_named("aliccp-like");
  c.update({{"rows", 1000}, {"cvr", 0.05}});
  EXPECT_EQ(c.rows, 1000u);
  EXPECT_DOUBLE_EQ(c.cvr, 0.05);
  EXPECT_THROW(c.update({{"cvrr", 0.05}}), Error);
  EXPECT_THROW(c.update({{"cvr", 1.5}}), Error);
  EXPECT_THROW(c.update({{"funnel", "four_stage"}}), Error);
  SimConfig round;
  round.update(c.to_json());
  EXPECT_EQ(round.to_json(), c.to_json());
}

}  // namespace
}  // namespace funnel::sim
