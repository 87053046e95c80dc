#include "ledger/ids.h"

#include <gtest/gtest.h>

#include "ledger/checksum.h"

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

// Reference values from libxxhash's XXH64 (the same inputs): the snapshot checksum is XXH64.
TEST(ChecksumTest, MatchesXxh64) {
  unsigned char bytes[200];
  for (int i = 0; i < 200; ++i) bytes[i] = static_cast<unsigned char>(i);
  EXPECT_EQ(xxh64("", 0), 0xef46db3751d8e999ULL);
  EXPECT_EQ(xxh64("abc", 3), 0x44bc2cf5ad770999ULL);
  EXPECT_EQ(xxh64(bytes, 200, 7), 0x38095d110db174ccULL);
  EXPECT_EQ(xxh64(bytes, 37), 0xd93fa2dfee5c24c9ULL);
}

}  // namespace
}  // namespace ledger
