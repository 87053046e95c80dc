// The durability protocol against the real PostgreSQL started by scripts/test: answers only
// after COMMIT, unavailable-then-recover on commit failure and on a lost database, restart
// recovery with idempotency, graceful stop, and hold expiry through the journal.
#include "pipeline/pipeline.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "journal/migrator.h"
#include "journal/pg.h"
#include "support/test_db.h"

namespace ledger::pipeline {
namespace {

using namespace std::chrono_literals;

const Currency eur = *currency_from_alpha("EUR");
AccountId acct(std::uint64_t n) { return AccountId{{0xACC, n}}; }
TransferId tid(std::uint64_t n) { return TransferId{{0x7F, n}}; }

// Records every completion; optionally checks, on the journal thread, that a durable
// transfer is already visible to another connection (i.e. committed).
class Recorder final : public Completion {
 public:
  explicit Recorder(std::string verify_url = "") : verify_url_(std::move(verify_url)) {}

  void complete(const CommandResult& result, Outcome outcome) override {
    bool visible = true;
    if (outcome == Outcome::durable && result.kind == CommandKind::create_transfer &&
        !verify_url_.empty()) {
      visible = row_visible(result.value.transfer.id);
    }
    std::lock_guard lock(mutex_);
    results_.push_back({result, outcome, visible});
    cv_.notify_all();
  }

  struct Entry {
    CommandResult result;
    Outcome outcome;
    bool visible_when_acknowledged;
  };
  // Exactly n answers. Fewer within 30 s fails the test, and the missing ones come back as
  // "unavailable" entries so that a caller indexing them fails its checks instead of reading
  // past what arrived.
  std::vector<Entry> wait_for(std::size_t n) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, 30s, [&] { return results_.size() >= n; });
    std::vector<Entry> results = results_;
    if (results.size() < n) {
      ADD_FAILURE() << "only " << results.size() << " of " << n << " answers within 30 s";
      results.resize(n, Entry{CommandResult{}, Outcome::unavailable, false});
    }
    return results;
  }

 private:
  bool row_visible(TransferId id) {
    if (!conn_) (void)pg::connect(verify_url_, &conn_);
    const std::string sql = "SELECT count(*) FROM transfers WHERE id = '" + to_string(id) + "'";
    pg::Result r(PQexec(conn_.get(), sql.c_str()));
    return r && PQresultStatus(r.get()) == PGRES_TUPLES_OK &&
           std::string(PQgetvalue(r.get(), 0, 0)) == "1";
  }

  std::string verify_url_;
  pg::Conn conn_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Entry> results_;
};

Command account_command(std::uint64_t n, std::uint16_t flags) {
  Command c;
  c.kind = CommandKind::create_account;
  c.body.account = Account{};
  c.body.account.id = acct(n);
  c.body.account.currency = eur;
  c.body.account.flags = flags;
  return c;
}

Command transfer_command(std::uint64_t id, std::uint64_t debit, std::uint64_t credit,
                         std::int64_t amount, std::uint16_t flags = 0, std::uint32_t timeout = 0) {
  Command c;
  c.kind = CommandKind::create_transfer;
  c.body.transfer = Transfer{};
  c.body.transfer.id = tid(id);
  c.body.transfer.debit_account_id = acct(debit);
  c.body.transfer.credit_account_id = acct(credit);
  c.body.transfer.amount = amount;
  c.body.transfer.currency = eur;
  c.body.transfer.flags = flags;
  c.body.transfer.timeout_s = timeout;
  return c;
}

Command lookup_command(std::uint64_t n) {
  Command c;
  c.kind = CommandKind::lookup_account;
  c.body.account_id = acct(n);
  return c;
}

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::create_database("pipeline");
    pg::Conn conn;
    ASSERT_TRUE(pg::connect(url_, &conn).ok());
    std::vector<MigrationFile> files;
    ASSERT_TRUE(load_migrations(testing::migrations_dir(), &files).ok());
    MigrationReport report;
    ASSERT_TRUE(apply_migrations(conn.get(), files, &report).ok());
  }

  PipelineOptions options() const {
    PipelineOptions o;
    o.database_url = url_;
    o.engine = engine::EngineOptions{64, 4096, 16};
    o.ingress_capacity = 1024;
    o.batch_commands_max = 64;
    o.batches_in_flight_max = 4;
    o.idle_tick_ms = 20;
    o.reconnect_backoff_max_ms = 200;
    return o;
  }

  // Submits and waits for every answer.
  std::vector<Recorder::Entry> run(Pipeline& pipeline, const std::vector<Command>& commands,
                                   const std::string& verify_url = "") {
    Recorder recorder(verify_url);
    for (const Command& c : commands) {
      while (!pipeline.submit(c, &recorder)) std::this_thread::sleep_for(1ms);
    }
    return recorder.wait_for(commands.size());
  }

  void setup_accounts(Pipeline& pipeline) {
    const auto r =
        run(pipeline, {account_command(1, 0), account_command(2, 1), account_command(3, 1)});
    for (const auto& e : r) ASSERT_EQ(e.outcome, Outcome::durable);
  }

  bool wait_running(Pipeline& pipeline) {
    for (int i = 0; i < 1000 && pipeline.state() != PipelineState::running; ++i) {
      std::this_thread::sleep_for(10ms);
    }
    return pipeline.state() == PipelineState::running;
  }

  std::string count(const std::string& where) {
    return testing::query_value(url_, "SELECT count(*) FROM transfers WHERE " + where);
  }

  std::string url_;
};

