// Pipeline: the durability protocol (docs/durability.md). Network threads submit commands to
// a bounded lock-free queue; the engine thread applies them in batches; the journal thread
// writes each group of batches to PostgreSQL in one transaction and only after its COMMIT
// completes the requests of those batches. If a COMMIT fails or its outcome is unknown, the
// pipeline stops acknowledging, answers "unavailable", reconnects with backoff, reloads the
// engine from PostgreSQL and resumes by itself.
//
// Threads: submit() from any thread; one engine thread and one journal thread inside;
// completions run on the journal thread (durable or unavailable answers) or on the engine
// thread (unavailable answers while recovering). start()/stop() from the main thread.
// With PipelineOptions::threads false there are no threads: the caller turns the engine and
// the journal by hand (engine_turn, journal_turn), which makes every interleaving and every
// failure reproducible from a seed (the deterministic simulation test).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/mpsc_queue.h"
#include "journal/writer.h"
#include "ledger/limits.h"
#include "ledger/metrics.h"
#include "ledger/sink.h"
#include "ledger/status.h"
#include "ledger/types.h"
#include "pipeline/journal_store.h"
#include "pipeline/snapshot_file.h"

namespace ledger::pipeline {

struct PipelineOptions {
  std::string database_url;
  engine::EngineOptions engine;
  std::size_t ingress_capacity = limits::ingress_commands_max_default;
  std::size_t batch_commands_max = limits::batch_commands_max_default;
  std::size_t batches_in_flight_max = limits::batches_in_flight_max;
  std::uint32_t idle_tick_ms = limits::engine_idle_tick_ms;
  std::uint32_t reconnect_backoff_max_ms = limits::reconnect_backoff_max_ms;
  // Group-commit pacing (docs/durability.md, "Group commit pacing"): after a COMMIT that held
  // two requests or more, the next one starts no sooner than this many microseconds after it
  // started; what arrives meanwhile waits and joins it. Answers are never held: they leave when
  // their own COMMIT ends. 0: the next COMMIT starts as soon as the last one ends. ledgerd serve
  // sets it from LEDGER_GROUP_COMMIT_INTERVAL_US.
  std::uint32_t group_commit_interval_us = 0;
  bool threads = true;  // false: no threads; the caller calls engine_turn() and journal_turn()
  // Wall-clock nanoseconds for the engine's logical time and hold expiry (tests inject one).
  std::function<std::uint64_t()> clock_ns;
  // The ledger lease's epoch that every journal transaction checks (0: no lease, for tools and
  // tests that own their database). When the check fails, the pipeline answers everything
  // unavailable from then on, never commits again, and calls on_fenced once (journal thread).
  std::int64_t fence_epoch = 0;
  std::function<void()> on_fenced;
  // Engine snapshots (docs/durability.md, "Snapshots"). With a directory, a forked child writes
  // the engine's state there every snapshot_interval_ms (when the journal moved on), and it is
  // published in PostgreSQL; loads restore the newest one that checks and read only the tail.
  std::string snapshot_dir;  // empty: no snapshots
  std::uint32_t snapshot_interval_ms = limits::snapshot_interval_s_default * 1'000;
  int snapshot_keep = 2;      // published snapshots kept (files and rows)
  unsigned load_threads = 2;  // threads reading a snapshot file
};

// How a standby keeps each kind of journal record current (docs/operations.md). An
// exhaustive switch (pipeline.cc): a new kind of record does not compile until it is given one,
// and a test checks that every kind is followed one way or the other.
enum class Followed : std::uint8_t {
  by_events,    // every record of the kind is an event: follow() applies it from the feed
  at_takeover,  // some are not events: start() reads every one's latest state again
  not_state,    // the engine keeps nothing of it (a card message's merchant)
};
Followed how_followed(RecordKind kind);

enum class PipelineState : std::uint8_t { stopped, loading, running, recovering };

struct PipelineCounters {
  std::atomic<std::uint64_t> batches_committed{0};
  std::atomic<std::uint64_t> records_committed{0};
  std::atomic<std::uint64_t> group_commits{0};        // COMMITs that succeeded
  std::atomic<std::uint64_t> group_commits_paced{0};  // of them, followed by a pause
  std::atomic<std::uint64_t> commit_failures{0};
  std::atomic<std::uint64_t> reloads{0};
  std::atomic<std::uint64_t> refused_full{0};
  std::atomic<std::uint64_t> reconnect_failures{0};
  std::atomic<std::uint64_t> snapshots_written{0};
  std::atomic<std::uint64_t> snapshots_failed{0};     // could not be written or published
  std::atomic<std::uint64_t> snapshots_rejected{0};   // found unusable when loading
  std::atomic<std::uint64_t> snapshot_seq{0};         // events_seq of the newest published
  std::atomic<double> snapshot_fork_seconds{0};       // the last fork: the engine's pause
  std::atomic<double> snapshot_write_seconds{0};      // the last child's write and publish
  std::atomic<std::int64_t> snapshot_unix_time{0};    // when the newest was published
  std::atomic<std::uint64_t> loaded_tail_records{0};  // records loaded after the snapshot
};

// Where the time goes inside ledgerd (exported on /metrics; docs/operations.md).
struct PipelineMetrics {
  metrics::Histogram queue_wait = metrics::Histogram::latency();      // submit -> engine
  metrics::Histogram engine_apply = metrics::Histogram::latency();    // one engine batch
  metrics::Histogram journal_commit = metrics::Histogram::latency();  // COPY + COMMIT
  metrics::Histogram durable_wait = metrics::Histogram::latency();    // applied -> committed
  metrics::Histogram batch_commands = metrics::Histogram::sizes();
  metrics::Histogram commit_records = metrics::Histogram::sizes();
};

class Pipeline final : public CommandSink {
  using Clock = std::chrono::steady_clock;

