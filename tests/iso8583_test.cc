// The card-network interface over a real socket against the real ledgerd and PostgreSQL:
// every message type and every DE39 of the decision order, repeats, partial approval,
// reversal, completion with and without authorization, advices, balance inquiry, split and
// coalesced frames and many requests in flight. Malformed input, floods, strangers, shutdown,
// overload and the deadline rule are in iso8583_robustness_test.cc.
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "support/iso_fixture.h"

namespace ledger {
namespace {

using namespace iso_testing;

TEST_F(IsoTest, EchoesNetworkManagement) {
  IsoClient client(server_.iso_port());
  Message echo;
  echo.mti = "0800";
  echo.set(7, "1123120000");
  echo.set(11, "000001");
  echo.set(70, "301");
  const Message reply = client.call(echo);
  EXPECT_EQ(reply.mti, "0810");
  EXPECT_EQ(reply.get(39), "00");
  EXPECT_EQ(reply.get(70), "301");
  EXPECT_EQ(reply.get(11), "000001");
}

// GET /metrics: the Prometheus text format, accepted by `promtool check metrics`, with the
// requests just made counted by interface, type and result, and every stage timed.
TEST_F(IsoTest, MetricsCountRequestsAndPassPromtool) {
  IsoClient client(server_.iso_port());
  EXPECT_EQ(client.call(auth(1, 1250)).get(39), "00");
  EXPECT_EQ(client.call(auth(2, 999'999'999)).get(39), "61");  // over the card limit
  const auto reply = testing::http_call(server_.http_port(), "GET", "/metrics");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.headers.at("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = reply.body;
  EXPECT_NE(text.find("ledgerd_iso8583_answers_total{type=\"0100\",result=\"00\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ledgerd_iso8583_answers_total{type=\"0100\",result=\"61\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("ledgerd_http_requests_total{method=\"POST\",route=\"/v1/accounts\","
                      "status=\"201\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ledgerd_iso8583_answer_duration_seconds_count{type=\"authorization\"} 2\n"),
            std::string::npos);
  for (const char* stage : {"queue_wait", "engine_apply", "durable_wait", "journal_commit"}) {
    const std::string count =
        std::string("ledgerd_stage_duration_seconds_count{stage=\"") + stage + "\"} ";
    const auto at = text.find(count);
    ASSERT_NE(at, std::string::npos) << stage;
    EXPECT_GT(std::stoull(text.substr(at + count.size())), 0u) << stage;
  }
  EXPECT_NE(text.find("ledgerd_open_connections{interface=\"iso8583\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("ledgerd_ledger_state 2\n"), std::string::npos);

  char path[] = "/tmp/ledgerd-metrics-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  const std::string command = std::string("promtool check metrics < ") + path + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string lint;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) lint += buffer;
  const int status = pclose(pipe);
  unlink(path);
  EXPECT_EQ(status, 0) << "promtool (from the Debian package prometheus) said: " << lint;
  EXPECT_EQ(lint, "");
}

// docs/alerts.yml loads in Prometheus (promtool) and names only metrics ledgerd exports.
TEST_F(IsoTest, AlertRulesPassPromtoolAndNameExportedMetrics) {
  const std::string rules = testing::migrations_dir() + "/../docs/alerts.yml";
  const std::string command = "promtool check rules " + rules + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string said;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) said += buffer;
  EXPECT_EQ(pclose(pipe), 0) << said;
  std::ifstream file(rules);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const std::string metrics = testing::http_call(server_.http_port(), "GET", "/metrics").body;
  int named = 0;
  for (std::size_t at = text.find("ledgerd_"); at != std::string::npos;
       at = text.find("ledgerd_", at + 1)) {
    std::size_t end = at;
    while (end < text.size() &&
           (std::isalnum(static_cast<unsigned char>(text[end])) != 0 || text[end] == '_'))
      ++end;
    std::string name = text.substr(at, end - at);
    if (name.ends_with("_bucket")) name.resize(name.size() - 7);
    ++named;
    EXPECT_NE(metrics.find("# TYPE " + name + " "), std::string::npos) << name;
  }
  EXPECT_GE(named, 17);
}

TEST_F(IsoTest, ApprovesWithAHoldAndRepeatsGetTheOriginalAnswer) {
  IsoClient client(server_.iso_port());
  const Message reply = client.call(auth(1, 1250));
  EXPECT_EQ(reply.mti, "0110");
  EXPECT_EQ(reply.get(39), "00");
  EXPECT_EQ(reply.get(38).size(), 6u);
  EXPECT_EQ(reply.get(11), "000001");
  EXPECT_EQ(reply.get(37), "RRN000000001");
  EXPECT_EQ(balances()["pending"], 1250);
  Message repeat = auth(1, 1250);
  repeat.mti = "0101";
  const Message again = client.call(repeat);
  EXPECT_EQ(again.mti, "0110");
  EXPECT_EQ(again.get(39), "00");
  EXPECT_EQ(again.get(38), reply.get(38));
  EXPECT_EQ(balances()["pending"], 1250);  // never a second hold
}

TEST_F(IsoTest, AnswersEachDeclineWithItsCode) {
  IsoClient client(server_.iso_port());
  EXPECT_EQ(client.call(auth(10, 100, other_pan)).get(39), "14");  // unknown card
  Message expired = auth(11, 100);
  expired.set(14, "2001");
  EXPECT_EQ(client.call(expired).get(39), "54");
  Message mcc = auth(12, 100);
  mcc.set(18, "7995");
  EXPECT_EQ(client.call(mcc).get(39), "57");
  Message abroad = auth(13, 100);
  abroad.set(19, "840");
  EXPECT_EQ(client.call(abroad).get(39), "57");
  EXPECT_EQ(client.call(auth(14, 6000)).get(39), "61");  // per-authorization limit 5000
  rest("PATCH", "/v1/cards/" + uuid(3, 1), {{"controls", {{"per_authorization_limit", nullptr}}}});
  EXPECT_TRUE(
      rest("GET", "/v1/cards/" + uuid(3, 1))["controls"]["per_authorization_limit"].is_null());
  EXPECT_EQ(client.call(auth(15, 20000)).get(39), "51");  // more than the 10000 available
  Message partial = auth(16, 20000);
  partial.set(48, "PARTIAL=Y");
  const Message part = client.call(partial);
  EXPECT_EQ(part.get(39), "10");
  EXPECT_EQ(part.get(4), "000000010000");
  EXPECT_EQ(part.get(54).substr(0, 4), "0057");
  rest("PATCH", "/v1/cards/" + uuid(3, 1), {{"status", "frozen"}});
  EXPECT_EQ(client.call(auth(17, 1)).get(39), "62");
  rest("PATCH", "/v1/cards/" + uuid(3, 1),
       {{"status", "active"}, {"controls", {{"daily_count_limit", 1}}}});
  EXPECT_EQ(client.call(auth(18, 1)).get(39), "65");  // one approval today already (the partial)
  Message garbage = auth(19, 1);
  garbage.set(3, "990000");
  EXPECT_EQ(client.call(garbage).get(39), "12");
}

TEST_F(IsoTest, ReversalReleasesTheHoldAndUnknownReversalsAreAcknowledged) {
  IsoClient client(server_.iso_port());
  ASSERT_EQ(client.call(auth(1, 700)).get(39), "00");
  EXPECT_EQ(balances()["pending"], 700);
  Message reversal = auth(2, 700);
  reversal.mti = "0400";
  reversal.set(90, "0100000001112312000000000012345" + std::string(11, '0'));
  const Message reply = client.call(reversal);
  EXPECT_EQ(reply.mti, "0410");
  EXPECT_EQ(reply.get(39), "00");
  EXPECT_EQ(balances()["pending"], 0);
  EXPECT_EQ(client.call(reversal).get(39), "00");  // again: acknowledged, nothing more
  Message unknown = reversal;
  unknown.mti = "0420";
  unknown.set(90, "0100999999112312000000000012345" + std::string(11, '0'));
  EXPECT_EQ(client.call(unknown).mti, "0430");
  EXPECT_EQ(client.call(unknown).get(39), "00");
}

TEST_F(IsoTest, PartialReversalAndReversalAfterCapture) {
  IsoClient client(server_.iso_port());
  ASSERT_EQ(client.call(auth(1, 1000)).get(39), "00");
  Message partial = auth(2, 1000);
  partial.mti = "0400";
  partial.set(90, "0100000001112312000000000012345" + std::string(11, '0'));
  partial.set(95, "000000000600" + std::string(30, '0'));  // the sale came to 600
  EXPECT_EQ(client.call(partial).get(39), "00");
  EXPECT_EQ(balances()["pending"], 600);
  EXPECT_EQ(client.call(partial).get(39), "00");  // a retransmission changes nothing
  EXPECT_EQ(balances()["pending"], 600);
  Message completion = auth(3, 600);
  completion.mti = "0220";
  completion.set(90, "0100000001112312000000000012345" + std::string(11, '0'));
  ASSERT_EQ(client.call(completion).get(39), "00");
  EXPECT_EQ(balances()["posted"], 10000 - 600);
  // After capture, a reversal (the sale came to 250 after all) gives 350 back.
  ASSERT_EQ(client.call(auth(4, 500)).get(39), "00");
  Message capture = auth(5, 500);
  capture.mti = "0220";
  capture.set(90, "0100000004112312000000000012345" + std::string(11, '0'));
  ASSERT_EQ(client.call(capture).get(39), "00");
  Message late_reversal = auth(6, 500);
  late_reversal.mti = "0420";
  late_reversal.set(90, "0100000004112312000000000012345" + std::string(11, '0'));
  late_reversal.set(95, "000000000250" + std::string(30, '0'));
  EXPECT_EQ(client.call(late_reversal).get(39), "00");
  EXPECT_EQ(balances()["posted"], 10000 - 600 - 500 + 250);
  EXPECT_EQ(balances()["pending"], 0);
}

TEST_F(IsoTest, CompletionPostsTheHoldOrForcesAPostingWithoutOne) {
  IsoClient client(server_.iso_port());
  Message restaurant = auth(1, 1000);
  restaurant.set(18, "5812");
  ASSERT_EQ(client.call(restaurant).get(39), "00");
  Message completion = auth(2, 1150);  // with tip: allowed for restaurants
  completion.mti = "0220";
  completion.set(18, "5812");
  completion.set(90, "0100000001112312000000000012345" + std::string(11, '0'));
  const Message reply = client.call(completion);
  EXPECT_EQ(reply.mti, "0230");
  EXPECT_EQ(reply.get(39), "00");
  EXPECT_EQ(balances()["pending"], 0);
  EXPECT_EQ(balances()["posted"], 10000 - 1150);
  Message orphan = auth(3, 200);
  orphan.mti = "0220";
  orphan.set(90, "0100777777112312000000000012345" + std::string(11, '0'));
  EXPECT_EQ(client.call(orphan).get(39), "00");
  EXPECT_EQ(balances()["posted"], 10000 - 1150 - 200);
}

TEST_F(IsoTest, AdvicesRecordWhatTheNetworkDecided) {
  IsoClient client(server_.iso_port());
  rest("PATCH", "/v1/cards/" + uuid(3, 1), {{"controls", {{"per_authorization_limit", nullptr}}}});
  ASSERT_EQ(client.call(auth(1, 50000)).get(39), "51");  // we declined
  Message approved = auth(1, 50000);
  approved.mti = "0120";
  approved.set(39, "00");  // the network stood in and approved
  const Message reply = client.call(approved);
  EXPECT_EQ(reply.mti, "0130");
  EXPECT_EQ(reply.get(39), "00");
  EXPECT_EQ(balances()["pending"], 50000);  // recorded past the balance
  ASSERT_EQ(client.call(auth(2, 300)).get(39), "51");
  rest("POST", "/v1/transfers",
       {{"id", uuid(2, 2)},
        {"debit_account_id", uuid(1, 1)},
        {"credit_account_id", uuid(1, 2)},
        {"amount", 100000},
        {"currency", "EUR"}});
  ASSERT_EQ(client.call(auth(3, 300)).get(39), "00");
  Message declined = auth(3, 300);
  declined.mti = "0120";
  declined.set(39, "05");  // we approved; the network declined: our hold goes
  EXPECT_EQ(client.call(declined).get(39), "00");
  EXPECT_EQ(balances()["pending"], 50000);
}

TEST_F(IsoTest, BalanceInquiryAndFinancialMessages) {
  IsoClient client(server_.iso_port());
  Message inquiry = auth(1, 0);
  inquiry.set(3, "310000");
  inquiry.clear(4);
  inquiry.set(4, "000000000000");
  const Message balance = client.call(inquiry);
  EXPECT_EQ(balance.get(39), "00");
  EXPECT_EQ(balance.get(54),
            "0001978C000000010000"
            "0002978C000000010000");
  Message financial = auth(2, 400);
  financial.mti = "0200";
  const Message posted = client.call(financial);
  EXPECT_EQ(posted.mti, "0210");
  EXPECT_EQ(posted.get(39), "00");
  EXPECT_EQ(balances()["posted"], 9600);
  EXPECT_EQ(balances()["pending"], 0);
}

TEST_F(IsoTest, ManyRequestsInFlightSplitAndCoalescedFrames) {
  IsoClient client(server_.iso_port());
  std::string burst;
  for (int stan = 1; stan <= 40; ++stan) burst += IsoClient::frame(auth(stan, 10));
  client.send_raw(burst);  // 40 frames in one write
  std::map<std::string, std::string> answers;
  for (int i = 0; i < 40; ++i) {
    const Message m = client.receive();
    answers[m.get(11)] = m.get(39);
  }
  ASSERT_EQ(answers.size(), 40u);
  for (const auto& [stan, code] : answers) EXPECT_EQ(code, "00") << stan;
  const std::string one = IsoClient::frame(auth(99, 10));
  for (char c : one) {  // one frame, byte by byte
    client.send_raw(std::string(1, c));
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(client.receive().get(39), "00");
  EXPECT_EQ(balances()["pending"], 410);
}

}  // namespace
}  // namespace ledger
