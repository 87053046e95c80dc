// The REST API against its own model of the ledger: random holds, posts (partial, full, above
// the hold), voids (partial, full), expiries and transfers, then every statement (JSON and
// CSV, whole and split) and every history page compared with the model; concurrent card
// changes that must both stay; a post corrected after a rejection; API keys over REST.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "support/rest_fixture.h"

namespace ledger {
namespace {

using namespace std::chrono_literals;

// What the test believes the ledger holds.
struct Model {
  struct Hold {
    int debit = 0;
    int credit = 0;
    std::int64_t held = 0;
    std::string status = "pending";
    std::map<std::string, std::string> voids;  // body of a partial void without id -> its id
  };
  std::map<int, std::int64_t> posted;             // credits - debits, per account
  std::map<int, std::int64_t> pending;            // held on the debit side
  std::map<int, std::set<std::string>> postings;  // ids of the transfers that moved `posted`
  std::map<std::string, Hold> holds;
  std::map<std::string, std::string> status;  // every accepted transfer id -> status
  std::set<int> limited;                      // accounts that may not go below zero

  std::int64_t available(int n) const {
    return (posted.count(n) ? posted.at(n) : 0) - (pending.count(n) ? pending.at(n) : 0);
  }
  bool can_debit(int n, std::int64_t amount) const {
    return limited.count(n) == 0 || available(n) >= amount;
  }
  void post(const std::string& id, int debit, int credit, std::int64_t amount) {
    posted[debit] -= amount;
    posted[credit] += amount;
    postings[debit].insert(id);
    postings[credit].insert(id);
  }
};

class RestLedgerTest : public RestTest {
 protected:
  std::uint32_t seed() {
    const char* fixed = std::getenv("LEDGER_TEST_SEED");
    const auto value = fixed != nullptr
                           ? static_cast<std::uint32_t>(std::strtoul(fixed, nullptr, 10))
                           : std::random_device{}();
    std::printf("RestLedgerTest seed %u (LEDGER_TEST_SEED=%u reproduces)\n", value, value);
    return value;
  }
  std::string post_id(const testing::HttpReply& reply) {
    return json::parse(reply.body)["id"].get<std::string>();
  }
};

std::vector<std::vector<std::string>> csv_rows(const std::string& body) {
  std::vector<std::vector<std::string>> rows;
  std::string text = body.rfind("\xEF\xBB\xBF", 0) == 0 ? body.substr(3) : body;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string> cells;
    std::string cell;
    std::istringstream parts(line);
    while (std::getline(parts, cell, ',')) cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    rows.push_back(cells);
  }
  return rows;
}

TEST_F(RestLedgerTest, StatementsAndHistoryEqualTheLedger) {
  std::mt19937 rng(seed());
  Model model;
  account(1, "settlement");
  for (int n = 2; n <= 5; ++n) {
    account(n);
    model.limited.insert(n);
  }
  int next = 1;
  const auto new_id = [&] { return uuid(2, next++); };
  for (int n = 2; n <= 5; ++n) {  // fund the customers
    const std::string id = new_id();
    json body = transfer(next - 1, 1, n, 5'000);
    ASSERT_EQ(call("POST", "/v1/transfers", body).status, 201);
    model.post(id, 1, n, 5'000);
    model.status[id] = "posted";
  }
  const auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::vector<std::string> cuts;  // created_at of some accepted transfers: statement splits
  for (int step = 0; step < 240; ++step) {
    const int op = pick(0, 9);
    std::vector<std::string> open;
    for (const auto& [id, h] : model.holds)
      if (h.status == "pending") open.push_back(id);
    if (op <= 2 || (op >= 6 && open.empty())) {  // a transfer, maybe refused for funds
      const int debit = pick(1, 5);
      int credit = pick(1, 5);
      if (credit == debit) credit = debit % 5 + 1;
      const std::int64_t amount = pick(1, 2'500);
      const std::string id = new_id();
      const auto reply = call("POST", "/v1/transfers", transfer(next - 1, debit, credit, amount));
      const bool accepted = model.can_debit(debit, amount);
      ASSERT_EQ(reply.status, accepted ? 201 : 422) << "step " << step << " " << reply.body;
      if (accepted) {
        model.post(id, debit, credit, amount);
        model.status[id] = "posted";
        if (pick(0, 9) == 0) cuts.push_back(json::parse(reply.body)["created_at"]);
      }
    } else if (op <= 5) {  // a hold
      const int debit = pick(2, 5);
      const int credit = pick(0, 1) == 0 ? 1 : (debit % 4) + 2;
      const std::int64_t amount = pick(1, 1'500);
      const std::string id = new_id();
      const auto reply =
          call("POST", "/v1/transfers", transfer(next - 1, debit, credit, amount, true));
      const bool accepted = model.can_debit(debit, amount);
      ASSERT_EQ(reply.status, accepted ? 201 : 422) << "step " << step << " " << reply.body;
      if (accepted) {
        model.pending[debit] += amount;
        model.holds[id] = Model::Hold{debit, credit, amount, "pending", {}};
        model.status[id] = "pending";
      }
    } else {  // resolve an open hold: post (partial, full or above) or void (partial or full)
      const std::string hold_id =
          open[static_cast<std::size_t>(pick(0, static_cast<int>(open.size()) - 1))];
      Model::Hold& h = model.holds[hold_id];
      const int kind = pick(0, 4);
      json body = json::object();
      std::int64_t amount = h.held;
      if (kind == 0 || kind == 3) amount = pick(1, static_cast<int>(h.held));
      if (kind == 1) {
        amount = h.held + pick(1, 300);
        body["allow_over_capture"] = true;
      }
      if (amount != h.held || kind == 1) body["amount"] = amount;
      const bool post = kind <= 2;
      const std::string target = "/v1/transfers/" + hold_id + (post ? "/post" : "/void");
      auto reply = call("POST", target, body);
      const std::string content = body.dump();
      if (!post && h.voids.count(content) != 0) {
        // The same request again without an id is a retry: the original answer, nothing
        // released twice. Under its own Idempotency-Key it is a second void.
        ASSERT_EQ(reply.status, 200) << "step " << step << " " << reply.body;
        ASSERT_EQ(post_id(reply), h.voids[content]) << "step " << step;
        reply = testing::http_call(server_.http_port(), "POST", target, content,
                                   {{"Authorization", "Bearer " + backoffice_},
                                    {"Idempotency-Key", "void-" + std::to_string(step)}});
      }
      bool accepted = true;
      if (post && amount > h.held) {  // the part above the hold is a new debit
        accepted = model.limited.count(h.debit) == 0 || model.available(h.debit) + h.held >= amount;
      }
      ASSERT_EQ(reply.status, accepted ? 201 : 422) << "step " << step << " " << reply.body;
      if (!accepted) continue;
      const std::string resolution = post_id(reply);
      if (post) {
        model.pending[h.debit] -= h.held;
        model.post(resolution, h.debit, h.credit, amount);
        model.status[resolution] = "posted";
        h.status = "posted";
      } else if (amount < h.held) {  // a partial void: the rest stays held
        h.voids.emplace(content, resolution);
        model.pending[h.debit] -= amount;
        h.held -= amount;
        model.status[resolution] = "voided";
      } else {
        model.pending[h.debit] -= h.held;
        model.status[resolution] = "voided";
        h.status = "voided";
      }
      model.status[hold_id] = h.status;
    }
  }
  // Holds that expire on their own (one partly voided first), at the end so the random phase
  // never depends on when they go.
  std::vector<std::string> expiring;
  for (int debit = 2; debit <= 5; ++debit) {
    if (model.available(debit) < 10) continue;
    const std::string id = new_id();
    json body = transfer(next - 1, debit, 1, 10, true);
    body["timeout_seconds"] = 1;
    ASSERT_EQ(call("POST", "/v1/transfers", body).status, 201);
    expiring.push_back(id);
    model.status[id] = "expired";
    if (debit == 2) {
      const auto partial = call("POST", "/v1/transfers/" + id + "/void", {{"amount", 4}});
      ASSERT_EQ(partial.status, 201);
      model.status[post_id(partial)] = "voided";
    }
  }
  for (const std::string& id : expiring) {  // wait for expiry (bounded), by polling
    std::string status;
    for (int i = 0; i < 200 && status != "expired"; ++i) {
      status = ok("GET", "/v1/transfers/" + id)["status"];
      if (status != "expired") std::this_thread::sleep_for(50ms);
    }
    ASSERT_EQ(status, "expired") << id;
  }
  for (int n = 1; n <= 5; ++n) {
    const std::string base = "/v1/accounts/" + uuid(1, n) + "/statement";
    const json whole = ok("GET", base);
    EXPECT_EQ(whole["opening_balance"], 0) << n;
    EXPECT_EQ(whole["closing_balance"], model.posted[n]) << "account " << n;
    EXPECT_EQ(whole["closing_balance"], balances(n)["posted"]) << "account " << n;
    std::set<std::string> lines;
    std::int64_t running = 0;
    for (const json& line : whole["lines"]) {
      lines.insert(line["transfer_id"].get<std::string>());
      running += line["amount"].get<std::int64_t>();
      EXPECT_EQ(line["balance"], running);
    }
    EXPECT_EQ(lines, model.postings[n]) << "account " << n << ": lines are exactly the postings";
    const auto csv = call("GET", base + "?format=csv");
    ASSERT_EQ(csv.status, 200);
    const auto rows = csv_rows(csv.body);
    ASSERT_EQ(rows.size(), whole["lines"].size() + 3) << csv.body;  // header, open, lines, close
    EXPECT_EQ(rows[1][2], "opening_balance");
    EXPECT_EQ(rows[1][7], "0");
    EXPECT_EQ(rows.back()[2], "closing_balance");
    EXPECT_EQ(rows.back()[7], std::to_string(model.posted[n]));
    for (const std::string& cut : cuts) {  // [.., cut) then [cut, ..) join up
      const json before = ok("GET", base + "?to=" + cut);
      const json after = ok("GET", base + "?from=" + cut);
      EXPECT_EQ(before["closing_balance"], after["opening_balance"]) << cut;
      EXPECT_EQ(after["closing_balance"], model.posted[n]) << cut;
      EXPECT_EQ(before["lines"].size() + after["lines"].size(), whole["lines"].size()) << cut;
    }
    // History, page by page: each accepted transfer once, as it stands now.
    std::set<std::string> seen;
    std::string cursor;
    for (int pages = 0; pages < 1000; ++pages) {
      const json page = ok("GET", "/v1/accounts/" + uuid(1, n) + "/transfers?limit=7" +
                                      (cursor.empty() ? "" : "&cursor=" + cursor));
      for (const json& t : page["transfers"]) {
        const std::string id = t["id"];
        EXPECT_TRUE(seen.insert(id).second) << id << " twice";
        if (t["code"] == "expiry") {  // the engine's own void of an expired hold
          EXPECT_EQ(t["status"], "voided");
          EXPECT_EQ(model.status[t["pending_id"]], "expired");
          continue;
        }
        ASSERT_EQ(model.status.count(id), 1u) << id;
        EXPECT_EQ(t["status"], model.status[id]) << id;
        if (model.holds.count(id) && model.holds[id].status == "pending") {
          EXPECT_EQ(t["amount_effective"], model.holds[id].held) << id;
        }
      }
      if (page["next_cursor"].is_null()) break;
      cursor = page["next_cursor"];
    }
  }
}

TEST_F(RestLedgerTest, ConcurrentCardChangesOfDifferentControlsBothStay) {
  account(1);
  ASSERT_EQ(call("POST", "/v1/cards",
                 {{"id", uuid(3, 1)},
                  {"account_id", uuid(1, 1)},
                  {"pan", "4111111111111111"},
                  {"expiry", "2812"}})
                .status,
            201);
  const std::string path = "/v1/cards/" + uuid(3, 1);
  for (int round = 1; round <= 30; ++round) {
    char mcc[16];
    std::snprintf(mcc, sizeof mcc, "%04d", 5000 + round);
    std::atomic<int> ready{0};
    const auto patch = [&](json body) {
      ++ready;
      while (ready < 2) std::this_thread::yield();  // both start together
      EXPECT_EQ(call("PATCH", path, body).status, 200);
    };
    std::thread limit(patch, json{{"controls", {{"daily_limit", 1000 + round}}}});
    std::thread mccs(patch, json{{"controls", {{"blocked_mccs", {mcc}}, {"atm", round % 2 == 0}}}});
    limit.join();
    mccs.join();
    const json card = ok("GET", path);
    EXPECT_EQ(card["controls"]["daily_limit"], 1000 + round) << "round " << round;
    EXPECT_EQ(card["controls"]["blocked_mccs"], json::array({mcc})) << "round " << round;
    EXPECT_EQ(card["controls"]["atm"], round % 2 == 0) << "round " << round;
  }
}

TEST_F(RestLedgerTest, AHoldCanBePostedAfterARejectedPost) {
  account(1, "settlement");
  account(2);
  ok("POST", "/v1/transfers", transfer(1, 1, 2, 1000), 201);
  ok("POST", "/v1/transfers", transfer(2, 2, 1, 500, true), 201);
  const std::string post = "/v1/transfers/" + uuid(2, 2) + "/post";
  const auto too_much = call("POST", post, {{"amount", 600}});
  EXPECT_EQ(too_much.status, 422);
  EXPECT_EQ(json::parse(too_much.body)["code"], "amount_exceeds_pending");
  EXPECT_EQ(call("POST", post, {{"amount", 600}}).status, 422);  // the same request, same answer
  const json posted = ok("POST", post, {{"amount", 400}}, 201);  // corrected: goes through
  EXPECT_EQ(posted["amount_effective"], 400);
  EXPECT_EQ(ok("POST", post, {{"amount", 400}}, 200)["id"], posted["id"]);  // a retry of it
  EXPECT_EQ(ok("GET", "/v1/transfers/" + uuid(2, 2))["status"], "posted");
  EXPECT_EQ(balances(2)["posted"], 600);
  const auto again = call("POST", post, {{"amount", 300}});  // another one: already posted
  EXPECT_EQ(json::parse(again.body)["code"], "pending_already_posted");
}

TEST_F(RestLedgerTest, ApiKeysAreManagedOverRestByAdminsOnly) {
  EXPECT_EQ(call("GET", "/v1/keys").status, 403);  // backoffice
  const auto created = call("POST", "/v1/keys", {{"name", "reporting"}, {"scope", "read"}}, admin_);
  ASSERT_EQ(created.status, 201) << created.body;
  const json key = json::parse(created.body);
  const std::string text = key["key"];
  EXPECT_EQ(text.rfind("ldg_", 0), 0u);
  EXPECT_EQ(key["prefix"], text.substr(0, 12));
  int status = 0;
  for (int i = 0; i < 100 && status != 404; ++i) {  // usable within a second
    status = call("GET", "/v1/accounts/" + uuid(1, 1), nullptr, text).status;
    if (status != 404) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(status, 404);
  const json list = json::parse(call("GET", "/v1/keys", nullptr, admin_).body);
  bool listed = false;
  for (const json& k : list["keys"]) {
    EXPECT_FALSE(k.contains("key"));  // never shown again
    listed = listed || k["id"] == key["id"];
  }
  EXPECT_TRUE(listed);
  EXPECT_EQ(call("POST", "/v1/keys", {{"name", "x"}, {"scope", "root"}}, admin_).status, 400);
  const std::string revoke = "/v1/keys/" + key["id"].get<std::string>() + "/revoke";
  const auto revoked = call("POST", revoke, nullptr, admin_);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_FALSE(json::parse(revoked.body)["revoked_at"].is_null());
  for (int i = 0; i < 100 && status != 401; ++i) {
    status = call("GET", "/v1/accounts/" + uuid(1, 1), nullptr, text).status;
    if (status != 401) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(status, 401);
  EXPECT_EQ(call("POST", "/v1/keys/" + uuid(7, 7) + "/revoke", nullptr, admin_).status, 404);
  EXPECT_EQ(testing::query_value(url_,
                                 "SELECT count(*) FROM audit_log WHERE action IN "
                                 "('key.create', 'key.revoke') AND actor LIKE 'key:%'"),
            "2");
}

}  // namespace
}  // namespace ledger
