// The REST API over real sockets against the real ledgerd and PostgreSQL: every route, every
// error status, idempotent retries, atomic batches failing at one link, pagination while
// writing, statement totals equal to balances, and scope enforcement.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "support/rest_fixture.h"

namespace ledger {
namespace {

using namespace std::chrono_literals;

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

// One bad field at a time, on every kind of body: each is a 400 naming the field and why.
TEST_F(RestTest, BadInputGetsA400NamingTheField) {
  account(1, "settlement");
  account(2);
  struct Case {
    std::string target;  // POST
    json body;
    std::string field;
    std::string code;
  };
  const json good = transfer(1, 1, 2, 100);
  const auto with = [](json body, const std::string& name, json value) {
    if (value.is_discarded()) {
      body.erase(name);
    } else {
      body[name] = std::move(value);
    }
    return body;
  };
  const json removed = json::value_t::discarded;
  const json account_body{{"holder_id", uuid(9, 1)}, {"currency", "EUR"}, {"kind", "customer"}};
  const json card_body{{"account_id", uuid(1, 2)}, {"pan", "4111111111111111"}, {"expiry", "2812"}};
  const std::string hold = "/v1/transfers/" + uuid(2, 9) + "/post";
  const std::vector<Case> cases = {
      {"/v1/transfers", with(good, "amount", 1.5), "amount", "invalid_field"},
      {"/v1/transfers", with(good, "amount", "100"), "amount", "invalid_field"},
      {"/v1/transfers", with(good, "amount", -1), "amount", "invalid_field"},
      {"/v1/transfers", with(good, "amount", 0), "amount", "invalid_field"},
      {"/v1/transfers", with(good, "amount", 9223372036854775808ULL), "amount", "invalid_field"},
      {"/v1/transfers", with(good, "debit_account_id", "1234"), "debit_account_id",
       "invalid_field"},
      {"/v1/transfers", with(good, "surprise", true), "surprise", "unknown_field"},
      {"/v1/transfers", with(good, "currency", removed), "currency", "missing_field"},
      {"/v1/transfers", with(good, "currency", "EURO"), "currency", "invalid_field"},
      {"/v1/transfers", with(good, "timeout_seconds", 5), "timeout_seconds", "invalid_field"},
      {"/v1/transfers", with(good, "code", "gift"), "code", "invalid_field"},
      {"/v1/transfers", with(good, "reference_32", 4294967296ULL), "reference_32", "invalid_field"},
      {"/v1/transfers/batch", {{"transfers", json::array()}}, "transfers", "invalid_field"},
      {"/v1/transfers/batch",
       {{"transfers", {with(good, "amount", -3)}}},
       "transfers[0].amount",
       "invalid_field"},
      {hold, {{"amount", 0}}, "amount", "invalid_field"},
      {hold, {{"allow_over_capture", "yes"}}, "allow_over_capture", "invalid_field"},
      {hold, {{"id", "x"}}, "id", "invalid_field"},
      {"/v1/accounts", with(account_body, "kind", "piggy"), "kind", "invalid_field"},
      {"/v1/accounts", with(account_body, "holder_id", removed), "holder_id", "missing_field"},
      {"/v1/accounts", with(account_body, "overdraft_limit", -5), "overdraft_limit",
       "invalid_field"},
      {"/v1/cards", with(card_body, "pan", "4111111111111112"), "pan", "invalid_field"},
      {"/v1/cards", with(card_body, "expiry", "2813"), "expiry", "invalid_field"},
      {"/v1/cards", with(card_body, "controls", {{"blocked_mccs", {"54"}}}),
       "controls.blocked_mccs", "invalid_field"},
      {"/v1/cards", with(card_body, "controls", {{"daily_limit", -1}}), "controls.daily_limit",
       "invalid_field"},
  };
  for (const Case& c : cases) {
    const auto reply = call("POST", c.target, c.body);
    EXPECT_EQ(reply.status, 400) << c.target << " " << c.body.dump() << " -> " << reply.body;
    if (reply.status != 400) continue;
    const json problem = json::parse(reply.body);
    EXPECT_EQ(problem["code"], c.code) << c.body.dump();
    EXPECT_EQ(problem.value("field", ""), c.field) << c.body.dump();
    EXPECT_EQ(reply.headers.at("content-type"), "application/problem+json");
  }
}

// Bodies that are not JSON objects, wrong media types, methods and queries.
TEST_F(RestTest, MalformedBodiesMethodsAndQueriesAreRefused) {
  account(2);
  const std::map<std::string, std::string> auth{{"Authorization", "Bearer " + backoffice_}};
  for (const std::string& body : {std::string("{\"id\":"), std::string("[]"), std::string("7")}) {
    const auto reply = testing::http_call(server_.http_port(), "POST", "/v1/transfers", body, auth);
    EXPECT_EQ(reply.status, 400) << body;
    EXPECT_EQ(json::parse(reply.body)["code"], "malformed_json") << body;
  }
  auto text = auth;
  text["Content-Type"] = "text/plain";
  EXPECT_EQ(testing::http_call(server_.http_port(), "POST", "/v1/transfers", "{}", text).status,
            415);
  struct Case {
    std::string method;
    std::string target;
    int status;
    std::string field;  // for 400
  };
  const std::string history = "/v1/accounts/" + uuid(1, 2) + "/transfers";
  const std::string statement = "/v1/accounts/" + uuid(1, 2) + "/statement";
  const std::vector<Case> cases = {
      {"DELETE", "/v1/transfers", 405, ""},
      {"PUT", "/v1/accounts/" + uuid(1, 2), 405, ""},
      {"GET", "/v1/nothing", 404, ""},
      {"GET", "/v1/accounts?holder_id=" + uuid(9, 1) + "&limit=0", 400, "limit"},
      {"GET", "/v1/accounts?holder_id=" + uuid(9, 1) + "&color=red", 400, "color"},
      {"GET", history + "?from=yesterday", 400, "from"},
      {"GET", history + "?from=2024-02-30T00:00:00Z", 400, "from"},  // no roll-over to March
      {"GET", history + "?to=2023-02-29T00:00:00Z", 400, "to"},      // not a leap year
      {"GET", history + "?from=2026-01-01T24:00:00Z", 400, "from"},
      {"GET", history + "?from=3000-01-01T00:00:00Z", 400, "from"},
      {"GET", history + "?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", 400, "from"},
      {"GET", statement + "?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", 400, "from"},
      {"GET", statement + "?from=2024-02-29T00:00:00Z", 200, ""},  // a leap day is fine
      {"GET", statement + "?format=pdf", 400, "format"},
      {"GET", history + "?cursor=zzz", 400, "cursor"},
  };
  for (const Case& c : cases) {
    const auto reply = call(c.method, c.target);
    EXPECT_EQ(reply.status, c.status) << c.method << " " << c.target << " -> " << reply.body;
    if (c.status == 400 && reply.status == 400) {
      EXPECT_EQ(json::parse(reply.body).value("field", ""), c.field) << c.target;
    }
  }
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
  EXPECT_EQ(card["bin"], "411111");  // at most the first six digits
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
  EXPECT_EQ(json::parse(duplicate.body)["code"], "card_conflict");
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
