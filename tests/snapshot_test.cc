// Engine snapshots against the real PostgreSQL started by scripts/test (docs/durability.md,
// "Snapshots"): a restart from a snapshot plus the journal's tail gives the same state as a full
// load; a corrupt, truncated, unlisted, mislabelled or differently sized snapshot is rejected
// and the whole journal is loaded instead; publication is fenced by the lease; old snapshots
// and stray files are removed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "journal/migrator.h"
#include "journal/pg.h"
#include "pipeline/pipeline.h"
#include "support/test_db.h"

namespace ledger::pipeline {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const Currency eur = *currency_from_alpha("EUR");
AccountId acct(std::uint64_t n) { return AccountId{{0x5AA, n}}; }
TransferId tid(std::uint64_t n) { return TransferId{{0x5A7, n}}; }

class Answers final : public Completion {
 public:
  void complete(const CommandResult& result, Outcome outcome) override {
    std::lock_guard lock(mutex_);
    results_.push_back({result, outcome});
    cv_.notify_all();
  }
  std::vector<std::pair<CommandResult, Outcome>> wait_for(std::size_t n) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, 30s, [&] { return results_.size() >= n; });
    return results_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::pair<CommandResult, Outcome>> results_;
};

Command account(std::uint64_t n, std::uint16_t flags = 0) {
  Command c;
  c.kind = CommandKind::create_account;
  c.body.account = Account{};
  c.body.account.id = acct(n);
  c.body.account.currency = eur;
  c.body.account.flags = flags;
  return c;
}

