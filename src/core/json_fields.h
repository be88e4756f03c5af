#pragma once
// Strict reading of a JSON object: typed getters with defaults, a JSON path in every error,
// and finish() rejecting keys nobody asked for (so a typo never passes silently).

#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"

namespace funnel {

class JsonFields {
 public:
  /// `path` names the object in messages, e.g. "data.format".
  JsonFields(const nlohmann::json& object, std::string path)
      : obj_(object), path_(std::move(path)) {
    if (!obj_.is_object()) throw Error(path_ + ": expected a JSON object, got " + obj_.dump());
  }

  bool has(const std::string& key) const { return obj_.contains(key); }
  std::string path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  /// The raw value (marks the key as used); throws when missing.
  const nlohmann::json& at(const std::string& key) {
    used_.insert(key);
    if (!obj_.contains(key)) throw Error(path(key) + ": required key is missing");
    return obj_.at(key);
  }

  template <typename T>
  T get(const std::string& key, const T& fallback) {
    used_.insert(key);
    if (!obj_.contains(key) || obj_.at(key).is_null()) return fallback;
    return convert<T>(key, obj_.at(key));
  }

  /// get(), and the value must lie in [lo, hi] (the message names the key and the range).
  template <typename T>
  T get_in(const std::string& key, const T& fallback, const T& lo, const T& hi) {
    const T v = get<T>(key, fallback);
    if (!(v >= lo && v <= hi)) {
      std::ostringstream os;
      os << path(key) << ": expected a value in [" << lo << ", " << hi << "], got " << v;
      throw Error(os.str());
    }
    return v;
  }

  template <typename T>
  T require(const std::string& key) {
    return convert<T>(key, at(key));
  }

  /// Throws naming every key that was never read.
  void finish() const {
    std::string unknown;
    for (auto it = obj_.begin(); it != obj_.end(); ++it) {
      if (used_.count(it.key()) == 0) unknown += (unknown.empty() ? "" : ", ") + it.key();
    }
    if (!unknown.empty()) {
      std::string known;
      for (const auto& k : used_) known += (known.empty() ? "" : ", ") + k;
      throw Error((path_.empty() ? std::string("config") : path_) + ": unknown key(s) " + unknown +
                  " (known here: " + known + ")");
    }
  }

 private:
  template <typename T>
  T convert(const std::string& key, const nlohmann::json& v) const {
    try {
      if constexpr (std::is_same_v<T, bool>) {
        if (!v.is_boolean()) throw Error("expected true or false");
      } else if constexpr (std::is_integral_v<T>) {
        if (!v.is_number_integer()) throw Error("expected an integer");
        // In range of T, not wrapped (-1 as a size would be 2^64 - 1).
        if constexpr (std::is_unsigned_v<T>) {
          // (A value built in C++ from a signed type is stored signed, even when >= 0.)
          if ((!v.is_number_unsigned() && v.get<int64_t>() < 0) ||
              v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
            throw Error("expected an integer in [0, " +
                        std::to_string(std::numeric_limits<T>::max()) + "]");
          }
        } else {
          const bool in_range =
              v.is_number_unsigned()
                  ? v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                  : v.get<int64_t>() >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                        v.get<int64_t>() <= static_cast<int64_t>(std::numeric_limits<T>::max());
          if (!in_range) {
            throw Error("expected an integer in [" + std::to_string(std::numeric_limits<T>::min()) +
                        ", " + std::to_string(std::numeric_limits<T>::max()) + "]");
          }
        }
      } else if constexpr (std::is_floating_point_v<T>) {
        if (!v.is_number()) throw Error("expected a number");
        if (!std::isfinite(v.get<double>())) throw Error("expected a finite number");
      } else if constexpr (std::is_same_v<T, std::string>) {
        if (!v.is_string()) throw Error("expected a string");
      }
      return v.get<T>();
    } catch (const std::exception& e) {
      throw Error(path(key) + ": " + e.what() + ", got " + v.dump());
    }
  }

  const nlohmann::json& obj_;
  std::string path_;
  std::set<std::string> used_;
};

}  // namespace funnel
