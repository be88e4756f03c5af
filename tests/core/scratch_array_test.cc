#include "core/scratch_array.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace funnel {
namespace {

TEST(ScratchArray, SmallAndHugeArraysAreWritableAndAligned) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{3} << 20}) {
    ScratchArray<uint64_t> a(n);
    EXPECT_EQ(a.size(), n);
    ASSERT_NE(a.data(), nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % alignof(uint64_t), 0u);
    for (size_t i = 0; i < n; ++i) a[i] = i * 3;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; ++i) sum += a[i];
    EXPECT_EQ(sum, n == 0 ? 0 : 3 * n * (n - 1) / 2);
  }
  ScratchArray<float> big(size_t{2} << 20);  // 8 MiB: the huge-page path
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big.data()) % (size_t{2} << 20), 0u);
}

}  // namespace
}  // namespace funnel
