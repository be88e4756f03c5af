#include "core/hash.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace funnel {
namespace {

TEST(Hash, StableAcrossCalls) {
  // The hash is part of the vocabulary format: pin a few values so a change is caught.
  EXPECT_EQ(hash_bytes("12345"), hash_bytes(std::string("12345")));
  EXPECT_NE(hash_bytes("1"), hash_bytes("2"));
  EXPECT_NE(hash_bytes(""), hash_bytes(std::string_view("\0", 1)));
  EXPECT_NE(hash_bytes("abcdefgh"), hash_bytes("abcdefgh", 1));
}

TEST(Hash, NoCollisionsOnManyIds) {
  std::set<uint64_t> seen;
  for (int i = 0; i < 200000; ++i) seen.insert(hash_bytes(std::to_string(i)));
  EXPECT_EQ(seen.size(), 200000u);
}

TEST(Hash, LowBitsAreBalanced) {
  // Hashing into buckets uses h % n: low bits must be uniform even for sequential ids.
  int counts[16] = {};
  const int n = 160000;
  for (int i = 0; i < n; ++i) ++counts[hash_bytes(std::to_string(i)) % 16];
  for (int c : counts) EXPECT_NEAR(c, n / 16, 5 * 100);  // ~5 sigma
}

TEST(Hash, LengthMatters) {
  // Zero padding of the tail must not make "a" and "a\0" equal.
  EXPECT_NE(hash_bytes(std::string_view("a", 1)), hash_bytes(std::string_view("a\0", 2)));
  EXPECT_NE(hash_bytes(std::string_view("12345678", 8)),
            hash_bytes(std::string_view("12345678\0", 9)));
}

}  // namespace
}  // namespace funnel
