#pragma once
// A small synthetic CSV data set with known content, for conversion and loader tests.

#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "data/schema.h"
#include "test_util.h"

namespace funnel::data::testing {

struct SyntheticRow {
  int id;
  int click, buy;
  std::string user, item;
  std::vector<std::pair<std::string, float>> hist;
  double price;  // NaN = missing
};

struct Synthetic {
  std::vector<SyntheticRow> rows;
  std::string path;
};

/// Rows with Zipf-ish users/items, a weighted multi-valued history, a numeric price with
/// some missing values, and a few conversions without click.
inline Synthetic make_synthetic(const std::string& dir, const std::string& name, int n,
                                uint64_t seed, int first_id = 0) {
  Synthetic s;
  Rng rng(seed);
  std::string csv = "rid,click,buy,user,item,hist,price,unused\n";
  for (int i = 0; i < n; ++i) {
    SyntheticRow r;
    r.id = first_id + i;
    r.click = rng.uniform() < 0.3;
    r.buy = r.click ? rng.uniform() < 0.2 : rng.uniform() < 0.01;
    r.user = "u" + std::to_string(static_cast<int>(std::pow(rng.uniform(), 3) * 50));
    r.item = "item_" + std::to_string(static_cast<int>(std::pow(rng.uniform(), 2) * 200));
    const int len = static_cast<int>(rng.below(4));
    std::string hist;
    for (int k = 0; k < len; ++k) {
      const std::string h = "h" + std::to_string(rng.below(30));
      const float w = static_cast<float>(1 + rng.below(4)) * 0.5f;
      r.hist.emplace_back(h, w);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%s:%g", h.c_str(), w);
      hist += (k ? "|" : "") + std::string(buf);
    }
    r.price = rng.uniform() < 0.1 ? NAN : std::round(rng.uniform() * 10000) / 100;
    char price[32] = "";
    if (!std::isnan(r.price)) std::snprintf(price, sizeof price, "%.2f", r.price);
    csv += std::to_string(r.id) + "," + std::to_string(r.click) + "," + std::to_string(r.buy) +
           "," + r.user + "," + r.item + "," + hist + "," + price + ",x\n";
    s.rows.push_back(r);
  }
  s.path = write_file(dir, name, csv);
  return s;
}

inline nlohmann::json synthetic_config_json(const std::string& train, const std::string& test) {
  return {{"train", {train}},
          {"test", {test}},
          {"labels", {"click", "buy"}},
          {"categorical",
           {"user", "item", {{"name", "hist"}, {"multi", true}, {"weighted", true}}}},
          {"numeric", {"price"}},
          {"group", "user"},
          {"aux", {"rid"}},
          {"vocab", {{"min_count", 2}}}};
}

}  // namespace funnel::data::testing
