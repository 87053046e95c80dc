// Webhook and Slack delivery (issue 15) against a real ledgerd, a real PostgreSQL and local
// receivers: signatures (Standard Webhooks), filters, retries, 410, 429 with Retry-After,
// replay, secret rotation, the Slack rate limit and digest, secrets sealed at rest.
#include "outbound/crypto.h"
#include "support/iso_fixture.h"
#include "support/receiver.h"

namespace ledger::iso_testing {
namespace {

const std::string webhook_key(64, 'c');

class WebhooksTest : public IsoTest {
 protected:
  void SetUp() override {
    start({{"LEDGER_WEBHOOK_KEY", webhook_key}, {"LEDGER_WEBHOOK_ALLOWLIST", "127.0.0.1"}});
  }
  testing::HttpReply call(const std::string& method, const std::string& target,
                          const json& body = nullptr) {
    return testing::http_call(server_.http_port(), method, target,
                              body.is_null() ? "" : body.dump(),
                              {{"Authorization", "Bearer " + key_}});
  }
  json subscribe(const testing::Receiver& receiver, json body) {
    body["url"] = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/hook";
    if (!body.contains("kind")) body["kind"] = "webhook";
    const auto reply = call("POST", "/v1/webhook-subscriptions", body);
    EXPECT_EQ(reply.status, 201) << reply.body;
    return reply.status == 201 ? json::parse(reply.body) : json::object();
  }
  json transfer(int id, int debit, int credit, std::int64_t amount) {
    return {{"id", uuid(2, id)},
            {"debit_account_id", uuid(1, debit)},
            {"credit_account_id", uuid(1, credit)},
            {"amount", amount},
            {"currency", "EUR"}};
  }
  // The Standard Webhooks check a receiver makes: some v1 signature verifies under `secret`.
  static bool verified(const testing::ReceivedRequest& r, const std::string& secret) {
    const auto expected = outbound::sign(secret, r.headers.at("webhook-id"),
                                         std::stoll(r.headers.at("webhook-timestamp")), r.body);
    return expected &&
           (" " + r.headers.at("webhook-signature") + " ").find(" " + *expected + " ") !=
               std::string::npos;
  }
  json deliveries(const std::string& id) {
    const auto reply = call("GET", "/v1/webhook-subscriptions/" + id + "/deliveries");
    EXPECT_EQ(reply.status, 200) << reply.body;
    return json::parse(reply.body)["deliveries"];
  }
};

TEST_F(WebhooksTest, DeliversSignedMatchingEventsInSeqOrder) {
  testing::Receiver receiver;
  const json sub =
      subscribe(receiver, {{"event_types", {"transfer.created", "card.authorization.approved"}},
                           {"filter", {{"amount_at_least", 100}, {"currency", "EUR"}}}});
  const std::string secret = sub.value("secret", "");
  ASSERT_EQ(secret.rfind("whsec_", 0), 0u) << sub;
  EXPECT_EQ(sub["url"], "http://127.0.0.1:" + std::to_string(receiver.port()) + "/…");
  testing::Receiver groceries;  // card payments at MCC 5411 only
  subscribe(groceries, {{"filter", {{"mccs", {"5411"}}, {"channel", "card_present"}}}});
  rest("POST", "/v1/transfers", transfer(10, 1, 2, 50));  // below the amount
  rest("POST", "/v1/transfers", transfer(11, 1, 2, 150));
  rest("POST", "/v1/transfers", transfer(12, 2, 1, 250));
  json hold = transfer(13, 2, 1, 500);
  hold["pending"] = true;
  rest("POST", "/v1/transfers", hold);  // transfer.pending: not subscribed
  IsoClient client(server_.iso_port());
  EXPECT_EQ(client.call(auth(30, 1234)).get(39), "00");
  const auto got = receiver.wait_for(3, 10s);
  ASSERT_EQ(got.size(), 3u);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(receiver.requests().size(), 3u);
  std::uint64_t last_seq = 0;
  const std::vector<std::string> types = {"transfer.created", "transfer.created",
                                          "card.authorization.approved"};
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto& r = got[i];
    EXPECT_TRUE(verified(r, secret)) << r.headers.at("webhook-signature");
    const json event = json::parse(r.body);
    EXPECT_EQ(event["id"], r.headers.at("webhook-id"));
    EXPECT_EQ(event["type"], types[i]);
    EXPECT_GT(event["seq"].get<std::uint64_t>(), last_seq);
    last_seq = event["seq"];
    const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
    EXPECT_LE(std::llabs(std::stoll(r.headers.at("webhook-timestamp")) - now), 30);
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
  }
  EXPECT_EQ(json::parse(got[0].body)["data"]["transfer"]["amount"], 150);
  EXPECT_EQ(json::parse(got[2].body)["data"]["authorization"]["amount"], 1234);
  const auto grocery = groceries.wait_for(1, 5s);
  ASSERT_EQ(grocery.size(), 1u);
  EXPECT_EQ(json::parse(grocery[0].body)["type"], "card.authorization.approved");
  EXPECT_EQ(json::parse(grocery[0].body)["data"]["authorization"]["mcc"], "5411");
  // The deliveries as the API shows them.
  const json list = deliveries(sub["id"]);
  ASSERT_EQ(list.size(), 3u);
  for (const auto& d : list) {
    EXPECT_EQ(d["status"], "delivered");
    EXPECT_EQ(d["attempts"], 1);
    EXPECT_EQ(d["last_http_status"], 200);
  }
  // Credentials are sealed at rest: neither the URL nor the secret is in PostgreSQL in clear.
  EXPECT_EQ(testing::query_value(url_,
                                 "SELECT count(*) FROM webhook_subscriptions WHERE "
                                 "encode(url_sealed, 'escape') LIKE '%127.0.0.1%' OR "
                                 "encode(secret_sealed, 'escape') LIKE '%whsec%'"),
            "0");
  const json read =
      json::parse(call("GET", "/v1/webhook-subscriptions/" + sub["id"].get<std::string>()).body);
  EXPECT_FALSE(read.contains("secret"));
  EXPECT_EQ(read["filter"], json({{"amount_at_least", 100}, {"currency", "EUR"}}));
}

TEST_F(WebhooksTest, RetriesWithTheSameIdAndBodyUntil2xx) {
  testing::Receiver receiver([](std::size_t i, const testing::ReceivedRequest&) {
    return testing::ReceiverAnswer{i == 0 ? 500 : 200, {}, 0ms};
  });
  const json sub = subscribe(receiver, {{"event_types", {"transfer.created"}}});
  rest("POST", "/v1/transfers", transfer(10, 1, 2, 70));
  const auto got = receiver.wait_for(2, 15s);  // the second attempt comes after about 5 s
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].headers.at("webhook-id"), got[1].headers.at("webhook-id"));
  EXPECT_EQ(got[0].body, got[1].body);
  EXPECT_GE(got[1].at - got[0].at, 4s);
  std::this_thread::sleep_for(300ms);
  const json list = deliveries(sub["id"]);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["status"], "delivered");
  EXPECT_EQ(list[0]["attempts"], 2);
}