 public:
  // The journal in PostgreSQL at options.database_url.
  explicit Pipeline(PipelineOptions options);
  // The journal in `store` (the simulation test's).
  Pipeline(PipelineOptions options, std::unique_ptr<JournalStore> store);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Loads the engine from PostgreSQL (blocking), then starts the threads. After prepare(), only
  // what was committed since is applied (follow), unless following failed: then a full load.
  Status start();
  // A standby (docs/operations.md): loads the journal now, before it holds the lease, then
  // follow() applies what the active commits, so that start() has only the tail to apply.
  // Thread: the caller's, before start().
  Status prepare();
  // Applies the records committed since the last load or follow, in commit order, until caught
  // up (or `pages_max` pages). *lag: events committed but not applied yet.
  Status follow(std::uint64_t* lag, int pages_max = 100);
  bool prepared() const { return prepared_; }
  std::uint64_t followed_seq() const { return followed_seq_; }
  // Every journal transaction from now on checks the ledger lease has this epoch (before start).
  void set_fence_epoch(std::int64_t epoch) {
    store_->set_fence(epoch);
    fence_epoch_ = epoch;
  }
  // Answers everything already submitted (flushing the last batch), then stops the threads.
  void stop();

  // Never waits. false: the queue is full or the ledger is not running; answer "busy" now
  // (completion is not called).
  [[nodiscard]] bool submit(const Command& command, Completion* completion) override;
  [[nodiscard]] bool submit_priority(const Command& command, Completion* completion) override;
  [[nodiscard]] bool submit_all(const Command* commands, Completion* const* completions,
                                std::size_t count) override;
  bool running() const override { return state() == PipelineState::running; }
  // A journal transaction found the ledger lease taken over (it answers unavailable since).
  bool fenced() const { return fenced_.load(); }
  // Reverses the card authorization `transfer` (a hold or a posting) with a journaled card
  // reversal, retrying (across database failures and reloads) until it is durable. Lost only
  // if the process dies first.
  void reverse_late(TransferId transfer, std::uint64_t answer_by) override;
  std::size_t late_voids_waiting() const;
  static constexpr std::size_t submit_all_max = limits::pipeline_submit_all_max;

