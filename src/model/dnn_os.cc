#include "model/dnn_os.h"

#include <torch/nn/module.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace funnel::model {

DnnOsOptions DnnOsOptions::from_json(const nlohmann::json& j, const std::string& path) {
  DnnOsOptions o;
  if (j.is_null()) return o;
  FUNNEL_CHECK(j.is_object(), path << ": expected a JSON object, got " << j.dump());
  nlohmann::json rest = j;
  if (rest.contains("oversample")) {
    const nlohmann::json& v = rest.at("oversample");
    FUNNEL_CHECK(v.is_number() && v.get<double>() >= 1.0 && std::isfinite(v.get<double>()),
                 path << ".oversample: expected a number >= 1, got " << v.dump());
    o.oversample = v.get<double>();
    rest.erase("oversample");
  }
  o.towers = EsmmOptions::from_json(rest, path);
  return o;
}

nlohmann::json DnnOsOptions::to_json() const {
  nlohmann::json j = towers.to_json();
  j["oversample"] = oversample;
  return j;
}

DnnOsModel::DnnOsModel(const FunnelSpec& funnel, int64_t input_dim, DnnOsOptions options)
    : DnnModel(funnel, input_dim, std::move(options.towers)),
      parents_(funnel.parents),
      oversample_(options.oversample) {}

FunnelOutput DnnOsModel::forward(const ModelInput& input) {
  FunnelOutput out = DnnModel::forward(input);
  const std::vector<torch::Tensor> log_p = out.cond_log_p, log_q = out.cond_log_q;
  const std::vector<int> parents = parents_;
  const double k = oversample_;
  out.event_losses = [log_p, log_q, parents, k](const torch::Tensor& y) {
    // ESM2 §4.1.3 over-sampling as row weights: positives of the last event count k times.
    const torch::Tensor w = 1.0 + (k - 1.0) * (y[y.size(0) - 1] > 0.5).to(y.scalar_type());
    std::vector<torch::Tensor> terms(parents.size());
    for (size_t e = 0; e < parents.size(); ++e) {
      const torch::Tensor nll = -(y[e] * log_p[e] + (1.0 - y[e]) * log_q[e]);
      const torch::Tensor we =
          parents[e] < 0 ? w : w * (y[parents[e]] > 0.5).to(y.scalar_type());  // click space
      terms[e] = (we * nll).sum() / (parents[e] < 0 ? we.sum() : we.sum().clamp_min(1.0));
    }
    return terms;
  };
  return out;
}

}  // namespace funnel::model
