#pragma once
// Parsing one whole cell of text as an integer: what every reader and the row encoder accept
// (std::from_chars: no sign other than '-', no spaces, nothing after the digits).

#include <charconv>
#include <string_view>
#include <system_error>

namespace funnel::data {

/// True when all of `s` (non-empty) is an integer of type T; the value in `out`.
template <typename T>
bool parse_int(std::string_view s, T& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace funnel::data
