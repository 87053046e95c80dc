// Card clearing, settlement and disputes (issue 34) against a real ledgerd and PostgreSQL: the
// authorizations go over ISO 8583 on a real socket, the clearing files (written here by a
// writer of the test's own, byte by byte, not by ledgerd's encoder) over REST. Scenarios after
// issuing processors' documentation: clearing partly (the rest released), over-clearing within
// the MCC tolerance by life cycle id, force post of an unknown authorization and after expiry,
// a refund, a reversal of a presentment, clearing in another currency, the same file twice, a
// file whose trailer does not add up, a record for an unknown card (set aside, named in the
// reconciliation), and disputes won and lost; the cardholder's available and posted balances
// checked after every step.
#include <chrono>
#include <thread>

#include "support/iso_fixture.h"

namespace ledger::iso_testing::card_clearing {
namespace {

// --- An independent clearing-file writer (ISO 8583:1993, ASCII, binary bitmap, 4-byte RDW) ---

struct Field {
  int number;
  std::string value;
};

// Field formats of the records this writer makes: LL / LLL variable fields get their prefix.
int prefix_digits(int field) {
  switch (field) {
    case 2:
    case 31:
    case 32:
    case 33:
    case 43:
    case 93:
    case 94:
    case 95:
    case 100:
      return 2;
    case 48:
    case 54:
    case 62:
    case 63:
    case 72:
      return 3;
    default:
      return 0;
  }
}

std::string record(const std::string& mti, std::vector<Field> fields) {
  std::sort(fields.begin(), fields.end(),
            [](const Field& a, const Field& b) { return a.number < b.number; });
  unsigned char bitmap[16] = {};
  bool secondary = false;
  std::string data;
  for (const Field& f : fields) {
    if (f.number > 64) secondary = true;
    bitmap[(f.number - 1) / 8] |= static_cast<unsigned char>(0x80 >> ((f.number - 1) % 8));
    const int digits = prefix_digits(f.number);
    if (digits > 0) {
      char length[8];
      std::snprintf(length, sizeof length, "%0*zu", digits, f.value.size());
      data += length;
    }
    data += f.value;
  }
  if (secondary) bitmap[0] |= 0x80;
  std::string out = mti;
  out.append(reinterpret_cast<const char*>(bitmap), secondary ? 16 : 8);
  return out + data;
}

std::string rdw(const std::vector<std::string>& records) {
  std::string file;
  for (const std::string& r : records) {
    const std::size_t n = r.size();
    file += static_cast<char>(0);
    file += static_cast<char>(0);
    file += static_cast<char>((n >> 8) & 0xFF);
    file += static_cast<char>(n & 0xFF);
    file += r;
  }
  return file;
}

std::string n12(std::int64_t v) {
  char t[24];
  std::snprintf(t, sizeof t, "%012lld", static_cast<long long>(v));
  return t;
}

std::string pds(const std::string& tag, const std::string& data) {
  char length[8];
  std::snprintf(length, sizeof length, "%03zu", data.size());
  return tag + length + data;
}

struct Presentment {
  std::string function = "200";
  std::string card = pan;
  std::int64_t amount = 0;       // DE4
  std::string currency = "978";  // DE49
  std::int64_t billing = -1;     // DE6 (with DE51 978) when >= 0
  std::string processing = "000000";
  std::string approval;
  std::string life_cycle;
  std::string reference;  // DE31
  std::string mcc = "5411";
  std::string merchant = "CORNER BISTRO\\Hauptstr. 1\\Berlin\\10115      BE DEU";
  bool reversal = false;
};

// A day's file: header, the records, and a trailer with the message count (PDS 0306), the
// amount checksum (PDS 0301) and the ISO reconciliation counts and amounts.
std::string clearing_file(const std::string& file_id, const std::vector<Presentment>& items,
                          std::int64_t trailer_debits_delta = 0) {
  std::vector<std::string> records;
  records.push_back(
      record("1644", {{24, "697"}, {48, pds("0105", file_id)}, {71, "00000001"}, {73, "261207"}}));
  std::int64_t checksum = 0;
  std::int64_t debits = 0;
  std::int64_t credits = 0;
  std::int64_t debit_amount = 0;
  std::int64_t credit_amount = 0;
  for (const Presentment& p : items) {
    std::vector<Field> f{{2, p.card},          {3, p.processing}, {4, n12(p.amount)},
                         {12, "261207120000"}, {24, p.function},  {26, p.mcc},
                         {31, p.reference},    {43, p.merchant},  {49, p.currency},
                         {71, "00000002"},     {73, "261207"}};
    if (!p.approval.empty()) f.push_back({38, p.approval});
    if (!p.life_cycle.empty()) f.push_back({63, p.life_cycle});
    if (p.billing >= 0) {
      f.push_back({6, n12(p.billing)});
      f.push_back({10, "70921659"});
      f.push_back({51, "978"});
    }
    if (p.reversal) f.push_back({48, pds("0025", "R261207")});
    records.push_back(record("1240", f));
    checksum += p.amount;
    const bool credit = (p.processing.substr(0, 2) == "20") != p.reversal;
    (credit ? credits : debits) += 1;
    (credit ? credit_amount : debit_amount) += p.amount;
  }
  const std::string count = std::to_string(records.size() + 1);
  char c16[20];
  std::snprintf(c16, sizeof c16, "%016lld", static_cast<long long>(checksum));
  char d10[4][24];
  std::snprintf(d10[0], sizeof d10[0], "%010lld", static_cast<long long>(credits));
  std::snprintf(d10[1], sizeof d10[1], "%010lld", static_cast<long long>(debits));
  char a16[2][20];
  std::snprintf(a16[0], sizeof a16[0], "%016lld", static_cast<long long>(credit_amount));
  std::snprintf(a16[1], sizeof a16[1], "%016lld",
                static_cast<long long>(debit_amount + trailer_debits_delta));
  records.push_back(record(
      "1644", {{24, "695"},
               {48, pds("0306", std::string(8 - count.size(), '0') + count) + pds("0301", c16)},
               {74, d10[0]},
               {76, d10[1]},
               {86, a16[0]},
               {88, a16[1]}}));
  return rdw(records);
}

class CardClearingTest : public IsoTest {
 protected:
  void SetUp() override {}

