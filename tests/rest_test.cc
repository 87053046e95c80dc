// The REST API over real sockets against the real ledgerd and PostgreSQL: every route, every
// error status, idempotent retries, atomic batches failing at one link, pagination while
// writing, statement totals equal to balances, and scope enforcement.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "support/http_client.h"
#include "support/process.h"
#include "support/test_db.h"

namespace ledger {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string uuid(int group, int n) {
  char text[40];
  std::snprintf(text, sizeof text, "%08d-0000-4000-8000-%012d", group, n);
  return text;
}

class RestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::create_database("rest");
    env_ = {{"LEDGER_DATABASE_URL", url_},
            {"LEDGER_ACCOUNTS_MAX", "1000"},
            {"LEDGER_TRANSFERS_MAX", "20000"},
            {"LEDGER_CARDS_MAX", "1000"},
            {"LEDGER_PAN_SECRET", "test-secret-test-secret-test-secret-0123"}};
    admin_ = testing::create_api_key(env_, "admin");
    backoffice_ = testing::create_api_key(env_, "backoffice");
    read_ = testing::create_api_key(env_, "read");
    ASSERT_TRUE(server_.start(env_)) << server_.output();
  }

  testing::HttpReply call(const std::string& method, const std::string& target,
                          const json& body = nullptr, const std::string& key = "") {
    std::map<std::string, std::string> headers{
        {"Authorization", "Bearer " + (key.empty() ? backoffice_ : key)}};
    return testing::http_call(server_.http_port(), method, target,
                              body.is_null() ? "" : body.dump(), headers);
  }
  json ok(const std::string& method, const std::string& target, const json& body = nullptr,
          int expected = 200) {
    const auto reply = call(method, target, body);
    EXPECT_EQ(reply.status, expected) << method << " " << target << " -> " << reply.body;
    return reply.body.empty() ? json() : json::parse(reply.body);
  }
  void account(int n, const std::string& kind = "customer",
               const std::string& holder = uuid(9, 1)) {
    ok("POST", "/v1/accounts",
       {{"id", uuid(1, n)}, {"holder_id", holder}, {"currency", "EUR"}, {"kind", kind}}, 201);
  }
  json transfer(int id, int debit, int credit, std::int64_t amount, bool pending = false) {
    json body{{"id", uuid(2, id)},
              {"debit_account_id", uuid(1, debit)},
              {"credit_account_id", uuid(1, credit)},
              {"amount", amount},
              {"currency", "EUR"}};
    if (pending) body["pending"] = true;
    return body;
  }
  json balances(int n) { return ok("GET", "/v1/accounts/" + uuid(1, n))["balances"]; }

  std::string url_;
  testing::Env env_;
  std::string admin_, backoffice_, read_;
  testing::ServerProcess server_;
};

TEST_F(RestTest, RequiresAValidKeyWithTheRightScope) {
  const auto none = testing::http_call(server_.http_port(), "GET", "/v1/accounts/" + uuid(1, 1));
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(json::parse(none.body)["code"], "unauthorized");
  EXPECT_EQ(none.headers.at("www-authenticate"), "Bearer realm=\"ledgerd\"");
  EXPECT_EQ(call("GET", "/v1/accounts/" + uuid(1, 1), nullptr, "ldg_0000").status, 401);
  const auto forbidden =
      call("POST", "/v1/accounts",
           {{"holder_id", uuid(9, 1)}, {"currency", "EUR"}, {"kind", "customer"}}, read_);
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(json::parse(forbidden.body)["code"], "insufficient_scope");
  EXPECT_EQ(call("GET", "/v1/accounts/" + uuid(1, 1), nullptr, read_).status,
            404);  // read may read
  EXPECT_EQ(call("POST", "/v1/accounts",
                 {{"holder_id", uuid(9, 1)}, {"currency", "EUR"}, {"kind", "fees"}}, admin_)
                .status,
            201);  // admin may write
  EXPECT_EQ(testing::http_call(server_.http_port(), "GET", "/health").status,
            200);  // no key needed
}