Command transfer(std::uint64_t id, std::uint64_t debit, std::uint64_t credit, std::int64_t amount,
                 std::uint16_t flags = 0, std::uint32_t timeout = 0) {
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

Command resolve(std::uint64_t id, std::uint64_t hold, std::uint16_t flag, std::int64_t amount) {
  Command c = transfer(id, 0, 0, amount, flag);
  c.body.transfer.debit_account_id = AccountId{};
  c.body.transfer.credit_account_id = AccountId{};
  c.body.transfer.currency = Currency{};
  c.body.transfer.pending_id = tid(hold);
  return c;
}

Command update(std::uint64_t n, std::int64_t overdraft, AccountStatus status) {
  Command c;
  c.kind = CommandKind::update_account;
  c.body.update = AccountUpdate{};
  c.body.update.id = acct(n);
  c.body.update.set_overdraft_limit = true;
  c.body.update.overdraft_limit = overdraft;
  c.body.update.set_status = true;
  c.body.update.status = status;
  return c;
}

Command monitor(std::uint64_t id, std::uint64_t n, std::int64_t threshold) {
  Command c;
  c.kind = CommandKind::create_monitor;
  c.body.monitor = BalanceMonitor{};
  c.body.monitor.id = MonitorId{{0x5AB, id}};
  c.body.monitor.account_id = acct(n);
  c.body.monitor.field = BalanceField::available;
  c.body.monitor.op = BalanceOperator::less;
  c.body.monitor.threshold = threshold;
  return c;
}

class SnapshotTest : public ::testing::Test {
 protected:
  // A new database at the latest schema.
  static std::string migrated_database(const std::string& prefix) {
    const std::string url = testing::create_database(prefix);
    pg::Conn conn;
    EXPECT_TRUE(pg::connect(url, &conn).ok());
    std::vector<MigrationFile> files;
    EXPECT_TRUE(load_migrations(testing::migrations_dir(), &files).ok());
    MigrationReport report;
    EXPECT_TRUE(apply_migrations(conn.get(), files, &report).ok());
    return url;
  }

  void SetUp() override {
    url_ = migrated_database("snapshot");
    ASSERT_FALSE(HasFailure());
    dir_ = fs::temp_directory_path() /
           ("ledgerd-snapshot-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  PipelineOptions options(bool snapshots = true) const {
    PipelineOptions o;
    o.database_url = url_;
    o.engine = engine::EngineOptions{64, 4096, 16};
    o.ingress_capacity = 1024;
    o.batch_commands_max = 64;
    o.idle_tick_ms = 20;
    if (snapshots) {
      o.snapshot_dir = dir_.string();
      o.snapshot_interval_ms = 3'600'000;  // only when asked (snapshot_now)
    }
    return o;
  }

  std::vector<std::pair<CommandResult, Outcome>> run(Pipeline& p,
                                                     const std::vector<Command>& commands) {
    Answers answers;
    for (const Command& c : commands) {
      while (!p.submit(c, &answers)) std::this_thread::sleep_for(1ms);
    }
    auto results = answers.wait_for(commands.size());
    EXPECT_EQ(results.size(), commands.size());
    for (const auto& [result, outcome] : results) EXPECT_EQ(outcome, Outcome::durable);
    return results;
  }

  void snapshot(Pipeline& p) {
    const auto before = p.counters().snapshots_written.load();
    p.snapshot_now();
    for (int i = 0; i < 3000 && p.counters().snapshots_written.load() == before; ++i) {
      std::this_thread::sleep_for(10ms);
    }
    ASSERT_EQ(p.counters().snapshots_written.load(), before + 1) << "no snapshot written";
  }

  // Before the snapshot: accounts, money, holds (one expiring soon), a monitor.
  void first_part(Pipeline& p) {
    std::vector<Command> c;
    for (std::uint64_t n = 1; n <= 8; ++n) c.push_back(account(n, n % 2 ? 0 : 1));
    c.push_back(transfer(1, 1, 2, 10'000));
    c.push_back(transfer(2, 1, 4, 5'000));
    c.push_back(transfer(3, 2, 3, 700, flag_pending, 3600));  // posted after the snapshot
    c.push_back(transfer(4, 2, 5, 300, flag_pending, 3600));  // voided after the snapshot
    c.push_back(transfer(5, 4, 5, 200, flag_pending, 1));     // expires after the snapshot
    c.push_back(transfer(6, 2, 3, 1'000'000));                // exceeds_available: remembered
    c.push_back(monitor(1, 2, 9'000));
    run(p, c);
  }

  // After it (the tail): changes to accounts, holds and monitors the snapshot holds, new ones.
  void second_part(Pipeline& p) {
    run(p, {resolve(10, 3, flag_post_pending, 0), resolve(11, 4, flag_void_pending, 0),
            update(6, 500, AccountStatus::frozen), account(9), account(10, 1),
            transfer(12, 1, 9, 1'234), transfer(13, 2, 10, 100), monitor(2, 9, 2'000),
            transfer(14, 9, 2, 1'000)});
    std::this_thread::sleep_for(1'500ms);  // hold 5 expires (a journaled void)
    run(p, {transfer(15, 1, 2, 1)});
  }

  // The state of a ledgerd that loads with these options, as a hash, after it stops.
  std::uint64_t loaded_hash(const PipelineOptions& o, std::uint64_t* tail = nullptr,
                            std::uint64_t* rejected = nullptr) {
    Pipeline p(o);
    EXPECT_TRUE(p.start().ok());
    if (tail != nullptr) *tail = p.counters().loaded_tail_records.load();
    if (rejected != nullptr) *rejected = p.counters().snapshots_rejected.load();
    p.stop();
    return p.engine_for_tests().state_hash();
  }

  std::vector<fs::path> snapshot_files() const {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir_)) files.push_back(entry.path());
    return files;
  }

  std::string url_;
  fs::path dir_;
};

TEST_F(SnapshotTest, RestartFromASnapshotAndItsTailEqualsAFullLoad) {
  {
    Pipeline p(options());
    ASSERT_TRUE(p.start().ok());
    first_part(p);
    ASSERT_NO_FATAL_FAILURE(snapshot(p));
    EXPECT_LT(p.counters().snapshot_fork_seconds.load(), 1.0);
    second_part(p);
    p.stop();
  }
  EXPECT_EQ(testing::query_value(url_, "SELECT count(*) FROM engine_snapshots"), "1");
  ASSERT_EQ(snapshot_files().size(), 1u);

  std::uint64_t tail = 0;
  const std::uint64_t from_snapshot = loaded_hash(options(), &tail);
  EXPECT_GE(tail, 10u) << "the restart did not start from the snapshot";
  const std::uint64_t full = loaded_hash(options(false));
  EXPECT_EQ(from_snapshot, full);

  // And it answers as the full load does: balances, holds, remembered ids.
  Pipeline p(options());
  ASSERT_TRUE(p.start().ok());
  Command lookup;
  lookup.kind = CommandKind::lookup_account;
  lookup.body.account_id = acct(2);
  const auto r = run(p, {transfer(6, 2, 3, 1'000'000), transfer(3, 2, 3, 700, flag_pending, 3600),
                         resolve(16, 5, flag_post_pending, 0), lookup});
  EXPECT_EQ(r[0].first.transfer_result(), TransferResult::exceeds_available);
  EXPECT_EQ(r[1].first.transfer_result(), TransferResult::exists);
  EXPECT_EQ(r[2].first.transfer_result(), TransferResult::pending_expired);
  const Account& a = r[3].first.value.account;
  EXPECT_EQ(a.credits_posted, 10'000 + 1 + 1'000);
  EXPECT_EQ(a.debits_posted, 700 + 100);
  EXPECT_EQ(a.debits_pending, 0);
  p.stop();
}

// Periodic snapshots need a moment when everything applied is committed; under steady load the
// engine makes one by waiting for the COMMIT in flight.
TEST_F(SnapshotTest, SnapshotsAreTakenPeriodicallyUnderSteadyLoad) {
  PipelineOptions o = options();
  o.snapshot_interval_ms = 200;
  o.engine.transfers_max = 200'000;
  Pipeline p(o);
  ASSERT_TRUE(p.start().ok());
  first_part(p);
  Answers answers;
  // Load until three snapshots are written (bounded: 20 s, and at most 100,000 transfers).
  const auto until = std::chrono::steady_clock::now() + 20s;
  std::size_t sent = 0;
  while (std::chrono::steady_clock::now() < until && sent < 100'000 &&
         p.counters().snapshots_written.load() < 3) {
    if (p.submit(transfer(1'000 + sent, 1, 3, 1), &answers)) ++sent;
    std::this_thread::sleep_for(200us);
  }
  answers.wait_for(sent);
  p.stop();
  EXPECT_GE(p.counters().snapshots_written.load(), 3u);
  EXPECT_EQ(p.counters().snapshots_failed.load(), 0u);
  PipelineOptions full = o;
  full.snapshot_dir.clear();
  Pipeline restarted(o);
  ASSERT_TRUE(restarted.start().ok());
  EXPECT_GT(restarted.counters().snapshot_seq.load(), 0u) << "not loaded from a snapshot";
  restarted.stop();
  EXPECT_EQ(restarted.engine_for_tests().state_hash(), loaded_hash(full));
}

TEST_F(SnapshotTest, ACorruptTruncatedUnlistedOrForeignSnapshotIsNeverTrusted) {
  {
    Pipeline p(options());
    ASSERT_TRUE(p.start().ok());
    first_part(p);
    ASSERT_NO_FATAL_FAILURE(snapshot(p));
    second_part(p);
    p.stop();
  }
  const std::uint64_t full = loaded_hash(options(false));
  ASSERT_EQ(snapshot_files().size(), 1u);
  const fs::path file = snapshot_files()[0];
  const fs::path good = dir_.string() + ".good";
  fs::copy_file(file, good, fs::copy_options::overwrite_existing);
  const auto restore_good = [&] {
    fs::copy_file(good, file, fs::copy_options::overwrite_existing);
  };
  const auto expect_full_load = [&](const char* what, std::uint64_t rejections) {
    std::uint64_t tail = 99, rejected = 99;
    EXPECT_EQ(loaded_hash(options(), &tail, &rejected), full) << what;
    EXPECT_EQ(tail, 0u) << what << ": a snapshot was used";
    EXPECT_EQ(rejected, rejections) << what;
  };

  {  // one byte changed inside the first section (the accounts)
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(4096 + 20);
    char byte = 0;
    f.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x40);
    f.seekp(4096 + 20);
    f.write(&byte, 1);
  }
  expect_full_load("corrupt", 1);
  restore_good();
  fs::resize_file(file, fs::file_size(file) - 1);
  expect_full_load("truncated", 1);
  restore_good();
  {  // the header's own bytes
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(16);
    f.write("\x01", 1);
  }
  expect_full_load("header changed", 1);
  restore_good();
  // The database does not list it (restored from a backup taken before it, say).
  testing::exec_sql(url_, "CREATE TABLE saved AS SELECT * FROM engine_snapshots");
  testing::exec_sql(url_, "DELETE FROM engine_snapshots");
  expect_full_load("unlisted", 0);
  testing::exec_sql(url_, "INSERT INTO engine_snapshots SELECT * FROM saved");
  // The database lists another snapshot under that name.
  testing::exec_sql(url_, "UPDATE engine_snapshots SET checksum = checksum + 1");
  expect_full_load("another snapshot's row", 1);
  testing::exec_sql(url_, "UPDATE engine_snapshots SET checksum = checksum - 1");
  // Another capacity: another layout.
  PipelineOptions bigger = options();
  bigger.engine.transfers_max = 8192;
  {
    std::uint64_t tail = 99, rejected = 0;
    Pipeline p(bigger);
    ASSERT_TRUE(p.start().ok());
    tail = p.counters().loaded_tail_records.load();
    rejected = p.counters().snapshots_rejected.load();
    p.stop();
    EXPECT_EQ(tail, 0u);
    EXPECT_EQ(rejected, 1u);
  }
  // The file gone: rejected too.
  fs::remove(file);
  expect_full_load("missing", 1);
  // And the good file back: used.
  restore_good();
  std::uint64_t tail = 0;
  EXPECT_EQ(loaded_hash(options(), &tail), full);
  EXPECT_GT(tail, 0u);
  fs::remove(good);
}

TEST_F(SnapshotTest, PublishingIsFencedByTheLease) {
  PgJournalStore store(url_);
  snapshot_sql::Row row;
  row.id = 42;
  row.events_seq = 1;
  row.file = "snapshot-1-000000000000002a.ledgersnap";
  std::vector<std::string> dropped;
  // The lease is at epoch 0 (never taken): a ledgerd that believes it holds epoch 7 is deposed.
  const Status fenced = store.publish_snapshot(row, 7, 2, &dropped);
  EXPECT_FALSE(fenced.ok());
  EXPECT_NE(fenced.message().find("lease"), std::string::npos) << fenced.message();
  EXPECT_EQ(testing::query_value(url_, "SELECT count(*) FROM engine_snapshots"), "0");
  testing::exec_sql(url_, "UPDATE ledger_lease SET epoch = 7");
  EXPECT_TRUE(store.publish_snapshot(row, 7, 2, &dropped).ok());
  EXPECT_EQ(testing::query_value(url_, "SELECT count(*) FROM engine_snapshots"), "1");
}

TEST_F(SnapshotTest, OnlyTheNewestAreKeptAndStrayFilesAreRemoved) {
  const std::string ours =
      "snapshot-" + testing::query_value(url_, "SELECT instance_id FROM ledger_instance") + "-";
  const std::string theirs = "snapshot-00000000-0000-4000-8000-00000000beef-3-00000000000000fd";
  std::ofstream(dir_ / (ours + "1-00000000000000ff.ledgersnap.tmp")) << "a killed writer's";
  std::ofstream(dir_ / (ours + "2-00000000000000fe.ledgersnap")) << "never published";
  std::ofstream(dir_ / (theirs + ".ledgersnap")) << "another ledger's, sharing the directory";
  std::ofstream(dir_ / "notes.txt") << "not ours";
  Pipeline p(options());
  ASSERT_TRUE(p.start().ok());
  first_part(p);
  for (std::uint64_t i = 0; i < 3; ++i) {
    run(p, {transfer(100 + i, 1, 2, 1)});
    ASSERT_NO_FATAL_FAILURE(snapshot(p));
  }
  p.stop();
  EXPECT_EQ(testing::query_value(url_, "SELECT count(*) FROM engine_snapshots"), "2");
  std::vector<std::string> names;
  for (const fs::path& f : snapshot_files()) names.push_back(f.filename().string());
  std::sort(names.begin(), names.end());
  ASSERT_EQ(names.size(), 4u) << "two snapshots, notes.txt and the other ledger's";
  EXPECT_EQ(names[0], "notes.txt");
  EXPECT_EQ(names[1], theirs + ".ledgersnap");
  for (std::size_t i = 2; i < 4; ++i) {
    EXPECT_EQ(names[i].rfind(ours, 0), 0u) << names[i];
    EXPECT_EQ(testing::query_value(
                  url_, "SELECT count(*) FROM engine_snapshots WHERE file = '" + names[i] + "'"),
              "1");
  }
}

// Two ledgers (two databases) with one snapshot directory: each keeps and removes only its own
// files, and a file of the other ledger is never loaded, even when this ledger's database lists
// it with the right checksum, size and position (a restore or an operator's copy gone wrong):
// the header names the ledger and PostgreSQL system it belongs to.
TEST_F(SnapshotTest, AnotherLedgersSnapshotInTheSameDirectoryIsNeitherLoadedNorDeleted) {
  const std::string other_url = migrated_database("snapshot_other");
  ASSERT_FALSE(HasFailure());
  PipelineOptions other = options();
  other.database_url = other_url;
  {  // the other ledger: the same accounts and capacity (the same layout), other money
    Pipeline p(other);
    ASSERT_TRUE(p.start().ok());
    first_part(p);
    run(p, {transfer(200, 1, 2, 4'242)});
    ASSERT_NO_FATAL_FAILURE(snapshot(p));
    p.stop();
  }
  const std::string other_file =
      testing::query_value(other_url, "SELECT file FROM engine_snapshots");
  {  // this ledger: three snapshots (keeping two) and its stale-file sweeps
    Pipeline p(options());
    ASSERT_TRUE(p.start().ok());
    first_part(p);
    for (std::uint64_t i = 0; i < 3; ++i) {
      run(p, {transfer(300 + i, 1, 2, 1)});
      ASSERT_NO_FATAL_FAILURE(snapshot(p));
    }
    p.stop();
  }
  EXPECT_TRUE(fs::exists(dir_ / other_file)) << "this ledger deleted the other's snapshot";
  const std::uint64_t full = loaded_hash(options(false));
  // This database now lists the other ledger's snapshot as its newest.
  testing::exec_sql(url_, "DELETE FROM engine_snapshots");
  testing::exec_sql(url_,
                    "INSERT INTO engine_snapshots (id, events_seq, last_ts, epoch, layout, "
                    "state_hash, checksum, bytes, file) VALUES " +
                        testing::query_value(
                            other_url,
                            "SELECT format('(%s, %s, %s, %s, %s, %s, %s, %s, %L)', id, events_seq, "
                            "last_ts, epoch, layout, state_hash, checksum, bytes, file) FROM "
                            "engine_snapshots"));
  std::uint64_t tail = 99, rejected = 0;
  EXPECT_EQ(loaded_hash(options(), &tail, &rejected), full) << "the other ledger's state loaded";
  EXPECT_EQ(tail, 0u);
  EXPECT_EQ(rejected, 1u);
  EXPECT_TRUE(fs::exists(dir_ / other_file));
}

}  // namespace
}  // namespace ledger::pipeline
