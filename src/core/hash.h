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

/// Hash of a byte string: 8 bytes at a time (little-endian words), then fmix64.
/// Tokens are short (ids of 1-20 bytes), so this is a few multiplies per token.
inline uint64_t hash_bytes(std::string_view s, uint64_t seed = 0x9e3779b97f4a7c15ULL) {
  uint64_t h = seed ^ (s.size() * 0x87c37b91114253d5ULL);
  const char* p = s.data();
  size_t n = s.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ mix64(w)) * 0x4cf5ad432745937fULL;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ mix64(w ^ (uint64_t{n} << 56))) * 0x4cf5ad432745937fULL;
  }
  return mix64(h);
}

}  // namespace funnel
