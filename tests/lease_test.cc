// The ledger lease (issue 18; docs/operations.md): two `ledgerd serve` on one database. The
// first takes the lease and serves; the second waits as a standby and takes over when the
// lease lapses; a paused active that is resumed after the takeover commits nothing and steps
// down by itself (exit 3).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "journal/pg.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/test_db.h"

namespace ledger {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* settlement = "00000000-0000-4000-8000-000000000001";
constexpr const char* customer = "00000000-0000-4000-8000-000000000002";

class LeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::create_database("lease");
    auth_ = {{"Authorization", "Bearer " + testing::create_api_key(env(), "backoffice")}};
  }
  testing::Env env(int transfers_max = 1'000) const {
    return {{"LEDGER_DATABASE_URL", url_},
            {"LEDGER_ACCOUNTS_MAX", "100"},
            {"LEDGER_TRANSFERS_MAX", std::to_string(transfers_max)},
            {"LEDGER_LEASE_MS", "1000"}};
  }
  testing::HttpReply post(int port, const std::string& path, const json& body) const {
    return testing::http_call(port, "POST", path, body.dump(), auth_, 10'000);
  }
  void create_accounts(int port) {
    for (const char* id : {settlement, customer}) {
      ASSERT_EQ(post(port, "/v1/accounts",
                     {{"id", id},
                      {"holder_id", customer},
                      {"currency", "EUR"},
                      {"kind", id == settlement ? "settlement" : "customer"}})
                    .status,
                201);
    }
  }
  json transfer(const std::string& id) const {
    return {{"id", id},
            {"debit_account_id", settlement},
            {"credit_account_id", customer},
            {"amount", 100},
            {"currency", "EUR"}};
  }
  bool wait_for(const testing::ServerProcess& server, const std::string& text) const {
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < deadline) {
      if (server.output().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  std::string epoch() const { return testing::query_value(url_, "SELECT epoch FROM ledger_lease"); }
  // The REST port of a standby (it answers /health and /ready only); 0 until it listens.
  int standby_port(const testing::ServerProcess& server) const {
    if (!wait_for(server, "event=standby_listening")) return 0;
    std::smatch match;
    const std::string log = server.output();
    if (!std::regex_search(
            log, match, std::regex("event=standby_listening interface=http address=\\S+:(\\d+)")))
      return 0;
    return std::stoi(match[1]);
  }

  std::string url_;
  std::map<std::string, std::string> auth_;
};

TEST_F(LeaseTest, SecondLedgerdIsAStandbyAndTakesOverWhenTheActiveDies) {
  testing::ServerProcess active;
  ASSERT_TRUE(active.start(env())) << active.output();
  EXPECT_EQ(epoch(), "1");
  create_accounts(active.http_port());
  ASSERT_EQ(
      post(active.http_port(), "/v1/transfers", transfer("00000000-0000-4000-8000-0000000000a1"))
          .status,
      201);

  testing::ServerProcess standby;
  standby.launch(env());
  ASSERT_TRUE(wait_for(standby, "event=standby")) << standby.output();
  // A standby journals nothing while the active holds the lease, opens no ISO 8583 port, and
  // its REST port answers /health and /ready (503, role standby) and nothing else.
  ASSERT_TRUE(wait_for(standby, "event=standby_listening")) << standby.output();
  std::this_thread::sleep_for(std::chrono::milliseconds(1'500));
  EXPECT_EQ(standby.output().find("event=listening"), std::string::npos) << standby.output();
  EXPECT_EQ(epoch(), "1");
  std::smatch match;
  const std::string log = standby.output();
  ASSERT_TRUE(std::regex_search(
      log, match, std::regex("event=standby_listening interface=http address=\\S+:(\\d+)")));
  const int standby_port = std::stoi(match[1]);
  EXPECT_EQ(testing::http_call(standby_port, "GET", "/health").status, 200);
  const auto ready = testing::http_call(standby_port, "GET", "/ready");
  EXPECT_EQ(ready.status, 503);
  const json ready_body = json::parse(ready.body, nullptr, false);
  EXPECT_EQ(ready_body.value("role", ""), "standby") << ready.body;
  EXPECT_EQ(ready_body.value("lease_epoch", 0), 1) << ready.body;
  EXPECT_EQ(
      post(standby_port, "/v1/transfers", transfer("00000000-0000-4000-8000-0000000000a9")).status,
      503);

  // It follows the journal: a transfer the active commits now reaches the standby's engine
  // before any takeover (its /ready shows the event applied, nothing left to apply).
  ASSERT_TRUE(wait_for(standby, "event=standby_loaded")) << standby.output();
  const std::string seq_before = testing::query_value(url_, "SELECT max(seq) FROM events");
  ASSERT_EQ(
      post(active.http_port(), "/v1/transfers", transfer("00000000-0000-4000-8000-0000000000a3"))
          .status,
      201);
  // Holds placed, posted and voided while it follows: its balances must come out the same.
  json hold = transfer("00000000-0000-4000-8000-0000000000a4");
  hold["pending"] = true;
  ASSERT_EQ(post(active.http_port(), "/v1/transfers", hold).status, 201);
  ASSERT_EQ(post(active.http_port(), "/v1/transfers/00000000-0000-4000-8000-0000000000a4/post",
                 {{"id", "00000000-0000-4000-8000-0000000000a5"}})
                .status,
            201);
  hold["id"] = "00000000-0000-4000-8000-0000000000a6";
  ASSERT_EQ(post(active.http_port(), "/v1/transfers", hold).status, 201);
  hold["id"] = "00000000-0000-4000-8000-0000000000a7";
  ASSERT_EQ(post(active.http_port(), "/v1/transfers", hold).status, 201);
  ASSERT_EQ(post(active.http_port(), "/v1/transfers/00000000-0000-4000-8000-0000000000a7/void",
                 {{"id", "00000000-0000-4000-8000-0000000000a8"}})
                .status,
            201);
  const auto balances = [this](int port) {
    json all;
    for (const char* id : {settlement, customer}) {
      const auto reply =
          testing::http_call(port, "GET", std::string("/v1/accounts/") + id, "", auth_, 10'000);
      all[id] = json::parse(reply.body, nullptr, false).value("balances", json());
    }
    return all;
  };
  const json balances_before = balances(active.http_port());
  ASSERT_TRUE(balances_before[customer].is_object()) << balances_before.dump();
  ASSERT_NE(balances_before[customer].dump().find("100"), std::string::npos)
      << balances_before.dump();
  const std::string seq_after = testing::query_value(url_, "SELECT max(seq) FROM events");
  ASSERT_NE(seq_before, seq_after);
  json followed;
  for (int i = 0; i < 200; ++i) {
    followed = json::parse(testing::http_call(standby_port, "GET", "/ready").body, nullptr, false);
    if (followed.value("followed_seq", 0) == std::stoi(seq_after) &&
        followed.value("lag_events", -1) == 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(followed.value("followed_seq", 0), std::stoi(seq_after)) << followed.dump();
  EXPECT_EQ(followed.value("lag_events", -1), 0) << followed.dump();
  EXPECT_EQ(followed.value("journal_loaded", false), true) << followed.dump();

  const auto killed = Clock::now();
  active.stop(SIGKILL);
  ASSERT_TRUE(standby.wait_serving(20'000)) << standby.output();
  const auto takeover_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed).count();
  std::printf("takeover: %lld ms from kill -9 to serving (lease 1000 ms)\n",
              static_cast<long long>(takeover_ms));
  EXPECT_EQ(epoch(), "2");
  const auto active_ready = testing::http_call(standby.http_port(), "GET", "/ready");
  EXPECT_EQ(active_ready.status, 200) << active_ready.body;
  EXPECT_EQ(json::parse(active_ready.body, nullptr, false).value("role", ""), "active");
  // The new active has the old one's journal and writes under its own epoch.
  const auto found =
      testing::http_call(standby.http_port(), "GET",
                         "/v1/transfers/00000000-0000-4000-8000-0000000000a1", "", auth_, 10'000);
  EXPECT_EQ(found.status, 200) << found.body;
  EXPECT_EQ(
      testing::http_call(standby.http_port(), "GET",
                         "/v1/transfers/00000000-0000-4000-8000-0000000000a3", "", auth_, 10'000)
          .status,
      200);
  EXPECT_EQ(balances(standby.http_port()), balances_before);
  // It took over from the state it followed, not by loading the journal again.
  EXPECT_NE(standby.output().find("event=state_followed"), std::string::npos) << standby.output();
  EXPECT_EQ(
      post(standby.http_port(), "/v1/transfers", transfer("00000000-0000-4000-8000-0000000000a2"))
          .status,
      201);
  EXPECT_EQ(standby.stop(SIGTERM), 0) << standby.output();
  // A clean stop releases the lease: a restart takes it at once, with the next epoch.
  testing::ServerProcess restarted;
  ASSERT_TRUE(restarted.start(env(), 5'000)) << restarted.output();
  EXPECT_EQ(epoch(), "3");
  EXPECT_EQ(restarted.stop(SIGTERM), 0);
}

// The back office's writes (API keys, webhook subscriptions and deliveries, spike rules, the
// direct-debit references, rules and IBANs) go through connections of their own; each carries
// the epoch its ledgerd took (ledger.epoch), and a trigger checks it against the lease before
// every statement that writes (migrations 0017, 0019).
TEST_F(LeaseTest, BackOfficeWritesOfADeposedLedgerdAreRefused) {
  testing::exec_sql(url_, "UPDATE ledger_lease SET epoch = 5");
  const char* writes[] = {"DELETE FROM api_keys WHERE false",
                          "UPDATE webhook_subscriptions SET status = status WHERE false",
                          "DELETE FROM webhook_deliveries WHERE false",
                          "DELETE FROM spike_rules WHERE false",
                          "DELETE FROM direct_debits WHERE false",
                          "DELETE FROM direct_debit_rules WHERE false",
                          "DELETE FROM account_ibans WHERE false"};
  const auto run = [&](std::int64_t epoch, bool refused) {
    pg::set_session_fence(epoch);
    pg::Conn conn;
    ASSERT_TRUE(pg::connect(url_, &conn).ok());
    pg::set_session_fence(0);
    for (const char* sql : writes) {
      std::string sqlstate;
      const Status s = pg::exec_params(conn.get(), sql, {}, nullptr, &sqlstate);
      EXPECT_EQ(!s.ok(), refused) << "epoch " << epoch << ": " << sql << ": " << s.message();
      if (refused) {
        EXPECT_EQ(sqlstate, "LF001") << sql;
      }
    }
  };
  run(4, true);   // deposed: the lease moved on to 5
  run(5, false);  // the holder
  run(0, false);  // tools and operators (no ledger.epoch)
}

// Every table is written under the lease one way or another, or is named here as unfenced
// with the reason: a new table fails this test until it is fenced or named.
TEST_F(LeaseTest, EveryTableLedgerdWritesIsFenced) {
  // Written only inside the journal's transactions, which call ledger_fence before COMMIT.
  const std::set<std::string> journal = {
      "account_events", "accounts",      "transfers",      "card_events",  "cards",
      "events",         "card_messages", "monitor_events", "spike_events", "direct_debit_events"};
  // Published inside a transaction that calls ledger_fence itself (snapshot_sql.cc).
  const std::set<std::string> fenced_by_call = {"engine_snapshots"};
  const std::set<std::string> unfenced = {
      "audit_log",           // records what a ledgerd did; a fenced write fails before it is done
      "ledger_lease",        // the lease itself: taken, renewed and released by epoch
      "ledger_instance",     // written once, by the migration that creates it
      "schema_migrations"};  // the migrator's, run by tools and at start before the lease
  const std::string tables =
      testing::query_value(url_,
                           "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables "
                           "WHERE schemaname = 'public'");
  const std::string triggered = testing::query_value(
      url_,
      "SELECT string_agg(DISTINCT c.relname, ',') FROM pg_trigger t "
      "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
      "WHERE p.proname = 'ledger_fence_backoffice' AND NOT t.tgisinternal");
  std::set<std::string> fenced_by_trigger;
  for (std::size_t start = 0; start < triggered.size();) {
    const auto comma = triggered.find(',', start);
    fenced_by_trigger.insert(triggered.substr(start, comma - start));
    start = comma == std::string::npos ? triggered.size() : comma + 1;
  }
  ASSERT_FALSE(tables.empty());
  int seen = 0;
  for (std::size_t start = 0; start < tables.size();) {
    const auto comma = tables.find(',', start);
    const std::string table = tables.substr(start, comma - start);
    start = comma == std::string::npos ? tables.size() : comma + 1;
    ++seen;
    const int ways = static_cast<int>(journal.count(table) + fenced_by_call.count(table) +
                                      fenced_by_trigger.count(table) + unfenced.count(table));
    EXPECT_EQ(ways, 1) << "table " << table
                       << ": journal it, fence it with a trigger (migration 0017) or name it "
                          "here as unfenced, with the reason";
  }
  EXPECT_GE(seen, 21);
  for (const char* table : {"direct_debits", "direct_debit_rules", "account_ibans", "api_keys",
                            "webhook_subscriptions", "webhook_deliveries", "spike_rules"}) {
    EXPECT_EQ(fenced_by_trigger.count(table), 1u) << table;
  }
}

TEST_F(LeaseTest, PausedActiveCommitsNothingAfterTheTakeoverAndStepsDown) {
  testing::ServerProcess active;
  ASSERT_TRUE(active.start(env())) << active.output();
  create_accounts(active.http_port());
  testing::ServerProcess standby;
  standby.launch(env());
  ASSERT_TRUE(wait_for(standby, "event=standby")) << standby.output();

  active.signal(SIGSTOP);
  ASSERT_TRUE(standby.wait_serving(20'000)) << standby.output();
  ASSERT_EQ(
      post(standby.http_port(), "/v1/transfers", transfer("00000000-0000-4000-8000-0000000000b1"))
          .status,
      201);
  // A request reaches the paused process (the kernel accepts it), then it resumes.
  testing::HttpReply late;
  std::thread client([&] {
    late =
        post(active.http_port(), "/v1/transfers", transfer("00000000-0000-4000-8000-0000000000b2"));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  active.signal(SIGCONT);
  client.join();
  EXPECT_NE(late.status, 201) << late.body;
  EXPECT_NE(late.status, 200) << late.body;
  // It steps down by itself, with exit status 3 (deposed).
  EXPECT_EQ(active.stop(0, 20'000), 3) << active.output();  // signal 0: only wait for the exit
  EXPECT_EQ(testing::query_value(url_,
                                 "SELECT count(*) FROM transfers WHERE id = "
                                 "'00000000-0000-4000-8000-0000000000b2'"),
            "0");
  EXPECT_EQ(testing::query_value(url_,
                                 "SELECT count(*) FROM transfers WHERE id = "
                                 "'00000000-0000-4000-8000-0000000000b1'"),
            "1");
  EXPECT_EQ(epoch(), "2");
  EXPECT_EQ(standby.stop(SIGTERM), 0) << standby.output();
}

// Monitor creations and deletions are journal records but not events: the standby cannot
// follow them from the feed, so it reads every monitor's latest state again when it takes over
// (pipeline.h, how_followed). Acknowledged before a kill -9, they are there on the new active.
TEST_F(LeaseTest, MonitorsCreatedAndDeletedBeforeKillNineAreOnTheNewActive) {
  testing::ServerProcess active;
  ASSERT_TRUE(active.start(env())) << active.output();
  create_accounts(active.http_port());
  testing::ServerProcess standby;
  standby.launch(env());
  ASSERT_TRUE(wait_for(standby, "event=standby_loaded")) << standby.output();
  const std::string kept = "00000000-0000-4000-8000-0000000000d1";
  const std::string deleted = "00000000-0000-4000-8000-0000000000d2";
  for (const std::string& id : {kept, deleted}) {
    ASSERT_EQ(post(active.http_port(), "/v1/balance-monitors",
                   {{"id", id},
                    {"account_id", customer},
                    {"field", "available"},
                    {"operator", ">="},
                    {"threshold", 150}})
                  .status,
              201);
  }
  ASSERT_EQ(testing::http_call(active.http_port(), "DELETE", "/v1/balance-monitors/" + deleted, "",
                               auth_, 10'000)
                .status,
            200);
  // None of the three changes is an event: only the takeover's reread can bring them.
  active.stop(SIGKILL);
  ASSERT_TRUE(standby.wait_serving(20'000)) << standby.output();
  const auto get = [&](const std::string& id) {
    const auto reply = testing::http_call(standby.http_port(), "GET", "/v1/balance-monitors/" + id,
                                          "", auth_, 10'000);
    EXPECT_EQ(reply.status, 200) << id << " " << reply.body;
    return json::parse(reply.body, nullptr, false);
  };
  EXPECT_EQ(get(kept).value("state", ""), "ok");
  EXPECT_EQ(get(deleted).value("state", ""), "deleted");
  // Crossing both thresholds: the kept one triggers, the deleted one stays deleted.
  ASSERT_EQ(
      post(standby.http_port(), "/v1/transfers", transfer("00000000-0000-4000-8000-0000000000d3"))
          .status,
      201);
  ASSERT_EQ(
      post(standby.http_port(), "/v1/transfers", transfer("00000000-0000-4000-8000-0000000000d4"))
          .status,
      201);
  EXPECT_EQ(get(kept).value("state", ""), "triggered");
  EXPECT_EQ(get(deleted).value("state", ""), "deleted");
  EXPECT_EQ(testing::query_value(url_, "SELECT count(*) FROM monitor_events WHERE monitor_id = '" +
                                           deleted + "' AND change = 1"),
            "0");
  EXPECT_EQ(standby.stop(SIGTERM), 0) << standby.output();
}

// SIGSTOP of the active while eight clients post transfers, at a moment its journal session
// is waiting for the rest of a COPY if that can be caught: the standby serves within 3 s
// (lease 1 s), every acknowledged transfer is in the journal, and the stopped process, once
// resumed, commits nothing and steps down.
TEST_F(LeaseTest, ActivePausedUnderWriteLoadIsReplacedWithinThreeSeconds) {
  testing::ServerProcess active;
  ASSERT_TRUE(active.start(env(100'000))) << active.output();
  create_accounts(active.http_port());
  testing::ServerProcess standby;
  standby.launch(env(100'000));
  ASSERT_TRUE(wait_for(standby, "event=standby_loaded")) << standby.output();

  std::atomic<bool> stop_clients{false};
  std::mutex acknowledged_mutex;
  std::condition_variable acknowledged_more;
  std::vector<std::string> acknowledged;
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 5'000 && !stop_clients; ++i) {  // bounded in count and in time
        char id[40];
        std::snprintf(id, sizeof id, "00000000-0000-4000-8%03d-%012d", c, i);
        const auto reply = testing::http_call(active.http_port(), "POST", "/v1/transfers",
                                              transfer(id).dump(), auth_, 1'500);
        if (reply.status == 201) {
          std::lock_guard lock(acknowledged_mutex);
          acknowledged.emplace_back(id);
          acknowledged_more.notify_all();
        }
      }
    });
  }
  // Catch the journal session in mid-COPY (waiting for its client) if possible within 3 s.
  bool mid_copy = false;
  const auto look_until = Clock::now() + std::chrono::seconds(3);
  {  // until the clients' transfers are being acknowledged
    std::unique_lock lock(acknowledged_mutex);
    acknowledged_more.wait_until(lock, look_until, [&] { return acknowledged.size() >= 16; });
  }
  while (!mid_copy && Clock::now() < look_until) {
    mid_copy = testing::query_value(
                   url_,
                   "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ledgerd "
                   "epoch=1' AND state = 'active' AND wait_event = 'ClientRead' AND query LIKE "
                   "'%COPY%'") != "0";
    if (mid_copy) break;
  }
  const auto stopped = Clock::now();
  active.signal(SIGSTOP);
  std::printf("paused %s\n", mid_copy ? "in mid-COPY" : "(mid-COPY not caught)");
  const bool serving = standby.wait_serving(10'000);
  const auto takeover_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stopped).count();
  std::printf("takeover: %lld ms from SIGSTOP to serving (lease 1000 ms)\n",
              static_cast<long long>(takeover_ms));
  stop_clients = true;
  for (auto& client : clients) client.join();
  ASSERT_TRUE(serving) << standby.output();
  EXPECT_LE(takeover_ms, 3'000) << standby.output();
  EXPECT_EQ(epoch(), "2");
  // The new active journals at once (nothing of the stopped one holds it up).
  ASSERT_EQ(
      post(standby.http_port(), "/v1/transfers", transfer("00000000-0000-4000-8000-0000000000e1"))
          .status,
      201);
  ASSERT_FALSE(acknowledged.empty());
  for (const std::string& id : acknowledged) {
    ASSERT_EQ(
        testing::http_call(standby.http_port(), "GET", "/v1/transfers/" + id, "", auth_, 10'000)
            .status,
        200)
        << "acknowledged transfer " << id << " is missing on the new active";
  }
  const std::string journaled_before = testing::query_value(url_, "SELECT count(*) FROM transfers");
  active.signal(SIGCONT);
  EXPECT_EQ(active.stop(0, 20'000), 3) << active.output();  // deposed: steps down by itself
  EXPECT_EQ(testing::query_value(url_, "SELECT count(*) FROM transfers"), journaled_before);
  EXPECT_EQ(standby.stop(SIGTERM), 0) << standby.output();
}

// Business time is the lease holder's clock: a ledgerd whose clock is more than
// LEDGER_MAX_CLOCK_SKEW_MS from PostgreSQL's is refused a free lease, and an active whose clock
// drifts that far steps down for a standby whose clock agrees (libfaketime moves the clock of
// one process; sanitizer runtimes refuse a preloaded library, so those builds skip this).
TEST_F(LeaseTest, ClockSkewBeyondTheBoundIsRefusedTheLeaseAndDeposesTheActive) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "libfaketime cannot be preloaded before a sanitizer runtime";
#endif
  const std::string faketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
  if (access(faketime.c_str(), R_OK) != 0)
    GTEST_FAIL() << faketime << ": scripts/setup installs faketime";
  const std::string offset_file = ::testing::TempDir() + "ledgerd-skew-" + std::to_string(getpid());
  const auto set_offset = [&](const char* offset) {
    FILE* f = std::fopen(offset_file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(offset, f);
    std::fclose(f);
  };
  set_offset("+3");  // three seconds ahead of PostgreSQL (same host: the same clock)
  testing::Env skewed = env();
  skewed["LD_PRELOAD"] = faketime;
  skewed["FAKETIME_TIMESTAMP_FILE"] = offset_file;
  skewed["FAKETIME_CACHE_DURATION"] = "1";
  skewed["FAKETIME_DONT_FAKE_MONOTONIC"] = "1";
  skewed["LEDGER_MAX_CLOCK_SKEW_MS"] = "500";

  testing::ServerProcess ahead;
  ahead.launch(skewed);
  ASSERT_TRUE(wait_for(ahead, "event=lease_refused reason=clock_skew")) << ahead.output();
  EXPECT_FALSE(ahead.wait_serving(1'500)) << ahead.output();
  EXPECT_EQ(epoch(), "0");  // never taken
  const auto ready =
      json::parse(testing::http_call(standby_port(ahead), "GET", "/ready").body, nullptr, false);
  ASSERT_TRUE(ready.is_object()) << ahead.output();
  EXPECT_EQ(ready.value("role", ""), "standby") << ready.dump();
  EXPECT_LT(ready.value("clock_skew_ms", 0LL), -2'000) << ready.dump();  // PostgreSQL's is behind
  EXPECT_EQ(ahead.stop(SIGTERM), 0) << ahead.output();

  // Its clock agrees at first: it serves; then it runs ahead and steps down (exit 3, deposed),
  // and the standby with the right clock takes over.
  set_offset("+0");
  testing::ServerProcess drifting;
  ASSERT_TRUE(drifting.start(skewed)) << drifting.output();
  testing::ServerProcess right;
  right.launch(env());
  ASSERT_TRUE(wait_for(right, "event=standby")) << right.output();
  set_offset("+3");
  EXPECT_EQ(drifting.stop(0, 20'000), 3) << drifting.output();
  EXPECT_NE(drifting.output().find("event=lease_given_up"), std::string::npos);
  EXPECT_TRUE(right.wait_serving(10'000)) << right.output();
  EXPECT_EQ(epoch(), "2");
  EXPECT_EQ(right.stop(SIGTERM), 0) << right.output();
  std::remove(offset_file.c_str());
}

}  // namespace
}  // namespace ledger
