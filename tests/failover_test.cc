// kill -9 of the active ledgerd under REST and ISO 8583 load, 10 rounds (issue 18; docs/
// operations.md "Leadership and fencing"). Two `ledgerd serve` share one database; each round
// kills the active with SIGKILL while both clients send, the standby takes over, and the
// killed one comes back as the new standby. The clients behave as a back office and a card
// network do: a REST transfer without an answer is sent again with the same id to whichever
// ledgerd serves; an authorization without an answer is repeated (0101, same DE7/DE11/DE32).
// Checked afterwards, against PostgreSQL and a fresh ledgerd loading the journal:
// - takeover (kill to the first approved authorization on the new active) p99 <= 2 s;
// - every acknowledged transfer and approval is journaled, with the answer it was given;
// - no transaction id twice: one row per transfer and per authorization, however often sent;
// - an authorization answered 91 holds nothing;
// - debits = credits, and the last active's balances equal a load of the journal, both from
//   the newest engine snapshot plus the tail and from the whole journal (snapshots are taken
//   every second, and every restarted standby loads from one).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ledger/card_ids.h"
#include "support/failover_load.h"
#include "support/process.h"
#include "support/test_db.h"

namespace ledger {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int rounds = 10;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// Under the sanitizers every process runs several times slower; the lease itself (1 s) is
// the same, what is measured on top of it is not.
constexpr long long takeover_p99_limit_ms = 4'000;
#else
constexpr long long takeover_p99_limit_ms = 2'000;
#endif

bool wait_for(const testing::ServerProcess& server, const std::string& text) {
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    if (server.output().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(FailoverTest, KillNineOfTheActiveUnderRestAndIsoLoadLosesNothingAcknowledged) {
  const std::string url = testing::create_database("failover");
  // Snapshots every second, in a directory both share (one machine): each restarted standby
  // loads from the newest one plus the tail, and some writers are killed mid-file.
  const std::string snapshots = "/tmp/ledgerd-failover-snapshots-" + std::to_string(getpid());
  const testing::Env full_load_env = {
      {"LEDGER_DATABASE_URL", url},
      {"LEDGER_ACCOUNTS_MAX", "100"},
      {"LEDGER_TRANSFERS_MAX", "200000"},
      {"LEDGER_CARDS_MAX", "100"},
      {"LEDGER_PAN_SECRET", "failover-test-secret-0123456789abcdef"},
      {"LEDGER_HOME_COUNTRY", "276"},
      {"LEDGER_LEASE_MS", "1000"}};
  testing::Env env = full_load_env;
  env["LEDGER_SNAPSHOT_DIR"] = snapshots;
  env["LEDGER_SNAPSHOT_INTERVAL_S"] = "1";
  testing::FailoverLoad load(testing::create_api_key(env, "backoffice"));
  std::array<std::unique_ptr<testing::ServerProcess>, 2> servers{
      std::make_unique<testing::ServerProcess>(), std::make_unique<testing::ServerProcess>()};
  ASSERT_TRUE(servers[0]->start(env)) << servers[0]->output();
  load.create_ledger(servers[0]->http_port());
  servers[1]->launch(env);
  ASSERT_TRUE(wait_for(*servers[1], "event=standby_loaded")) << servers[1]->output();

  load.set_targets({{servers[0]->http_port(), servers[0]->iso_port()}});
  // A first snapshot (the ledger just created); the standbys restarted below load from it.
  ASSERT_TRUE(wait_for(*servers[0], "event=snapshot_written")) << servers[0]->output();
  load.start();
  std::vector<long long> takeover_ms;
  std::size_t active = 0;
  for (int round = 0; round < rounds; ++round) {
    // Mid-way, one active serves long enough to take a snapshot under load.
    std::this_thread::sleep_for(std::chrono::milliseconds(round == rounds / 2 ? 1'600 : 400));
    const std::size_t standby = 1 - active;
    // Acknowledged just before the kill: a monitor created, the previous one deleted.
    load.churn_monitors(servers[active]->http_port(), round);
    const auto killed = Clock::now();
    servers[active]->signal(SIGKILL);
    ASSERT_TRUE(servers[standby]->wait_serving(20'000)) << servers[standby]->output();
    // Takeover ends with the first approved authorization on the new active.
    const testing::FailoverLoad::Target target{servers[standby]->http_port(),
                                               servers[standby]->iso_port()};
    load.set_targets({target});
    const long long ms = load.first_approval_ms(killed, 20'000);
    ASSERT_GE(ms, 0) << servers[standby]->output();
    takeover_ms.push_back(ms);
    EXPECT_EQ(servers[active]->stop(0, 5'000), -SIGKILL);
    servers[active] = std::make_unique<testing::ServerProcess>();
    servers[active]->launch(env);
    ASSERT_TRUE(wait_for(*servers[active], "event=standby_loaded")) << servers[active]->output();
    active = standby;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  load.stop();

  EXPECT_EQ(testing::query_value(url, "SELECT epoch FROM ledger_lease"),
            std::to_string(rounds + 1));
  std::vector<long long> sorted = takeover_ms;
  std::sort(sorted.begin(), sorted.end());
  const long long p50 = sorted[sorted.size() / 2];
  const long long p99 = sorted[(sorted.size() * 99 + 99) / 100 - 1];  // nearest rank
  std::string each;
  for (const long long ms : takeover_ms) each += " " + std::to_string(ms);
  std::printf(
      "failover: %d rounds, takeover ms (kill -9 to the first approval):%s; p50 %lld, "
      "p99 %lld\n",
      rounds, each.c_str(), p50, p99);
  EXPECT_LE(p99, takeover_p99_limit_ms);
  EXPECT_GT(load.transfers(), 100u);
  EXPECT_GT(load.authorizations(), 100u);

  const auto last = load.verify(url, servers[active]->http_port());
  // The last active's state, followed across ten takeovers, equals a full load of the journal:
  // every account, card, transfer, monitor and collection, not only the balances.
  const auto followed = load.state(servers[active]->http_port(), url);
  ASSERT_EQ(followed["monitors"].size(), static_cast<std::size_t>(rounds));
  for (int n = 0; n < rounds; ++n) {
    char id[40];
    std::snprintf(id, sizeof id, "00000006-0000-4000-8000-%012d", n);
    EXPECT_EQ(followed["monitors"][id]["body"].value("state", ""),
              n == rounds - 1 ? "ok" : "deleted")
        << id;
  }
  for (auto& server : servers) EXPECT_EQ(server->stop(SIGTERM), 0) << server->output();
  // Both from the newest snapshot plus the tail, and from the whole journal.
  EXPECT_NE(testing::query_value(url, "SELECT count(*) FROM engine_snapshots"), "0");
  for (const testing::Env* e : std::vector<const testing::Env*>{&env, &full_load_env}) {
    testing::ServerProcess fresh;
    ASSERT_TRUE(fresh.start(*e)) << fresh.output();
    EXPECT_EQ(load.balances(fresh.http_port()), last);
    const auto loaded = load.state(fresh.http_port(), url);
    EXPECT_TRUE(loaded == followed) << testing::FailoverLoad::differences(followed, loaded)
                                    << testing::FailoverLoad::differences(loaded, followed);
    const bool from_snapshot =
        fresh.output().find("event=state_loaded from=snapshot") != std::string::npos;
    EXPECT_EQ(from_snapshot, e == &env) << fresh.output();
    EXPECT_EQ(fresh.stop(SIGTERM), 0);
  }
  std::filesystem::remove_all(snapshots);
}

// The late rule from the journal alone (docs/durability.md, "Late approvals"): an approval
// that committed after its answer was due, which the ledgerd that answered 91 did not live to
// reverse, is reversed by the next lease holder, once however often the lease changes hands;
// an approval answered in time is left alone. The test places one approval's deadline before
// its commit (card_messages.answer_by), as a commit that came after the 91 leaves it.
// A ledgerd with cards, on a database of its own.
testing::Env card_env(const std::string& url) {
  return {{"LEDGER_DATABASE_URL", url},
          {"LEDGER_ACCOUNTS_MAX", "100"},
          {"LEDGER_TRANSFERS_MAX", "10000"},
          {"LEDGER_CARDS_MAX", "100"},
          {"LEDGER_PAN_SECRET", "failover-test-secret-0123456789abcdef"},
          {"LEDGER_HOME_COUNTRY", "276"},
          {"LEDGER_LEASE_MS", "1000"}};
}

TEST(FailoverTest, ApprovalCommittedAfterItsDeadlineIsReversedByTheNextLeaseHolder) {
  const std::string url = testing::create_database("late");
  const testing::Env env = card_env(url);
  testing::FailoverLoad load(testing::create_api_key(env, "backoffice"));
  testing::ServerProcess first;
  ASSERT_TRUE(first.start(env)) << first.output();
  load.create_ledger(first.http_port());
  testing::IsoLink link;
  for (int stan : {1, 2}) {
    const auto answer = link.call(first.iso_port(), testing::authorization("0100", stan), 5'000);
    ASSERT_TRUE(answer.has(39)) << stan;
    ASSERT_EQ(answer.get(39), "00") << stan;
  }
  EXPECT_EQ(first.stop(SIGTERM), 0) << first.output();
  const std::string late_id = to_string(
      iso8583::authorization_id(testing::acquirer, testing::stan_of(1), testing::transmission));
  // Both were due about 2 s after they arrived (LEDGER_AUTH_DEADLINE_MS).
  EXPECT_EQ(testing::query_value(url, "SELECT count(*) FROM card_messages WHERE answer_by > ts"),
            "2");
  testing::exec_sql(
      url,
      "UPDATE card_messages SET answer_by = ts - 2000000000 WHERE transfer_id = '" + late_id + "'");
  const auto reversals = [&] {
    return testing::query_value(
        url, "SELECT count(*) FROM transfers WHERE code = 4 AND result = 0 AND reference_32 = " +
                 std::to_string(card_ids::late_rule_key(static_cast<std::uint64_t>(
                     std::stoll(testing::query_value(url,
                                                     "SELECT answer_by FROM card_messages WHERE "
                                                     "transfer_id = '" +
                                                         late_id + "'"))))));
  };
  for (int holder = 0; holder < 2; ++holder) {
    testing::ServerProcess next;
    ASSERT_TRUE(next.start(env)) << next.output();
    ASSERT_TRUE(wait_for(next, "event=late_approvals_checked")) << next.output();
    EXPECT_NE(next.output().find("by=commit_time reversing=1"), std::string::npos) << next.output();
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (reversals() != "1" && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(reversals(), "1") << "holder " << holder;
    // One authorization of 1.00 still held: the one answered in time.
    const auto balances = load.balances(next.http_port());
    EXPECT_EQ(balances[testing::FailoverLoad::customer].value("debits_pending", -1LL), 100)
        << balances.dump();
    EXPECT_EQ(next.stop(SIGTERM), 0) << next.output();
  }
}

// The network repeats an authorization it was answered 91 for (0101). With a deadline the
// commits often miss (1 ms), many approvals commit after their 91: the late rule's reversal is
// queued at the deadline, behind the authorization and ahead of the repeat, so a repeat never
// confirms (00) a hold that is then released, and a 91 never leaves money held. (Found by the
// fault harness: a repeat answered 00 from the approval, then the late reversal released it.)
TEST(FailoverTest, ARepeatAfterA91NeverConfirmsAHoldTheLateRuleReleases) {
  const std::string url = testing::create_database("repeat");
  testing::Env env = card_env(url);
  env["LEDGER_AUTH_DEADLINE_MS"] = "1";
  testing::FailoverLoad load(testing::create_api_key(env, "backoffice"));
  testing::ServerProcess server;
  ASSERT_TRUE(server.start(env)) << server.output();
  load.create_ledger(server.http_port());
  testing::IsoLink link;
  std::map<int, std::string> last;  // STAN -> the last DE39 the network had
  int late = 0;
  for (int stan = 1; stan <= 300; ++stan) {
    std::string code;
    for (int attempt = 0; attempt < 3; ++attempt) {
      const auto answer = link.call(
          server.iso_port(), testing::authorization(attempt == 0 ? "0100" : "0101", stan), 5'000);
      ASSERT_TRUE(answer.has(39)) << stan;
      code = std::string(answer.get(39));
      if (code != "91") break;
      ++late;
    }
    last[stan] = code;
  }
  // Every late reversal durable: none waiting (ledgerd_late_voids_waiting 0).
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline &&
         testing::http_call(server.http_port(), "GET", "/metrics")
                 .body.find("\nledgerd_late_voids_waiting 0\n") == std::string::npos) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::set<std::string> open;  // accepted holds no accepted transfer resolved
  for (const auto& row : testing::query_rows(
           url,
           "SELECT h.id FROM transfers h WHERE h.result = 0 AND (h.flags & 2) <> 0 AND NOT EXISTS "
           "(SELECT 1 FROM transfers r WHERE r.pending_id = h.id AND r.result = 0)")) {
    open.insert(row.at(0));
  }
  int approved = 0;
  for (const auto& [stan, code] : last) {
    const TransferId id =
        iso8583::authorization_id(testing::acquirer, testing::stan_of(stan), testing::transmission);
    const int held =
        static_cast<int>(open.count(to_string(id)) + open.count(to_string(card_ids::advice(id))));
    if (code == "00") {
      ++approved;
      EXPECT_EQ(held, 1) << "STAN " << stan << " approved, " << held << " holds";
    } else {
      EXPECT_EQ(held, 0) << "STAN " << stan << " answered " << code << ", still held";
    }
  }
  std::printf("repeat after 91: %d answers 91 (late), %d approved in the end\n", late, approved);
  EXPECT_GT(late, 0) << "no authorization missed the 1 ms deadline: nothing was tested";
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.output();
}

}  // namespace
}  // namespace ledger
