#pragma once
// Splitting a line of a benchmark's CSV (commas, no quoting) into its cells.

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

}  // namespace funnel::bench
