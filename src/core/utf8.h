#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace funnel {

/// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
/// ASCII is checked 8 bytes at a time, which is the common case for ids.
inline bool valid_utf8(std::string_view s);

/// Length of the well-formed UTF-8 character at the start of `s` (1-4), 0 when the bytes
/// there are not one (a stray continuation byte, an overlong or cut sequence, a surrogate).
inline size_t utf8_char_length(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  if (s.empty()) return 0;
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    n = 1;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 2;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 3;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() <= n) return 0;
  for (size_t i = 1; i <= n; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  static constexpr uint32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n + 1;
}

/// `s` for a message or a JSON text: always valid UTF-8. Bytes that are not part of a
/// well-formed character, and control characters (< 0x20, 0x7f) when `escape_controls`, are
/// written as \xNN; at most `max_bytes` of `s` are shown, cut on a character boundary, with
/// "..." after a cut.
inline std::string printable(std::string_view s, size_t max_bytes = std::string_view::npos,
                             bool escape_controls = true) {
  std::string out;
  out.reserve(std::min(s.size(), max_bytes) + 8);
  static const char kHex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < s.size()) {
    size_t n = utf8_char_length(s.substr(i));
    if (i + std::max<size_t>(n, 1) > max_bytes) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (n == 0 || (escape_controls && (c < 0x20 || c == 0x7f))) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      n = 1;
    } else {
      out.append(s.data() + i, n);
    }
    i += n;
  }
  if (i < s.size()) out += "...";
  return out;
}

/// `s` unchanged when it is valid UTF-8, else printable(s) without a length limit (control
/// characters kept): what an error message holds.
inline std::string utf8_safe(std::string s) {
  return valid_utf8(s) ? s : printable(s, std::string_view::npos, /*escape_controls=*/false);
}

inline bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (s.size() - i >= 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const size_t n = utf8_char_length(s.substr(i));
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace funnel