TEST_F(RestTest, KeysCreatedRevokedOrExpiredTakeEffectWithoutRestart) {
  const std::string fresh = testing::create_api_key(env_, "read");
  int status = 0;
  for (int i = 0; i < 100 && status != 404; ++i) {
    std::this_thread::sleep_for(50ms);
    status = call("GET", "/v1/accounts/" + uuid(1, 1), nullptr, fresh).status;
  }
  EXPECT_EQ(status, 404);
  testing::exec_sql(
      url_, "UPDATE api_keys SET revoked_at = now() WHERE key_hash = encode(sha256('" + fresh +
                "'::bytea), 'hex')");
  for (int i = 0; i < 100 && status != 401; ++i) {
    std::this_thread::sleep_for(50ms);
    status = call("GET", "/v1/accounts/" + uuid(1, 1), nullptr, fresh).status;
  }
  EXPECT_EQ(status, 401);
  testing::exec_sql(url_,
                    "UPDATE api_keys SET expires_at = now() - interval '1 minute' WHERE key_hash = "
                    "encode(sha256('" +
                        read_ + "'::bytea), 'hex')");
  std::string code;
  for (int i = 0; i < 100 && code != "key_expired"; ++i) {
    std::this_thread::sleep_for(50ms);
    const auto reply = call("GET", "/v1/accounts/" + uuid(1, 1), nullptr, read_);
    code = reply.status == 401 ? json::parse(reply.body)["code"].get<std::string>() : "";
  }
  EXPECT_EQ(code, "key_expired");
  EXPECT_EQ(testing::query_value(url_, "SELECT count(*) FROM api_keys WHERE key_hash LIKE 'ldg_%'"),
            "0");
}

TEST_F(RestTest, AccountsAreCreatedOnceAndConflictsAreNamed) {
  const json body{
      {"id", uuid(1, 1)}, {"holder_id", uuid(9, 1)}, {"currency", "EUR"}, {"kind", "customer"}};
  const json created = ok("POST", "/v1/accounts", body, 201);
  EXPECT_EQ(created["no_overdraft"], true);
  EXPECT_EQ(created["balances"]["available"], 0);
  EXPECT_EQ(ok("POST", "/v1/accounts", body, 200)["id"], uuid(1, 1));
  json other = body;
  other["currency"] = "USD";
  const auto conflict = call("POST", "/v1/accounts", other);
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(json::parse(conflict.body)["code"], "exists_with_different_currency");
  // Idempotency-Key names the account when the body has no id.
  std::map<std::string, std::string> headers{{"Authorization", "Bearer " + backoffice_},
                                             {"Idempotency-Key", "k-1"}};
  const json keyed{{"holder_id", uuid(9, 1)}, {"currency", "EUR"}, {"kind", "fees"}};
  const auto first =
      testing::http_call(server_.http_port(), "POST", "/v1/accounts", keyed.dump(), headers);
  const auto again =
      testing::http_call(server_.http_port(), "POST", "/v1/accounts", keyed.dump(), headers);
  EXPECT_EQ(first.status, 201);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(json::parse(first.body)["id"], json::parse(again.body)["id"]);
  EXPECT_EQ(call("GET", "/v1/accounts/" + uuid(1, 77)).status, 404);
  EXPECT_EQ(call("GET", "/v1/accounts/not-a-uuid").status, 400);
}

