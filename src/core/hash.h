#pragma once
// Fast, stable 64-bit hashing of feature tokens. The value is part of the on-disk format
// (vocabularies are keyed by it), so it must never change between versions or platforms.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace funnel {

/// Finaliser of MurmurHash3 (fmix64): full avalanche, so low bits are usable for buckets.
inline uint64_t mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

namespace detail {
/// The 1-7 trailing bytes of a string as one word. Two overlapping 4-byte loads (4-7 bytes) or
/// three single bytes (1-3) cover every byte without a variable-length copy; the length is
/// mixed in separately, so overlaps cannot make two strings equal.
inline uint64_t load_tail(const char* p, size_t n) {
  if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    return (uint64_t{a} << 32) | b;
  }
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint64_t{u[0]} << 16) | (uint64_t{u[n >> 1]} << 8) | u[n - 1];
}
}  // namespace detail

/// Hash of a byte string, 8 bytes at a time, then fmix64. Also reports whether every byte is
/// ASCII (the common case for ids, which then needs no UTF-8 validation).
/// With `nul`: also reports whether a byte is 0 (in the same pass).
inline uint64_t hash_bytes(std::string_view s, bool* ascii, bool* nul,
                           uint64_t seed = 0x9e3779b97f4a7c15ULL) {
  uint64_t h = seed ^ (s.size() * 0x87c37b91114253d5ULL);
  const char* p = s.data();
  size_t n = s.size();
  uint64_t high_bits = 0, zero_bytes = 0;
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    high_bits |= w;
    if (nul != nullptr) zero_bytes |= (w - kOnes) & ~w & kHighs;  // a 0 byte in w
    h = (h ^ mix64(w)) * 0x4cf5ad432745937fULL;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    const uint64_t w = detail::load_tail(p, n);
    high_bits |= w;
    if (nul != nullptr) {
      for (size_t i = 0; i < n; ++i) zero_bytes |= p[i] == 0;
    }
    h = (h ^ mix64(w ^ (uint64_t{n} << 56))) * 0x4cf5ad432745937fULL;
  }
  *ascii = (high_bits & kHighs) == 0;
  if (nul != nullptr) *nul = zero_bytes != 0;
  return mix64(h);
}

inline uint64_t hash_bytes(std::string_view s, bool* ascii, uint64_t seed = 0x9e3779b97f4a7c15ULL) {
  return hash_bytes(s, ascii, nullptr, seed);
}

inline uint64_t hash_bytes(std::string_view s, uint64_t seed = 0x9e3779b97f4a7c15ULL) {
  bool ascii;
  return hash_bytes(s, &ascii, seed);
}

}  // namespace funnel
