// Incoming SEPA direct debits (issue 16) against a real ledgerd with LEDGER_CLOCK=manual and a
// real PostgreSQL: a collection the account cannot cover waits for funds (card payments keep
// working), survives kill -9, is paid by the next credit in the same commit, and can be
// refunded; duplicates, unknown IBANs and mandate rules are refused with their ISO codes; an
// unfunded collection is returned AM04 at its deadline; the test clock exists only when asked.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <thread>

#include "ledger/sepa.h"
#include "support/iso_fixture.h"
#include "support/xsd.h"

namespace ledger::iso_testing {
namespace {

constexpr std::int64_t day_s = 86400;

class DirectDebitsTest : public IsoTest {
 protected:
  void SetUp() override {
    start({{"LEDGER_CLOCK", "manual"}});
    admin_ = testing::create_api_key(env_, "admin");
    // Keys made while ledgerd runs are picked up by its periodic refresh.
    for (int i = 0; i < 100 && call("GET", "/v1/test-clock", nullptr, admin_).status == 401; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  testing::HttpReply call(const std::string& method, const std::string& target,
                          const json& body = nullptr, const std::string& key = "") {
    return testing::http_call(server_.http_port(), method, target,
                              body.is_null() ? "" : body.dump(),
                              {{"Authorization", "Bearer " + (key.empty() ? key_ : key)}});
  }
  std::int64_t now_s() {
    const auto reply = call("GET", "/v1/test-clock", nullptr, admin_);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return json::parse(reply.body)["now_unix_seconds"];
  }
  void advance_to(std::int64_t unix_s) {
    const std::int64_t by = unix_s - now_s();
    ASSERT_GT(by, 0);
    const auto reply = call("POST", "/v1/test-clock/advance", {{"seconds", by}}, admin_);
    ASSERT_EQ(reply.status, 200) << reply.body;
  }
  // The second TARGET2 business day from the ledger's today.
  std::int32_t due_day() {
    return sepa::add_business_days(static_cast<std::int32_t>(now_s() / day_s) + 1, 1);
  }
  static std::int64_t settle_s(std::int32_t day) { return day * day_s + 6 * 3600; }
  json collection(const std::string& e2e, std::int64_t amount, std::int32_t day,
                  const std::string& creditor = "DE98ZZZ09999999999") {
    return json{{"end_to_end_id", e2e},
                {"mandate_reference", "MANDATE-" + e2e},
                {"creditor_id", creditor},
                {"creditor_name", "Stadtwerke Musterstadt"},
                {"scheme", "core"},
                {"sequence_type", "RCUR"},
                {"amount", amount},
                {"currency", "EUR"},
                {"due_date", sepa::format_date(day)},
                {"account_id", uuid(1, 2)}};
  }
  json post(const json& body, int expected = 201) {
    const auto reply = call("POST", "/v1/direct-debits", body);
    EXPECT_EQ(reply.status, expected) << reply.body;
    return json::parse(reply.body);
  }
  json get(const std::string& id) {
    const auto reply = call("GET", "/v1/direct-debits/" + id);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return json::parse(reply.body);
  }
  std::vector<std::string> event_types() {
    const auto reply = call("GET",
                            "/v1/events?limit=1000&types=direct_debit.received,"
                            "direct_debit.refused,direct_debit.at_risk,"
                            "direct_debit.waiting_for_funds,direct_debit.paid,"
                            "direct_debit.returned,direct_debit.refunded");
    EXPECT_EQ(reply.status, 200) << reply.body;
    std::vector<std::string> types;
    const json page = json::parse(reply.body);
    for (const json& e : page["events"]) types.push_back(e["type"]);
    return types;
  }
  std::string admin_;
};

TEST_F(DirectDebitsTest, ASecondChanceSurvivesKillNineAndTheNextCreditPaysIt) {
  const std::int32_t day = due_day();
  // The customer holds 10,000; the collection is 15,000.
  const json a = post(collection("E2E-1", 15000, day));
  EXPECT_EQ(a["status"], "received");
  EXPECT_EQ(a["reason_code"], nullptr);
  EXPECT_EQ(a["due_date"], sepa::format_date(day));
  EXPECT_EQ(a["currency"], "EUR");
  EXPECT_EQ(a["scheme"], "core");
  EXPECT_EQ(a["sequence_type"], "RCUR");
  const std::string id = a["id"];
  // The same collection again without an id (a client's retry after a lost answer): the
  // stored one, 200, never a duplicate refusal.
  const auto retry = call("POST", "/v1/direct-debits", collection("E2E-1", 15000, day));
  EXPECT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(json::parse(retry.body)["id"], id);
  // The same (creditor, end-to-end id, due date) with another amount: a duplicate, AM05.
  const json dup = post(collection("E2E-1", 15001, day));
  EXPECT_EQ(dup["status"], "refused");
  EXPECT_EQ(dup["reason_code"], "AM05");
  EXPECT_NE(dup["id"], id);
  // A valid IBAN no account has: AC01. An invalid one: 400.
  json by_iban = collection("E2E-2", 100, day);
  by_iban.erase("account_id");
  by_iban["debtor_iban"] = "DE89 3704 0044 0532 0130 00";
  EXPECT_EQ(post(by_iban)["reason_code"], "AC01");
  by_iban["debtor_iban"] = "DE88370400440532013000";
  post(by_iban, 400);

  advance_to(settle_s(day) - 2 * 3600);  // the day before has passed: at risk
  EXPECT_EQ(get(id)["status"], "received");
  advance_to(settle_s(day) + 1);
  json waiting = get(id);
  EXPECT_EQ(waiting["status"], "waiting_for_funds") << waiting.dump(1);
  EXPECT_EQ(waiting["missing_amount"], 5000);
  EXPECT_NE(waiting["wait_deadline"], nullptr);
  // Waiting holds nothing: a card payment still goes through.
  IsoClient client(server_.iso_port());
  EXPECT_EQ(client.call(auth(50, 3000)).get(39), "00");
  EXPECT_EQ(balances()["available"], 7000);

  server_.stop(SIGKILL);
  ASSERT_TRUE(server_.start(env_)) << server_.output();
  EXPECT_GE(now_s(), settle_s(day));  // the test clock restarts where the journal left it
  EXPECT_EQ(get(id)["status"], "waiting_for_funds");

  rest("POST", "/v1/transfers",
       {{"id", uuid(2, 50)},
        {"debit_account_id", uuid(1, 1)},
        {"credit_account_id", uuid(1, 2)},
        {"amount", 8000},
        {"currency", "EUR"}});
  const json paid = get(id);
  EXPECT_EQ(paid["status"], "paid");
  EXPECT_EQ(paid["late"], true);
  EXPECT_EQ(balances()["available"], 0);
  std::vector<std::string> changes;
  for (const json& h : paid["history"]) changes.push_back(h["change"]);
  EXPECT_EQ(changes,
            (std::vector<std::string>{"received", "at_risk", "waiting_for_funds", "paid"}));

  const auto refund =
      call("POST", "/v1/direct-debits/" + id + "/refund", {{"reason_code", "MD06"}});
  ASSERT_EQ(refund.status, 200) << refund.body;
  EXPECT_EQ(json::parse(refund.body)["status"], "refunded");
  EXPECT_EQ(balances()["available"], 15000);
  // A retry of the refund answers the refund; the money moved once.
  const auto again = call("POST", "/v1/direct-debits/" + id + "/refund");
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json::parse(again.body)["status"], "refunded");
  EXPECT_EQ(balances()["available"], 15000);

  const auto types = event_types();
  for (const char* t :
       {"direct_debit.received", "direct_debit.refused", "direct_debit.at_risk",
        "direct_debit.waiting_for_funds", "direct_debit.paid", "direct_debit.refunded"}) {
    EXPECT_NE(std::find(types.begin(), types.end(), t), types.end()) << t;
  }
}

// "direct_debits_first": false keeps a credit usable by card payments until the deadline,
// where the waiting collection is paid if the balance then covers it. The setting is journaled
// (it survives kill -9) and switching it back pays the waiting collections at once.
TEST_F(DirectDebitsTest, CardsFirstSettingKeepsCreditsUsableUntilTheDeadline) {
  const std::string account = "/v1/accounts/" + uuid(1, 2);
  EXPECT_EQ(json::parse(call("GET", account).body)["direct_debits_first"], true);
  const auto patch = call("PATCH", account, {{"direct_debits_first", false}});
  ASSERT_EQ(patch.status, 200) << patch.body;
  EXPECT_EQ(json::parse(patch.body)["direct_debits_first"], false);
  EXPECT_EQ(call("PATCH", account, {{"direct_debits_first", "no"}}).status, 400);

  const std::int32_t day = due_day();
  const std::string first = post(collection("CF-1", 12000, day))["id"];
  const std::string second = post(collection("CF-2", 11000, day))["id"];  // neither covered
  advance_to(settle_s(day) + 1);
  ASSERT_EQ(get(first)["status"], "waiting_for_funds");
  ASSERT_EQ(get(second)["status"], "waiting_for_funds");
  server_.stop(SIGKILL);
  ASSERT_TRUE(server_.start(env_)) << server_.output();
  EXPECT_EQ(json::parse(call("GET", account).body)["direct_debits_first"], false);

  rest("POST", "/v1/transfers",
       {{"id", uuid(2, 60)},
        {"debit_account_id", uuid(1, 1)},
        {"credit_account_id", uuid(1, 2)},
        {"amount", 5000},
        {"currency", "EUR"}});
  EXPECT_EQ(get(first)["status"], "waiting_for_funds");  // 15,000 usable, nothing paid
  EXPECT_EQ(balances()["available"], 15000);
  IsoClient client(server_.iso_port());
  EXPECT_EQ(client.call(auth(61, 2000)).get(39), "00");
  EXPECT_EQ(balances()["available"], 13000);

  // Back to collections first: the older waiting one (12,000) is paid in the same commit.
  ASSERT_EQ(call("PATCH", account, {{"direct_debits_first", true}}).status, 200);
  EXPECT_EQ(get(first)["status"], "paid");
  EXPECT_EQ(balances()["available"], 1000);
  ASSERT_EQ(call("PATCH", account, {{"direct_debits_first", false}}).status, 200);
  rest("POST", "/v1/transfers",
       {{"id", uuid(2, 62)},
        {"debit_account_id", uuid(1, 1)},
        {"credit_account_id", uuid(1, 2)},
        {"amount", 10000},
        {"currency", "EUR"}});
  EXPECT_EQ(get(second)["status"], "waiting_for_funds");
  EXPECT_EQ(balances()["available"], 11000);
  // At its deadline the balance (11,000) covers it: paid late, not returned.
  advance_to(settle_s(sepa::add_business_days(day, 2)) + 1);
  const json paid = get(second);
  EXPECT_EQ(paid["status"], "paid") << paid.dump(1);
  EXPECT_EQ(paid["late"], true);
  EXPECT_EQ(balances()["available"], 0);
}

TEST_F(DirectDebitsTest, MandateRulesRefusalsAndTheReturnAtTheDeadline) {
  const std::int32_t day = due_day();
  const auto rules =
      call("PUT", "/v1/accounts/" + uuid(1, 2) + "/direct-debit-rules",
           {{"blocked_creditors", {"DE09ZZZ00000000001"}},
            {"b2b_mandates",
             {{{"creditor_id", "DE79ZZZ00000000002"}, {"mandate_reference", "B2B-OK"}}}}});
  ASSERT_EQ(rules.status, 200) << rules.body;
  EXPECT_EQ(post(collection("E2E-10", 100, day, "DE09ZZZ00000000001"))["reason_code"], "SL01");
  json b2b = collection("E2E-11", 100, day, "DE79ZZZ00000000002");
  b2b["scheme"] = "b2b";
  EXPECT_EQ(post(b2b)["reason_code"], "MD01");
  b2b["end_to_end_id"] = "E2E-12";
  b2b["mandate_reference"] = "B2B-OK";
  EXPECT_EQ(post(b2b)["status"], "received");
  // A block added after a collection arrived refuses it before settlement.
  const json later = post(collection("E2E-14", 100, day, "DE52ZZZ00000000003"));
  ASSERT_EQ(later["status"], "received");
  ASSERT_EQ(call("PUT", "/v1/accounts/" + uuid(1, 2) + "/direct-debit-rules",
                 {{"blocked_creditors", {"DE09ZZZ00000000001", "DE52ZZZ00000000003"}},
                  {"b2b_mandates",
                   {{{"creditor_id", "DE79ZZZ00000000002"}, {"mandate_reference", "B2B-OK"}}}}})
                .status,
            200);
  const json refused = get(later["id"]);
  EXPECT_EQ(refused["status"], "refused");
  EXPECT_EQ(refused["reason_code"], "SL01");

  // Bad input: each refused with the field named, nothing stored.
  json bad = collection("E2E-13", 100, day);
  bad["amount"] = 100000000000;
  EXPECT_EQ(post(bad, 400)["field"], "amount");
  bad = collection("E2E-13", 100, day);
  bad["currency"] = "USD";
  EXPECT_EQ(post(bad, 400)["field"], "currency");
  bad = collection("E2E-13", 100, static_cast<std::int32_t>(now_s() / day_s) - 1);
  EXPECT_EQ(post(bad, 400)["field"], "due_date");

  const json big = post(collection("E2E-20", 50000, day));
  const std::string id = big["id"];
  advance_to(settle_s(day) + 1);
  const json waiting = get(id);
  ASSERT_EQ(waiting["status"], "waiting_for_funds");
  // 48 hours later, still unfunded: returned AM04. A credit after that pays nothing.
  advance_to(settle_s(sepa::add_business_days(day, 2)) + 1);
  const json returned = get(id);
  EXPECT_EQ(returned["status"], "returned");
  EXPECT_EQ(returned["reason_code"], "AM04");
  const auto list = call("GET", "/v1/accounts/" + uuid(1, 2) + "/direct-debits?status=returned");
  ASSERT_EQ(list.status, 200) << list.body;
  const json items = json::parse(list.body)["direct_debits"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["id"], id);
  EXPECT_EQ(items[0]["end_to_end_id"], "E2E-20");
}

// After the reject cut-off (the day before, at the settlement time) a collection can no longer
// be refused: an account frozen after it has its collection funded from suspense and returned
// at settlement (AC06 in a pacs.004), and a block added after it no longer refuses. Every file
// is valid against its ISO 20022 schema, has a MsgId of its own, and a second fetch of a day
// sends nothing twice.
TEST_F(DirectDebitsTest, AfterTheCutOffACollectionIsReturnedNeverRefusedAndFilesNeverRepeat) {
  const std::int32_t day = due_day();
  const json frozen_one = post(collection("E2E-40", 1000, day));
  ASSERT_EQ(frozen_one["status"], "received");
  advance_to(settle_s(day) - day_s + 3600);  // past the cut-off
  // A block now is too late for this collection.
  ASSERT_EQ(call("PUT", "/v1/accounts/" + uuid(1, 2) + "/direct-debit-rules",
                 {{"blocked_creditors", {"DE98ZZZ09999999999"}}})
                .status,
            200);
  EXPECT_EQ(get(frozen_one["id"])["status"], "received");
  ASSERT_EQ(call("PATCH", "/v1/accounts/" + uuid(1, 2), {{"status", "frozen"}}).status, 200);
  advance_to(settle_s(day) + 1);
  const json returned = get(frozen_one["id"]);
  EXPECT_EQ(returned["status"], "returned") << returned.dump(1);
  EXPECT_EQ(returned["reason_code"], "AC06");
  const std::string date = sepa::format_date(day);
  const auto file = call("GET", "/v1/direct-debits/returns?date=" + date);
  ASSERT_EQ(file.status, 200) << file.body;
  EXPECT_EQ(testing::xsd_errors(file.body, "pacs.004.001.09.xsd"), "") << file.body;
  EXPECT_NE(file.body.find("<OrgnlEndToEndId>E2E-40</OrgnlEndToEndId>"), std::string::npos);
  EXPECT_NE(file.body.find("<Cd>AC06</Cd>"), std::string::npos);
  std::string compact = date;
  compact.erase(std::remove(compact.begin(), compact.end(), '-'), compact.end());
  EXPECT_NE(file.body.find("<MsgId>RTR" + compact + "-001</MsgId>"), std::string::npos);
  // Fetched again: the same file, byte for byte (a duplicate the clearing system refuses).
  EXPECT_EQ(call("GET", "/v1/direct-debits/returns?date=" + date).body, file.body);

  // Rejects: each file holds what no earlier one held, under a new MsgId.
  ASSERT_EQ(call("PATCH", "/v1/accounts/" + uuid(1, 2), {{"status", "active"}}).status, 200);
  const std::int32_t next = due_day();
  EXPECT_EQ(post(collection("E2E-41", 100, next))["reason_code"], "SL01");
  const std::string today = sepa::format_date(static_cast<std::int32_t>(now_s() / day_s));
  const auto first = call("GET", "/v1/direct-debits/rejects?date=" + today);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(testing::xsd_errors(first.body, "pacs.002.001.10.xsd"), "") << first.body;
  EXPECT_NE(first.body.find("E2E-41"), std::string::npos);
  EXPECT_EQ(call("GET", "/v1/direct-debits/rejects?date=" + today).body, first.body);
  EXPECT_EQ(post(collection("E2E-42", 100, next))["reason_code"], "SL01");
  const auto second = call("GET", "/v1/direct-debits/rejects?date=" + today);
  EXPECT_EQ(testing::xsd_errors(second.body, "pacs.002.001.10.xsd"), "") << second.body;
  EXPECT_NE(second.body.find("E2E-42"), std::string::npos);
  EXPECT_EQ(second.body.find("E2E-41"), std::string::npos);  // sent once, in the first file
  const auto msg_id = [](const std::string& xml) {
    const auto at = xml.find("<MsgId>") + 7;
    return xml.substr(at, xml.find("</MsgId>") - at);
  };
  EXPECT_NE(msg_id(first.body), msg_id(second.body));
  // Any stored file can be fetched again by its MsgId.
  EXPECT_EQ(call("GET", "/v1/direct-debits/rejects?message_id=" + msg_id(first.body)).body,
            first.body);
  EXPECT_EQ(call("GET", "/v1/direct-debits/rejects?message_id=NOPE").status, 404);
}

// One event per business fact: a paid collection is one direct_debit.paid event (with who
// collects, the mandate and the end-to-end id), not also a transfer.created for its posting.
TEST_F(DirectDebitsTest, APaidCollectionIsOneEventWithItsReferences) {
  const std::int32_t day = due_day();
  const json dd = post(collection("E2E-50", 100, day));
  advance_to(settle_s(day) + 1);
  ASSERT_EQ(get(dd["id"])["status"], "paid");
  const auto reply = call("GET", "/v1/events?limit=1000&types=transfer.created,direct_debit.paid");
  ASSERT_EQ(reply.status, 200) << reply.body;
  int paid = 0;
  const json page = json::parse(reply.body);
  for (const json& e : page["events"]) {
    if (e["data"].contains("transfer")) {
      EXPECT_NE(e["data"]["transfer"]["code"].get<std::string>().rfind("direct_debit", 0), 0u)
          << e.dump();
    }
    if (e["type"] == "direct_debit.paid") {
      ++paid;
      const json& d = e["data"]["direct_debit"];
      EXPECT_EQ(d["creditor_name"], "Stadtwerke Musterstadt");
      EXPECT_EQ(d["creditor_id"], "DE98ZZZ09999999999");
      EXPECT_EQ(d["mandate_reference"], "MANDATE-E2E-50");
      EXPECT_EQ(d["end_to_end_id"], "E2E-50");
    }
  }
  EXPECT_EQ(paid, 1) << reply.body;
}

// The payer's limits (Regulation (EU) 260/2012 art. 5(3)(d)): only whitelisted creditors, an
// amount per collection and a number per month; each refusal SL01, the business code no way
// around it.
TEST_F(DirectDebitsTest, ThePayersWhitelistAmountAndMonthlyLimits) {
  const std::int32_t day = due_day();
  const auto put = call("PUT", "/v1/accounts/" + uuid(1, 2) + "/direct-debit-rules",
                        {{"allowed_creditors", {"DE98ZZZ09999999999", "DE79ZZZ00000000002"}},
                         {"limits",
                          {{{"creditor_id", "DE98ZZZ09999999999"},
                            {"max_amount", 5000},
                            {"max_collections_per_month", 1}}}}});
  ASSERT_EQ(put.status, 200) << put.body;
  const json rules = json::parse(put.body);
  EXPECT_EQ(rules["limits"][0]["max_amount"], 5000);
  EXPECT_EQ(rules["allowed_creditors"].size(), 2u);
  // Not on the whitelist.
  EXPECT_EQ(post(collection("E2E-60", 100, day, "DE09ZZZ00000000001"))["reason_code"], "SL01");
  // Over the amount.
  EXPECT_EQ(post(collection("E2E-61", 5001, day))["reason_code"], "SL01");
  // The first of the month passes, the second is over the count, under any business code.
  EXPECT_EQ(post(collection("E2E-62", 5000, day))["status"], "received");
  EXPECT_EQ(post(collection("E2E-63", 100, day, "DE98ABC09999999999"))["reason_code"], "SL01");
  // Another whitelisted creditor has no limit.
  EXPECT_EQ(post(collection("E2E-64", 9000, day, "DE79ZZZ00000000002"))["status"], "received");
  // Bad limits are a 400 naming the field.
  const auto bad = call("PUT", "/v1/accounts/" + uuid(1, 2) + "/direct-debit-rules",
                        {{"limits", {{{"max_amount", 0}}}}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body)["field"], "limits");
  EXPECT_EQ(call("PUT", "/v1/accounts/" + uuid(1, 2) + "/direct-debit-rules",
                 {{"allowed_creditors", {"DE97ZZZ09999999999"}}})
                .status,
            400);  // wrong check digits
  // The holder has died: every collection MD07, the one waiting for settlement too.
  const json before = post(collection("E2E-65", 100, day, "DE79ZZZ00000000002"));
  ASSERT_EQ(before["status"], "received");
  ASSERT_EQ(
      call("PUT", "/v1/accounts/" + uuid(1, 2) + "/direct-debit-rules", {{"debtor_deceased", true}})
          .status,
      200);
  EXPECT_EQ(get(before["id"])["reason_code"], "MD07");
  EXPECT_EQ(post(collection("E2E-66", 100, day))["reason_code"], "MD07");
}

// A pacs.007 from the creditor's bank reverses a paid collection: the money is back on the
// account, the collection is reversed (one direct_debit.reversed event), a repeat of the
// document moves nothing, and what cannot be reversed is answered with why.
TEST_F(DirectDebitsTest, APacs007ReversalGivesTheMoneyBackOnce) {
  const std::int32_t day = due_day();
  const json paid = post(collection("E2E-70", 2500, day));
  const json waiting = post(collection("E2E-71", 50000, day));
  advance_to(settle_s(day) + 1);
  ASSERT_EQ(get(paid["id"])["status"], "paid");
  ASSERT_EQ(get(waiting["id"])["status"], "waiting_for_funds");
  const std::int64_t before = balances()["available"];
  const auto tx = [&](const std::string& e2e, const std::string& amount) {
    return "<TxInf><RvslId>RV-" + e2e +
           "</RvslId><OrgnlGrpInf><OrgnlMsgId>M</OrgnlMsgId>"
           "<OrgnlMsgNmId>pacs.003</OrgnlMsgNmId></OrgnlGrpInf><OrgnlEndToEndId>" +
           e2e + "</OrgnlEndToEndId><OrgnlIntrBkSttlmAmt Ccy=\"EUR\">" + amount +
           "</OrgnlIntrBkSttlmAmt><RvsdIntrBkSttlmAmt Ccy=\"EUR\">" + amount +
           "</RvsdIntrBkSttlmAmt><OrgnlIntrBkSttlmDt>" + sepa::format_date(day) +
           "</OrgnlIntrBkSttlmDt><RvslRsnInf><Rsn><Cd>AM05</Cd></Rsn></RvslRsnInf><OrgnlTxRef>"
           "<CdtrSchmeId><Id><PrvtId><Othr><Id>DE98ZZZ09999999999</Id></Othr></PrvtId></Id>"
           "</CdtrSchmeId></OrgnlTxRef></TxInf>";
  };
  const std::string document =
      "<?xml version=\"1.0\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.007.001.09\">"
      "<FIToFIPmtRvsl><GrpHdr><MsgId>RVSL-1</MsgId><CreDtTm>2026-12-09T10:00:00</CreDtTm>"
      "<NbOfTxs>3</NbOfTxs></GrpHdr>" +
      tx("E2E-70", "25.00") + tx("E2E-71", "500.00") + tx("E2E-NONE", "1.00") +
      "</FIToFIPmtRvsl></Document>";
  const auto reply = testing::http_call(server_.http_port(), "POST", "/v1/direct-debits/reversals",
                                        document, {{"Authorization", "Bearer " + key_}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json results = json::parse(reply.body)["results"];
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0]["status"], "reversed");
  EXPECT_EQ(results[1]["status"], "not_reversed");
  EXPECT_EQ(results[2]["status"], "not_reversed");
  const json reversed = get(paid["id"]);
  EXPECT_EQ(reversed["status"], "reversed");
  EXPECT_EQ(reversed["reason_code"], "AM05");
  EXPECT_EQ(balances()["available"], before + 2500);
  // The same document again: nothing moves twice.
  const auto again = testing::http_call(server_.http_port(), "POST", "/v1/direct-debits/reversals",
                                        document, {{"Authorization", "Bearer " + key_}});
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(balances()["available"], before + 2500);
  const auto types = event_types();
  EXPECT_EQ(std::count(types.begin(), types.end(), "direct_debit.reversed"), 0)
      << "event_types() lists the older types only";
  const auto feed = call("GET", "/v1/events?types=direct_debit.reversed");
  EXPECT_EQ(json::parse(feed.body)["events"].size(), 1u) << feed.body;
  // Over JSON: only a paid collection.
  EXPECT_EQ(call("POST", "/v1/direct-debits/" + waiting["id"].get<std::string>() + "/reversal",
                 {{"reason_code", "AM05"}})
                .status,
            422);
  // Not a pacs.007: refused whole.
  EXPECT_EQ(testing::http_call(server_.http_port(), "POST", "/v1/direct-debits/reversals",
                               "<Document xmlns=\"urn:x\"/>", {{"Authorization", "Bearer " + key_}})
                .status,
            400);
}

TEST_F(DirectDebitsTest, AccountsHaveIbansAndCollectionsFindTheirDebtorByIban) {
  // Generated from the bank code, with valid check digits, stable across reads.
  const json generated = rest("GET", "/v1/accounts/" + uuid(1, 2));
  const std::string iban = generated["iban"];
  EXPECT_TRUE(sepa::iban_valid(iban)) << iban;
  EXPECT_EQ(iban.substr(0, 2) + iban.substr(4, 8), "DE10010010");
  EXPECT_EQ(rest("GET", "/v1/accounts/" + uuid(1, 2))["iban"], iban);
  // Given at creation; refused when invalid or taken.
  const auto created = call("POST", "/v1/accounts",
                            {{"id", uuid(1, 3)},
                             {"holder_id", uuid(9, 2)},
                             {"currency", "EUR"},
                             {"kind", "customer"},
                             {"iban", "de89 3704 0044 0532 0130 00"}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(json::parse(created.body)["iban"], "DE89370400440532013000");
  EXPECT_EQ(call("POST", "/v1/accounts",
                 {{"id", uuid(1, 4)},
                  {"holder_id", uuid(9, 2)},
                  {"currency", "EUR"},
                  {"kind", "customer"},
                  {"iban", "DE89370400440532013000"}})
                .status,
            409);
  EXPECT_EQ(call("POST", "/v1/accounts",
                 {{"id", uuid(1, 5)},
                  {"holder_id", uuid(9, 2)},
                  {"currency", "EUR"},
                  {"kind", "customer"},
                  {"iban", "DE88370400440532013000"}})
                .status,
            400);
  const auto found = call("GET", "/v1/accounts?iban=DE89370400440532013000");
  ASSERT_EQ(found.status, 200) << found.body;
  ASSERT_EQ(json::parse(found.body)["accounts"].size(), 1u);
  EXPECT_EQ(json::parse(found.body)["accounts"][0]["id"], uuid(1, 3));
  json by_iban = collection("E2E-30", 100, due_day());
  by_iban.erase("account_id");
  by_iban["debtor_iban"] = iban;
  const json dd = post(by_iban);
  EXPECT_EQ(dd["status"], "received");
  EXPECT_EQ(dd["account_id"], uuid(1, 2));
}

std::string pacs003_tx(const std::string& e2e, const std::string& amount, const std::string& ccy,
                       const std::string& debtor) {
  return "<DrctDbtTxInf><PmtId><InstrId>I-" + e2e + "</InstrId><EndToEndId>" + e2e +
         "</EndToEndId><TxId>T-" + e2e +
         "</TxId></PmtId>"
         "<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl><LclInstrm><Cd>CORE</Cd></LclInstrm>"
         "<SeqTp>RCUR</SeqTp></PmtTpInf>"
         "<IntrBkSttlmAmt Ccy=\"" +
         ccy + "\">" + amount +
         "</IntrBkSttlmAmt>"
         "<DrctDbtTx><MndtRltdInf><MndtId>MANDATE-" +
         e2e +
         "</MndtId><DtOfSgntr>2024-01-15"
         "</DtOfSgntr></MndtRltdInf><CdtrSchmeId><Id><PrvtId><Othr><Id>DE98ZZZ09999999999</Id>"
         "<SchmeNm><Prtry>SEPA</Prtry></SchmeNm></Othr></PrvtId></Id></CdtrSchmeId></DrctDbtTx>"
         "<Cdtr><Nm>Stadtwerke Musterstadt</Nm></Cdtr>"
         "<DbtrAcct><Id>" +
         debtor + "</Id></DbtrAcct></DrctDbtTxInf>";
}

std::string pacs003(const std::string& date, const std::string& transactions,
                    const std::string& ns = "urn:iso:std:iso:20022:tech:xsd:pacs.003.001.08") {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Document xmlns=\"" + ns +
         "\"><FIToFICstmrDrctDbt><GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-11-29T10:00:00"
         "</CreDtTm><NbOfTxs>4</NbOfTxs><IntrBkSttlmDt>" +
         date + "</IntrBkSttlmDt><SttlmInf><SttlmMtd>CLRG</SttlmMtd></SttlmInf></GrpHdr>" +
         transactions + "</FIToFICstmrDrctDbt></Document>";
}

TEST_F(DirectDebitsTest, Pacs003ImportDecidesEachTransactionOnItsOwn) {
  const std::string date = sepa::format_date(due_day());
  const std::string ours = "<Othr><Id>" + uuid(1, 2) + "</Id></Othr>";
  const std::string xml = pacs003(
      date, pacs003_tx("X-1", "12.50", "EUR", ours) + pacs003_tx("X-2", "1.005", "EUR", ours) +
                pacs003_tx("X-3", "3.00", "EUR", "<IBAN>DE89370400440532013000</IBAN>") +
                pacs003_tx("X-4", "3.00", "USD", ours));
  const auto reply = testing::http_call(
      server_.http_port(), "POST", "/v1/direct-debits/import", xml,
      {{"Authorization", "Bearer " + key_}, {"Content-Type", "application/xml"}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json results = json::parse(reply.body)["results"];
  ASSERT_EQ(results.size(), 4u) << reply.body;
  EXPECT_EQ(results[0]["status"], "received");
  EXPECT_EQ(results[0]["reason_code"], nullptr);
  EXPECT_EQ(results[1]["reason_code"], "FF01");
  EXPECT_EQ(results[2]["reason_code"], "AC01");
  EXPECT_EQ(results[3]["reason_code"], "FF01");
  // Refused for their format, they are stored too (with what could be read of them) and,
  // like every refusal, reported in the day's pacs.002.
  ASSERT_TRUE(results[1]["id"].is_string()) << reply.body;
  const json bad_amount = get(results[1]["id"]);
  EXPECT_EQ(bad_amount["status"], "refused");
  EXPECT_EQ(bad_amount["reason_code"], "FF01");
  EXPECT_EQ(bad_amount["end_to_end_id"], "X-2");
  const auto rejects =
      call("GET", "/v1/direct-debits/rejects?date=" +
                      sepa::format_date(static_cast<std::int32_t>(now_s() / day_s)));
  ASSERT_EQ(rejects.status, 200) << rejects.body;
  for (const char* expected : {"<OrgnlEndToEndId>X-2</OrgnlEndToEndId>", "<Cd>FF01</Cd>",
                               "<OrgnlEndToEndId>X-3</OrgnlEndToEndId>", "<Cd>AC01</Cd>",
                               "<OrgnlEndToEndId>X-4</OrgnlEndToEndId>"}) {
    EXPECT_NE(rejects.body.find(expected), std::string::npos) << expected << "\n" << rejects.body;
  }
  EXPECT_EQ(rejects.body.find("<OrgnlEndToEndId>X-1</OrgnlEndToEndId>"), std::string::npos);
  // The same file again (a resubmission): the same answers, nothing stored twice.
  const auto again = testing::http_call(
      server_.http_port(), "POST", "/v1/direct-debits/import", xml,
      {{"Authorization", "Bearer " + key_}, {"Content-Type", "application/xml"}});
  ASSERT_EQ(again.status, 200) << again.body;
  const json repeated = json::parse(again.body)["results"];
  ASSERT_EQ(repeated.size(), 4u);
  EXPECT_EQ(repeated[0]["id"], results[0]["id"]);
  EXPECT_EQ(repeated[1]["id"], results[1]["id"]);
  EXPECT_EQ(repeated[1]["reason_code"], "FF01");
  const std::string rejects_again =
      call("GET", "/v1/direct-debits/rejects?date=" +
                      sepa::format_date(static_cast<std::int32_t>(now_s() / day_s)))
          .body;
  const auto count = [](const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count(rejects_again, "<OrgnlEndToEndId>X-2</OrgnlEndToEndId>"), 1u) << rejects_again;
  const json first = get(results[0]["id"]);
  EXPECT_EQ(first["amount"], 1250);
  EXPECT_EQ(first["mandate_signature_date"], "2024-01-15");
  EXPECT_EQ(first["creditor_id"], "DE98ZZZ09999999999");
  // Bad documents: refused whole, nothing stored.
  const auto post_xml = [&](const std::string& body) {
    return testing::http_call(server_.http_port(), "POST", "/v1/direct-debits/import", body,
                              {{"Authorization", "Bearer " + key_}})
        .status;
  };
  EXPECT_EQ(post_xml("<Document><unclosed>"), 400);
  EXPECT_EQ(post_xml(pacs003(date, pacs003_tx("X-5", "1.00", "EUR", ours),
                             "urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08")),
            400);
  EXPECT_EQ(post_xml("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY "
                     "lol2 \"&lol;&lol;&lol;&lol;\">]><Document>&lol2;</Document>"),
            400);
  EXPECT_EQ(post_xml(pacs003(date, "")), 400);
}

TEST_F(DirectDebitsTest, TheTestClockIsOnlyThereWhenAsked) {
  EXPECT_EQ(call("GET", "/v1/test-clock", nullptr, admin_).status, 200);
  EXPECT_EQ(call("POST", "/v1/test-clock/advance", {{"seconds", 60}}).status, 403);  // admin only
  EXPECT_EQ(call("POST", "/v1/test-clock/advance", {{"seconds", -5}}, admin_).status, 400);
  server_.stop(SIGTERM);
  env_.erase("LEDGER_CLOCK");
  ASSERT_TRUE(server_.start(env_)) << server_.output();
  EXPECT_EQ(call("GET", "/v1/test-clock", nullptr, admin_).status, 404);
  EXPECT_EQ(call("POST", "/v1/test-clock/advance", {{"seconds", 60}}, admin_).status, 404);
}

}  // namespace
}  // namespace ledger::iso_testing