TEST_F(RestTest, BadInputGetsA400NamingTheField) {
  account(1, "settlement");
  account(2);
  const json good = transfer(1, 1, 2, 100);
  const auto expect_field = [&](json body, const std::string& field, const std::string& code) {
    const auto reply = call("POST", "/v1/transfers", body);
    EXPECT_EQ(reply.status, 400) << body.dump() << " -> " << reply.body;
    const json problem = json::parse(reply.body);
    EXPECT_EQ(problem["code"], code) << body.dump();
    EXPECT_EQ(problem.value("field", ""), field) << body.dump();
    EXPECT_EQ(reply.headers.at("content-type"), "application/problem+json");
  };
  json b = good;
  b["amount"] = 1.5;
  expect_field(b, "amount", "invalid_field");
  b["amount"] = "100";
  expect_field(b, "amount", "invalid_field");
  b["amount"] = -1;
  expect_field(b, "amount", "invalid_field");
  b["amount"] = 0;
  expect_field(b, "amount", "invalid_field");
  b = json::parse(good.dump().replace(good.dump().find("100"), 3, "9223372036854775808"));
  expect_field(b, "amount", "invalid_field");
  b = good;
  b["debit_account_id"] = "1234";
  expect_field(b, "debit_account_id", "invalid_field");
  b = good;
  b["surprise"] = true;
  expect_field(b, "surprise", "unknown_field");
  b = good;
  b.erase("currency");
  expect_field(b, "currency", "missing_field");
  b = good;
  b["currency"] = "EURO";
  expect_field(b, "currency", "invalid_field");
  b = good;
  b["timeout_seconds"] = 5;
  expect_field(b, "timeout_seconds", "invalid_field");
  const auto malformed =
      testing::http_call(server_.http_port(), "POST", "/v1/transfers",
                         "{\"id\":", {{"Authorization", "Bearer " + backoffice_}});
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(json::parse(malformed.body)["code"], "malformed_json");
  const auto array = testing::http_call(server_.http_port(), "POST", "/v1/transfers", "[]",
                                        {{"Authorization", "Bearer " + backoffice_}});
  EXPECT_EQ(json::parse(array.body)["code"], "malformed_json");
  const auto text = testing::http_call(
      server_.http_port(), "POST", "/v1/transfers", good.dump(),
      {{"Authorization", "Bearer " + backoffice_}, {"Content-Type", "text/plain"}});
  EXPECT_EQ(text.status, 415);
  EXPECT_EQ(call("DELETE", "/v1/transfers").status, 405);
  EXPECT_EQ(call("GET", "/v1/nothing").status, 404);
  EXPECT_EQ(call("GET", "/v1/accounts?holder_id=" + uuid(9, 1) + "&limit=0").status, 400);
  EXPECT_EQ(call("GET", "/v1/accounts?holder_id=" + uuid(9, 1) + "&color=red").status, 400);
  EXPECT_EQ(call("GET", "/v1/accounts/" + uuid(1, 2) + "/transfers?from=yesterday").status, 400);
}

TEST_F(RestTest, TransfersHoldsPostsAndVoidsWithIdempotentRetries) {
  account(1, "settlement");
  account(2);
  account(3);
  EXPECT_EQ(ok("POST", "/v1/transfers", transfer(1, 1, 2, 1000), 201)["status"], "posted");
  EXPECT_EQ(ok("POST", "/v1/transfers", transfer(1, 1, 2, 1000), 200)["id"], uuid(2, 1));
  const auto conflict = call("POST", "/v1/transfers", transfer(1, 1, 2, 999));
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(json::parse(conflict.body)["code"], "exists_with_different_amount");
  const auto poor = call("POST", "/v1/transfers", transfer(2, 2, 3, 5000));
  EXPECT_EQ(poor.status, 422);
  EXPECT_EQ(json::parse(poor.body)["code"], "exceeds_available");
  EXPECT_EQ(json::parse(poor.body)["transfer"]["status"], "rejected");
  EXPECT_EQ(call("POST", "/v1/transfers", transfer(2, 2, 3, 5000)).status,
            422);  // same answer again
  EXPECT_EQ(ok("POST", "/v1/transfers", transfer(3, 2, 3, 600, true), 201)["status"], "pending");
  EXPECT_EQ(balances(2)["available"], 400);
  EXPECT_EQ(balances(2)["pending"], 600);
  const json posted = ok("POST", "/v1/transfers/" + uuid(2, 3) + "/post", {{"amount", 250}}, 201);
  EXPECT_EQ(posted["amount_effective"], 250);
  EXPECT_EQ(ok("POST", "/v1/transfers/" + uuid(2, 3) + "/post", {{"amount", 250}}, 200)["id"],
            posted["id"]);
  EXPECT_EQ(balances(2)["available"], 750);
  EXPECT_EQ(ok("GET", "/v1/transfers/" + uuid(2, 3))["status"], "posted");
  const auto twice = call("POST", "/v1/transfers/" + uuid(2, 3) + "/void", json::object());
  EXPECT_EQ(twice.status, 422);
  EXPECT_EQ(json::parse(twice.body)["code"], "pending_already_posted");
  ok("POST", "/v1/transfers", transfer(4, 2, 3, 100, true), 201);
  EXPECT_EQ(ok("POST", "/v1/transfers/" + uuid(2, 4) + "/void", nullptr, 201)["kind"], "void");
  EXPECT_EQ(ok("GET", "/v1/transfers/" + uuid(2, 4))["status"], "voided");
  EXPECT_EQ(call("POST", "/v1/transfers/" + uuid(2, 99) + "/post").status, 404);
  EXPECT_EQ(call("GET", "/v1/transfers/" + uuid(2, 98)).status, 404);
}

