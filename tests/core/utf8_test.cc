#include "core/utf8.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace funnel {
namespace {

TEST(Utf8, AcceptsValid) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii id 12345678901234567890"));
  EXPECT_TRUE(valid_utf8("caf\xC3\xA9"));               // é
  EXPECT_TRUE(valid_utf8("\xE4\xB8\xAD\xE6\x96\x87"));  // 中文
  EXPECT_TRUE(valid_utf8("\xF0\x9F\x98\x80"));          // emoji
}

TEST(Utf8, RejectsInvalid) {
  EXPECT_FALSE(valid_utf8("\xFF"));
  EXPECT_FALSE(valid_utf8("abc\xC3"));           // truncated sequence at end
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(
      valid_utf8("12345678\x80"
                 "9"));  // continuation byte alone after 8 ASCII
}

TEST(Utf8, PrintableIsValidAndCutsOnACharacterBoundary) {
  EXPECT_EQ(printable("abc"), "abc");
  EXPECT_EQ(printable("a\x01"
                      "b"),
            "a\\x01b");
  EXPECT_EQ(printable("a\xFF"
                      "b"),
            "a\\xffb");
  EXPECT_EQ(printable("\xC3"), "\\xc3");               // a cut sequence
  EXPECT_EQ(printable("caf\xC3\xA9"), "caf\xC3\xA9");  // kept
  // 'a' + 200 x 'é' cut at 40 bytes: 'a' and 19 whole 'é' (39 bytes), never half of one.
  std::string s = "a";
  for (int k = 0; k < 200; ++k) s += "\xC3\xA9";
  const std::string cut = printable(s, 40);
  EXPECT_TRUE(valid_utf8(cut));
  EXPECT_EQ(cut.size(), 39u + 3u);
  EXPECT_EQ(cut.substr(cut.size() - 3), "...");
  // Every byte string comes out valid.
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    EXPECT_TRUE(valid_utf8(printable(one + "x" + one, 3))) << b;
  }
}

TEST(Utf8, SafeKeepsValidTextAndEscapesTheRest) {
  EXPECT_EQ(utf8_safe("line\tone caf\xC3\xA9"), "line\tone caf\xC3\xA9");
  EXPECT_EQ(utf8_safe("bad \xFF byte"), "bad \\xff byte");
  EXPECT_TRUE(valid_utf8(Error("value '\xC3' ...").what()));
}

}  // namespace
}  // namespace funnel