TEST_F(PipelineTest, AnswersOnlyAfterTheCommitIsVisible) {
  Pipeline pipeline(options());
  ASSERT_TRUE(pipeline.start().ok());
  setup_accounts(pipeline);
  std::vector<Command> commands;
  for (std::uint64_t i = 1; i <= 300; ++i) commands.push_back(transfer_command(i, 1, 2, 5));
  const auto results = run(pipeline, commands, url_);
  for (const auto& e : results) {
    EXPECT_EQ(e.outcome, Outcome::durable);
    EXPECT_EQ(e.result.transfer_result(), TransferResult::ok);
    EXPECT_TRUE(e.visible_when_acknowledged) << "acknowledged before COMMIT";
  }
  EXPECT_EQ(count("result = 0"), "300");
  pipeline.stop();
}

TEST_F(PipelineTest, RejectionsAreJournaledSoRetriesSurviveRestart) {
  {
    Pipeline pipeline(options());
    ASSERT_TRUE(pipeline.start().ok());
    setup_accounts(pipeline);
    const auto r = run(pipeline, {transfer_command(1, 2, 3, 100)});  // 2 has no money
    EXPECT_EQ(r[0].result.transfer_result(), TransferResult::exceeds_available);
    run(pipeline, {transfer_command(2, 1, 2, 1000)});
    pipeline.stop();
  }
  Pipeline restarted(options());
  ASSERT_TRUE(restarted.start().ok());
  const auto r = run(restarted, {transfer_command(1, 2, 3, 100), transfer_command(2, 1, 2, 1000),
                                 transfer_command(2, 1, 2, 999), lookup_command(2)});
  EXPECT_EQ(r[0].result.transfer_result(), TransferResult::exceeds_available);  // same answer
  EXPECT_EQ(r[1].result.transfer_result(), TransferResult::exists);
  EXPECT_EQ(r[2].result.transfer_result(), TransferResult::exists_with_different_amount);
  EXPECT_EQ(r[3].result.value.account.credits_posted, 1000);
  EXPECT_EQ(count("id = '" + to_string(tid(2)) + "'"), "1");
}

TEST_F(PipelineTest, RestartRebuildsBalancesAndOpenHolds) {
  {
    Pipeline pipeline(options());
    ASSERT_TRUE(pipeline.start().ok());
    setup_accounts(pipeline);
    run(pipeline, {transfer_command(1, 1, 2, 1000), transfer_command(2, 2, 3, 300, flag_pending),
                   transfer_command(3, 2, 3, 100)});
    pipeline.stop();
  }
  Pipeline restarted(options());
  ASSERT_TRUE(restarted.start().ok());
  auto r = run(restarted, {lookup_command(2)});
  const Account& a = r[0].result.value.account;
  EXPECT_EQ(a.credits_posted, 1000);
  EXPECT_EQ(a.debits_posted, 100);
  EXPECT_EQ(a.debits_pending, 300);
  Command post = transfer_command(4, 0, 0, 0, flag_post_pending);
  post.body.transfer.debit_account_id = AccountId{};
  post.body.transfer.credit_account_id = AccountId{};
  post.body.transfer.currency = Currency{};
  post.body.transfer.pending_id = tid(2);
  r = run(restarted, {post, lookup_command(2)});
  EXPECT_EQ(r[0].result.transfer_result(), TransferResult::ok);
  EXPECT_EQ(r[1].result.value.account.debits_posted, 400);
  EXPECT_EQ(r[1].result.value.account.debits_pending, 0);
}

TEST_F(PipelineTest, CommitFailureAnswersUnavailableThenRecoversByItself) {
  Pipeline pipeline(options());
  ASSERT_TRUE(pipeline.start().ok());
  setup_accounts(pipeline);
  pipeline.inject_commit_failure();
  auto r = run(pipeline, {transfer_command(1, 1, 2, 50)});
  EXPECT_EQ(r[0].outcome, Outcome::unavailable);
  ASSERT_TRUE(wait_running(pipeline));
  EXPECT_EQ(pipeline.counters().reloads.load(), 1u);
  // The failed COMMIT was rolled back: the retry applies it, exactly once.
  r = run(pipeline, {transfer_command(1, 1, 2, 50), lookup_command(2)});
  EXPECT_EQ(r[0].outcome, Outcome::durable);
  EXPECT_EQ(r[0].result.transfer_result(), TransferResult::ok);
  EXPECT_EQ(r[1].result.value.account.credits_posted, 50);
  EXPECT_EQ(count("id = '" + to_string(tid(1)) + "'"), "1");
}

