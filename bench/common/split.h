#pragma once
// Splitting a line of a benchmark's CSV (commas, no quoting) into its cells, and a
// command-line list ("1,2,4") into its items.

#include <cstdint>
#include <string>
#include <vector>

namespace funnel::bench {

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

/// The non-empty items of a comma-separated option value: "a,,b" -> {"a", "b"}.
inline std::vector<std::string> option_list(const std::string& s) {
  std::vector<std::string> out;
  for (auto& item : split(s, ',')) {
    if (!item.empty()) out.push_back(std::move(item));
  }
  return out;
}

/// option_list() as integers.
inline std::vector<int64_t> option_ints(const std::string& s) {
  std::vector<int64_t> out;
  for (const auto& item : option_list(s)) out.push_back(std::stoll(item));
  return out;
}

}  // namespace funnel::bench