  testing::HttpReply import(const std::string& file) {
    return testing::http_call(
        server_.http_port(), "POST", "/v1/card-clearing/import", file,
        {{"Authorization", "Bearer " + key_}, {"Content-Type", "application/octet-stream"}});
  }
  testing::HttpReply call(const std::string& method, const std::string& target,
                          const json& body = nullptr) {
    return testing::http_call(server_.http_port(), method, target,
                              body.is_null() ? "" : body.dump(),
                              {{"Authorization", "Bearer " + key_}});
  }
  // Approves an authorization and returns the answer (DE38, DE63).
  Message approve(IsoClient& link, int stan, std::int64_t amount, const std::string& mcc = "5411") {
    Message m = auth(stan, amount);
    m.set(18, mcc);
    Message answer = link.call(m);
    EXPECT_EQ(answer.get(39), "00");
    EXPECT_TRUE(answer.has(38));
    EXPECT_TRUE(answer.has(63));
    return answer;
  }
  bool advance(const std::string& admin, std::int64_t seconds) {
    const auto reply = testing::http_call(server_.http_port(), "POST", "/v1/test-clock/advance",
                                          json{{"seconds", seconds}}.dump(),
                                          {{"Authorization", "Bearer " + admin}});
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.status == 200;
  }
  void expect_balances(std::int64_t posted, std::int64_t available, int line) {
    const json b = balances();
    EXPECT_EQ(b["posted"], posted) << "line " << line;
    EXPECT_EQ(b["available"], available) << "line " << line;
  }
};

TEST_F(CardClearingTest, PresentmentsMatchPostForceRefundReverseAndReconcile) {
  start({});
  IsoClient link(server_.iso_port());
  expect_balances(10000, 10000, __LINE__);

  // An authorization of 20.00, cleared at 18.00 by card and approval code: 18.00 posted, the
  // other 2.00 released.
  const Message a1 = approve(link, 1, 2000);
  expect_balances(10000, 8000, __LINE__);
  // A restaurant authorization of 10.00, cleared at 11.50 with the tip (20% tolerance), found
  // by its life cycle id.
  const Message a2 = approve(link, 2, 1000, "5812");
  expect_balances(10000, 7000, __LINE__);
  // An authorization of 10.00 cleared in US dollars: billed what DE6 says (10.00 EUR).
  const Message a3 = approve(link, 3, 1000);
  expect_balances(10000, 6000, __LINE__);

  Presentment p1;
  p1.amount = 1800;
  p1.approval = a1.get(38);
  p1.reference = "74000000000000000000001";
  Presentment p2;
  p2.amount = 1150;
  p2.mcc = "5812";
  p2.life_cycle = a2.get(63);
  p2.reference = "74000000000000000000002";
  Presentment p3;
  p3.amount = 1085;
  p3.currency = "840";
  p3.billing = 1000;
  p3.approval = a3.get(38);
  p3.reference = "74000000000000000000003";
  Presentment unknown_auth;  // no authorization: force posted
  unknown_auth.amount = 500;
  unknown_auth.approval = "ZZZZZ9";
  unknown_auth.reference = "74000000000000000000004";
  Presentment refund;  // a credit presentment
  refund.amount = 300;
  refund.processing = "200000";
  refund.reference = "74000000000000000000005";
  Presentment stranger;  // an unknown card: set aside, named in the reconciliation
  stranger.card = "4111111111111111";
  stranger.amount = 700;
  stranger.reference = "74000000000000000000006";
  const std::string day1 =
      clearing_file("00226120700000001234500001", {p1, p2, p3, unknown_auth, refund, stranger});

  // A trailer that does not add up: refused whole, nothing posted.
  auto reply = import(clearing_file("00226120700000001234500009", {p1}, 1));
  EXPECT_EQ(reply.status, 422) << reply.body;
  EXPECT_NE(reply.body.find("clearing_file_refused"), std::string::npos);
  EXPECT_NE(reply.body.find("DE88"), std::string::npos) << reply.body;
  // Cut short: refused whole.
  reply = import(day1.substr(0, day1.size() - 10));
  EXPECT_EQ(reply.status, 422) << reply.body;
  expect_balances(10000, 6000, __LINE__);

  reply = import(day1);
  ASSERT_EQ(reply.status, 200) << reply.body << server_.output();
  json report = json::parse(reply.body);
  EXPECT_EQ(report["record_count"], 6);
  EXPECT_EQ(report["posted"], 5);
  EXPECT_EQ(report["set_aside"], 1);
  EXPECT_EQ(report["force_posted"], 1);
  const json& rows = report["records"];
  EXPECT_EQ(rows[0]["match"], "approval_code");
  EXPECT_EQ(rows[0]["outcome"], "posted");
  EXPECT_EQ(rows[1]["match"], "life_cycle");
  EXPECT_EQ(rows[2]["posted_amount"], 1000);
  EXPECT_EQ(rows[3]["outcome"], "force_posted_unknown_authorization");
  EXPECT_EQ(rows[4]["outcome"], "refunded");
  EXPECT_EQ(rows[5]["status"], "set_aside");
  EXPECT_NE(rows[5]["reason"].get<std::string>().find("unknown_card"), std::string::npos);
  EXPECT_FALSE(report["reconciliation"]["balanced"]);
  ASSERT_EQ(report["reconciliation"]["differences"].size(), 1u);
  EXPECT_EQ(report["reconciliation"]["differences"][0]["amount"], 700);
  // 10000 - 1800 - 1150 - 1000 - 500 + 300 = 5850; nothing held any more.
  expect_balances(5850, 5850, __LINE__);

  // The same file again: nothing changes.
  reply = import(day1);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_TRUE(json::parse(reply.body)["already_imported"]);
  expect_balances(5850, 5850, __LINE__);

  // The cardholder's view of the first transaction: authorized 20.00, cleared 18.00.
  const std::string p1_transfer = rows[0]["transfer_id"];
  reply = call("GET", "/v1/card-transactions/" + p1_transfer);
  ASSERT_EQ(reply.status, 200) << reply.body;
  json x = json::parse(reply.body);
  EXPECT_EQ(x["authorized_amount"], 2000);
  EXPECT_EQ(x["cleared_amount"], 1800);
  EXPECT_EQ(x["difference"], -200);
  EXPECT_EQ(x["authorization"]["approval_code"], a1.get(38));

  // Day 2: the force-posted presentment reversed (exactly its 5.00 back); a second shipment of
  // the first authorization (posted again, beside it).
  Presentment reverse = unknown_auth;
  reverse.reversal = true;
  Presentment second = p1;
  second.amount = 150;
  second.reference = "74000000000000000000007";
  reply = import(clearing_file("00226120800000001234500002", {reverse, second}));
  ASSERT_EQ(reply.status, 200) << reply.body;
  report = json::parse(reply.body);
  EXPECT_EQ(report["records"][0]["outcome"], "reversed");
  EXPECT_EQ(report["records"][1]["outcome"], "posted_again");
  EXPECT_TRUE(report["reconciliation"]["balanced"]);
  expect_balances(5850 + 500 - 150, 5850 + 500 - 150, __LINE__);

  // The events a cardholder's app shows, with the merchant.
  reply = call("GET",
               "/v1/events?limit=100&types=card.cleared,card.force_posted,card.refund_cleared,"
               "card.clearing_reversed");
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json events = json::parse(reply.body)["events"];
  ASSERT_EQ(events.size(), 7u) << events.dump(1);
  EXPECT_EQ(events[0]["type"], "card.cleared");
  EXPECT_EQ(events[0]["data"]["clearing"]["merchant_name"], "CORNER BISTRO");
  EXPECT_EQ(events[0]["data"]["clearing"]["merchant_city"], "Berlin");
  EXPECT_EQ(events[0]["data"]["clearing"]["amount"], 1800);
}

TEST_F(CardClearingTest, ExpiredHoldIsForcePostedEvenIntoOverdraft) {
  start({{"LEDGER_CLOCK", "manual"}, {"LEDGER_HOLD_DAYS", "1"}});
  const std::string admin = clock_key();
  IsoClient link(server_.iso_port());
  const Message a = approve(link, 11, 4000);
  expect_balances(10000, 6000, __LINE__);
  // Two days later the hold has expired: the money is available again.
  ASSERT_TRUE(advance(admin, 2 * 86400));
  for (int i = 0; i < 50 && balances()["available"] != 10000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  expect_balances(10000, 10000, __LINE__);
  // The cardholder spends the money elsewhere (a transfer out), then the late presentment comes:
  // posted anyway, into overdraft, and flagged.
  rest("POST", "/v1/transfers",
       {{"id", uuid(2, 9)},
        {"debit_account_id", uuid(1, 2)},
        {"credit_account_id", uuid(1, 1)},
        {"amount", 8000},
        {"currency", "EUR"}});
  expect_balances(2000, 2000, __LINE__);
  Presentment late;
  late.amount = 4000;
  late.approval = a.get(38);
  late.reference = "74000000000000000000011";
  auto reply = import(clearing_file("00226121000000001234500003", {late}));
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json report = json::parse(reply.body);
  EXPECT_EQ(report["records"][0]["outcome"], "force_posted_expired_authorization");
  expect_balances(-2000, -2000, __LINE__);
}

TEST_F(CardClearingTest, DisputesWonAndLostWithChargebackFileAndRepresentment) {
  // The daily chargeback cut-off at 23:59 (of the test clock, which starts at the wall clock):
  // the file below is cut by the call; should the timer get there first, by it.
  start({{"LEDGER_CLOCK", "manual"},
         {"LEDGER_CHARGEBACK_CUTOFF", "23:59"},
         {"LEDGER_REPRESENTMENT_DAYS", "45"}});
  const std::string admin = clock_key();
  IsoClient link(server_.iso_port());
  const Message a1 = approve(link, 21, 3000);
  const Message a2 = approve(link, 22, 2000);
  Presentment p1;
  p1.amount = 3000;
  p1.approval = a1.get(38);
  p1.reference = "74000000000000000000021";
  Presentment p2;
  p2.amount = 2000;
  p2.approval = a2.get(38);
  p2.reference = "74000000000000000000022";
  auto reply = import(clearing_file("00226120700000001234500021", {p1, p2}));
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json rows = json::parse(reply.body)["records"];
  expect_balances(5000, 5000, __LINE__);

  // Dispute 1 (not received) with provisional credit; dispute 2 (fraud) without.
  reply = call("POST", "/v1/disputes",
               {{"id", uuid(40, 1)},
                {"transfer_id", rows[0]["transfer_id"]},
                {"reason", "not_received"},
                {"provisional_credit", true}});
  ASSERT_EQ(reply.status, 201) << reply.body << server_.output();
  EXPECT_EQ(json::parse(reply.body)["status"], "opened");
  expect_balances(8000, 8000, __LINE__);
  // Again: the same dispute, nothing twice.
  reply = call("POST", "/v1/disputes",
               {{"id", uuid(40, 1)},
                {"transfer_id", rows[0]["transfer_id"]},
                {"reason", "not_received"},
                {"provisional_credit", true}});
  EXPECT_EQ(reply.status, 200) << reply.body;
  expect_balances(8000, 8000, __LINE__);
  reply = call("POST", "/v1/disputes",
               {{"id", uuid(40, 2)},
                {"transfer_id", rows[1]["authorization_id"]},  // named by its authorization
                {"reason", "fraud"}});
  ASSERT_EQ(reply.status, 201) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["transfer_id"], rows[1]["transfer_id"]);
  expect_balances(8000, 8000, __LINE__);
  // A second open dispute of the same payment: 409.
  EXPECT_EQ(
      call("POST", "/v1/disputes",
           {{"id", uuid(40, 3)}, {"transfer_id", rows[1]["transfer_id"]}, {"reason", "amount"}})
          .status,
      409);

  // The chargeback file: two 1442 between a header and a trailer that add up.
  reply = call("POST", "/v1/card-clearing/files");
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json cut = json::parse(reply.body);
  if (!cut["file_id"].is_null()) {
    EXPECT_EQ(cut["record_count"], 4);
    EXPECT_EQ(cut["disputes"].size(), 2u);
    // The file reads back as a clearing file: its trailer adds up.
    reply = call("GET", "/v1/card-clearing/files/out/" + cut["file_id"].get<std::string>());
    EXPECT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(json::parse(reply.body)["document"], cut["document"]);  // the bytes as cut
  }
  EXPECT_EQ(json::parse(call("GET", "/v1/disputes/" + uuid(40, 1)).body)["status"], "charged_back");

  // The acquirer re-presents the first in full: the provisional credit is taken back (lost).
  Presentment re = p1;
  re.function = "205";
  reply = import(clearing_file("00226121500000001234500022", {re}));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["records"][0]["status"], "representment");
  EXPECT_EQ(json::parse(call("GET", "/v1/disputes/" + uuid(40, 1)).body)["status"], "lost");
  expect_balances(5000, 5000, __LINE__);