  PipelineState state() const { return state_.load(std::memory_order_acquire); }
  const PipelineCounters& counters() const { return counters_; }
  const PipelineMetrics& stage_metrics() const { return metrics_; }
  // Batches applied by the engine and waiting for or inside a COMMIT.
  std::size_t batches_in_flight();
  void register_metrics(metrics::Registry& registry);
  std::size_t queue_depth() const {
    return ingress_.size_approx() + priority_ingress_.size_approx();
  }
  // Takes a snapshot as soon as the state is all committed (tools and tests; snapshot_dir set).
  void snapshot_now() {
    snapshot_requested_ = true;
    wake_engine();
  }
  // Seconds and records of the last load from PostgreSQL.
  double last_load_seconds() const { return last_load_seconds_.load(); }

  // Tests: the next COMMIT loses its connection (unknown outcome).
  void inject_commit_failure() { inject_failure_.store(true); }

  // Manual mode (threads false): one turn of each thread. Never wait; true if work was done.
  bool engine_turn();
  bool journal_turn();
  // Manual mode: the engine, read between turns.
  const engine::Engine& engine_for_tests() const { return engine_; }
  // The last logical time loaded from the journal (read after start(), before any batch).
  std::uint64_t loaded_timestamp() const { return loaded_timestamp_; }

 private:
  struct Slot {
    std::vector<Command> commands;
    engine::BatchOutput output;
    std::chrono::steady_clock::time_point applied;
  };

  Status load(engine::Engine* engine);
  // At a takeover, after following: what how_followed says to read again.
  Status reread_at_takeover();
  // One record a standby applies (following or rereading); *failed once the engine is full.
  void apply_followed(const JournalRecord& record, Status* failed);
  // After any load: where following and committing go on from, and when the first snapshot is
  // due (soon when the load read many records, so that the next restart reads few).
  void loaded(const LoadStats& stats, std::uint64_t records_read);
  // The engine cannot take one more of some record: a load or follow must stop (and a full load
  // says which capacity to raise).
  bool engine_full(const engine::Engine& engine) const;
  static Status check_balanced(const engine::Engine& engine);
  // Restores the newest usable snapshot, then applies the tail (read in parallel). An error:
  // no snapshot could be used (each rejection is logged); the caller loads everything.
  Status load_from_snapshot(engine::Engine* engine, LoadStats* stats, std::size_t* tail);
  void maybe_snapshot();  // engine thread, between batches
  [[noreturn]] void snapshot_child(const std::string& path, SnapshotInfo info);
  void snapshot_loop();  // the snapshot thread: waits for each child and publishes its file
  void remove_stale_snapshot_files(const std::vector<std::string>& keep);
  void engine_loop();
  void journal_loop();
  enum class Turn : std::uint8_t { worked, idle, done };
  Turn engine_step(bool block);
  Turn journal_step(bool block);
  bool try_recover();  // journal thread: one attempt to reconnect, resolve and ask for a reload
  std::uint64_t now_ns() const { return options_.clock_ns(); }
  void add_late_voids(std::vector<Command>* commands);
  bool late_voids_ready();
  bool drain_ingress(std::vector<Command>* commands);
  void refuse(const std::vector<Command>& commands);
  void wait_for_work(bool tick);
  void wait_for_journal();
  void journal_idle();
  Slot* acquire_slot(bool block);
  void publish_slot();
  Turn take_slots(std::size_t* first, std::size_t* count, bool block);
  void release_slots(std::size_t count);
  void complete_slots(std::size_t first, std::size_t count, Outcome outcome);
  bool commit_slots(std::size_t first, std::size_t count);
  void recover_connection(CommitOutcome outcome, std::uint64_t last_ts);
  void answer_published_unavailable();
  void reload_on_engine_thread();

  void wake_engine();
  std::uint64_t loaded_timestamp_ = 0;
  bool prepared_ = false;           // prepare() loaded the engine; follow() keeps it current
  std::uint64_t followed_seq_ = 0;  // the last event applied to the engine (prepared only)

