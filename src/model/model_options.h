#pragma once
// Strict JSON readers for the option kinds several models share (layer sizes, dropout,
// activation), so every model reports a bad value the same way, with its JSON path.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/json_fields.h"
#include "model/blocks/mlp.h"

namespace funnel::model {

/// The widest layer a config may ask for.
constexpr int64_t kMaxWidth = 65536;

/// A list of layer widths in [1, kMaxWidth], e.g. "towers": [200, 80, 20]; `fallback` when
/// absent. An empty list is legitimate: no hidden layer (a logistic head on the input).
inline std::vector<int64_t> read_layer_sizes(JsonFields& fields, const std::string& key,
                                             const std::vector<int64_t>& fallback) {
  if (!fields.has(key)) {
    fields.get<int>(key, 0);  // marks the key as known for finish()'s message
    return fallback;
  }
  const nlohmann::json& v = fields.at(key);
  if (!v.is_array()) {
    throw Error(fields.path(key) + ": expected a list of layer widths in [1, " +
                std::to_string(kMaxWidth) + "] ([] = no hidden layer), got " + v.dump());
  }
  std::vector<int64_t> sizes;
  for (const auto& w : v) {
    if (!w.is_number_integer() || w.get<int64_t>() <= 0 || w.get<int64_t>() > kMaxWidth) {
      throw Error(fields.path(key) + ": expected a list of layer widths in [1, " +
                  std::to_string(kMaxWidth) + "] ([] = no hidden layer), got " + v.dump());
    }
    sizes.push_back(w.get<int64_t>());
  }
  return sizes;
}

/// A dropout probability in [0, 1).
inline double read_dropout(JsonFields& fields, const std::string& key, double fallback) {
  const double p = fields.get<double>(key, fallback);
  if (!(p >= 0.0 && p < 1.0)) {
    throw Error(fields.path(key) + ": expected a probability in [0, 1), got " + std::to_string(p));
  }
  return p;
}

/// An activation by name (relu, leaky_relu, tanh); the message names the path and the choices.
/// A finite loss weight >= 0 (a model's own terms: distillation, counterfactual, imputation).
inline double read_weight(JsonFields& fields, const std::string& key, double fallback) {
  const double w = fields.get<double>(key, fallback);
  if (!(w >= 0 && std::isfinite(w))) {
    throw Error(fields.path(key) + ": expected a finite weight >= 0, got " + std::to_string(w));
  }
  return w;
}

/// A propensity floor in (0, 1] (inverse-propensity weights at most 1 / floor).
inline double read_min_propensity(JsonFields& fields, const std::string& key, double fallback) {
  const double p = fields.get<double>(key, fallback);
  if (!(p > 0 && p <= 1)) {
    throw Error(fields.path(key) + ": expected a value in (0, 1], got " + std::to_string(p));
  }
  return p;
}

inline Activation read_activation(JsonFields& fields, const std::string& key, Activation fallback) {
  if (!fields.has(key)) {
    fields.get<std::string>(key, "");  // marks the key as known for finish()'s message
    return fallback;
  }
  // A null activation is an error (no name), unlike a missing one.
  return parse_activation(fields.get<std::string>(key, ""), fields.path(key));
}

}  // namespace funnel::model
