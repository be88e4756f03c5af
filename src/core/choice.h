#pragma once
// Strings that name something (a format, an activation, an optimizer, a metric): one table of
// choices per enum, parsed where the config is read, with every valid choice in the message.
//
//   constexpr Choice<Pooling> kPoolings[] = {{"sum", Pooling::kSum}, {"mean", Pooling::kMean}};
//   o.pooling = parse_choice(f.get<std::string>("pooling", "sum"), kPoolings, f.path("pooling"));
//   j["pooling"] = choice_name(o.pooling, kPoolings);

#include <cstddef>
#include <string>
#include <vector>

#include "core/error.h"

namespace funnel {

template <typename T>
struct Choice {
  const char* name;
  T value;
};

/// "a, b or c" (for messages).
inline std::string choice_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

template <typename T, size_t N>
std::vector<std::string> choice_names(const Choice<T> (&choices)[N]) {
  std::vector<std::string> names;
  for (const auto& c : choices) names.push_back(c.name);
  return names;
}

/// Throws "<path>: expected a, b or c, got 'x'" unless `name` is one of `names`.
inline void check_choice(const std::string& name, const std::vector<std::string>& names,
                         const std::string& path) {
  for (const auto& n : names) {
    if (n == name) return;
  }
  throw Error(path + ": expected " + choice_list(names) + ", got '" + name + "'");
}

/// The value named `name`; throws naming `path` and every choice otherwise.
template <typename T, size_t N>
T parse_choice(const std::string& name, const Choice<T> (&choices)[N], const std::string& path) {
  for (const auto& c : choices) {
    if (name == c.name) return c.value;
  }
  check_choice(name, choice_names(choices), path);  // throws
  return choices[0].value;
}

/// The name of `value` (its first entry); throws on a value missing from the table.
template <typename T, size_t N>
const char* choice_name(T value, const Choice<T> (&choices)[N]) {
  for (const auto& c : choices) {
    if (c.value == value) return c.name;
  }
  throw Error("choice_name: a value without a name (" + choice_list(choice_names(choices)) + ")");
}

}  // namespace funnel
