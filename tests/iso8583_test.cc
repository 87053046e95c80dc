// The card-network interface over a real socket against the real ledgerd and PostgreSQL:
// every message type and every DE39 of the decision order, repeats, partial approval,
// reversal, completion with and without authorization, advices, balance inquiry, split and
// coalesced frames, many requests in flight, malformed frames, and the deadline rule.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "iso8583/codec.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/test_db.h"

namespace ledger {
namespace {

using iso8583::Message;
using nlohmann::json;
namespace asio = boost::asio;
using namespace std::chrono_literals;

const std::string secret = "iso-test-secret-iso-test-secret-0123";
const std::string pan = "4000056655665556";
const std::string other_pan = "5555555555554444";

std::string uuid(int group, int n) {
  char text[40];
  std::snprintf(text, sizeof text, "%08d-0000-4000-8000-%012d", group, n);
  return text;
}

class IsoClient {
 public:
  explicit IsoClient(int port) : socket_(io_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    timeval tv{10, 0};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  static std::string frame(const Message& m) {
    std::string body;
    std::string error;
    EXPECT_TRUE(iso8583::encode(m, iso8583::BitmapEncoding::binary, &body, &error)) << error;
    std::string out;
    out.push_back(static_cast<char>(body.size() >> 8));
    out.push_back(static_cast<char>(body.size() & 0xFF));
    return out + body;
  }
  void send_raw(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }
  void send(const Message& m) { send_raw(frame(m)); }
  // Next answer, or an empty MTI if the connection closed or timed out.
  Message receive() {
    Message m;
    unsigned char header[2];
    boost::system::error_code error;
    asio::read(socket_, asio::buffer(header), error);
    if (error) return m;
    std::string body((static_cast<std::size_t>(header[0]) << 8) | header[1], '\0');
    asio::read(socket_, asio::buffer(body), error);
    if (error) return m;
    iso8583::DecodeError decode_error;
    EXPECT_TRUE(iso8583::decode(body, iso8583::BitmapEncoding::binary, &m, &decode_error))
        << decode_error.reason;
    return m;
  }
  Message call(const Message& m) {
    send(m);
    return receive();
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
};

class IsoTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(const testing::Env& extra) {
    url_ = testing::create_database("iso");
    env_ = {{"LEDGER_DATABASE_URL", url_},
            {"LEDGER_ACCOUNTS_MAX", "100"},
            {"LEDGER_TRANSFERS_MAX", "20000"},
            {"LEDGER_CARDS_MAX", "100"},
            {"LEDGER_PAN_SECRET", secret},
            {"LEDGER_HOME_COUNTRY", "276"},
            {"LEDGER_ISO8583_READ_TIMEOUT_MS", "300"}};
    for (const auto& [k, v] : extra) env_[k] = v;
    key_ = testing::create_api_key(env_, "backoffice");
    ASSERT_TRUE(server_.start(env_)) << server_.output();
    ASSERT_GT(server_.iso_port(), 0);
    rest("POST", "/v1/accounts",
         {{"id", uuid(1, 1)},
          {"holder_id", uuid(9, 1)},
          {"currency", "EUR"},
          {"kind", "settlement"}});
    rest(
        "POST", "/v1/accounts",
        {{"id", uuid(1, 2)}, {"holder_id", uuid(9, 1)}, {"currency", "EUR"}, {"kind", "customer"}});
    rest("POST", "/v1/transfers",
         {{"id", uuid(2, 1)},
          {"debit_account_id", uuid(1, 1)},
          {"credit_account_id", uuid(1, 2)},
          {"amount", 10000},
          {"currency", "EUR"}});
    rest("POST", "/v1/cards",
         {{"id", uuid(3, 1)},
          {"account_id", uuid(1, 2)},
          {"pan", pan},
          {"expiry", "4012"},
          {"controls",
           {{"per_authorization_limit", 5000},
            {"daily_count_limit", 1000},
            {"abroad", false},
            {"blocked_mccs", {"7995"}}}}});
  }

  json rest(const std::string& method, const std::string& target, const json& body = nullptr) {
    const auto reply =
        testing::http_call(server_.http_port(), method, target, body.is_null() ? "" : body.dump(),
                           {{"Authorization", "Bearer " + key_}});
    EXPECT_LT(reply.status, 300) << method << " " << target << " " << reply.body;
    return reply.body.empty() ? json() : json::parse(reply.body);
  }
  json balances() { return rest("GET", "/v1/accounts/" + uuid(1, 2))["balances"]; }

  static Message auth(int stan, std::int64_t amount, const std::string& card = pan) {
    Message m;
    m.mti = "0100";
    m.set(2, card);
    m.set(3, "000000");
    char text[16];
    std::snprintf(text, sizeof text, "%012lld", static_cast<long long>(amount));
    m.set(4, text);
    m.set(7, "1123120000");
    std::snprintf(text, sizeof text, "%06d", stan);
    m.set(11, text);
    m.set(14, "4012");
    m.set(18, "5411");
    m.set(19, "276");
    m.set(22, "051");
    m.set(32, "00012345");
    std::snprintf(text, sizeof text, "RRN%09d", stan);
    m.set(37, text);
    m.set(41, "TERM0001");
    m.set(49, "978");
    return m;
  }

  std::string url_;
  testing::Env env_;
  std::string key_;
  testing::ServerProcess server_;
};

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

TEST_F(IsoTest, MalformedFramesGet30OrCloseTheConnection) {
  {
    IsoClient client(server_.iso_port());
    std::string frame = IsoClient::frame(auth(5, 10));
    frame[frame.find("000000000010")] = 'A';  // a letter in DE4, which comes before DE11:
    client.send_raw(frame);                   // answered 30, DE11 echoed, the link kept
    const Message reply = client.receive();
    EXPECT_EQ(reply.mti, "0110");
    EXPECT_EQ(reply.get(39), "30");
    EXPECT_EQ(reply.get(11), "000005");
    EXPECT_FALSE(reply.has(4));  // a field that did not decode is not echoed
    EXPECT_EQ(client.call(auth(15, 10)).get(39), "00");
  }
  {
    IsoClient client(server_.iso_port());
    Message bad = auth(6, 10);
    bad.set(41, "TERM0001");
    std::string frame = IsoClient::frame(bad);
    frame[frame.find("TERM0001")] = '\x01';  // unprintable in DE41, after DE11
    client.send_raw(frame);
    const Message reply = client.receive();
    EXPECT_EQ(reply.mti, "0110");
    EXPECT_EQ(reply.get(39), "30");
    EXPECT_EQ(reply.get(11), "000006");
  }
  {
    IsoClient client(server_.iso_port());
    Message unknown = auth(7, 10);
    unknown.mti = "0600";
    EXPECT_EQ(client.call(unknown).get(39), "30");
  }
  {
    IsoClient client(server_.iso_port());
    client.send_raw(std::string("\x7F\xFF", 2));  // longer than any frame may be
    EXPECT_TRUE(client.receive().mti.empty());    // closed
  }
  {
    IsoClient client(server_.iso_port());
    client.send_raw(IsoClient::frame(auth(8, 10)).substr(0, 20));  // half a frame, then silence
    EXPECT_TRUE(client.receive().mti.empty());                     // closed after the read timeout
  }
  IsoClient client(server_.iso_port());  // the server is fine
  EXPECT_EQ(client.call(auth(9, 10)).get(39), "00");
}

// A frame built without the codec's checks, so that any field can carry anything.
// prefix_override: a replacement for a variable field's length digits ("" keeps them).
std::string raw_frame(const std::string& mti, const std::map<int, std::string>& fields,
                      int prefix_field = 0, const std::string& prefix_override = "") {
  unsigned char bitmap[16] = {};
  bool secondary = false;
  for (const auto& [field, value] : fields) secondary = secondary || field > 64;
  if (secondary) bitmap[0] |= 0x80;
  std::string body = mti;
  for (const auto& [field, value] : fields)
    bitmap[(field - 1) / 8] |= static_cast<unsigned char>(0x80u >> ((field - 1) % 8));
  body.append(reinterpret_cast<const char*>(bitmap), secondary ? 16 : 8);
  for (const auto& [field, value] : fields) {
    const auto kind = iso8583::field_spec(field).kind;
    const int digits = kind == iso8583::FieldKind::llnum || kind == iso8583::FieldKind::llchar ? 2
                       : kind == iso8583::FieldKind::lllchar                                   ? 3
                                                                                               : 0;
    if (digits > 0) {
      char length[8];
      std::snprintf(length, sizeof length, "%0*zu", digits, value.size());
      body += field == prefix_field ? prefix_override : std::string(length);
    }
    body += value;
  }
  return std::string{static_cast<char>(body.size() >> 8), static_cast<char>(body.size() & 0xFF)} +
         body;
}

std::map<int, std::string> fields_of(const Message& m) {
  std::map<int, std::string> fields;
  for (int f = 2; f <= 128; ++f) {
    if (m.has(f)) fields[f] = m.get(f);
  }
  return fields;
}

// Every field of every supported request, with wrong characters, a broken length prefix,
// absent where required or out of range, sent as one flood on one connection: each gets one
// answer (30, or 12/13 for an unsupported processing code or amount), the link stays up, no
// in-flight slot leaks (300 reversals with letters in DE95 once exhausted all 256), and a good
// authorization afterwards is approved.
TEST_F(IsoTest, EveryMalformedFieldIsAnsweredAndTheLinkStaysUp) {
  std::vector<std::string> frames;
  std::vector<std::string> expected;  // DE39 of each, "" where several are right
  const auto message = [](const std::string& mti, int stan) {
    Message m = auth(stan, 100);
    m.mti = mti;
    if (mti == "0800") {
      m = Message{};
      m.mti = mti;
      m.set(7, "1123120000");
      m.set(11, "000001");
      m.set(70, "301");
    }
    if (mti[1] == '4') m.set(95, "000000000050000000000050C00000000C00000000");
    if (mti == "0220") m.set(90, "010000000111231200000000012345000000000000");
    return m;
  };
  int stan = 1000;
  for (const std::string mti : {"0100", "0200", "0120", "0220", "0400", "0420", "0800"}) {
    const auto fields = fields_of(message(mti, 0));
    for (const auto& [field, value] : fields) {
      for (const char bad : {'\x01', 'A', '~'}) {
        auto broken = fields_of(message(mti, ++stan));
        std::string& v = broken[field];
        v[v.size() / 2] = bad;
        std::string reason;
        if (iso8583::valid_field(field, v, &reason)) continue;  // 'A' is fine in an `an` field
        frames.push_back(raw_frame(mti, broken));
        expected.push_back("30");
      }
      const auto kind = iso8583::field_spec(field).kind;
      if (kind == iso8583::FieldKind::llnum || kind == iso8583::FieldKind::llchar ||
          kind == iso8583::FieldKind::lllchar) {
        frames.push_back(raw_frame(mti, fields_of(message(mti, ++stan)), field, "9X"));
        expected.push_back("30");
      }
    }
  }
  for (const std::string mti : {"0100", "0200", "0120"}) {
    for (int field : {2, 3, 4, 7, 11, 49}) {  // absent where required
      auto fields = fields_of(message(mti, ++stan));
      fields.erase(field);
      frames.push_back(raw_frame(mti, fields));
      expected.push_back("30");
    }
    auto out_of_range = fields_of(message(mti, ++stan));
    out_of_range[14] = "4013";  // month 13
    frames.push_back(raw_frame(mti, out_of_range));
    expected.push_back("30");
    out_of_range = fields_of(message(mti, ++stan));
    out_of_range[49] = "999";  // no such currency
    frames.push_back(raw_frame(mti, out_of_range));
    expected.push_back("30");
  }
  for (int i = 0; i < 300; ++i) {  // letters in DE95 (an 42), more than the in-flight window
    auto fields = fields_of(message("0400", ++stan));
    fields[95] = "0000000000AB000000000050C00000000C00000000";
    frames.push_back(raw_frame("0400", fields));
    expected.push_back("30");
  }
  IsoClient client(server_.iso_port());
  std::string flood;
  for (const std::string& frame : frames) flood += frame;
  client.send_raw(flood);
  std::map<std::string, int> codes;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const Message reply = client.receive();
    ASSERT_FALSE(reply.mti.empty()) << "answer " << i << " of " << frames.size() << " never came";
    ++codes[reply.get(39)];
  }
  EXPECT_EQ(codes["30"], static_cast<int>(frames.size())) << "every malformed frame gets 30";
  EXPECT_EQ(client.call(auth(99, 10)).get(39), "00");  // the same connection still approves
}

// 200 strangers each holding half a frame cannot lock a card network out: a new connection
// evicts the oldest one that has not sent a complete valid message, and its echo is answered.
TEST_F(IsoTest, HalfFramesOnHundredsOfConnectionsCannotLockANetworkOut) {
  asio::io_context io;
  const std::string half = IsoClient::frame(auth(1, 10)).substr(0, 20);
  std::vector<std::unique_ptr<asio::ip::tcp::socket>> strangers;
  for (int i = 0; i < 200; ++i) {
    auto socket = std::make_unique<asio::ip::tcp::socket>(io);
    socket->connect(
        {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server_.iso_port())});
    boost::system::error_code ignored;
    asio::write(*socket, asio::buffer(half), ignored);
    strangers.push_back(std::move(socket));
  }
  const auto started = std::chrono::steady_clock::now();
  IsoClient network(server_.iso_port());
  Message echo;
  echo.mti = "0800";
  echo.set(7, "1123120000");
  echo.set(11, "000042");
  echo.set(70, "301");
  const Message answer = network.call(echo);
  EXPECT_EQ(answer.mti, "0810");
  EXPECT_EQ(answer.get(39), "00");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_EQ(network.call(auth(7, 10)).get(39), "00");  // and it stays, proven
}

// SIGTERM while requests wait for a stalled commit: each is still answered before the
// connection closes, and ledgerd exits 0.
TEST_F(IsoTest, ShutdownAnswersTheRequestsAlreadyReceived) {
  IsoClient client(server_.iso_port());
  ASSERT_EQ(client.call(auth(1, 10)).get(39), "00");
  std::unique_ptr<PGconn, decltype(&PQfinish)> blocker(PQconnectdb(url_.c_str()), &PQfinish);
  ASSERT_EQ(PQstatus(blocker.get()), CONNECTION_OK);
  PQclear(PQexec(blocker.get(), "BEGIN"));
  PQclear(PQexec(blocker.get(), "LOCK TABLE transfers IN EXCLUSIVE MODE"));
  std::string burst;
  for (int stan = 2; stan <= 4; ++stan) burst += IsoClient::frame(auth(stan, 10));
  client.send_raw(burst);
  std::this_thread::sleep_for(200ms);  // received and in flight, waiting for the commit
  std::thread stopper([this] { EXPECT_EQ(server_.stop(SIGTERM), 0) << server_.output(); });
  std::this_thread::sleep_for(300ms);
  PQclear(PQexec(blocker.get(), "COMMIT"));
  std::set<std::string> answered;
  for (int i = 0; i < 3; ++i) {
    const Message reply = client.receive();
    ASSERT_FALSE(reply.mti.empty()) << "request " << i << " was not answered at shutdown";
    EXPECT_EQ(reply.get(39), "00");
    answered.insert(reply.get(11));
  }
  EXPECT_EQ(answered.size(), 3u);
  EXPECT_TRUE(client.receive().mti.empty());  // then closed
  stopper.join();
}

class IsoDeadlineTest : public IsoTest {
 protected:
  void SetUp() override { start({{"LEDGER_AUTH_DEADLINE_MS", "200"}}); }
};

TEST_F(IsoDeadlineTest, AnAnswerTooLateIs91AndItsHoldIsVoidedWhenItCommits) {
  IsoClient client(server_.iso_port());
  ASSERT_EQ(client.call(auth(1, 100)).get(39), "00");
  // Hold a lock that the journal's COPY into transfers must wait for: the next commit stalls.
  std::unique_ptr<PGconn, decltype(&PQfinish)> blocker(PQconnectdb(url_.c_str()), &PQfinish);
  ASSERT_EQ(PQstatus(blocker.get()), CONNECTION_OK);
  PQclear(PQexec(blocker.get(), "BEGIN"));
  PQclear(PQexec(blocker.get(), "LOCK TABLE transfers IN EXCLUSIVE MODE"));
  const Message late = client.call(auth(2, 300));
  EXPECT_EQ(late.get(39), "91");  // not durable within the deadline
  EXPECT_EQ(late.get(11), "000002");
  PQclear(PQexec(blocker.get(), "COMMIT"));  // the hold commits now, after the answer
  std::string voids = "0";
  for (int i = 0; i < 200 && voids != "1"; ++i) {
    std::this_thread::sleep_for(20ms);
    voids =
        testing::query_value(url_, "SELECT count(*) FROM transfers WHERE code = 4 AND result = 0");
  }
  EXPECT_EQ(voids, "1") << "the late hold was not voided";
  EXPECT_EQ(balances()["pending"], 100);  // only the hold of the answer that said 00
  EXPECT_EQ(client.call(auth(3, 50)).get(39), "00");
}

// Past the in-flight limit the session answers 91 itself while held answers complete
// together after a stalled commit: every request must get exactly one answer, with its own
// DE11. (The noon-peak bench found a two-writer bug on this path; this test guards the
// behaviour but does not reliably reproduce that interleaving, which needs a completion to
// land between a writer being spawned and starting. The 10k/s bench run does.)
TEST_F(IsoTest, OverloadedConnectionAnswersEveryRequestExactlyOnce) {
  IsoClient client(server_.iso_port());
  std::unique_ptr<PGconn, decltype(&PQfinish)> blocker(PQconnectdb(url_.c_str()), &PQfinish);
  ASSERT_EQ(PQstatus(blocker.get()), CONNECTION_OK);
  PQclear(PQexec(blocker.get(), "BEGIN"));
  PQclear(PQexec(blocker.get(), "LOCK TABLE transfers IN EXCLUSIVE MODE"));
  constexpr int requests = 600;  // more than the 256 allowed in flight per connection
  std::string burst;
  for (int stan = 1; stan <= requests; ++stan) burst += IsoClient::frame(auth(stan, 1));
  client.send_raw(burst);
  std::map<std::string, int> answers;
  std::map<std::string, int> codes;
  const auto take = [&] {
    const Message m = client.receive();
    if (m.mti.empty()) return false;
    ++answers[m.get(11)];
    ++codes[m.get(39)];
    return true;
  };
  int received = 0;
  // While commits are held back, the requests past the in-flight limit are refused at once:
  // the first 91 shows the limit was reached. Then let the held ones commit.
  while (codes["91"] == 0 && received < requests) {
    ASSERT_TRUE(take()) << "answer " << received << " never came";
    ++received;
  }
  PQclear(PQexec(blocker.get(), "COMMIT"));
  for (; received < requests; ++received)
    ASSERT_TRUE(take()) << "answer " << received << " never came";
  EXPECT_EQ(answers.size(), static_cast<std::size_t>(requests));
  for (const auto& [stan, n] : answers) EXPECT_EQ(n, 1) << stan;
  EXPECT_GT(codes["91"], 0);  // the excess was refused at once
  EXPECT_GT(codes["00"], 0);
}

}  // namespace
}  // namespace ledger