  // The second is not re-presented within 45 days: won, the 20.00 back for good.
  ASSERT_TRUE(advance(admin, 46 * 86400));
  for (int i = 0;
       i < 150 && json::parse(call("GET", "/v1/disputes/" + uuid(40, 2)).body)["status"] != "won";
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(json::parse(call("GET", "/v1/disputes/" + uuid(40, 2)).body)["status"], "won");
  expect_balances(7000, 7000, __LINE__);

  // Past the chargeback time limit (120 days): refused.
  ASSERT_TRUE(advance(admin, 100 * 86400));
  reply = call("POST", "/v1/disputes",
               {{"id", uuid(40, 4)}, {"transfer_id", rows[0]["transfer_id"]}, {"reason", "fraud"}});
  EXPECT_EQ(reply.status, 422) << reply.body;
  EXPECT_NE(reply.body.find("chargeback_time_limit_passed"), std::string::npos);

  reply = call("GET",
               "/v1/events?limit=100&types=dispute.opened,dispute.provisional_credit,"
               "dispute.charged_back,dispute.representment,dispute.won,dispute.lost");
  const json events = json::parse(reply.body)["events"];
  std::vector<std::string> types;
  for (const json& e : events) types.push_back(e["type"]);
  EXPECT_EQ(std::count(types.begin(), types.end(), "dispute.opened"), 2);
  EXPECT_EQ(std::count(types.begin(), types.end(), "dispute.charged_back"), 2);
  EXPECT_EQ(std::count(types.begin(), types.end(), "dispute.lost"), 1);
  EXPECT_EQ(std::count(types.begin(), types.end(), "dispute.won"), 1);
}

}  // namespace
}  // namespace ledger::iso_testing::card_clearing
