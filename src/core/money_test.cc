#include "ledger/money.h"

#include <gtest/gtest.h>

#include <limits>

namespace ledger {
namespace {

constexpr std::int64_t max64 = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t min64 = std::numeric_limits<std::int64_t>::min();

TEST(MoneyTest, CheckedAddReportsOverflowWithoutWrapping) {
  std::int64_t out = 7;
  EXPECT_TRUE(checked_add(max64 - 1, 1, &out));
  EXPECT_EQ(out, max64);
  EXPECT_FALSE(checked_add(max64, 1, &out));
  EXPECT_EQ(out, max64);  // unchanged on overflow
  EXPECT_FALSE(checked_add(min64, -1, &out));
}

TEST(MoneyTest, CheckedSubReportsOverflow) {
  std::int64_t out = 0;
  EXPECT_TRUE(checked_sub(0, max64, &out));
  EXPECT_EQ(out, -max64);
  EXPECT_FALSE(checked_sub(min64, 1, &out));
  EXPECT_FALSE(checked_sub(0, min64, &out));
}

TEST(CurrencyTest, KnowsExponentsAndNumericCodes) {
  const auto eur = currency_from_alpha("EUR");
  ASSERT_TRUE(eur.has_value());
  EXPECT_EQ(currency_info(*eur).numeric, 978);
  EXPECT_EQ(currency_info(*eur).exponent, 2);
  EXPECT_EQ(currency_info(*currency_from_alpha("JPY")).exponent, 0);
  EXPECT_EQ(currency_info(*currency_from_alpha("KWD")).exponent, 3);
  EXPECT_EQ(currency_alpha(*currency_from_numeric(840)), "USD");
}

TEST(CurrencyTest, RejectsUnknownOrMalformedCodes) {
  for (const char* bad : {"", "eur", "EU", "EURO", "XXX", "ZZZ", "E R"}) {
    EXPECT_FALSE(currency_from_alpha(bad).has_value()) << bad;
  }
  EXPECT_FALSE(currency_from_numeric(0).has_value());
  EXPECT_FALSE(currency_from_numeric(999).has_value());
}

}  // namespace
}  // namespace ledger