TEST_F(RestTest, AtomicBatchFailsAtOneLinkAndAppliesNothing) {
  account(1, "settlement");
  account(2);
  account(3);
  ok("POST", "/v1/transfers", transfer(1, 1, 2, 100), 201);
  const json atomic{
      {"atomic", true},
      {"transfers", {transfer(10, 2, 3, 50), transfer(11, 2, 3, 500), transfer(12, 1, 3, 5)}}};
  const auto rejected = call("POST", "/v1/transfers/batch", atomic);
  ASSERT_EQ(rejected.status, 422) << rejected.body;
  const json problem = json::parse(rejected.body);
  EXPECT_EQ(problem["code"], "exceeds_available");
  EXPECT_EQ(problem["failed_index"], 1);
  EXPECT_EQ(problem["results"][0]["result"], "linked_event_failed");
  EXPECT_EQ(problem["results"][2]["result"], "linked_event_failed");
  EXPECT_EQ(balances(2)["posted"], 100);  // nothing applied
  EXPECT_EQ(balances(3)["posted"], 0);
  const json loose{
      {"transfers", {transfer(20, 2, 3, 50), transfer(21, 2, 3, 500), transfer(22, 1, 3, 5)}}};
  const json applied = ok("POST", "/v1/transfers/batch", loose, 200);
  EXPECT_EQ(applied["results"][0]["result"], "ok");
  EXPECT_EQ(applied["results"][1]["result"], "exceeds_available");
  EXPECT_EQ(applied["results"][2]["result"], "ok");
  EXPECT_EQ(balances(3)["posted"], 55);
  const json fine{{"atomic", true},
                  {"transfers", {transfer(30, 1, 2, 10), transfer(31, 2, 3, 10)}}};
  EXPECT_EQ(ok("POST", "/v1/transfers/batch", fine, 201)["results"][1]["result"], "ok");
  json bad = fine;
  bad["transfers"][1]["amount"] = -3;
  const auto invalid = call("POST", "/v1/transfers/batch", bad);
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(json::parse(invalid.body)["field"], "transfers[1].amount");
  EXPECT_EQ(call("POST", "/v1/transfers/batch", {{"transfers", json::array()}}).status, 400);
}

TEST_F(RestTest, PatchFreezeAndClose) {
  account(1, "settlement");
  account(2);
  account(3);
  ok("POST", "/v1/transfers", transfer(1, 1, 2, 100), 201);
  EXPECT_EQ(
      ok("PATCH", "/v1/accounts/" + uuid(1, 2), {{"overdraft_limit", 50}})["balances"]["available"],
      150);
  ok("POST", "/v1/transfers", transfer(2, 2, 3, 140), 201);
  EXPECT_EQ(ok("PATCH", "/v1/accounts/" + uuid(1, 2), {{"status", "frozen"}})["status"], "frozen");
  const auto frozen = call("POST", "/v1/transfers", transfer(3, 2, 3, 1));
  EXPECT_EQ(json::parse(frozen.body)["code"], "account_frozen");
  EXPECT_EQ(call("PATCH", "/v1/accounts/" + uuid(1, 2), {{"status", "closed"}}).status, 400);
  EXPECT_EQ(call("PATCH", "/v1/accounts/" + uuid(1, 2), json::object()).status, 400);
  const auto busy = call("POST", "/v1/accounts/" + uuid(1, 3) + "/close");
  EXPECT_EQ(busy.status, 422);
  EXPECT_EQ(json::parse(busy.body)["code"], "account_balance_not_zero");
  ok("POST", "/v1/transfers", transfer(4, 3, 1, 140), 201);
  EXPECT_EQ(ok("POST", "/v1/accounts/" + uuid(1, 3) + "/close")["status"], "closed");
  const auto closed = call("PATCH", "/v1/accounts/" + uuid(1, 3), {{"status", "active"}});
  EXPECT_EQ(closed.status, 409);
  EXPECT_EQ(call("POST", "/v1/accounts/" + uuid(1, 88) + "/close").status, 404);
}

TEST_F(RestTest, ListsAHoldersAccountsPageByPage) {
  for (int n = 1; n <= 5; ++n) account(n, "customer", uuid(9, 5));
  account(6, "customer", uuid(9, 6));
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    const json page = ok("GET", "/v1/accounts?holder_id=" + uuid(9, 5) + "&limit=2" +
                                    (cursor.empty() ? "" : "&cursor=" + cursor));
    for (const auto& a : page["accounts"])
      EXPECT_TRUE(seen.insert(a["id"].get<std::string>()).second);
    cursor = page["next_cursor"].is_null() ? "" : page["next_cursor"].get<std::string>();
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(call("GET", "/v1/accounts").status, 400);  // holder_id is required
}

