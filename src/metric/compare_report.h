#pragma once
// Paper-style tables of a `funnel compare` result (compare.json): per model the mean +- std over
// seeds of the test metrics, the AUC gain over the DNN baseline (AutoHERI Table 2), F1 /
// precision / recall at the top 0.1 %, 0.6 %, 1 % (ESM2 tables 4-5), GAUC where the data has a
// group column, NDCG of the CTR and CTCVR over the whole list and @5 where it has a list column
// (HEROES §5.1), and the oracle row when the data carries the true probabilities.
// No LibTorch here: JSON in, markdown out.

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace funnel::metric {

/// Mean and sample standard deviation (divisor n - 1; 0 for one value) of the finite values;
/// n = 0 and NaN mean/std when there is none.
struct SeedStats {
  size_t n = 0;
  double mean = 0;
  double std = 0;
};
SeedStats seed_stats(const std::vector<double>& values);

/// Gain of `auc` over `baseline_auc` in AUC points x 100 (percentage points): 0.7050 over 0.7000
/// is +0.50. NaN when either is not finite.
double auc_gain_points(double auc, double baseline_auc);

/// The values of a metric over a model's successful runs: `path` inside each run object,
/// e.g. {"test", "cvr", "auc"}; runs without it are skipped.
std::vector<double> run_values(const nlohmann::json& compare, const std::string& model,
                               const std::vector<std::string>& path);

/// Markdown of a compare.json object ("models", "seeds", "runs", optional "oracle", "data",
/// "wall_seconds", "baseline"): the tables described above, ready to paste into docs.
std::string compare_markdown(const nlohmann::json& compare);

}  // namespace funnel::metric