TEST_F(WebhooksTest, A410DisablesAndA429WaitsForRetryAfter) {
  testing::Receiver gone([](std::size_t, const testing::ReceivedRequest&) {
    return testing::ReceiverAnswer{410, {}, 0ms};
  });
  testing::Receiver busy([](std::size_t i, const testing::ReceivedRequest&) {
    return i == 0 ? testing::ReceiverAnswer{429, {{"Retry-After", "1"}}, 0ms}
                  : testing::ReceiverAnswer{200, {}, 0ms};
  });
  const json a = subscribe(gone, {{"event_types", {"transfer.created"}}});
  const json b = subscribe(busy, {{"event_types", {"transfer.created"}}});
  rest("POST", "/v1/transfers", transfer(10, 1, 2, 70));
  const auto twice = busy.wait_for(2, 10s);
  ASSERT_EQ(twice.size(), 2u);
  EXPECT_GE(twice[1].at - twice[0].at, 900ms);
  EXPECT_LT(twice[1].at - twice[0].at, 4s);  // Retry-After, not the 5 s step
  ASSERT_EQ(gone.wait_for(1, 5s).size(), 1u);
  std::this_thread::sleep_for(300ms);
  const json disabled =
      json::parse(call("GET", "/v1/webhook-subscriptions/" + a["id"].get<std::string>()).body);
  EXPECT_EQ(disabled["status"], "disabled");
  EXPECT_NE(disabled["disabled_reason"].get<std::string>().find("410"), std::string::npos);
  rest("POST", "/v1/transfers", transfer(11, 1, 2, 80));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(gone.requests().size(), 1u);  // nothing more to a disabled subscription
  // Enabled again, it continues with what it matched meanwhile.
  gone.set_policy([](std::size_t, const testing::ReceivedRequest&) {
    return testing::ReceiverAnswer{200, {}, 0ms};
  });
  EXPECT_EQ(
      call("PATCH", "/v1/webhook-subscriptions/" + a["id"].get<std::string>(), {{"active", true}})
          .status,
      200);
  EXPECT_EQ(gone.wait_for(2, 5s).size(), 2u);
}

