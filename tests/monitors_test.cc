// Balance monitors (issue 15): POST /v1/balance-monitors, crossings evaluated on the engine
// thread after every change of the account (REST transfers and ISO 8583 authorizations alike),
// journaled with the change, exactly once per crossing, and the same after kill -9 and a
// restart. A real ledgerd on a fresh database.
#include <csignal>

#include "support/iso_fixture.h"

namespace ledger::iso_testing {
namespace {

class MonitorsTest : public IsoTest {
 protected:
  testing::HttpReply call(const std::string& method, const std::string& target,
                          const std::string& body = "") {
    return testing::http_call(server_.http_port(), method, target, body,
                              {{"Authorization", "Bearer " + key_}});
  }
  json alerts(std::uint64_t after = 0) {
    const auto reply = call("GET",
                            "/v1/events?types=balance_monitor.triggered,balance_monitor.resolved"
                            "&limit=1000&after=" +
                                std::to_string(after));
    EXPECT_EQ(reply.status, 200) << reply.body;
    return json::parse(reply.body)["events"];
  }
  json deposit(int id, std::int64_t amount) {
    return rest("POST", "/v1/transfers",
                {{"id", uuid(2, id)},
                 {"debit_account_id", uuid(1, 1)},
                 {"credit_account_id", uuid(1, 2)},
                 {"amount", amount},
                 {"currency", "EUR"}});
  }
};

TEST_F(MonitorsTest, CrossingsAreEventsOncePerCrossingAndSurviveKillNine) {
  // The customer account holds 10000 after set-up.
  const auto created = call("POST", "/v1/balance-monitors",
                            json{{"account_id", uuid(1, 2)},
                                 {"field", "available"},
                                 {"operator", "<"},
                                 {"threshold", 5000}}
                                .dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const json monitor = json::parse(created.body);
  const std::string id = monitor["id"];
  EXPECT_EQ(monitor["state"], "ok");
  EXPECT_EQ(monitor["value"], 10000);
  EXPECT_EQ(monitor["currency"], "EUR");
  EXPECT_TRUE(alerts().empty());

  IsoClient client(server_.iso_port());
  EXPECT_EQ(client.call(auth(30, 3000)).get(39), "00");  // 7000: no crossing
  EXPECT_TRUE(alerts().empty());
  EXPECT_EQ(client.call(auth(31, 2500)).get(39), "00");  // 4500: below 5000
  EXPECT_EQ(client.call(auth(32, 100)).get(39), "00");   // 4400: still below, no new event
  json found = alerts();
  ASSERT_EQ(found.size(), 1u) << found.dump(1);
  EXPECT_EQ(found[0]["type"], "balance_monitor.triggered");
  EXPECT_EQ(found[0]["data"]["monitor"]["id"], id);
  EXPECT_EQ(found[0]["data"]["monitor"]["value"], 4500);
  EXPECT_EQ(found[0]["data"]["account_id"], uuid(1, 2));
  // The alert comes right after the authorization that caused it, in the same commit.
  const std::uint64_t seq = found[0]["seq"];
  const auto before = call("GET", "/v1/events?limit=1&after=" + std::to_string(seq - 1 - 1));
  ASSERT_EQ(before.status, 200);
  EXPECT_EQ(json::parse(before.body)["events"][0]["type"], "card.authorization.approved");

  deposit(40, 1000);  // 5400: resolved
  found = alerts();
  ASSERT_EQ(found.size(), 2u) << found.dump(1);
  EXPECT_EQ(found[1]["type"], "balance_monitor.resolved");
  EXPECT_EQ(found[1]["data"]["monitor"]["value"], 5400);

  // kill -9: the state comes back from the journal; the next crossing is one event, not two.
  server_.stop(SIGKILL);
  ASSERT_TRUE(server_.start(env_)) << server_.output();
  const auto read = call("GET", "/v1/balance-monitors/" + id);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(json::parse(read.body)["state"], "ok");
  deposit(41, 100);  // 5500: no crossing after the restart either
  EXPECT_EQ(alerts().size(), 2u);
  IsoClient again(server_.iso_port());
  EXPECT_EQ(again.call(auth(33, 600)).get(39), "00");  // 4900: below again
  found = alerts();
  ASSERT_EQ(found.size(), 3u) << found.dump(1);
  EXPECT_EQ(found[2]["type"], "balance_monitor.triggered");

  const auto listed = call("GET", "/v1/balance-monitors?account_id=" + uuid(1, 2));
  ASSERT_EQ(listed.status, 200) << listed.body;
  const json list = json::parse(listed.body)["balance_monitors"];
  ASSERT_EQ(list.size(), 1u) << listed.body;
  EXPECT_EQ(list[0]["state"], "triggered");

  const auto removed = call("DELETE", "/v1/balance-monitors/" + id);
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(json::parse(removed.body)["state"], "deleted");
  deposit(42, 5000);  // would resolve it: deleted, so nothing
  EXPECT_EQ(alerts().size(), 3u);
  EXPECT_TRUE(
      json::parse(
          call("GET", "/v1/balance-monitors?account_id=" + uuid(1, 2)).body)["balance_monitors"]
          .empty());
}

TEST_F(MonitorsTest, ACreationWhoseConditionHoldsIsATriggerAndRetriesAreIdempotent) {
  const std::string body = json{
      {"id", uuid(7, 1)},
      {"account_id", uuid(1, 2)},
      {"field", "posted"},
      {"operator", ">="},
      {"threshold", 10000}}.dump();
  const auto first = call("POST", "/v1/balance-monitors", body);
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(json::parse(first.body)["state"], "triggered");
  const auto retry = call("POST", "/v1/balance-monitors", body);
  EXPECT_EQ(retry.status, 200) << retry.body;
  ASSERT_EQ(alerts().size(), 1u);
  json other = json::parse(body);
  other["threshold"] = 1;
  const auto conflict = call("POST", "/v1/balance-monitors", other.dump());
  EXPECT_EQ(conflict.status, 409) << conflict.body;
  EXPECT_EQ(json::parse(conflict.body)["code"], "exists_with_different_fields");
}

TEST_F(MonitorsTest, BadInputIsAnsweredNamingTheField) {
  const auto expect = [&](const json& body, int status, const std::string& field) {
    const auto reply = call("POST", "/v1/balance-monitors", body.dump());
    EXPECT_EQ(reply.status, status) << body << " -> " << reply.body;
    if (!field.empty()) {
      EXPECT_NE(reply.body.find("\"" + field + "\""), std::string::npos) << reply.body;
    }
  };
  const json good{
      {"account_id", uuid(1, 2)}, {"field", "available"}, {"operator", "<="}, {"threshold", 0}};
  json bad = good;
  bad["field"] = "balance";
  expect(bad, 400, "field");
  bad = good;
  bad["operator"] = "==";
  expect(bad, 400, "operator");
  bad = good;
  bad["threshold"] = 1.5;
  expect(bad, 400, "threshold");
  bad = good;
  bad.erase("threshold");
  expect(bad, 400, "threshold");
  bad = good;
  bad["colour"] = "red";
  expect(bad, 400, "colour");
  bad = good;
  bad["account_id"] = "not-a-uuid";
  expect(bad, 400, "account_id");
  bad = good;
  bad["account_id"] = uuid(1, 77);
  expect(bad, 422, "");
  EXPECT_EQ(call("GET", "/v1/balance-monitors/" + uuid(7, 9)).status, 404);
  EXPECT_EQ(call("DELETE", "/v1/balance-monitors/" + uuid(7, 9)).status, 404);
  EXPECT_EQ(call("GET", "/v1/balance-monitors/nope").status, 400);
  EXPECT_EQ(call("PUT", "/v1/balance-monitors").status, 405);
  EXPECT_EQ(call("GET", "/v1/balance-monitors?account_id=x").status, 400);
}

}  // namespace
}  // namespace ledger::iso_testing