  PipelineOptions options_;
  engine::Engine engine_;  // owned by the engine thread once started
  engine::MpscQueue<Command> ingress_;
  engine::MpscQueue<Command> priority_ingress_;  // card network: drained first
  std::atomic<PipelineState> state_{PipelineState::stopped};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> inject_failure_{false};
  std::atomic<bool> fenced_{false};  // a journal transaction found the lease taken over
  std::atomic<double> last_load_seconds_{0};
  PipelineCounters counters_;
  PipelineMetrics metrics_;

  // Engine thread sleep/wake (producers notify only when it sleeps).
  std::mutex wake_mutex_;
  std::condition_variable wake_cv_;
  std::atomic<bool> engine_sleeping_{false};
  // While the journal thread is inside a COPY and COMMIT, the engine leaves new commands in the
  // queue (producers do not wake it) and applies them all in one batch when the COMMIT ends:
  // one engine wake-up per group commit instead of one per arriving request, and no latency
  // lost, since nothing applied meanwhile could be committed before that COMMIT ends anyway.
  std::atomic<bool> journal_busy_{false};
  std::atomic<bool> engine_deferred_{false};

  // Ring of batch slots between the engine and journal threads; guarded by ring_mutex_.
  std::mutex ring_mutex_;
  std::condition_variable ring_cv_;
  std::vector<Slot> slots_;
  std::size_t published_ = 0;  // slots filled by the engine thread (monotonic)
  std::size_t released_ = 0;   // slots completed by the journal thread (monotonic)
  bool engine_done_ = false;
  bool reload_requested_ = false;

  std::unique_ptr<JournalStore> store_;  // journal thread (count/load: engine thread)
  // Engine-thread state between turns.
  std::vector<Command> refused_;
  std::uint64_t last_apply_ns_ = 0;
  // Journal-thread recovery between turns.
  bool recovering_connection_ = false;
  CommitOutcome failed_outcome_ = CommitOutcome::committed;
  std::uint64_t failed_last_ts_ = 0;
  std::uint32_t backoff_ms_ = 50;

  // Late reversals (reverse_late): until durable. Guarded by late_mutex_.
  struct LateVoid final : Completion {
    Pipeline* pipeline = nullptr;
    TransferId transfer;
    std::uint64_t answer_by = 0;
    bool in_flight = false;
    void complete(const CommandResult& result, Outcome outcome) override;
    Command command();  // the late rule's reversal, completing this
  };
  std::mutex late_mutex_;
  // By transfer and deadline; nodes are stable (completions).
  std::map<std::pair<Uint128, std::uint64_t>, LateVoid> late_voids_;
  std::atomic<std::size_t> late_count_{0};  // late_voids_.size(), readable without the lock
  std::thread engine_thread_;
  std::thread journal_thread_;

  // Snapshots. committed_seq_: the last event committed (journal thread; a load sets it).
  std::atomic<std::uint64_t> committed_seq_{0};
  std::atomic<bool> snapshot_requested_{false};
  std::int64_t fence_epoch_ = 0;
  std::uint64_t snapshot_seq_ = 0;  // engine thread: the state's position at the last snapshot
  // Which ledger this is (snapshot files carry it): set once by the first load, before any
  // snapshot is taken; empty if it could not be read (then no snapshot is loaded or written).
  LedgerIdentity ledger_;
  Clock::time_point next_snapshot_at_{};
  std::vector<engine::Engine::SnapshotRegion> snapshot_regions_;
  std::string snapshot_encoded_;
  struct SnapshotJob {
    pid_t pid = 0;
    SnapshotInfo info;
    std::string path;
    Clock::time_point started;
  };
  std::mutex snapshot_mutex_;
  std::condition_variable snapshot_cv_;
  std::optional<SnapshotJob> snapshot_job_;  // a child writing (guarded by snapshot_mutex_)
  bool snapshot_stop_ = false;
  std::thread snapshot_thread_;
};

}  // namespace ledger::pipeline