TEST_F(WebhooksTest, ReplayAndRotationKeepIdsBodiesAndBothSignatures) {
  testing::Receiver receiver;
  const json sub = subscribe(receiver, {{"event_types", {"transfer.created"}}});
  const std::string id = sub["id"];
  rest("POST", "/v1/transfers", transfer(10, 1, 2, 70));
  ASSERT_EQ(receiver.wait_for(1, 5s).size(), 1u);
  const json first = json::parse(receiver.requests()[0].body);
  const std::uint64_t seq = first["seq"];
  const auto rotated = call("POST", "/v1/webhook-subscriptions/" + id + "/rotate-secret");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  const std::string new_secret = json::parse(rotated.body)["secret"];
  EXPECT_NE(new_secret, sub["secret"].get<std::string>());
  const auto replay = call("POST", "/v1/webhook-subscriptions/" + id + "/replay",
                           {{"from_seq", seq}, {"to_seq", seq}});
  ASSERT_EQ(replay.status, 202) << replay.body;
  const auto got = receiver.wait_for(2, 5s);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].headers.at("webhook-id"), got[0].headers.at("webhook-id"));
  EXPECT_EQ(got[1].body, got[0].body);
  // Both the new and the old secret verify during the 24 hours after a rotation.
  EXPECT_TRUE(verified(got[1], new_secret));
  EXPECT_TRUE(verified(got[1], sub["secret"]));
  EXPECT_FALSE(verified(got[0], new_secret));
  // A test send reaches the receiver at once, signed.
  const auto test = call("POST", "/v1/webhook-subscriptions/" + id + "/test");
  ASSERT_EQ(test.status, 200) << test.body;
  EXPECT_EQ(json::parse(test.body)["delivered"], true);
  const auto all = receiver.wait_for(3, 5s);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(json::parse(all[2].body)["type"], "webhook.test");
  EXPECT_TRUE(verified(all[2], new_secret));
  const auto deleted = call("DELETE", "/v1/webhook-subscriptions/" + id);
  EXPECT_EQ(deleted.status, 200);
  EXPECT_EQ(json::parse(deleted.body)["disabled_reason"], "deleted");
  EXPECT_EQ(call("GET", "/v1/webhook-subscriptions/" + id).status, 404);
}