// The event feed: a COMMIT that failed (outcome unknown, rolled back by the server) leaves
// no event and no gap; every journal record is exactly one event, numbered 1..n.
TEST_F(PipelineTest, EventsStayGapFreeAcrossAFailedCommit) {
  Pipeline pipeline(options());
  ASSERT_TRUE(pipeline.start().ok());
  setup_accounts(pipeline);
  EXPECT_EQ(run(pipeline, {transfer_command(1, 1, 2, 10)})[0].outcome, Outcome::durable);
  pipeline.inject_commit_failure();
  EXPECT_EQ(run(pipeline, {transfer_command(2, 1, 2, 20)})[0].outcome, Outcome::unavailable);
  ASSERT_TRUE(wait_running(pipeline));
  const auto r = run(pipeline, {transfer_command(2, 1, 2, 20), transfer_command(3, 1, 2, 30)});
  EXPECT_EQ(r[1].outcome, Outcome::durable);
  const std::string records = testing::query_value(
      url_,
      "SELECT (SELECT count(*) FROM transfers) + (SELECT count(*) FROM account_events) + "
      "(SELECT count(*) FROM card_events)");
  EXPECT_EQ(testing::query_value(url_, "SELECT count(*) FROM events"), records);
  EXPECT_EQ(testing::query_value(url_, "SELECT max(seq) FROM events"), records);
  EXPECT_EQ(testing::query_value(url_, "SELECT min(seq) FROM events"), "1");
  // Commit order: seq and the records' timestamps rise together.
  EXPECT_EQ(
      testing::query_value(url_,
                           "SELECT count(*) FROM (SELECT seq, ts, lag(ts) OVER (ORDER BY seq) "
                           "AS before FROM events) e WHERE ts <= before"),
      "0");
  // Each event names its record.
  EXPECT_EQ(testing::query_value(url_,
                                 "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM "
                                 "transfers t WHERE t.ts = e.ts) AND NOT EXISTS (SELECT 1 FROM "
                                 "account_events a WHERE a.ts = e.ts)"),
            "0");
}

TEST_F(PipelineTest, LosingTheDatabaseAnswersUnavailableAndResumesWithoutRestart) {
  Pipeline pipeline(options());
  ASSERT_TRUE(pipeline.start().ok());
  setup_accounts(pipeline);
  run(pipeline, {transfer_command(1, 1, 2, 10)});
  const std::string db = url_.substr(url_.rfind('/') + 1);
  // PostgreSQL "goes away" for this database: no new connections, existing ones killed.
  testing::exec_sql(testing::admin_url(), "ALTER DATABASE " + db + " ALLOW_CONNECTIONS false");
  testing::exec_sql(testing::admin_url(),
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                        db + "' AND pid <> pg_backend_pid()");
  Recorder during;
  std::size_t submitted = 0;
  for (std::uint64_t i = 100; i < 120; ++i) {
    if (pipeline.submit(transfer_command(i, 1, 2, 1), &during)) ++submitted;
    std::this_thread::sleep_for(5ms);
  }
  // At least the first is accepted (the pipeline learns of the loss from its COMMIT), so the
  // check below is about real answers, not an empty list.
  ASSERT_GT(submitted, 0u);
  for (const auto& e : during.wait_for(submitted)) {
    EXPECT_EQ(e.outcome, Outcome::unavailable) << "acknowledged while the database was gone";
  }
  EXPECT_NE(pipeline.state(), PipelineState::running);
  testing::exec_sql(testing::admin_url(), "ALTER DATABASE " + db + " ALLOW_CONNECTIONS true");
  ASSERT_TRUE(wait_running(pipeline));
  const auto r = run(pipeline, {transfer_command(200, 1, 2, 7), lookup_command(2)});
  EXPECT_EQ(r[0].result.transfer_result(), TransferResult::ok);
  const std::int64_t journaled = std::stoll(testing::query_value(
      url_,
      "SELECT coalesce(sum(amount_effective), 0) FROM transfers WHERE result = 0 AND "
      "credit_account_id = '" +
          to_string(acct(2)) + "'"));
  EXPECT_EQ(r[1].result.value.account.credits_posted, journaled);
}

