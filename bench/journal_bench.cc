// journal_bench: sustained transfers/s through the whole durability pipeline (ingress queue ->
// engine -> group commit into PostgreSQL -> answers), and the time to reload the engine from
// PostgreSQL. Run against an empty database (it applies the migrations):
//   journal_bench --database-url URL [--seconds 20] [--accounts 1000000]
//                 [--journal-transfers 10000000] [--producers 2]
//                 [--snapshot-dir DIR [--tail-transfers 100000]] [--restart-only 1]
// With --snapshot-dir it then takes an engine snapshot, journals --tail-transfers more, and
// restarts from the snapshot plus that tail. --restart-only 1 skips filling (a journal filled
// by an earlier run with the same --accounts). Prints one key=value line per figure. Nothing
// is asserted.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "journal/migrator.h"
#include "journal/pg.h"
#include "pipeline/pipeline.h"

namespace {

using namespace ledger;
using Clock = std::chrono::steady_clock;

struct Counter final : Completion {
  std::atomic<std::uint64_t> durable{0};
  std::atomic<std::uint64_t> failed{0};
  void complete(const CommandResult& result, Outcome outcome) override {
    if (outcome == Outcome::durable &&
        (result.code == 0 || result.kind == CommandKind::create_account)) {
      durable.fetch_add(1, std::memory_order_relaxed);
    } else {
      failed.fetch_add(1, std::memory_order_relaxed);
    }
  }
};

AccountId account_id(std::uint64_t n) { return AccountId{{0xBE, n + 1}}; }

void submit_all(pipeline::Pipeline& pipeline, const Command& command, Completion* completion) {
  while (!pipeline.submit(command, completion)) std::this_thread::yield();
}

// A single-phase EUR transfer between two different random accounts of the first `accounts`.
Transfer random_transfer(std::mt19937_64& rng, TransferId id, std::uint64_t accounts) {
  Transfer t{};
  t.id = id;
  const std::uint64_t debit = rng() % accounts;
  t.debit_account_id = account_id(debit);
  t.credit_account_id = account_id((debit + 1 + rng() % (accounts - 1)) % accounts);
  t.amount = 1 + static_cast<std::int64_t>(rng() % 10'000);
  t.currency = *currency_from_alpha("EUR");
  return t;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int fill_and_restart(const pipeline::PipelineOptions& options, std::uint64_t accounts,
                     std::uint64_t journal_transfers, double seconds, int producers);
int snapshot_restart(pipeline::PipelineOptions options, const std::string& dir,
                     std::uint64_t accounts, std::uint64_t tail_transfers);

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  double seconds = 20;
  std::uint64_t accounts = 1'000'000;
  std::uint64_t journal_transfers = 10'000'000;
  int producers = 2;
  std::string snapshot_dir;
  std::uint64_t tail_transfers = 100'000;
  bool restart_only = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--database-url")
      url = value;
    else if (flag == "--seconds")
      seconds = std::stod(value);
    else if (flag == "--accounts")
      accounts = std::stoull(value);
    else if (flag == "--journal-transfers")
      journal_transfers = std::stoull(value);
    else if (flag == "--producers")
      producers = std::stoi(value);
    else if (flag == "--snapshot-dir")
      snapshot_dir = value;
    else if (flag == "--tail-transfers")
      tail_transfers = std::stoull(value);
    else if (flag == "--restart-only")
      restart_only = value == "1";
    else {
      std::fprintf(stderr, "journal_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (url.empty()) {
    std::fprintf(stderr,
                 "usage: journal_bench --database-url URL [--seconds S] [--accounts N] "
                 "[--journal-transfers N] [--producers P]\n");
    return 2;
  }
  {
    pg::Conn conn;
    std::vector<MigrationFile> files;
    MigrationReport report;
    if (!pg::connect(url, &conn).ok() ||
        !load_migrations(LEDGER_MIGRATIONS_SOURCE_DIR, &files).ok() ||
        !apply_migrations(conn.get(), files, &report).ok()) {
      std::fprintf(stderr, "journal_bench: cannot prepare the database\n");
      return 1;
    }
  }
  pipeline::PipelineOptions options;
  options.database_url = url;
  options.engine = engine::EngineOptions{accounts + 16, journal_transfers + 1'000'000, 16};

  if (!restart_only) {
    if (int code = fill_and_restart(options, accounts, journal_transfers, seconds, producers);
        code != 0) {
      return code;
    }
  }
  return snapshot_dir.empty() ? 0
                              : snapshot_restart(options, snapshot_dir, accounts, tail_transfers);
}

namespace {

int fill_and_restart(const pipeline::PipelineOptions& options, std::uint64_t accounts,
                     std::uint64_t journal_transfers, double seconds, int producers) {
  const Currency eur = *currency_from_alpha("EUR");
  pipeline::Pipeline pipeline(options);
  if (Status s = pipeline.start(); !s.ok()) {
    std::fprintf(stderr, "journal_bench: %s\n", s.message().c_str());
    return 1;
  }
  Counter created;
  auto started = Clock::now();
  for (std::uint64_t n = 0; n < accounts; ++n) {
    Command c;
    c.kind = CommandKind::create_account;
    c.body.account = Account{};
    c.body.account.id = account_id(n);
    c.body.account.currency = eur;
    c.body.account.kind = AccountKind::settlement;
    submit_all(pipeline, c, &created);
  }
  while (created.durable + created.failed < accounts)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::printf("accounts_created=%llu accounts_per_second=%.0f\n",
              static_cast<unsigned long long>(created.durable.load()),
              static_cast<double>(accounts) / seconds_since(started));

  // Sustained single-phase transfers, as fast as the pipeline takes them, for `seconds`.
  Counter transfers;
  std::atomic<std::uint64_t> next_id{0};
  std::atomic<bool> stop{false};
  const auto produce = [&](std::uint64_t limit) {
    std::mt19937_64 rng(std::random_device{}());
    Command c;
    c.kind = CommandKind::create_transfer;
    while (!stop) {
      const std::uint64_t id = next_id.fetch_add(1);
      if (id >= limit) break;
      c.body.transfer = random_transfer(rng, TransferId{{0xB0, id + 1}}, accounts);
      submit_all(pipeline, c, &transfers);
    }
  };
  const auto batches_before = pipeline.counters().batches_committed.load();
  std::vector<std::thread> threads;
  started = Clock::now();
  for (int p = 0; p < producers; ++p) threads.emplace_back(produce, journal_transfers);
  // The window ends after `seconds` or when the journal target is reached, whichever is first.
  while (seconds_since(started) < seconds && transfers.durable.load() < journal_transfers) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double elapsed = seconds_since(started);
  const std::uint64_t done = transfers.durable.load();
  const auto batches = pipeline.counters().batches_committed.load() - batches_before;
  std::printf(
      "sustained_seconds=%.1f transfers_committed=%llu transfers_per_second=%.0f "
      "engine_batches=%llu transfers_per_batch=%.0f producers=%d\n",
      elapsed, static_cast<unsigned long long>(done), static_cast<double>(done) / elapsed,
      static_cast<unsigned long long>(batches), batches ? double(done) / double(batches) : 0.0,
      producers);
  std::fflush(stdout);

  // Fill the journal up to --journal-transfers for the restart measurement.
  for (auto& t : threads) t.join();
  while (transfers.durable + transfers.failed <
         std::min<std::uint64_t>(next_id.load(), journal_transfers)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::printf("journal_filled_seconds=%.1f journal_transfers=%llu\n", seconds_since(started),
              static_cast<unsigned long long>(transfers.durable.load()));
  pipeline.stop();

  pipeline::Pipeline restarted(options);
  started = Clock::now();
  if (Status s = restarted.start(); !s.ok()) {
    std::fprintf(stderr, "journal_bench: restart failed: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("restart_load_seconds=%.2f accounts=%llu transfers=%llu\n", seconds_since(started),
              static_cast<unsigned long long>(accounts),
              static_cast<unsigned long long>(transfers.durable.load()));
  restarted.stop();
  return 0;
}

// A ledgerd with snapshots takes one, journals a tail, and restarts from the snapshot + tail.
int snapshot_restart(pipeline::PipelineOptions options, const std::string& dir,
                     std::uint64_t accounts, std::uint64_t tail_transfers) {
  options.snapshot_dir = dir;
  {
    pipeline::Pipeline pipeline(options);
    auto started = Clock::now();
    if (Status s = pipeline.start(); !s.ok()) {
      std::fprintf(stderr, "journal_bench: %s\n", s.message().c_str());
      return 1;
    }
    std::printf("snapshot_first_load_seconds=%.2f\n", seconds_since(started));
    started = Clock::now();
    const auto written = pipeline.counters().snapshots_written.load();
    pipeline.snapshot_now();
    while (pipeline.counters().snapshots_written.load() == written &&
           pipeline.counters().snapshots_failed.load() == 0 && seconds_since(started) < 600) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (pipeline.counters().snapshots_written.load() == written) {
      std::fprintf(stderr, "journal_bench: the snapshot was not written\n");
      return 1;
    }
    std::printf("snapshot_fork_ms=%.1f snapshot_write_seconds=%.2f\n",
                pipeline.counters().snapshot_fork_seconds.load() * 1'000,
                pipeline.counters().snapshot_write_seconds.load());
    // The tail: fresh ids on every run.
    Counter tail;
    std::mt19937_64 rng(std::random_device{}());
    const std::uint64_t run = rng() | 0xB200000000000000ULL;
    Command c;
    c.kind = CommandKind::create_transfer;
    for (std::uint64_t n = 0; n < tail_transfers; ++n) {
      c.body.transfer = random_transfer(rng, TransferId{{run, n + 1}}, accounts);
      submit_all(pipeline, c, &tail);
    }
    while (tail.durable + tail.failed < tail_transfers)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    pipeline.stop();
  }
  pipeline::Pipeline restarted(options);
  const auto started = Clock::now();
  if (Status s = restarted.start(); !s.ok()) {
    std::fprintf(stderr, "journal_bench: restart failed: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("restart_from_snapshot_seconds=%.2f tail_records=%llu transfers=%zu\n",
              seconds_since(started),
              static_cast<unsigned long long>(restarted.counters().loaded_tail_records.load()),
              restarted.engine_for_tests().transfer_count());
  restarted.stop();
  return 0;
}

}  // namespace