TEST_F(WebhooksTest, SlackGetsOneMessagePerSecondAndADigest) {
  // A fake Slack: 429 to anything faster than one message per second.
  std::mutex mutex;
  std::optional<std::chrono::steady_clock::time_point> last;
  testing::Receiver slack([&](std::size_t, const testing::ReceivedRequest& r) {
    std::lock_guard lock(mutex);
    const bool too_fast = last && r.at - *last < 950ms;
    if (!too_fast) last = r.at;
    return testing::ReceiverAnswer{too_fast ? 429 : 200, {{"Retry-After", "1"}}, 0ms};
  });
  const json sub = subscribe(slack, {{"kind", "slack"}, {"event_types", {"transfer.created"}}});
  for (int i = 0; i < 30; ++i) rest("POST", "/v1/transfers", transfer(100 + i, 1, 2, 100));
  const auto got = slack.wait_for(2, 10s);
  std::this_thread::sleep_for(2500ms);
  const auto all = slack.requests();
  ASSERT_GE(all.size(), 2u);
  EXPECT_LE(all.size(), 6u);
  std::size_t digests = 0, events = 0;
  for (const auto& r : all) {
    const json body = json::parse(r.body);
    const std::string text = body["text"];
    EXPECT_TRUE(body["blocks"].is_array());
    if (text.find("more events") != std::string::npos) {
      ++digests;
      events += std::stoul(text);
    } else {
      EXPECT_EQ(text.rfind("Transfer 1.00 EUR: approved", 0), 0u) << text;
      ++events;
    }
  }
  EXPECT_GE(digests, 1u);
  EXPECT_EQ(events, 30u);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_GE(all[i].at - all[i - 1].at, 950ms);
  for (const auto& d : deliveries(sub["id"])) EXPECT_EQ(d["status"], "delivered") << d;
}

