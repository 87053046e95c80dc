// The event feed (issue 15): every committed change is one event, numbered gap-free in commit
// order, readable with GET /v1/events (cursor, filters, long-poll). A real ledgerd on a fresh
// database, driven over REST and ISO 8583.
#include <future>

#include "support/iso_fixture.h"

namespace ledger::iso_testing {
namespace {

class EventsTest : public IsoTest {
 protected:
  testing::HttpReply get(const std::string& target) {
    return testing::http_call(server_.http_port(), "GET", target, "",
                              {{"Authorization", "Bearer " + key_}});
  }
  json events(const std::string& query) {
    const auto reply = get("/v1/events?" + query);
    EXPECT_EQ(reply.status, 200) << query << " -> " << reply.body;
    return reply.status == 200 ? json::parse(reply.body) : json{{"events", json::array()}};
  }
  std::vector<std::string> types(const json& page) {
    std::vector<std::string> out;
    for (const auto& e : page["events"]) out.push_back(e["type"]);
    return out;
  }
  json transfer(int id, int debit, int credit, std::int64_t amount, bool pending = false) {
    return {{"id", uuid(2, id)},
            {"debit_account_id", uuid(1, debit)},
            {"credit_account_id", uuid(1, credit)},
            {"amount", amount},
            {"currency", "EUR"},
            {"pending", pending}};
  }
};

// Each money event carries the balances right after it: two transfers in a row each show the
// balance their own change left (not the latest), and a card payment the cardholder's.
TEST_F(EventsTest, MoneyEventsCarryTheBalancesRightAfterTheirChange) {
  const json before = rest("GET", "/v1/accounts/" + uuid(1, 2))["balances"];
  const std::int64_t posted = before["posted"];
  rest("POST", "/v1/transfers", transfer(30, 2, 1, 100));
  rest("POST", "/v1/transfers", transfer(31, 2, 1, 250));
  IsoClient client(server_.iso_port());
  EXPECT_EQ(client.call(auth(40, 500)).get(39), "00");
  const json page = events("types=transfer.created,card.authorization.approved&limit=100");
  const auto balance_of = [](const json& e, const std::string& account) {
    for (const json& b : e["data"]["balances_after"]) {
      if (b["account_id"] == account) return b;
    }
    return json();
  };
  std::vector<json> found;
  for (const json& e : page["events"]) {
    if (e["type"] == "transfer.created" && e["data"]["transfer"]["amount"] != 300) {
      found.push_back(e);
    }
  }
  ASSERT_GE(found.size(), 2u) << page.dump();
  const json first = found[found.size() - 2];
  const json second = found[found.size() - 1];
  EXPECT_EQ(balance_of(first, uuid(1, 2))["posted"], posted - 100) << first.dump();
  EXPECT_EQ(balance_of(second, uuid(1, 2))["posted"], posted - 350) << second.dump();
  EXPECT_FALSE(balance_of(second, uuid(1, 1)).is_null());
  const json card = page["events"].back();
  ASSERT_EQ(card["type"], "card.authorization.approved");
  const json after_card = balance_of(card, uuid(1, 2));
  EXPECT_EQ(after_card["posted"], posted - 350);  // a hold: posted unchanged
  EXPECT_EQ(after_card["available"],
            rest("GET", "/v1/accounts/" + uuid(1, 2))["balances"]["available"]);
}

TEST_F(EventsTest, EveryCommittedChangeIsOneEventInCommitOrder) {
  // Set-up made 4: two accounts, a deposit, a card.
  rest("POST", "/v1/transfers", transfer(10, 2, 1, 300, true));  // a hold
  rest("POST", "/v1/transfers/" + uuid(2, 10) + "/post", {{"amount", 200}});
  rest("POST", "/v1/transfers", transfer(11, 2, 1, 50, true));  // another hold, voided
  rest("POST", "/v1/transfers/" + uuid(2, 11) + "/void", json::object());
  const auto refused = testing::http_call(server_.http_port(), "POST", "/v1/transfers",
                                          transfer(12, 2, 1, 1'000'000).dump(),
                                          {{"Authorization", "Bearer " + key_}});
  EXPECT_EQ(refused.status, 422) << refused.body;
  IsoClient client(server_.iso_port());
  Message at_shop = auth(20, 1234);
  at_shop.set(43, "CORNER SHOP              PARIS        FR");  // name 25, city 13, country 2
  EXPECT_EQ(client.call(at_shop).get(39), "00");
  EXPECT_EQ(client.call(auth(21, 6000)).get(39), "61");  // over the per-authorization limit
  rest("PATCH", "/v1/cards/" + uuid(3, 1), {{"status", "frozen"}});
  rest("PATCH", "/v1/accounts/" + uuid(1, 2), {{"status", "frozen"}});

  const json page = events("after=0&limit=1000");
  const std::vector<std::string> expected = {
      "account.created",
      "account.created",
      "transfer.created",
      "card.created",
      "transfer.pending",
      "transfer.posted",
      "transfer.pending",
      "transfer.voided",
      "transfer.rejected",
      "account.created",  // the card settlement account, opened by the first card payment
      "card.authorization.approved",
      "card.authorization.declined",
      "card.updated",
      "account.updated"};
  ASSERT_EQ(types(page), expected) << page.dump(1);
  for (std::size_t i = 0; i < page["events"].size(); ++i) {
    const json& e = page["events"][i];
    EXPECT_EQ(e["seq"], i + 1);  // gap-free, from 1
    EXPECT_EQ(e["id"].get<std::string>().rfind("evt_", 0), 0u);
    EXPECT_EQ(e["timestamp"].get<std::string>().back(), 'Z');
  }
  EXPECT_EQ(page["next_after"], expected.size());
  const json& events_list = page["events"];
  // A transfer event carries the transfer as GET /v1/transfers/{id} showed it then.
  EXPECT_EQ(events_list[4]["data"]["transfer"]["id"], uuid(2, 10));
  EXPECT_EQ(events_list[4]["data"]["transfer"]["status"], "pending");
  EXPECT_EQ(events_list[5]["data"]["transfer"]["pending_id"], uuid(2, 10));
  EXPECT_EQ(events_list[5]["data"]["transfer"]["amount_effective"], 200);
  EXPECT_EQ(events_list[8]["data"]["transfer"]["result"], "exceeds_available");
  const json& approved = events_list[10]["data"]["authorization"];
  EXPECT_EQ(approved["card_id"], uuid(3, 1));
  EXPECT_EQ(approved["account_id"], uuid(1, 2));
  EXPECT_EQ(approved["amount"], 1234);
  EXPECT_EQ(approved["currency"], "EUR");
  EXPECT_EQ(approved["response_code"], "00");
  EXPECT_EQ(approved["reason"], "approved");
  EXPECT_EQ(approved["merchant_name"], "CORNER SHOP");
  EXPECT_EQ(approved["merchant_city"], "PARIS");
  EXPECT_EQ(approved["country"], "FR");
  EXPECT_EQ(approved["mcc"], "5411");
  EXPECT_EQ(approved["channel"], "card_present");
  const json& declined = events_list[11]["data"]["authorization"];
  EXPECT_EQ(declined["response_code"], "61");
  EXPECT_TRUE(declined["merchant_name"].is_null());  // no DE43: the DE19 country only
  EXPECT_EQ(declined["country"], "276");
  EXPECT_NE(declined["reason"].get<std::string>().find(' '), std::string::npos) << declined;
  EXPECT_EQ(events_list[12]["data"]["card"]["status"], "frozen");
  EXPECT_EQ(events_list[13]["data"]["account"]["status"], "frozen");
  EXPECT_FALSE(events_list[13]["data"]["account"].contains("balances"));

  // The same feed a page at a time: the cursor walks it without gaps or repeats.
  std::uint64_t after = 0;
  std::vector<std::string> walked;
  for (int i = 0; i < 20 && walked.size() < expected.size(); ++i) {
    const json part = events("after=" + std::to_string(after) + "&limit=3");
    for (const auto& e : part["events"]) walked.push_back(e["type"]);
    after = part["next_after"];
  }
  EXPECT_EQ(walked, expected);
  EXPECT_TRUE(events("after=" + std::to_string(after))["events"].empty());
}

TEST_F(EventsTest, FiltersByTypeAccountAndHolder) {
  rest("POST", "/v1/accounts",
       {{"id", uuid(1, 3)}, {"holder_id", uuid(9, 2)}, {"currency", "EUR"}, {"kind", "customer"}});
  rest("POST", "/v1/transfers", transfer(10, 2, 3, 100));
  rest("POST", "/v1/transfers", transfer(11, 2, 1, 100, true));
  rest("POST", "/v1/transfers/" + uuid(2, 11) + "/post", json::object());
  EXPECT_EQ(types(events("types=transfer.posted,account.created")),
            (std::vector<std::string>{"account.created", "account.created", "account.created",
                                      "transfer.posted"}));
  const json of_three = events("account_id=" + uuid(1, 3));
  EXPECT_EQ(types(of_three), (std::vector<std::string>{"account.created", "transfer.created"}));
  EXPECT_EQ(of_three["events"][1]["data"]["transfer"]["id"], uuid(2, 10));
  // Holder 9/2 owns only account 3: the same two events.
  EXPECT_EQ(types(events("holder_id=" + uuid(9, 2))), types(of_three));
  EXPECT_EQ(types(events("holder_id=" + uuid(9, 2) + "&types=transfer.created")),
            (std::vector<std::string>{"transfer.created"}));
}

TEST_F(EventsTest, BadQueriesAre400NamingTheParameter) {
  for (const auto& [query, parameter] : std::vector<std::pair<std::string, std::string>>{
           {"types=transfer.nope", "types"},
           {"types=", "types"},
           {"types=transfer.created,,card.created", "types"},
           {"after=-1", "after"},
           {"after=abc", "after"},
           {"wait_ms=30001", "wait_ms"},
           {"limit=0", "limit"},
           {"limit=1001", "limit"},
           {"account_id=42", "account_id"},
           {"holder_id=00000000-0000-0000-0000-000000000000", "holder_id"},
           {"colour=red", "colour"}}) {
    const auto reply = get("/v1/events?" + query);
    EXPECT_EQ(reply.status, 400) << query << " -> " << reply.body;
    EXPECT_NE(reply.body.find(parameter), std::string::npos) << query << " -> " << reply.body;
  }
  const auto post = testing::http_call(server_.http_port(), "POST", "/v1/events", "{}",
                                       {{"Authorization", "Bearer " + key_}});
  EXPECT_EQ(post.status, 405);
}

TEST_F(EventsTest, ALongPollAnswersWhenAMatchingEventCommits) {
  const std::uint64_t last = events("after=0&limit=1000")["next_after"];
  // Nothing new: the wait ends empty, with the cursor where it was.
  const auto started = std::chrono::steady_clock::now();
  const json idle = events("after=" + std::to_string(last) + "&wait_ms=300");
  EXPECT_GE(std::chrono::steady_clock::now() - started, 250ms);
  EXPECT_TRUE(idle["events"].empty());
  EXPECT_EQ(idle["next_after"], last);
  // A waiting read for transfer.posted: a hold (not matching) and then its post arrive.
  auto waiting = std::async(std::launch::async, [&] {
    return events("after=" + std::to_string(last) + "&types=transfer.posted&wait_ms=10000");
  });
  std::this_thread::sleep_for(200ms);
  rest("POST", "/v1/transfers", transfer(10, 2, 1, 100, true));
  std::this_thread::sleep_for(200ms);
  const auto posted_at = std::chrono::steady_clock::now();
  rest("POST", "/v1/transfers/" + uuid(2, 10) + "/post", json::object());
  ASSERT_EQ(waiting.wait_for(5s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - posted_at, 2s);
  const json page = waiting.get();
  ASSERT_EQ(types(page), (std::vector<std::string>{"transfer.posted"}));
  EXPECT_EQ(page["events"][0]["seq"], last + 2);
  EXPECT_EQ(page["next_after"], last + 2);
}

}  // namespace
}  // namespace ledger::iso_testing
