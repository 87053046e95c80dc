// The card simulator's pure parts: flags, amounts in each currency's minor units, the
// messages it builds, and that what it prints never shows a PAN. (It is driven end to end
// against a real ledgerd by tests/walkthrough/run.sh.)
#include "app/simulate.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace ledger::app {
namespace {

Currency currency(const char* alpha) { return *currency_from_alpha(alpha); }

TEST(SimulateTest, AmountsFollowTheCurrencyExponent) {
  EXPECT_EQ(parse_decimal_amount("12.40", currency("EUR")), 1240);
  EXPECT_EQ(parse_decimal_amount("12.4", currency("EUR")), 1240);
  EXPECT_EQ(parse_decimal_amount("12", currency("EUR")), 1200);
  EXPECT_EQ(parse_decimal_amount("1240", currency("JPY")), 1240);
  EXPECT_EQ(parse_decimal_amount("12.40", currency("JPY")), std::nullopt);  // no minor unit
  EXPECT_EQ(parse_decimal_amount("1.240", currency("BHD")), 1240);
  EXPECT_EQ(parse_decimal_amount("1.2405", currency("BHD")), std::nullopt);
  for (const char* bad : {"", ".", "1.", ".5", "-1", "1,00", "1e3", "9999999999999"}) {
    EXPECT_EQ(parse_decimal_amount(bad, currency("EUR")), std::nullopt) << bad;
  }
}

TEST(SimulateTest, FlagsAreCheckedWithASpecificError) {
  SimulateOptions o;
  EXPECT_FALSE(parse_simulate({}, &o).ok());
  EXPECT_FALSE(parse_simulate({"pay"}, &o).ok());
  EXPECT_FALSE(parse_simulate({"authorize", "--amount", "1.00"}, &o).ok());  // no --pan
  EXPECT_FALSE(parse_simulate({"authorize", "--pan", "4000056655665556"}, &o).ok());
  EXPECT_FALSE(parse_simulate({"complete", "--pan", "4000056655665556", "--amount", "1"}, &o).ok());
  EXPECT_FALSE(parse_simulate({"authorize", "--pan", "40000566", "--amount", "1"}, &o).ok());
  EXPECT_FALSE(
      parse_simulate({"authorize", "--pan", "4000056655665556", "--amount", "1", "--mcc", "58"}, &o)
          .ok());
  const Status s = parse_simulate(
      {"authorize", "--pan", "4000056655665556", "--amount", "12.40", "--currency", "JPY"}, &o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("--amount"), std::string::npos);
  ASSERT_TRUE(parse_simulate({"authorize", "--pan", "4000056655665556", "--amount", "1240",
                              "--currency", "392", "--connect", "[::1]:9583", "--partial"},
                             &o)
                  .ok());
  EXPECT_EQ(o.amount, 1240);
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 9583);
  EXPECT_TRUE(o.partial);
  ASSERT_TRUE(parse_simulate({"echo", "--connect", "127.0.0.1:8583"}, &o).ok());
}

TEST(SimulateTest, FollowUpsNameTheOriginalTheSimulatorSent) {
  char path[] = "/tmp/simulate_test_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream state(path);
    state << "000101\t633309000101\t1129120000\t12345\n";
  }
  SimulateOptions o;
  ASSERT_TRUE(parse_simulate({"reverse", "--pan", "4000056655665556", "--original", "000101",
                              "--actual", "8.00", "--state", path},
                             &o)
                  .ok());
  iso8583::Message m = build_simulated_request(o, "1129121500", "000777");
  EXPECT_EQ(m.mti, "0400");
  EXPECT_EQ(m.get(90), "0100000101112912000000000012345" + std::string(11, '0'));
  EXPECT_EQ(m.get(37), "633309000101");  // the original's RRN
  EXPECT_EQ(m.get(11), "000777");
  EXPECT_EQ(m.get(95).substr(0, 12), "000000000800");
  o.original = "633309000999";  // not one of ours: matched on DE2 + DE37 + DE11 + DE32
  m = build_simulated_request(o, "1129121500", "000777");
  EXPECT_FALSE(m.has(90));
  EXPECT_EQ(m.get(37), "633309000999");
  EXPECT_EQ(m.get(11), "000999");
  std::remove(path);
  const std::string printed = describe_message(m, true);
  EXPECT_EQ(printed.find("4000056655665556"), std::string::npos);
  EXPECT_NE(printed.find("400005******5556"), std::string::npos);
}

}  // namespace
}  // namespace ledger::app
