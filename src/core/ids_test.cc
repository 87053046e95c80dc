#include "ledger/ids.h"

#include <gtest/gtest.h>

namespace ledger {
namespace {

TEST(UuidTest, RoundTripsCanonicalText) {
  const std::string text = "0123abcd-4567-89ef-0123-456789abcdef";
  const auto value = parse_uuid(text);
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(value->hi, 0x0123abcd456789efULL);
  EXPECT_EQ(value->lo, 0x0123456789abcdefULL);
  EXPECT_EQ(format_uuid(*value), text);
}

TEST(UuidTest, AcceptsUpperCaseAndFormatsLowerCase) {
  const auto value = parse_uuid("0123ABCD-4567-89EF-0123-456789ABCDEF");
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(format_uuid(*value), "0123abcd-4567-89ef-0123-456789abcdef");
}

TEST(UuidTest, RejectsMalformedText) {
  for (const char* bad :
       {"", "0123abcd-4567-89ef-0123-456789abcde", "0123abcd-4567-89ef-0123-456789abcdeff",
        "0123abcd4567-89ef-0123-456789abcdef0", "0123abcg-4567-89ef-0123-456789abcdef",
        "{123abcd-4567-89ef-0123-456789abcde}", "0123abcd-4567-89ef-0123 456789abcdef"}) {
    EXPECT_FALSE(parse_uuid(bad).has_value()) << bad;
  }
}

TEST(UuidTest, DistinctIdsHashDifferently) {
  EXPECT_NE(hash_u128({0, 1}), hash_u128({1, 0}));
  EXPECT_NE(hash_u128({0, 1}), hash_u128({0, 2}));
}

}  // namespace
}  // namespace ledger
