#include "ledger/text.h"

#include <gtest/gtest.h>

#include <string>

namespace ledger {
namespace {

using namespace std::string_literals;

TEST(TextTest, CleanTextIsUtf8WithoutControls) {
  EXPECT_TRUE(is_clean_text(""));
  EXPECT_TRUE(is_clean_text("key:abc 123"));
  EXPECT_TRUE(is_clean_text("Zürich \xE2\x82\xAC \xF0\x9F\x92\xB3"));  // ü, euro sign, card
  EXPECT_FALSE(is_clean_text("bad-\xff\xfe-utf8"));
  EXPECT_FALSE(is_clean_text("a\0b"s));
  EXPECT_FALSE(is_clean_text("tab\there"));
  EXPECT_FALSE(is_clean_text("del\x7f"));
  EXPECT_FALSE(is_clean_text("\xC2\x85"));          // C1 control (NEL)
  EXPECT_FALSE(is_clean_text("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_clean_text("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_clean_text("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(is_clean_text("\xE2\x82"));          // cut short
}

TEST(TextTest, EscapedBytesArePrintableAsciiAndSayWhichBytesWereThere) {
  EXPECT_EQ(escape_bytes("plain text"), "plain text");
  EXPECT_EQ(escape_bytes("bad-\xff\xfe-utf8"), "bad-\\xff\\xfe-utf8");
  EXPECT_EQ(escape_bytes("a\0b"s), "a\\x00b");
  EXPECT_EQ(escape_bytes("back\\slash"), "back\\\\slash");
  EXPECT_EQ(escape_bytes("\\xff"), "\\\\xff");  // a literal backslash-x stays distinguishable
  EXPECT_EQ(escape_bytes("\xC3\xBC"), "\\xc3\\xbc");
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  const std::string escaped = escape_bytes(every_byte);
  EXPECT_TRUE(is_clean_text(escaped));
}

}  // namespace
}  // namespace ledger