// Slack paces by channel, not by subscription: two subscriptions posting to one webhook URL
// share its one message a second, and a 429's Retry-After holds the whole channel. Messages name
// the account by its masked IBAN.
TEST_F(WebhooksTest, SlackPacesEachChannelAndHonoursRetryAfterForAllItsSubscriptions) {
  testing::Receiver slack([](std::size_t index, const testing::ReceivedRequest&) {
    return index == 0 ? testing::ReceiverAnswer{429, {{"Retry-After", "3"}}, 0ms}
                      : testing::ReceiverAnswer{};
  });
  const std::string iban = rest("GET", "/v1/accounts/" + uuid(1, 1))["iban"];
  const json a = subscribe(slack, {{"kind", "slack"}, {"event_types", {"transfer.created"}}});
  const json b = subscribe(slack, {{"kind", "slack"}, {"event_types", {"transfer.created"}}});
  for (int i = 0; i < 3; ++i) rest("POST", "/v1/transfers", transfer(60 + i, 1, 2, 100));
  // Every event reaches the channel once per subscription (alone or in a digest).
  std::size_t events = 0;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  std::vector<testing::ReceivedRequest> all;
  while (std::chrono::steady_clock::now() < deadline) {
    all = slack.requests();
    events = 0;
    for (std::size_t i = 1; i < all.size(); ++i) {  // the first was answered 429
      const std::string text = json::parse(all[i].body)["text"];
      events += text.find("more events") != std::string::npos ? std::stoul(text) : 1;
    }
    if (events >= 6) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(events, 6u);
  ASSERT_GE(all.size(), 2u);
  EXPECT_GE(all[1].at - all[0].at, 2900ms) << "the 429's Retry-After held the channel";
  for (std::size_t i = 1; i < all.size(); ++i) {
    EXPECT_GE(all[i].at - all[i - 1].at, 950ms) << "two messages to one channel within a second";
  }
  const std::string masked = iban.substr(0, 4) + " …" + iban.substr(iban.size() - 4);
  bool named = false;
  for (const auto& r : all) named = named || r.body.find("account " + masked) != std::string::npos;
  EXPECT_TRUE(named) << all.back().body;
  (void)a;
  (void)b;
}

// kill -9 of ledgerd while a delivery is at the receiver (sent, not yet answered or not yet
// recorded) and others wait: after a restart, every committed matching event is delivered,
// redeliveries carry the same webhook-id and body, and nothing else arrives.
TEST_F(WebhooksTest, KillNineNeitherLosesNorInventsDeliveries) {
  testing::Receiver receiver([](std::size_t i, const testing::ReceivedRequest&) {
    return testing::ReceiverAnswer{200, {}, i == 0 ? 1500ms : 0ms};
  });
  const json sub = subscribe(receiver, {{"event_types", {"transfer.created"}}});
  const std::uint64_t after = sub["after_seq"];
  for (int i = 0; i < 5; ++i) rest("POST", "/v1/transfers", transfer(10 + i, 1, 2, 10 + i));
  ASSERT_EQ(receiver.wait_for(1, 5s).size(), 1u);
  server_.stop(SIGKILL);
  ASSERT_TRUE(server_.start(env_)) << server_.output();
  rest("POST", "/v1/transfers", transfer(20, 1, 2, 99));
  // What the feed says was committed and matches: the six transfers.
  const auto feed =
      testing::http_call(server_.http_port(), "GET",
                         "/v1/events?types=transfer.created&after=" + std::to_string(after), "",
                         {{"Authorization", "Bearer " + key_}});
  ASSERT_EQ(feed.status, 200) << feed.body;
  std::map<std::string, std::string> committed;  // webhook-id -> body
  const json page = json::parse(feed.body);
  for (const auto& e : page["events"]) committed[e["id"].get<std::string>()] = e.dump();
  ASSERT_EQ(committed.size(), 6u) << feed.body << " after=" << after;
  std::map<std::string, std::string> delivered;
  for (int i = 0; i < 200 && delivered.size() < committed.size(); ++i) {
    for (const auto& r : receiver.requests()) {
      const std::string id = r.headers.at("webhook-id");
      const auto [it, fresh] = delivered.emplace(id, r.body);
      EXPECT_TRUE(fresh || it->second == r.body) << "a redelivery changed its body: " << id;
    }
    if (delivered.size() < committed.size()) std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(delivered.size(), committed.size());
  for (const auto& [id, body] : delivered) {
    ASSERT_TRUE(committed.count(id)) << "delivered an event the feed does not have: " << id;
    EXPECT_EQ(json::parse(body), json::parse(committed[id]));
  }
}

TEST_F(WebhooksTest, BadSubscriptionsAre400NamingTheField) {
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"kind", "webhook"}, {"url", "http://hooks.example.com/x"}}, "url"},
      {{{"kind", "webhook"}, {"url", "https://10.0.0.1/x"}}, "url"},
      {{{"kind", "webhook"}, {"url", "https://localhost/x"}}, "url"},
      {{{"kind", "webhook"}, {"url", "https://[64:ff9b::a00:1]/x"}}, "url"},  // NAT64
      {{{"kind", "webhook"}, {"url", "https://[2002:a00:1::]/x"}}, "url"},    // 6to4
      {{{"kind", "webhook"}, {"url", "https://192.0.0.8/x"}}, "url"},
      {{{"kind", "webhook"}, {"url", "not a url"}}, "url"},
      {{{"kind", "webhook"}}, "url"},
      {{{"kind", "pigeon"}, {"url", "https://hooks.example.com/x"}}, "kind"},
      {{{"kind", "webhook"}, {"url", "https://hooks.example.com/x"}, {"event_types", {"nope"}}},
       "event_types"},
      {{{"kind", "webhook"}, {"url", "https://hooks.example.com/x"}, {"filter", {{"colour", 1}}}},
       "filter.colour"},
      {{{"kind", "webhook"},
        {"url", "https://hooks.example.com/x"},
        {"filter", {{"amount_at_least", -5}, {"currency", "EUR"}}}},
       "filter.amount_at_least"},
      {{{"kind", "webhook"}, {"url", "https://hooks.example.com/x"}, {"colour", 1}}, "colour"}};
  for (const auto& [body, field] : cases) {
    const auto reply = call("POST", "/v1/webhook-subscriptions", body);
    EXPECT_EQ(reply.status, 400) << body << " -> " << reply.body;
    EXPECT_EQ(json::parse(reply.body).value("field", ""), field) << reply.body;
  }
  // Accepted, but subscribed to a type nothing produces yet: no delivery leaves loopback.
  const auto ok = call("POST", "/v1/webhook-subscriptions",
                       {{"kind", "webhook"},
                        {"url", "https://hooks.example.com/x"},
                        {"event_types", {"spending.spike"}}});
  EXPECT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(call("GET", "/v1/webhook-subscriptions/" + uuid(7, 7)).status, 404);
  const json list = json::parse(call("GET", "/v1/webhook-subscriptions").body);
  ASSERT_EQ(list["subscriptions"].size(), 1u);
  EXPECT_EQ(list["subscriptions"][0]["url"], "https://hooks.example.com/…");
}

