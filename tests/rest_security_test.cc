// The findings of the independent security probe (issue 13), each reproduced against the real
// ledgerd and PostgreSQL: card numbers cannot be confirmed by probing, a frozen account is not
// debited through an over-capture, totals past int64 do not lock accounts, the audit trail
// survives bytes PostgreSQL refuses and records every write attempt, query values are checked.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "support/rest_fixture.h"

namespace ledger {
namespace {

using namespace std::chrono_literals;

class RestSecurityTest : public RestTest {
 protected:
  json card_body(int id, int account_n, const std::string& pan,
                 const std::string& expiry = "2812") {
    return {
        {"id", uuid(3, id)}, {"account_id", uuid(1, account_n)}, {"pan", pan}, {"expiry", expiry}};
  }
  // The REST audit rows (newest first; not the fixture's key creations) once at least `count`
  // are there (they are written within a second).
  json audit_entries(std::size_t count) {
    json entries;
    for (int i = 0; i < 100; ++i) {
      const auto reply = call("GET", "/v1/audit?limit=1000", nullptr, admin_);
      const json page = json::parse(reply.body);
      entries = json::array();
      for (const json& e : page["entries"]) {
        if (e["action"] != "key.create") entries.push_back(e);
      }
      if (entries.size() >= count) break;
      std::this_thread::sleep_for(50ms);
    }
    return entries;
  }
};

// A caller naming an account that does not exist gets the same answer whether the number is
// issued or not; a caller re-using a card id gets one conflict whatever field differs.
TEST_F(RestSecurityTest, CardAnswersDoNotTellWhetherANumberIsIssued) {
  account(1);
  account(2);
  const std::string issued = "4000056655665556";
  ASSERT_EQ(call("POST", "/v1/cards", card_body(1, 1, issued)).status, 201);
  const auto with_issued = call("POST", "/v1/cards", card_body(2, 77, issued));
  const auto with_unissued = call("POST", "/v1/cards", card_body(2, 77, "4000056655665564"));
  EXPECT_EQ(with_issued.status, 422);
  EXPECT_EQ(json::parse(with_issued.body)["code"], "card_account_not_found");
  EXPECT_EQ(with_issued.status, with_unissued.status);
  EXPECT_EQ(with_issued.body, with_unissued.body);

  // The same card id with another number, another expiry or another account: one answer.
  const auto other_pan = call("POST", "/v1/cards", card_body(1, 1, "4000056655665564"));
  const auto other_expiry = call("POST", "/v1/cards", card_body(1, 1, issued, "2901"));
  const auto other_account = call("POST", "/v1/cards", card_body(1, 2, issued));
  const auto number_taken = call("POST", "/v1/cards", card_body(5, 2, issued));
  for (const auto* reply : {&other_pan, &other_expiry, &other_account, &number_taken}) {
    EXPECT_EQ(reply->status, 409) << reply->body;
    EXPECT_EQ(reply->body, other_pan.body);
    EXPECT_EQ(json::parse(reply->body)["code"], "card_conflict");
    EXPECT_FALSE(json::parse(reply->body).contains("field"));
  }
  EXPECT_EQ(testing::query_value(url_, "SELECT count(*) FROM cards"), "1");
}

// At most the first six and the last four digits, and fewer leading ones for short numbers so
// that six digits always stay hidden; nothing stored holds more.
TEST_F(RestSecurityTest, CardsShowAtMostSixLeadingDigitsAndFewerForShortNumbers) {
  account(1);
  const struct {
    std::string pan, bin, last4;
  } cases[] = {{"4000056655665556", "400005", "5556"},     // 16 digits
               {"6011000990139424124", "601100", "4124"},  // 19
               {"378282246310005", "37828", "0005"},       // 15 (six hidden)
               {"4222222222222", "422", "2222"},           // 13
               {"500000000009", "50", "0009"}};            // 12
  int n = 0;
  for (const auto& c : cases) {
    ++n;
    const auto reply = call("POST", "/v1/cards", card_body(n, 1, c.pan));
    ASSERT_EQ(reply.status, 201) << c.pan << ": " << reply.body;
    const json card = json::parse(reply.body);
    EXPECT_EQ(card["bin"], c.bin) << c.pan;
    EXPECT_EQ(card["last4"], c.last4) << c.pan;
    EXPECT_EQ(json::parse(call("GET", "/v1/cards/" + uuid(3, n)).body)["bin"], c.bin);
    EXPECT_EQ(testing::query_value(url_, "SELECT bin FROM cards WHERE id = '" + uuid(3, n) + "'"),
              c.bin);
  }
  EXPECT_EQ(testing::query_value(url_, "SELECT max(length(bin)) FROM card_events"), "6");
}

// Card creations (each looks a PAN up) are limited per key by default: a minute's worth (60)
// at once, then one a second; other keys go on; the refusals are counted for alerting.
TEST_F(RestSecurityTest, PanLookupsAreRateLimitedPerKeyByDefault) {
  account(1);
  int limited_at = 0;
  std::string retry_after;
  for (int i = 1; i <= 70 && limited_at == 0; ++i) {
    const auto reply = call("POST", "/v1/cards", card_body(i, 99, "4000056655665556"));
    if (reply.status == 429) {
      limited_at = i;
      EXPECT_EQ(json::parse(reply.body)["code"], "pan_lookup_rate_limited");
      retry_after = reply.headers.count("retry-after") ? reply.headers.at("retry-after") : "";
    } else {
      EXPECT_EQ(reply.status, 422) << reply.body;  // the account does not exist
    }
  }
  EXPECT_GE(limited_at, 60);  // one token may have come back during the loop
  EXPECT_LE(limited_at, 62);
  EXPECT_EQ(retry_after, "1");
  // Another key is not affected; other routes of the limited key are not either.
  EXPECT_EQ(call("POST", "/v1/cards", card_body(1, 1, "4000056655665556"), admin_).status, 201);
  EXPECT_EQ(call("GET", "/v1/accounts/" + uuid(1, 1)).status, 200);
  const auto metrics = testing::http_call(server_.http_port(), "GET", "/metrics");
  EXPECT_NE(metrics.body.find("ledgerd_pan_lookups_rate_limited_total 1\n"), std::string::npos)
      << metrics.body.substr(0, 2000);
  // And the limit is a setting (0: off, for a bulk issuance).
  server_.stop(SIGTERM);
  testing::Env bulk = env_;
  bulk["LEDGER_PAN_LOOKUPS_PER_MINUTE"] = "0";
  ASSERT_TRUE(server_.start(bulk)) << server_.output();
  for (int i = 0; i < 80; ++i)
    ASSERT_NE(call("POST", "/v1/cards", card_body(100 + i, 99, "4000056655665556")).status, 429);
}

// Verification of Payee as the payee's bank: answers by the documented rules, never a name on a
// no match, not_possible with its reason, a read-scope key suffices, bad input is a 400 naming
// the field, and each key is limited to LEDGER_PAYEE_CHECKS_PER_MINUTE.
TEST_F(RestSecurityTest, PayeeChecksAnswerByTheRulesRevealNoNameOnNoMatchAndAreRateLimited) {
  account(1);
  account(2);
  account(3);
  EXPECT_EQ(call("GET", "/v1/accounts/" + uuid(1, 1) + "/holder-name").status, 404);
  const std::string held = "Soci\xc3\xa9t\xc3\xa9 G\xc3\xa9n\xc3\xa9rale S.A.";
  const json named =
      ok("PUT", "/v1/accounts/" + uuid(1, 1) + "/holder-name", {{"holder_name", "  " + held}});
  EXPECT_EQ(named["holder_name"], held);  // trimmed
  const std::string iban = named["iban"];
  ASSERT_FALSE(iban.empty());
  EXPECT_EQ(ok("GET", "/v1/accounts/" + uuid(1, 1) + "/holder-name")["holder_name"], held);
  const auto check = [&](const std::string& number, const std::string& name) {
    const auto reply =
        call("POST", "/v1/payee-verifications", {{"iban", number}, {"name", name}}, read_);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return json::parse(reply.body);
  };
  json answer = check(iban, held);
  EXPECT_EQ(answer["result"], "match");
  EXPECT_FALSE(answer.contains("matched_name"));
  answer = check(iban.substr(0, 4) + " " + iban.substr(4), "SOCIETE GENERALE");
  EXPECT_EQ(answer["result"], "close_match");
  EXPECT_EQ(answer["matched_name"], held);
  EXPECT_EQ(answer["iban"], iban);
  const auto no_match =
      call("POST", "/v1/payee-verifications", {{"iban", iban}, {"name", "Dupont Immobilier"}});
  EXPECT_EQ(json::parse(no_match.body)["result"], "no_match");
  EXPECT_EQ(no_match.body.find("rale"), std::string::npos) << no_match.body;  // nothing of it
  EXPECT_EQ(no_match.body.find("matched_name"), std::string::npos);
  // not_possible, with why.
  answer = check("DE89370400440532013000", "Max Mustermann");
  EXPECT_EQ(answer["result"], "not_possible");
  EXPECT_EQ(answer["reason"], "account_not_found");
  const std::string iban2 = ok("GET", "/v1/accounts/" + uuid(1, 2))["iban"];
  EXPECT_EQ(check(iban2, "Max Mustermann")["reason"], "holder_name_unknown");
  const std::string iban3 = ok("PUT", "/v1/accounts/" + uuid(1, 3) + "/holder-name",
                               {{"holder_name", "Max Mustermann"}})["iban"];
  ok("POST", "/v1/accounts/" + uuid(1, 3) + "/close");
  EXPECT_EQ(check(iban3, "Max Mustermann")["reason"], "account_closed");
  // Bad input: a 400 naming the field.
  for (const auto& [body, field] : std::vector<std::pair<json, std::string>>{
           {{{"iban", "DE00370400440532013000"}, {"name", "Max"}}, "iban"},
           {{{"iban", "XX89370400440532013000"}, {"name", "Max"}}, "iban"},
           {{{"iban", iban}, {"name", ""}}, "name"},
           {{{"iban", iban}, {"name", std::string(141, 'a')}}, "name"},
           {{{"iban", iban}, {"name", "Max\x01"}}, "name"},
           {{{"iban", iban}}, "name"},
           {{{"iban", iban}, {"name", "Max"}, {"bic", "X"}}, "bic"}}) {
    const auto reply = call("POST", "/v1/payee-verifications", body, read_);
    EXPECT_EQ(reply.status, 400) << body.dump();
    EXPECT_EQ(json::parse(reply.body)["field"], field) << reply.body;
  }
  EXPECT_EQ(
      call("PUT", "/v1/accounts/" + uuid(1, 1) + "/holder-name", {{"holder_name", " "}}).status,
      400);
  EXPECT_EQ(
      call("PUT", "/v1/accounts/" + uuid(1, 1) + "/holder-name", {{"holder_name", "X"}}, read_)
          .status,
      403);  // recording a name is a back-office write
  // The limit per key (the payer's bank's), others unaffected.
  server_.stop(SIGTERM);
  testing::Env limited = env_;
  limited["LEDGER_PAYEE_CHECKS_PER_MINUTE"] = "5";
  ASSERT_TRUE(server_.start(limited)) << server_.output();
  int limited_at = 0;
  for (int i = 1; i <= 8 && limited_at == 0; ++i) {
    const auto reply =
        call("POST", "/v1/payee-verifications", {{"iban", iban}, {"name", held}}, read_);
    if (reply.status == 429) {
      limited_at = i;
      EXPECT_EQ(json::parse(reply.body)["code"], "payee_check_rate_limited");
    }
  }
  EXPECT_EQ(limited_at, 6);
  EXPECT_EQ(call("POST", "/v1/payee-verifications", {{"iban", iban}, {"name", held}}).status, 200);
}

// The part of a capture above its hold is a new debit: refused on a frozen account (as a
// direct debit is), while capturing within the hold still completes it.
TEST_F(RestSecurityTest, AFrozenAccountIsNotDebitedThroughAnOverCapture) {
  account(1, "settlement");
  account(2);
  account(3);
  ok("POST", "/v1/transfers", transfer(1, 1, 2, 1000), 201);
  ok("POST", "/v1/transfers", transfer(2, 2, 3, 100, true), 201);
  ok("POST", "/v1/transfers", transfer(3, 2, 3, 100, true), 201);
  ok("PATCH", "/v1/accounts/" + uuid(1, 2), {{"status", "frozen"}});
  const auto direct = call("POST", "/v1/transfers", transfer(4, 2, 3, 50));
  EXPECT_EQ(json::parse(direct.body)["code"], "account_frozen");
  const auto over = call("POST", "/v1/transfers/" + uuid(2, 2) + "/post",
                         {{"amount", 150}, {"allow_over_capture", true}});
  EXPECT_EQ(over.status, 422) << over.body;
  EXPECT_EQ(json::parse(over.body)["code"], "account_frozen");
  EXPECT_EQ(ok("GET", "/v1/transfers/" + uuid(2, 2))["status"], "pending");
  const json within = ok("POST", "/v1/transfers/" + uuid(2, 3) + "/post",
                         {{"amount", 100}, {"allow_over_capture", true}}, 201);
  EXPECT_EQ(within["amount_effective"], 100);
  EXPECT_EQ(balances(2)["posted"], 900);
}

// Running totals are 128-bit: moving int64-max back and forth leaves both accounts usable.
TEST_F(RestSecurityTest, TotalsPastInt64DoNotLockAnAccount) {
  account(1);
  account(2);
  ok("PATCH", "/v1/accounts/" + uuid(1, 1), {{"overdraft_limit", INT64_MAX}});
  ok("PATCH", "/v1/accounts/" + uuid(1, 2), {{"overdraft_limit", INT64_MAX}});
  ok("POST", "/v1/transfers", transfer(1, 1, 2, INT64_MAX), 201);
  ok("POST", "/v1/transfers", transfer(2, 2, 1, INT64_MAX), 201);
  ok("POST", "/v1/transfers", transfer(3, 1, 2, INT64_MAX), 201);
  ok("POST", "/v1/transfers", transfer(4, 2, 1, INT64_MAX), 201);
  EXPECT_EQ(balances(1)["posted"], 0);
  EXPECT_EQ(balances(2)["posted"], 0);
  // Totals beyond int64 are decimal strings (exact), not numbers that would wrap or round.
  EXPECT_EQ(balances(1)["debits_posted"], "18446744073709551614");
  ok("POST", "/v1/transfers", transfer(5, 1, 2, 5), 201);
  ok("POST", "/v1/transfers", transfer(6, 2, 1, 7), 201);
  EXPECT_EQ(balances(2)["posted"], -2);
  const auto statement = ok("GET", "/v1/accounts/" + uuid(1, 2) + "/statement");
  EXPECT_EQ(statement["closing_balance"], -2);
}

// The probe's request: an Idempotency-Key that is not UTF-8. Its row is set aside (escaped),
// and every later write is audited as before.
TEST_F(RestSecurityTest, AHeaderThatIsNotUtf8DoesNotStopTheAuditTrail) {
  const std::string body = json{
      {"id", uuid(1, 1)},
      {"holder_id", uuid(9, 1)},
      {"currency", "EUR"},
      {"kind", "customer"}}.dump();
  const std::string answer = testing::raw_exchange(
      server_.http_port(),
      "POST /v1/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + backoffice_ +
          "\r\nIdempotency-Key: bad-\xff\xfe-utf8\r\n" +
          "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\nConnection: close\r\n\r\n" + body);
  ASSERT_EQ(answer.rfind("HTTP/1.1 ", 0), 0u) << answer;
  for (int n = 2; n <= 4; ++n) account(n);
  const json entries = audit_entries(4);
  ASSERT_EQ(entries.size(), 4u) << entries.dump();
  int set_aside = 0;
  for (const json& e : entries) {
    if (e["set_aside"] == true) {
      ++set_aside;
      EXPECT_EQ(e["detail"], "idempotency_key=bad-\\xff\\xfe-utf8");
      EXPECT_EQ(e["action"], "POST /v1/accounts");
    }
  }
  EXPECT_EQ(set_aside, 1);
  const auto metrics = testing::http_call(server_.http_port(), "GET", "/metrics");
  EXPECT_NE(metrics.body.find("ledgerd_audit_rows_set_aside_total 1\n"), std::string::npos);
}

// Every write attempt is recorded whatever its answer: no key, a bad key, a key without the
// scope, bad input, success.
TEST_F(RestSecurityTest, EveryWriteAttemptIsAuditedWhateverItsStatus) {
  const json body{{"holder_id", uuid(9, 1)}, {"currency", "EUR"}, {"kind", "customer"}};
  EXPECT_EQ(testing::http_call(server_.http_port(), "POST", "/v1/accounts", body.dump()).status,
            401);
  EXPECT_EQ(call("POST", "/v1/accounts", body, "ldg_not_a_key").status, 401);
  EXPECT_EQ(call("POST", "/v1/accounts", body, read_).status, 403);
  EXPECT_EQ(call("POST", "/v1/accounts", {{"currency", "EUR"}}).status, 400);
  EXPECT_EQ(call("POST", "/v1/accounts", body).status, 201);
  EXPECT_EQ(call("GET", "/v1/accounts/" + uuid(1, 1)).status, 404);  // reads are not audited
  const json entries = audit_entries(5);
  ASSERT_EQ(entries.size(), 5u) << entries.dump();
  std::multiset<int> statuses;
  int anonymous = 0;
  for (const json& e : entries) {
    statuses.insert(e["status"].get<int>());
    EXPECT_EQ(e["action"], "POST /v1/accounts");
    if (e["actor"] == "anonymous") {
      ++anonymous;
      EXPECT_TRUE(e["detail"] == "refused=no_key" || e["detail"] == "refused=invalid_key")
          << e.dump();
    }
  }
  EXPECT_EQ(statuses, (std::multiset<int>{201, 400, 401, 401, 403}));
  EXPECT_EQ(anonymous, 2);
}

// A graceful stop writes every queued audit entry before it exits.
TEST_F(RestSecurityTest, AuditEntriesSurviveAGracefulStop) {
  account(1, "settlement");
  account(2);
  constexpr int writes = 200;
  for (int i = 1; i <= writes; ++i) ok("POST", "/v1/transfers", transfer(i, 1, 2, 1), 201);
  EXPECT_EQ(server_.stop(SIGTERM), 0);  // at once, while entries may still be queued
  EXPECT_EQ(testing::query_value(url_, "SELECT count(*) FROM audit_log WHERE status = 201"),
            std::to_string(writes + 2));
}

// Query values that are not UTF-8 text, or dates past 9999, are answered 400 naming the
// parameter; nothing is silently dropped.
TEST_F(RestSecurityTest, QueryValuesAreCheckedNotDroppedOrWrapped) {
  account(1);
  for (const std::string target : {"/v1/audit?actor=%ff", "/v1/audit?actor=%00",
                                   "/v1/audit?actor=a%0Ab", "/v1/audit?actor=%C0%AF"}) {
    const auto reply = call("GET", target, nullptr, admin_);
    EXPECT_EQ(reply.status, 400) << target << " " << reply.body;
    EXPECT_EQ(json::parse(reply.body)["code"], "invalid_query") << target;
    EXPECT_EQ(json::parse(reply.body)["field"], "actor") << target;
  }
  for (const std::string query :
       {"from=3000-01-01T00:00:00Z", "to=10000-01-01T00:00:00Z", "from=2026-13-01T00:00:00Z"}) {
    const auto reply = call("GET", "/v1/accounts/" + uuid(1, 1) + "/transfers?" + query);
    EXPECT_EQ(reply.status, 400) << query << " " << reply.body;
  }
  EXPECT_EQ(call("GET", "/v1/audit?actor=key%3Aabc", nullptr, admin_).status, 200);
}

}  // namespace
}  // namespace ledger
