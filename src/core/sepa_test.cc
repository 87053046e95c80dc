#include "ledger/sepa.h"

#include <gtest/gtest.h>

namespace ledger::sepa {
namespace {

std::int32_t day(const char* text) { return *parse_date(text); }

TEST(SepaCalendarTest, EasterOfKnownYears) {
  EXPECT_EQ(format_date(easter_sunday(2000)), "2000-04-23");
  EXPECT_EQ(format_date(easter_sunday(2019)), "2019-04-21");
  EXPECT_EQ(format_date(easter_sunday(2024)), "2024-03-31");
  EXPECT_EQ(format_date(easter_sunday(2025)), "2025-04-20");
  EXPECT_EQ(format_date(easter_sunday(2026)), "2026-04-05");
  EXPECT_EQ(format_date(easter_sunday(2027)), "2027-03-28");
  EXPECT_EQ(format_date(easter_sunday(2038)), "2038-04-25");
}

TEST(SepaCalendarTest, Target2Closings) {
  EXPECT_FALSE(is_business_day(day("2026-04-03")));  // Good Friday
  EXPECT_FALSE(is_business_day(day("2026-04-06")));  // Easter Monday
  EXPECT_TRUE(is_business_day(day("2026-04-02")));
  EXPECT_TRUE(is_business_day(day("2026-04-07")));
  EXPECT_FALSE(is_business_day(day("2026-05-01")));
  EXPECT_FALSE(is_business_day(day("2026-12-25")));
  EXPECT_FALSE(is_business_day(day("2026-12-26")));  // a Saturday anyway
  EXPECT_FALSE(is_business_day(day("2027-01-01")));
  EXPECT_FALSE(is_business_day(day("2026-11-28")));  // Saturday
  EXPECT_FALSE(is_business_day(day("2026-11-29")));  // Sunday
  EXPECT_TRUE(is_business_day(day("2026-11-30")));   // Monday
  EXPECT_TRUE(is_business_day(day("2025-12-24")));
  EXPECT_TRUE(is_business_day(day("2025-12-31")));
}

TEST(SepaCalendarTest, BusinessDayArithmeticAcrossYearEndAndEaster) {
  // D+5 from Wednesday 2025-12-24: 29, 30, 31 Dec, 2, 5 Jan (25/26 Dec, 1 Jan, weekend closed).
  EXPECT_EQ(format_date(add_business_days(day("2025-12-24"), 5)), "2026-01-05");
  // From Thursday before Easter 2026: Tue 7, Wed 8 April.
  EXPECT_EQ(format_date(add_business_days(day("2026-04-02"), 2)), "2026-04-08");
  EXPECT_EQ(format_date(add_business_days(day("2026-11-28"), 0)), "2026-11-30");
  EXPECT_EQ(format_date(previous_business_day(day("2026-04-07"))), "2026-04-02");
}

TEST(SepaCalendarTest, DatesParseStrictly) {
  EXPECT_TRUE(parse_date("2024-02-29"));
  EXPECT_FALSE(parse_date("2025-02-29"));
  EXPECT_FALSE(parse_date("2025-13-01"));
  EXPECT_FALSE(parse_date("2025-1-01"));
  EXPECT_FALSE(parse_date("2025-01-01T"));
  EXPECT_FALSE(parse_date("1969-12-31"));
  EXPECT_EQ(*parse_date("1970-01-01"), 0);
  for (std::int32_t d = 0; d < 40000; d += 37) EXPECT_EQ(*parse_date(format_date(d)), d);
}

TEST(SepaIbanTest, ValidatesCheckDigitsAndLengths) {
  EXPECT_TRUE(iban_valid("DE89370400440532013000"));
  EXPECT_TRUE(iban_valid("GB82WEST12345698765432"));
  EXPECT_TRUE(iban_valid("FR1420041010050500013M02606"));
  EXPECT_FALSE(iban_valid("DE88370400440532013000"));  // check digits
  EXPECT_FALSE(iban_valid("DE8937040044053201300"));   // German IBANs have 22
  EXPECT_FALSE(iban_valid("de89370400440532013000"));  // not normalized
  EXPECT_EQ(*normalize_iban("de89 3704 0044 0532 0130 00"), "DE89370400440532013000");
  EXPECT_FALSE(normalize_iban("DE89-3704"));
  EXPECT_EQ(iban_make("DE", "370400440532013000"), "DE89370400440532013000");
  for (int i = 0; i < 100; ++i) {
    std::string bban = "12345678" + std::to_string(1000000000 + i * 7919);
    EXPECT_TRUE(iban_valid(iban_make("DE", bban))) << bban;
  }
}

TEST(SepaReasonTest, NamesRoundTrip) {
  for (int i = 1; i < reason_count; ++i) {
    const auto r = static_cast<Reason>(i);
    EXPECT_EQ(reason_from_name(reason_name(r)), r);
    EXPECT_FALSE(reason_text(r).empty());
  }
  EXPECT_FALSE(reason_from_name("XX01"));
}

}  // namespace
}  // namespace ledger::sepa