TEST_F(RestTest, HistoryPagesStayStableWhileNewTransfersArrive) {
  account(1, "settlement");
  account(2);
  for (int i = 1; i <= 30; ++i) ok("POST", "/v1/transfers", transfer(i, 1, 2, i), 201);
  const std::string path = "/v1/accounts/" + uuid(1, 2) + "/transfers?limit=10";
  json page = ok("GET", path);
  std::vector<std::int64_t> amounts;
  for (const auto& t : page["transfers"]) amounts.push_back(t["amount"]);
  for (int i = 31; i <= 40; ++i)
    ok("POST", "/v1/transfers", transfer(i, 1, 2, i), 201);  // newer ones
  while (!page["next_cursor"].is_null()) {
    page = ok("GET", path + "&cursor=" + page["next_cursor"].get<std::string>());
    for (const auto& t : page["transfers"]) amounts.push_back(t["amount"]);
  }
  ASSERT_EQ(amounts.size(), 30u);
  for (std::size_t i = 0; i < amounts.size(); ++i) EXPECT_EQ(amounts[i], 30 - static_cast<int>(i));
  EXPECT_EQ(ok("GET", "/v1/accounts/" + uuid(1, 2) + "/transfers?limit=500")["transfers"].size(),
            40u);
  EXPECT_EQ(call("GET", "/v1/accounts/" + uuid(1, 2) + "/transfers?cursor=zzz").status, 400);
  EXPECT_EQ(call("GET", "/v1/accounts/" + uuid(1, 77) + "/transfers").status, 404);
}

TEST_F(RestTest, StatementTotalsEqualTheBalance) {
  account(1, "settlement");
  account(2);
  account(3);
  ok("POST", "/v1/transfers", transfer(1, 1, 2, 1000), 201);
  ok("POST", "/v1/transfers", transfer(2, 2, 3, 300), 201);
  const std::string middle = ok("GET", "/v1/transfers/" + uuid(2, 2))["created_at"];
  ok("POST", "/v1/transfers", transfer(3, 2, 3, 200, true), 201);
  ok("POST", "/v1/transfers/" + uuid(2, 3) + "/post", {{"amount", 150}}, 201);
  ok("POST", "/v1/transfers", transfer(4, 3, 2, 25), 201);
  const json statement = ok("GET", "/v1/accounts/" + uuid(1, 2) + "/statement");
  EXPECT_EQ(statement["opening_balance"], 0);
  EXPECT_EQ(statement["closing_balance"], balances(2)["posted"]);
  EXPECT_EQ(statement["closing_balance"], 1000 - 300 - 150 + 25);
  EXPECT_EQ(statement["lines"].size(), 4u);  // the hold itself is not a posting; its post is
  const json later = ok("GET", "/v1/accounts/" + uuid(1, 2) + "/statement?from=" + middle);
  EXPECT_EQ(later["opening_balance"], 1000);
  EXPECT_EQ(later["closing_balance"], statement["closing_balance"]);
  const auto csv = call("GET", "/v1/accounts/" + uuid(1, 2) + "/statement?format=csv");
  EXPECT_EQ(csv.status, 200);
  EXPECT_EQ(csv.headers.at("content-type"), "text/csv; charset=utf-8");
  EXPECT_EQ(csv.body.rfind("\xEF\xBB\xBF"
                           "date,transfer_id,",
                           0),
            0u);
  // Header, opening balance, 4 postings, closing balance.
  EXPECT_EQ(std::count(csv.body.begin(), csv.body.end(), '\n'), 7);
  EXPECT_NE(csv.body.find(",,opening_balance,,,,,0,EUR\r\n"), std::string::npos) << csv.body;
  EXPECT_NE(csv.body.find(",,closing_balance,,,,,575,EUR\r\n"), std::string::npos) << csv.body;
  EXPECT_EQ(call("GET", "/v1/accounts/" + uuid(1, 2) + "/statement?format=pdf").status, 400);
}

