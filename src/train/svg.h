#pragma once
// The small pieces every self-contained SVG plot here shares (no scripts, fonts or network).

#include <cstdio>
#include <string>

namespace funnel::train::svg {

/// Text for SVG content and attribute values.
inline std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

/// A number with a printf format.
inline std::string fmt(double v, const char* f = "%.2f") {
  char buf[32];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace funnel::train::svg