TEST_F(PipelineTest, StopFlushesEverythingSubmitted) {
  Pipeline pipeline(options());
  ASSERT_TRUE(pipeline.start().ok());
  setup_accounts(pipeline);
  Recorder recorder;
  std::size_t accepted = 0;
  for (std::uint64_t i = 1; i <= 500; ++i) {
    if (pipeline.submit(transfer_command(i, 1, 2, 1), &recorder)) ++accepted;
  }
  ASSERT_GT(accepted, 0u) << "nothing was accepted: the test would prove nothing";
  pipeline.stop();
  const auto results = recorder.wait_for(accepted);
  ASSERT_EQ(results.size(), accepted);
  std::size_t durable = 0;
  for (const auto& e : results) durable += e.outcome == Outcome::durable;
  EXPECT_EQ(durable, accepted);
  EXPECT_EQ(count("result = 0"), std::to_string(accepted));
}

// Pacing: while requests keep coming, a COMMIT starts at most once per interval and what
// arrives meanwhile joins it; every answer still waits for its own COMMIT. Without the pause
// (the test fails with group_commit_interval_us = 0) a request every millisecond makes a
// COMMIT of its own or two.
TEST_F(PipelineTest, UnderLoadGroupCommitsArePacedAndAnswersStillFollowTheirCommit) {
  PipelineOptions o = options();
  o.group_commit_interval_us = 25'000;
  Pipeline pipeline(o);
  ASSERT_TRUE(pipeline.start().ok());
  setup_accounts(pipeline);
  const std::uint64_t commits_before = pipeline.counters().group_commits.load();
  Recorder recorder(url_);
  constexpr std::uint64_t requests = 300;  // one a millisecond: about 0.3 s, bounded
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t i = 1; i <= requests; ++i) {
    std::this_thread::sleep_until(start + std::chrono::milliseconds(i));
    ASSERT_TRUE(pipeline.submit(transfer_command(i, 1, 2, 1), &recorder));  // room for 1024
  }
  const auto results = recorder.wait_for(requests);
  for (const auto& e : results) {
    EXPECT_EQ(e.outcome, Outcome::durable);
    EXPECT_TRUE(e.visible_when_acknowledged) << "acknowledged before COMMIT";
  }
  const std::uint64_t commits = pipeline.counters().group_commits.load() - commits_before;
  const auto elapsed = std::chrono::steady_clock::now() - start;
  // At most one COMMIT per 25 ms over the run, and one more at each end.
  const auto most = static_cast<std::uint64_t>(elapsed / 25ms) + 2;
  EXPECT_LE(commits, most) << "group commits were not paced";
  EXPECT_GT(pipeline.counters().group_commits_paced.load(), 0u);
  EXPECT_EQ(count("result = 0"), std::to_string(requests));
  pipeline.stop();
}

// A quiet ledger's lone request is never held by the pacing: a COMMIT of one request is not
// followed by a pause, whatever the interval.
TEST_F(PipelineTest, ALoneRequestIsNotHeldByThePacing) {
  PipelineOptions o = options();
  o.group_commit_interval_us = limits::group_commit_interval_us_max;  // 50 ms
  Pipeline pipeline(o);
  ASSERT_TRUE(pipeline.start().ok());
  // Three requests, maybe one paced group: a lone request after it may wait for that pause to
  // end (it is still alone in its own group), and its COMMIT is not followed by one.
  setup_accounts(pipeline);
  const std::uint64_t paced_before = pipeline.counters().group_commits_paced.load();
  const std::uint64_t commits_before = pipeline.counters().group_commits.load();
  for (std::uint64_t i = 1; i <= 5; ++i) {
    const auto r = run(pipeline, {transfer_command(i, 1, 2, 1)});
    EXPECT_EQ(r[0].outcome, Outcome::durable);
  }
  EXPECT_EQ(pipeline.counters().group_commits.load() - commits_before, 5u);
  EXPECT_EQ(pipeline.counters().group_commits_paced.load(), paced_before)
      << "a COMMIT of one request was followed by a pause";
  pipeline.stop();
}

TEST_F(PipelineTest, ExpiredHoldsAreReleasedByAJournaledVoid) {
  Pipeline pipeline(options());
  ASSERT_TRUE(pipeline.start().ok());
  setup_accounts(pipeline);
  run(pipeline, {transfer_command(1, 1, 2, 100), transfer_command(2, 2, 3, 60, flag_pending, 1)});
  std::string voids = "0";
  for (int i = 0; i < 300 && voids == "0"; ++i) {
    std::this_thread::sleep_for(20ms);
    voids = count("code = " + std::to_string(static_cast<int>(TransferCode::expiry)) +
                  " AND pending_id = '" + to_string(tid(2)) + "'");
  }
  EXPECT_EQ(voids, "1");
  const auto r = run(pipeline, {lookup_command(2)});
  EXPECT_EQ(r[0].result.value.account.debits_pending, 0);
}

}  // namespace
}  // namespace ledger::pipeline