TEST_F(RestTest, CardsKeepOnlyAKeyedHashOfThePan) {
  account(1);
  const std::string pan = "4111111111111111";
  const json body{
      {"id", uuid(3, 1)},
      {"account_id", uuid(1, 1)},
      {"pan", pan},
      {"expiry", "2812"},
      {"controls", {{"daily_limit", 50000}, {"abroad", false}, {"blocked_mccs", {"7995"}}}}};
  const auto created = call("POST", "/v1/cards", body);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.body.find(pan), std::string::npos);
  const json card = json::parse(created.body);
  EXPECT_EQ(card["bin"], "41111111");
  EXPECT_EQ(card["last4"], "1111");
  EXPECT_EQ(card["expiry"], "2812");
  EXPECT_EQ(card["controls"]["daily_limit"], 50000);
  EXPECT_EQ(card["controls"]["abroad"], false);
  EXPECT_EQ(card["controls"]["online"], true);
  EXPECT_EQ(card["controls"]["blocked_mccs"][0], "7995");
  EXPECT_EQ(call("POST", "/v1/cards", body).status, 200);  // retry
  json other = body;
  other["id"] = uuid(3, 2);
  const auto duplicate = call("POST", "/v1/cards", other);
  EXPECT_EQ(duplicate.status, 409);
  EXPECT_EQ(json::parse(duplicate.body)["code"], "card_pan_exists");
  other["pan"] = "4111111111111112";  // bad check digit
  EXPECT_EQ(json::parse(call("POST", "/v1/cards", other).body)["field"], "pan");
  other["pan"] = "5500005555555559";
  other["expiry"] = "2813";
  EXPECT_EQ(json::parse(call("POST", "/v1/cards", other).body)["field"], "expiry");
  other["expiry"] = "2701";
  other["account_id"] = uuid(1, 99);
  EXPECT_EQ(json::parse(call("POST", "/v1/cards", other).body)["code"], "card_account_not_found");
  // Nothing stored anywhere holds the full number.
  for (const char* table : {"cards", "card_events"}) {
    EXPECT_EQ(testing::query_value(url_, std::string("SELECT count(*) FROM ") + table +
                                             " t WHERE t::text LIKE '%" + pan + "%'"),
              "0");
  }
  testing::exec_sql(url_, "CREATE EXTENSION IF NOT EXISTS pgcrypto");  // hmac() for the check
  EXPECT_EQ(
      testing::query_value(
          url_, "SELECT encode(pan_hash, 'hex') = encode(hmac('" + pan +
                    "', 'test-secret-test-secret-test-secret-0123', 'sha256'), 'hex') FROM cards"),
      "t");
  // PATCH merges controls, freezes, and blocked is final.
  const json patched =
      ok("PATCH", "/v1/cards/" + uuid(3, 1), {{"controls", {{"per_authorization_limit", 2000}}}});
  EXPECT_EQ(patched["controls"]["per_authorization_limit"], 2000);
  EXPECT_EQ(patched["controls"]["daily_limit"], 50000);
  EXPECT_EQ(ok("PATCH", "/v1/cards/" + uuid(3, 1), {{"status", "frozen"}})["status"], "frozen");
  EXPECT_EQ(ok("PATCH", "/v1/cards/" + uuid(3, 1), {{"status", "blocked"}})["status"], "blocked");
  const auto final_state = call("PATCH", "/v1/cards/" + uuid(3, 1), {{"status", "active"}});
  EXPECT_EQ(final_state.status, 409);
  EXPECT_EQ(json::parse(final_state.body)["code"], "card_blocked");
  EXPECT_EQ(call("PATCH", "/v1/cards/" + uuid(3, 1), {{"controls", {{"color", "red"}}}}).status,
            400);
  EXPECT_EQ(call("GET", "/v1/cards/" + uuid(3, 42)).status, 404);
  // Cards survive a restart.
  server_.stop(SIGTERM);
  ASSERT_TRUE(server_.start(env_)) << server_.output();
  EXPECT_EQ(ok("GET", "/v1/cards/" + uuid(3, 1))["status"], "blocked");
}

TEST_F(RestTest, CardsNeedAPanSecret) {
  server_.stop(SIGTERM);
  testing::Env without = env_;
  without.erase("LEDGER_PAN_SECRET");
  ASSERT_TRUE(server_.start(without)) << server_.output();
  account(1);
  const auto reply =
      call("POST", "/v1/cards",
           {{"account_id", uuid(1, 1)}, {"pan", "4111111111111111"}, {"expiry", "2812"}});
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(json::parse(reply.body)["code"], "pan_secret_not_configured");
}

}  // namespace
}  // namespace ledger