// A host name that resolves to a loopback or private address is refused when the subscription
// is made (and changed), not only at delivery, and the answer does not say which address.
TEST_F(WebhooksTest, AHostNameResolvingInwardIsRefusedAtCreationWithoutNamingTheAddress) {
  // Names the resolver turns into private addresses although they are no address literal:
  // "167772161" and "10.1" are 10.0.0.1 to getaddrinfo (inet_aton's forms), a classic way
  // around a check of literals only.
  for (const char* name : {"167772161", "10.1"}) {
    const auto reply = call("POST", "/v1/webhook-subscriptions",
                            {{"kind", "webhook"}, {"url", std::string("https://") + name + "/x"}});
    EXPECT_EQ(reply.status, 400) << name << " -> " << reply.body;
    EXPECT_EQ(json::parse(reply.body).value("field", ""), "url");
    EXPECT_EQ(reply.body.find("10.0.0.1"), std::string::npos) << reply.body;
  }
  EXPECT_EQ(json::parse(call("GET", "/v1/webhook-subscriptions").body)["subscriptions"].size(), 0u);
  // A change of URL is checked the same way.
  testing::Receiver receiver;
  const json sub = subscribe(receiver, {});
  const auto changed = call("PATCH", "/v1/webhook-subscriptions/" + sub["id"].get<std::string>(),
                            {{"url", "https://167772161/x"}});
  EXPECT_EQ(changed.status, 400) << changed.body;
}

// Each request of a batch is signed when it is sent: a receiver that takes 2 seconds over one
// request sees the next one's webhook-timestamp 2 seconds later (Standard Webhooks verifiers
// refuse timestamps older than their tolerance).
TEST_F(WebhooksTest, EachRequestOfABatchCarriesTheTimeItWasSent) {
  testing::Receiver receiver([](std::size_t index, const testing::ReceivedRequest&) {
    testing::ReceiverAnswer answer;
    if (index == 3) answer.delay = 2'100ms;
    return answer;
  });
  const json sub = subscribe(receiver, {{"event_types", {"transfer.created"}}});
  for (int i = 0; i < 3; ++i) rest("POST", "/v1/transfers", transfer(40 + i, 1, 2, 100 + i));
  const auto first = receiver.wait_for(3, 10s);
  ASSERT_EQ(first.size(), 3u);
  const std::uint64_t from = json::parse(first[0].body)["seq"];
  const std::uint64_t to = json::parse(first[2].body)["seq"];
  // A replay sends the three again in one batch; the receiver holds the first for 2.1 s.
  const auto replay =
      call("POST", "/v1/webhook-subscriptions/" + sub["id"].get<std::string>() + "/replay",
           {{"from_seq", from}, {"to_seq", to}});
  ASSERT_EQ(replay.status, 202) << replay.body;
  const auto got = receiver.wait_for(6, 20s);
  ASSERT_EQ(got.size(), 6u);
  const auto stamp = [](const testing::ReceivedRequest& r) {
    return std::stoll(r.headers.at("webhook-timestamp"));
  };
  EXPECT_GE(stamp(got[4]) - stamp(got[3]), 2) << "the second request was signed with the batch";
  EXPECT_TRUE(verified(got[4], sub["secret"]));
}

}  // namespace
}  // namespace ledger::iso_testing
