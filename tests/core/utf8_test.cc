#include "core/utf8.h"

#include <gtest/gtest.h>

namespace funnel {
namespace {

TEST(Utf8, AcceptsValid) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii id 12345678901234567890"));
  EXPECT_TRUE(valid_utf8("caf\xC3\xA9"));            // é
  EXPECT_TRUE(valid_utf8("\xE4\xB8\xAD\xE6\x96\x87"));  // 中文
  EXPECT_TRUE(valid_utf8("\xF0\x9F\x98\x80"));          // emoji
}

TEST(Utf8, RejectsInvalid) {
  EXPECT_FALSE(valid_utf8("\xFF"));
  EXPECT_FALSE(valid_utf8("abc\xC3"));             // truncated sequence at end
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));            // overlong '/'
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));        // surrogate
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));    // > U+10FFFF
  EXPECT_FALSE(valid_utf8("12345678\x80""9"));     // continuation byte alone after 8 ASCII
}

}  // namespace
}  // namespace funnel
