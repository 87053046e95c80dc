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

// Verification of Payee: real-world spellings of one payee against the name the bank holds.
TEST(PayeeNameTest, MatchesByTheDocumentedRules) {
  struct Case {
    const char* given;
    const char* held;
    NameMatch expected;
  };
  const Case cases[] = {
      {"ACME Trading GmbH", "ACME Trading GmbH", NameMatch::match},
      {"  ACME   Trading GmbH ", "ACME Trading GmbH", NameMatch::match},   // white space
      {"acme trading gmbh", "ACME Trading GmbH", NameMatch::close_match},  // case
      {"ACME Trading", "ACME Trading GmbH", NameMatch::close_match},       // legal form
      {"ACME Trading G.m.b.H.", "ACME Trading GmbH", NameMatch::close_match},
      {"ACME Trading GmbH & Co. KG", "ACME Trading", NameMatch::close_match},
      {"Societe Generale SA", "Soci\xc3\xa9t\xc3\xa9 G\xc3\xa9n\xc3\xa9rale",
       NameMatch::close_match},
      {"Generale Societe", "Soci\xc3\xa9t\xc3\xa9 G\xc3\xa9n\xc3\xa9rale S.A.",
       NameMatch::close_match},
      {"Corner Bistro SARL", "CORNER-BISTRO", NameMatch::close_match},  // punctuation
      {"Jean-Pierre Dupont", "Jean Pierre Dupont", NameMatch::close_match},
      {"Dupont, Jean-Pierre", "Jean Pierre DUPONT", NameMatch::close_match},  // word order
      {"Pizzeria da Mario S.r.l.", "PIZZERIA DA MARIO SRL", NameMatch::close_match},
      {"Bakkerij Jansen B.V.", "Bakkerij Jansen", NameMatch::close_match},
      {"Brennan & Sons Ltd", "Brennan and Sons Limited", NameMatch::no_match},  // "and"
      {"Peter Mueller", "Peter M\xc3\xbcller", NameMatch::close_match},         // one letter
      {"Peter Muller", "Peter M\xc3\xbcller", NameMatch::close_match},
      {"Anna Schmitt", "Anna Schmidt", NameMatch::close_match},  // one typing error
      {"Anan Schmidt", "Anna Schmidt", NameMatch::close_match},  // swapped neighbours
      {"\xc5\x81ukasz \xc5\xbb\xc3\xb3\xc5\x82\xc4\x87", "Lukasz Zolc", NameMatch::close_match},
      {"\xc8\x98tefan \xc8\x9aurcan", "Stefan Turcan", NameMatch::close_match},
      {"Gro\xc3\x9f GmbH", "Gross GmbH", NameMatch::close_match},
      {"Petra M\xc3\xbcller", "Peter M\xc3\xbcller", NameMatch::no_match},
      {"Jane Smith", "John Smith", NameMatch::no_match},
      {"Busch", "Bosch", NameMatch::no_match},  // short names: no typing error allowed
      {"ACME Trading", "ACME Logistics GmbH", NameMatch::no_match},
      {"ACME", "ACME Trading GmbH", NameMatch::no_match},  // a word missing
      {"GmbH", "ACME GmbH", NameMatch::no_match},
      {"Ltd", "LTD", NameMatch::close_match},  // only a legal form: kept
      {"", "ACME GmbH", NameMatch::no_match},
      {"   ", "ACME GmbH", NameMatch::no_match},
      {"\xce\x91\xce\x98\xce\x97\xce\x9d\xce\x91 \xce\x91\xce\x95",
       "\xce\x91\xce\x98\xce\x97\xce\x9d\xce\x91 \xce\x91\xce\x95", NameMatch::match},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(name_match_name(match_payee_name(c.given, c.held)), name_match_name(c.expected))
        << "given \"" << c.given << "\", held \"" << c.held << "\"";
  }
  // Symmetric: which side is the payer's does not change the answer.
  for (const Case& c : cases) {
    EXPECT_EQ(match_payee_name(c.given, c.held), match_payee_name(c.held, c.given)) << c.given;
  }
  EXPECT_EQ(normalize_name("ACME Trading G.m.b.H."), (std::vector<std::string>{"acme", "trading"}));
}

}  // namespace
}  // namespace ledger::sepa
