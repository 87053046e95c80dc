// Spending spikes (issue 15): POST /v1/spike-rules; the spike watcher reads committed events
// off the authorization path and journals a spending.spike event through the engine, once per
// window, also across kill -9. A real ledgerd on a fresh database.
#include <csignal>
#include <thread>

#include "support/iso_fixture.h"

namespace ledger::iso_testing {
namespace {

using namespace std::chrono_literals;

class SpikesTest : public IsoTest {
 protected:
  testing::HttpReply call(const std::string& method, const std::string& target,
                          const std::string& body = "") {
    return testing::http_call(server_.http_port(), method, target, body,
                              {{"Authorization", "Bearer " + key_}});
  }
  json spikes() {
    const auto reply = call("GET", "/v1/events?types=spending.spike&limit=100");
    EXPECT_EQ(reply.status, 200) << reply.body;
    return json::parse(reply.body)["events"];
  }
  // Waits up to `wait` for at least n spikes.
  json wait_for(std::size_t n, std::chrono::milliseconds wait = 5s) {
    const auto until = std::chrono::steady_clock::now() + wait;
    json found = spikes();
    while (found.size() < n && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(50ms);
      found = spikes();
    }
    return found;
  }
};

TEST_F(SpikesTest, ASpikeIsOneEventPerWindowAndSurvivesKillNine) {
  const auto created = call("POST", "/v1/spike-rules",
                            json{{"scope", "account"},
                                 {"scope_id", uuid(1, 2)},  // not the settlement account
                                 {"direction", "out"},
                                 {"window_s", 600},
                                 {"amount_at_least", 5000},
                                 {"currency", "EUR"},
                                 {"times_usual", 3}}
                                .dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const json rule = json::parse(created.body);
  EXPECT_EQ(rule["times_usual"], 3);
  EXPECT_EQ(rule["scope_id"], uuid(1, 2));
  std::this_thread::sleep_for(1500ms);  // the watcher loads rules every second

  IsoClient client(server_.iso_port());
  EXPECT_EQ(client.call(auth(40, 3000)).get(39), "00");
  EXPECT_EQ(client.call(auth(41, 2500)).get(39), "00");  // 5500 in the window: a spike
  json found = wait_for(1);
  ASSERT_EQ(found.size(), 1u) << found.dump(1);
  const json& spike = found[0]["data"]["spike"];
  EXPECT_EQ(spike["rule_id"], rule["id"]);
  EXPECT_EQ(spike["account_id"], uuid(1, 2));
  EXPECT_EQ(spike["amount"], 5500);
  EXPECT_EQ(spike["transfers"], 2);
  EXPECT_EQ(spike["usual"], 0);  // no history: anything is above usual
  EXPECT_EQ(spike["currency"], "EUR");

  EXPECT_EQ(client.call(auth(42, 1000)).get(39), "00");  // same window: no second spike
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(spikes().size(), 1u);

  // kill -9: the watcher re-reads the window and the spike already journaled.
  server_.stop(SIGKILL);
  ASSERT_TRUE(server_.start(env_)) << server_.output();
  IsoClient again(server_.iso_port());
  EXPECT_EQ(again.call(auth(43, 500)).get(39), "00");
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(spikes().size(), 1u) << spikes().dump(1);

  // A second rule, narrowed to another account, never fires for this one.
  const auto narrow = call("POST", "/v1/spike-rules",
                           json{{"scope", "account"},
                                {"scope_id", uuid(1, 99)},
                                {"window_s", 60},
                                {"amount_at_least", 1},
                                {"currency", "EUR"}}
                               .dump());
  ASSERT_EQ(narrow.status, 201) << narrow.body;
  const auto listed = call("GET", "/v1/spike-rules");
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(json::parse(listed.body)["spike_rules"].size(), 2u);
  EXPECT_EQ(call("DELETE", "/v1/spike-rules/" + rule["id"].get<std::string>()).status, 200);
  EXPECT_EQ(call("GET", "/v1/spike-rules/" + rule["id"].get<std::string>()).status, 404);
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(again.call(auth(44, 100)).get(39), "00");
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(spikes().size(), 1u);
}

TEST_F(SpikesTest, BadRulesAreAnsweredNamingTheField) {
  const json good{{"scope", "card"},
                  {"window_s", 60},
                  {"amount_at_least", 100},
                  {"currency", "EUR"},
                  {"cooldown_s", 0}};
  const auto expect = [&](json body, int status, const std::string& field) {
    const auto reply = call("POST", "/v1/spike-rules", body.dump());
    EXPECT_EQ(reply.status, status) << body << " -> " << reply.body;
    if (!field.empty()) {
      EXPECT_NE(reply.body.find("\"" + field + "\""), std::string::npos) << reply.body;
    }
  };
  json bad = good;
  bad["window_s"] = 0;
  expect(bad, 400, "window_s");
  bad = good;
  bad["amount_at_least"] = -1;
  expect(bad, 400, "amount_at_least");
  bad = good;
  bad.erase("currency");
  expect(bad, 400, "currency");
  bad = good;
  bad["scope"] = "planet";
  expect(bad, 400, "scope");
  bad = good;
  bad["direction"] = "sideways";
  expect(bad, 400, "direction");
  bad = good;
  bad["times_usual"] = -2;
  expect(bad, 400, "times_usual");
  bad = good;
  bad["colour"] = "red";
  expect(bad, 400, "colour");
  bad = good;
  bad["id"] = uuid(8, 1);
  expect(bad, 201, "");
  expect(bad, 200, "");  // a retry
  bad["amount_at_least"] = 101;
  expect(bad, 409, "");
  EXPECT_EQ(call("GET", "/v1/spike-rules/" + uuid(8, 2)).status, 404);
  EXPECT_EQ(call("DELETE", "/v1/spike-rules/" + uuid(8, 2)).status, 404);
  EXPECT_EQ(call("PATCH", "/v1/spike-rules").status, 405);
}

}  // namespace
}  // namespace ledger::iso_testing
