// The pipeline's engine and journal threads (pipeline.h). One file of about 630 lines on
// purpose: the two threads share the ring of batch slots and the recovery state machine, and
// their hand-offs are only checkable when read side by side.
#include "pipeline/pipeline.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "journal/loader.h"
#include "journal/pg.h"
#include "ledger/assert.h"
#include "ledger/card_ids.h"
#include "ledger/thread_name.h"

namespace ledger::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

std::size_t power_of_two_at_least(std::size_t n) {
  std::size_t p = 2;
  while (p < n) p *= 2;
  return p;
}

std::uint32_t steady_us() {
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
          .count());
}

std::uint64_t nanoseconds(Clock::duration d) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

std::uint64_t wall_clock_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

const char* outcome_name(CommitOutcome outcome) {
  switch (outcome) {
    case CommitOutcome::committed:
      return "committed";
    case CommitOutcome::rolled_back:
      return "rolled_back";
    case CommitOutcome::unknown:
      return "unknown";
    case CommitOutcome::fenced:
      return "fenced";
  }
  return "?";
}

}  // namespace

Pipeline::Pipeline(PipelineOptions options)
    : Pipeline(options,
               std::make_unique<PgJournalStore>(options.database_url, options.fence_epoch)) {}

Pipeline::Pipeline(PipelineOptions options, std::unique_ptr<JournalStore> store)
    : options_(std::move(options)),
      engine_(options_.engine),
      ingress_(power_of_two_at_least(options_.ingress_capacity)),
      priority_ingress_(power_of_two_at_least(options_.ingress_capacity)),
      slots_(options_.batches_in_flight_max),
      store_(std::move(store)) {
  if (!options_.clock_ns) options_.clock_ns = wall_clock_ns;
  refused_.reserve(options_.batch_commands_max);
  for (Slot& slot : slots_) {
    slot.commands.reserve(options_.batch_commands_max + submit_all_max);  // + one whole chain
    slot.output.reserve(options_.batch_commands_max);
  }
}

Pipeline::~Pipeline() { stop(); }

Status Pipeline::load(engine::Engine* engine) {
  const auto started = Clock::now();
  if (!options_.snapshot_dir.empty() && ledger_.ledger_id.empty()) {
    // Once: which ledger this is, so that its snapshot files are told from another's. Without
    // it no snapshot is loaded or written (the whole journal is read).
    if (Status s = store_->identity(&ledger_); !s.ok()) {
      ledger_ = LedgerIdentity{};
      spdlog::warn("event=snapshot_identity_unknown error=\"{}\"", s.message());
    }
  }
  if (!options_.snapshot_dir.empty()) {
    LoadStats stats;
    std::size_t tail = 0;
    if (Status s = load_from_snapshot(engine, &stats, &tail); s.ok()) {
      const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
      last_load_seconds_ = seconds;
      counters_.loaded_tail_records = tail;
      loaded(stats, tail);
      spdlog::info(
          "event=state_loaded from=snapshot snapshot_seq={} tail_records={} accounts={} "
          "cards={} transfers={} open_holds={} events_seq={} seconds={:.3f}",
          snapshot_seq_, tail, engine->account_count(), engine->card_count(),
          engine->transfer_count(), engine->open_pending_count(), stats.events_seq, seconds);
      return Status();
    } else {
      spdlog::info("event=snapshot_not_used detail=\"loading the whole journal\" reason=\"{}\"",
                   s.message());
    }
  }
  JournalCounts counts;
  if (Status s = store_->count(&counts); !s.ok()) return s;
  const auto accounts = counts.accounts;
  const auto transfers = counts.transfers;
  const auto cards = counts.cards;
  if (cards > options_.engine.cards_max) {
    return Status::error("the journal holds " + std::to_string(cards) + " cards; capacity is " +
                         std::to_string(options_.engine.cards_max) + " (raise LEDGER_CARDS_MAX)");
  }
  if (accounts > options_.engine.accounts_max || transfers > options_.engine.transfers_max) {
    return Status::error("the journal holds " + std::to_string(accounts) + " accounts and " +
                         std::to_string(transfers) + " transfers; capacity is " +
                         std::to_string(options_.engine.accounts_max) + " and " +
                         std::to_string(options_.engine.transfers_max) +
                         " (raise LEDGER_ACCOUNTS_MAX / LEDGER_TRANSFERS_MAX)");
  }
  engine->clear();
  LoadStats stats;
  if (Status s = store_->load([engine](const JournalRecord& r) { engine->replay(r); }, &stats);
      !s.ok()) {
    engine->clear();
    return s;
  }
  snapshot_seq_ = 0;
  counters_.loaded_tail_records = 0;
  loaded(stats, stats.transfers + stats.accounts);
  if (Status s = check_balanced(*engine); !s.ok()) {
    engine->clear();
    return s;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  last_load_seconds_ = seconds;
  spdlog::info("event=state_loaded accounts={} cards={} transfers={} open_holds={} seconds={:.3f}",
               stats.accounts, stats.cards, stats.transfers, engine->open_pending_count(), seconds);
  return Status();
}

void Pipeline::loaded(const LoadStats& stats, std::uint64_t records_read) {
  followed_seq_ = stats.events_seq;
  committed_seq_ = stats.events_seq;
  next_snapshot_at_ =
      Clock::now() + (records_read >= limits::snapshot_soon_records
                          ? std::chrono::milliseconds(limits::snapshot_soon_s * 1'000)
                          : std::chrono::milliseconds(options_.snapshot_interval_ms));
}

bool Pipeline::engine_full(const engine::Engine& engine) const {
  return engine.account_count() >= options_.engine.accounts_max ||
         engine.transfer_count() >= options_.engine.transfers_max ||
         engine.card_count() >= options_.engine.cards_max ||
         engine.monitor_count() >= options_.engine.monitors_max;
}

Status Pipeline::check_balanced(const engine::Engine& engine) {
  for (const auto& [currency, totals] : engine.totals_by_currency()) {
    if (!totals.balanced()) {
      return Status::error("the journal does not balance: debits != credits in currency " +
                           std::to_string(currency));
    }
  }
  return Status();
}

Status Pipeline::prepare() {
  LEDGER_ASSERT(state() == PipelineState::stopped);
  prepared_ = false;
  if (Status s = load(&engine_); !s.ok()) return s;
  prepared_ = true;
  return Status();
}

Status Pipeline::follow(std::uint64_t* lag, int pages_max) {
  LEDGER_ASSERT(state() != PipelineState::running && prepared_);  // the engine is ours
  Status failed;
  for (int page = 0; page < pages_max; ++page) {
    std::uint64_t next = followed_seq_;
    std::uint64_t last = followed_seq_;
    std::uint64_t applied = followed_seq_;
    Status s = store_->follow(
        followed_seq_, limits::standby_follow_page_max,
        [&](const JournalRecord& record) { apply_followed(record, &failed); }, &next, &last);
    if (!s.ok()) return s;  // PostgreSQL away: try again later, the state is still consistent
    if (!failed.ok()) {
      prepared_ = false;  // applied part of a page: only a full load is trustworthy now
      engine_.clear();
      return failed;
    }
    applied = next;
    followed_seq_ = applied;
    *lag = last > applied ? last - applied : 0;
    if (*lag == 0) break;
  }
  return Status();
}

void Pipeline::apply_followed(const JournalRecord& record, Status* failed) {
  if (!failed->ok()) return;
  if (engine_full(engine_)) {  // a full load says which capacity to raise
    *failed = Status::error("the journal outgrew this ledgerd's capacity while following");
    return;
  }
  engine_.replay(record);
}

Followed how_followed(RecordKind kind) {
  switch (kind) {
    case RecordKind::account:
    case RecordKind::transfer:
    case RecordKind::card:
    case RecordKind::spike:
    case RecordKind::direct_debit:
      return Followed::by_events;
    case RecordKind::monitor:  // creations and deletions are not events, crossings are
      return Followed::at_takeover;
    case RecordKind::card_message:  // part of its transfer's event; replay keeps nothing of it
      return Followed::not_state;
  }
  LEDGER_ASSERT(false);
  return Followed::not_state;
}

Status Pipeline::reread_at_takeover() {
  Status failed;
  for (int k = 0; k <= static_cast<int>(RecordKind::direct_debit); ++k) {
    const auto kind = static_cast<RecordKind>(k);
    if (how_followed(kind) != Followed::at_takeover) continue;
    Status s =
        store_->reread(kind, [&](const JournalRecord& record) { apply_followed(record, &failed); });
    if (!s.ok()) return s;
    if (!failed.ok()) return failed;
  }
  return Status();
}

Status Pipeline::start() {
  LEDGER_ASSERT(state() == PipelineState::stopped);
  state_ = PipelineState::loading;
  bool loaded = false;
  if (prepared_) {
    // A standby that followed the journal: apply the tail the old active committed.
    std::uint64_t lag = 1;
    Status s;
    for (int round = 0; round < 1000 && s.ok() && lag > 0 && prepared_; ++round) s = follow(&lag);
    // Records that are not all events (how_followed): their latest state, read again. A
    // failure leaves a partly applied engine: the full load below starts from a clear one.
    if (s.ok() && lag == 0 && prepared_) s = reread_at_takeover();
    prepared_ = false;
    if (s.ok() && lag == 0) {
      loaded = true;
      next_snapshot_at_ = Clock::now() + std::chrono::milliseconds(options_.snapshot_interval_ms);
      spdlog::info(
          "event=state_followed accounts={} cards={} transfers={} open_holds={} "
          "events_seq={}",
          engine_.account_count(), engine_.card_count(), engine_.transfer_count(),
          engine_.open_pending_count(), followed_seq_);
    } else {
      spdlog::warn("event=follow_failed detail=\"loading the whole journal instead\" error=\"{}\"",
                   s.message());
    }
  }
  if (!loaded) {
    if (Status s = load(&engine_); !s.ok()) {
      state_ = PipelineState::stopped;
      return s;
    }
  }
  if (Status s = store_->connect(); !s.ok()) {
    state_ = PipelineState::stopped;
    return s;
  }
  stop_requested_ = false;
  engine_done_ = false;
  loaded_timestamp_ = engine_.last_timestamp();
  last_apply_ns_ = now_ns();
  state_ = PipelineState::running;
  if (options_.threads) {
    engine_thread_ = std::thread([this] {
      name_this_thread("ledgerd-engine");
      engine_loop();
    });
    journal_thread_ = std::thread([this] {
      name_this_thread("ledgerd-journal");
      journal_loop();
    });
    if (!options_.snapshot_dir.empty()) {
      snapshot_stop_ = false;
      snapshot_thread_ = std::thread([this] {
        name_this_thread("ledgerd-snapshot");
        snapshot_loop();
      });
    }
  }
  return Status();
}

void Pipeline::stop() {
  if (!engine_thread_.joinable()) return;
  stop_requested_ = true;
  {
    std::lock_guard lock(wake_mutex_);
    wake_cv_.notify_all();
  }
  ring_cv_.notify_all();
  engine_thread_.join();
  journal_thread_.join();
  if (snapshot_thread_.joinable()) {
    {
      std::lock_guard lock(snapshot_mutex_);
      snapshot_stop_ = true;
      if (snapshot_job_) kill(snapshot_job_->pid, SIGKILL);  // an unpublished file is dropped
    }
    snapshot_cv_.notify_all();
    snapshot_thread_.join();
  }
  std::vector<Command> leftover;  // pushed after the engine's last look: answer them too
  while (drain_ingress(&leftover)) {
    refuse(leftover);
    leftover.clear();
  }
  state_ = PipelineState::stopped;
  spdlog::info("event=pipeline_stopped batches_committed={} records_committed={}",
               counters_.batches_committed.load(), counters_.records_committed.load());
}

bool Pipeline::submit(const Command& command, Completion* completion) {
  if (state_.load(std::memory_order_acquire) != PipelineState::running || stop_requested_) {
    return false;
  }
  Command queued = command;
  queued.tag = reinterpret_cast<std::uintptr_t>(completion);
  queued.enqueued_us = steady_us();
  if (!ingress_.try_push(queued)) {
    counters_.refused_full.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  wake_engine();
  return true;
}

bool Pipeline::submit_priority(const Command& command, Completion* completion) {
  if (state_.load(std::memory_order_acquire) != PipelineState::running || stop_requested_) {
    return false;
  }
  Command queued = command;
  queued.tag = reinterpret_cast<std::uintptr_t>(completion);
  queued.enqueued_us = steady_us();
  if (!priority_ingress_.try_push(queued)) {
    counters_.refused_full.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  wake_engine();
  return true;
}

bool Pipeline::submit_all(const Command* commands, Completion* const* completions,
                          std::size_t count) {
  if (state_.load(std::memory_order_acquire) != PipelineState::running || stop_requested_ ||
      count > submit_all_max) {
    return false;
  }
  thread_local std::vector<Command> tagged;
  tagged.assign(commands, commands + count);
  const std::uint32_t now_us = steady_us();
  for (std::size_t i = 0; i < count; ++i) {
    tagged[i].tag = reinterpret_cast<std::uintptr_t>(completions[i]);
    tagged[i].enqueued_us = now_us;
  }
  if (!ingress_.try_push_n(tagged.data(), count)) {
    counters_.refused_full.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  wake_engine();
  return true;
}

void Pipeline::wake_engine() {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (engine_sleeping_.load(std::memory_order_relaxed)) {
    std::lock_guard lock(wake_mutex_);
    wake_cv_.notify_one();
  }
}

std::size_t Pipeline::batches_in_flight() {
  std::lock_guard lock(ring_mutex_);
  return published_ - released_;
}

void Pipeline::register_metrics(metrics::Registry& registry) {
  using H = metrics::Histogram;
  const auto stage = [&](const char* name, const H& h) {
    registry.add_histogram("ledgerd_stage_duration_seconds",
                           "Time spent per stage: queue_wait (submit to engine pick-up, per "
                           "command), engine_apply (per engine batch), durable_wait (batch applied "
                           "to its COMMIT done), journal_commit (COPY and COMMIT per group).",
                           {{"stage", name}}, h);
  };
  stage("queue_wait", metrics_.queue_wait);
  stage("engine_apply", metrics_.engine_apply);
  stage("durable_wait", metrics_.durable_wait);
  stage("journal_commit", metrics_.journal_commit);
  registry.add_histogram("ledgerd_engine_batch_commands", "Commands per engine batch.", {},
                         metrics_.batch_commands);
  registry.add_histogram("ledgerd_journal_commit_records",
                         "Journal records per group commit (one PostgreSQL transaction).", {},
                         metrics_.commit_records);
  registry.add_gauge("ledgerd_queue_depth", "Commands waiting for the engine, by lane.",
                     {{"lane", "card"}},
                     [this] { return static_cast<double>(priority_ingress_.size_approx()); });
  registry.add_gauge("ledgerd_queue_depth", "Commands waiting for the engine, by lane.",
                     {{"lane", "backoffice"}},
                     [this] { return static_cast<double>(ingress_.size_approx()); });
  registry.add_gauge("ledgerd_batches_in_flight",
                     "Engine batches applied and waiting for or inside a COMMIT.", {},
                     [this] { return static_cast<double>(batches_in_flight()); });
  registry.add_counter("ledgerd_journal_batches_committed_total", "Engine batches made durable.",
                       {},
                       [this] { return static_cast<double>(counters_.batches_committed.load()); });
  registry.add_counter("ledgerd_journal_records_committed_total",
                       "Journal records (transfers, account and card events) committed.", {},
                       [this] { return static_cast<double>(counters_.records_committed.load()); });
  registry.add_counter("ledgerd_journal_group_commits_total", "Group commits that succeeded.", {},
                       [this] { return static_cast<double>(counters_.group_commits.load()); });
  registry.add_counter(
      "ledgerd_journal_group_commits_paced_total",
      "Group commits after which the next waited for LEDGER_GROUP_COMMIT_INTERVAL_US from this "
      "one's start (it held two requests or more and took less than the interval).",
      {}, [this] { return static_cast<double>(counters_.group_commits_paced.load()); });
  registry.add_counter("ledgerd_postgres_commit_failures_total",
                       "Group commits that failed or whose outcome was unknown.", {},
                       [this] { return static_cast<double>(counters_.commit_failures.load()); });
  registry.add_counter(
      "ledgerd_postgres_reconnect_failures_total",
      "Attempts to reconnect to PostgreSQL after a failed COMMIT that failed again.", {},
      [this] { return static_cast<double>(counters_.reconnect_failures.load()); });
  registry.add_gauge("ledgerd_late_voids_waiting",
                     "Voids of holds that became durable after their deadline, not yet durable.",
                     {}, [this] { return static_cast<double>(late_voids_waiting()); });
  registry.add_counter("ledgerd_postgres_recoveries_total",
                       "Reconnects followed by a reload of the ledger from PostgreSQL.", {},
                       [this] { return static_cast<double>(counters_.reloads.load()); });
  registry.add_counter("ledgerd_queue_refused_total",
                       "Commands refused because the engine queue was full.", {},
                       [this] { return static_cast<double>(counters_.refused_full.load()); });
  registry.add_gauge("ledgerd_ledger_state",
                     "Pipeline state: 0 stopped, 1 loading, 2 running, 3 recovering.", {},
                     [this] { return static_cast<double>(static_cast<int>(state())); });
  registry.add_gauge("ledgerd_last_load_seconds",
                     "Duration of the last load of the ledger from PostgreSQL.", {},
                     [this] { return last_load_seconds(); });
  const auto snapshots = [&](const char* result, const std::atomic<std::uint64_t>& counter) {
    registry.add_counter("ledgerd_snapshots_total",
                         "Engine snapshots by result: written (and published), failed (not "
                         "written or not published), rejected (found unusable when loading).",
                         {{"result", result}},
                         [&counter] { return static_cast<double>(counter.load()); });
  };
  snapshots("written", counters_.snapshots_written);
  snapshots("failed", counters_.snapshots_failed);
  snapshots("rejected", counters_.snapshots_rejected);
  registry.add_gauge("ledgerd_snapshot_events_seq",
                     "The journal event up to which the newest snapshot (published or restored) "
                     "holds the state.",
                     {}, [this] { return static_cast<double>(counters_.snapshot_seq.load()); });
  registry.add_gauge("ledgerd_snapshot_age_seconds",
                     "Seconds since this ledgerd last published a snapshot (-1: none yet).", {},
                     [this] {
                       const std::int64_t at = counters_.snapshot_unix_time.load();
                       return at == 0 ? -1.0 : static_cast<double>(time(nullptr) - at);
                     });
  registry.add_gauge("ledgerd_snapshot_fork_seconds",
                     "The engine's pause for the last snapshot (the fork).", {},
                     [this] { return counters_.snapshot_fork_seconds.load(); });
  registry.add_gauge("ledgerd_snapshot_write_seconds",
                     "How long the last snapshot took from the fork to its publication.", {},
                     [this] { return counters_.snapshot_write_seconds.load(); });
  registry.add_gauge("ledgerd_load_tail_records",
                     "Journal records the last load read after its snapshot (0: none or a full "
                     "load).",
                     {},
                     [this] { return static_cast<double>(counters_.loaded_tail_records.load()); });
}

// --- Late voids (the deadline rule) -------------------------------------------------------

Command Pipeline::LateVoid::command() {
  Command c;
  c.kind = CommandKind::card_reversal;
  c.body.authorization = Authorization{};
  c.body.authorization.original = transfer;
  c.body.authorization.id = card_ids::late_reversal_message(transfer);
  c.body.authorization.late_rule = true;
  c.body.authorization.answer_by_ns = answer_by;
  c.tag = reinterpret_cast<std::uintptr_t>(static_cast<Completion*>(this));
  return c;
}

void Pipeline::reverse_late(TransferId transfer, std::uint64_t answer_by) {
  {
    std::lock_guard lock(late_mutex_);
    auto [it, inserted] = late_voids_.try_emplace({transfer.value, answer_by});
    if (!inserted) return;
    LateVoid& late = it->second;
    late.pipeline = this;
    late.transfer = transfer;
    late.answer_by = answer_by;
    late_count_.fetch_add(1, std::memory_order_relaxed);
    // In order, behind what was submitted before it (the authorization itself). Full queue or
    // a failed attempt: add_late_voids puts it first into a later batch.
    Command c = late.command();
    c.enqueued_us = steady_us();
    late.in_flight = state_.load(std::memory_order_acquire) == PipelineState::running &&
                     priority_ingress_.try_push(c);
  }
  wake_engine();
}

std::size_t Pipeline::late_voids_waiting() const {
  return late_count_.load(std::memory_order_relaxed);
}

bool Pipeline::late_voids_ready() {
  std::lock_guard lock(late_mutex_);
  for (const auto& [id, late] : late_voids_) {
    if (!late.in_flight) return true;
  }
  return false;
}

void Pipeline::LateVoid::complete(const CommandResult&, Outcome outcome) {
  Pipeline* p = pipeline;
  std::lock_guard lock(p->late_mutex_);
  if (outcome == Outcome::durable) {
    p->late_count_.fetch_sub(1, std::memory_order_relaxed);
    p->late_voids_.erase(
        {transfer.value, answer_by});  // done, whatever the result (reversed, resolved, ...)
  } else {
    in_flight = false;  // unavailable: the engine thread submits it again
  }
}

// Engine thread: the late voids not yet in flight go first into the batch.
void Pipeline::add_late_voids(std::vector<Command>* commands) {
  if (late_count_.load(std::memory_order_relaxed) == 0) return;  // the usual case: no lock
  std::lock_guard lock(late_mutex_);
  for (auto& [id, late] : late_voids_) {
    if (late.in_flight) continue;
    commands->push_back(late.command());
    late.in_flight = true;
  }
}

// --- Engine thread -----------------------------------------------------------------------

bool Pipeline::drain_ingress(std::vector<Command>* commands) {
  Command command;
  while (commands->size() < options_.batch_commands_max && priority_ingress_.try_pop(&command)) {
    commands->push_back(command);
  }
  while (commands->size() < options_.batch_commands_max && ingress_.try_pop(&command)) {
    commands->push_back(command);
  }
  // Never end a batch inside a linked chain: its rest was pushed with it (submit_all) and is
  // being published right now.
  while (!commands->empty() && commands->back().kind == CommandKind::create_transfer &&
         (commands->back().body.transfer.flags & flag_linked) != 0) {
    if (ingress_.try_pop(&command)) {
      commands->push_back(command);
    } else {
      std::this_thread::yield();
    }
  }
  return !commands->empty();
}

void Pipeline::refuse(const std::vector<Command>& commands) {
  for (const Command& command : commands) {
    CommandResult result;
    result.kind = command.kind;
    result.tag = command.tag;
    if (auto* completion = reinterpret_cast<Completion*>(command.tag)) {
      completion->complete(result, Outcome::unavailable);
    }
  }
}

void Pipeline::wait_for_work(bool tick) {
  std::unique_lock lock(wake_mutex_);
  engine_sleeping_.store(true, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (ingress_.empty() && priority_ingress_.empty() && !stop_requested_ && !late_voids_ready()) {
    wake_cv_.wait_for(lock, std::chrono::milliseconds(tick ? options_.idle_tick_ms : 1'000));
  }
  engine_sleeping_.store(false, std::memory_order_relaxed);
}

// Engine thread: while a COMMIT is in progress, wait for its end (bounded by the idle tick, so
// that hold expiry and the engine's own work still run during a stalled COMMIT).
void Pipeline::wait_for_journal() {
  std::unique_lock lock(wake_mutex_);
  engine_deferred_.store(true, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  wake_cv_.wait_for(lock, std::chrono::milliseconds(options_.idle_tick_ms), [this] {
    return !journal_busy_.load(std::memory_order_relaxed) || stop_requested_;
  });
  engine_deferred_.store(false, std::memory_order_relaxed);
}

// Journal thread: the COMMIT ended (whatever its outcome); a deferred engine applies now.
void Pipeline::journal_idle() {
  journal_busy_.store(false, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (engine_deferred_.load(std::memory_order_relaxed)) {
    std::lock_guard lock(wake_mutex_);
    wake_cv_.notify_one();
  }
}

Pipeline::Slot* Pipeline::acquire_slot(bool block) {
  std::unique_lock lock(ring_mutex_);
  if (!block && published_ - released_ >= slots_.size()) return nullptr;
  ring_cv_.wait(lock, [this] { return published_ - released_ < slots_.size(); });
  return &slots_[published_ % slots_.size()];
}

void Pipeline::publish_slot() {
  {
    std::lock_guard lock(ring_mutex_);
    LEDGER_ASSERT(published_ - released_ < slots_.size());  // the slot was acquired free
    ++published_;
  }
  ring_cv_.notify_all();
}

void Pipeline::engine_loop() {
  while (engine_step(true) != Turn::done) {
  }
  {
    std::lock_guard lock(ring_mutex_);
    engine_done_ = true;
  }
  ring_cv_.notify_all();
}

bool Pipeline::engine_turn() { return engine_step(false) == Turn::worked; }

// One turn of the engine thread: apply one batch, or answer "unavailable" while recovering
// (and reload once the journal side asks for it). block: wait for a slot or for work.
Pipeline::Turn Pipeline::engine_step(bool block) {
  if (state_.load(std::memory_order_acquire) == PipelineState::recovering) {
    refused_.clear();
    const bool refused_some = drain_ingress(&refused_);
    if (refused_some) refuse(refused_);
    bool reload = false;
    {
      std::lock_guard lock(ring_mutex_);
      reload = reload_requested_ && published_ == released_;
    }
    if (reload) {
      reload_on_engine_thread();
      return Turn::worked;
    }
    if (stop_requested_ && ingress_.empty() && priority_ingress_.empty()) return Turn::done;
    if (block) wait_for_work(true);
    return refused_some ? Turn::worked : Turn::idle;
  }
  if (block && journal_busy_.load(std::memory_order_relaxed) && !stop_requested_) {
    wait_for_journal();
  }
  if (!options_.snapshot_dir.empty() && options_.threads &&
      (snapshot_requested_.load(std::memory_order_relaxed) || Clock::now() >= next_snapshot_at_)) {
    snapshot_requested_.store(false, std::memory_order_relaxed);
    maybe_snapshot();
  }
  Slot* slot = acquire_slot(block);
  if (slot == nullptr) return Turn::idle;
  slot->commands.clear();
  if (state_.load(std::memory_order_acquire) == PipelineState::running) {
    add_late_voids(&slot->commands);
  }
  drain_ingress(&slot->commands);
  const std::uint64_t now = now_ns();
  // The engine's own work (holds to expire, direct debits to settle, check or return) runs
  // when due, at most once per idle tick.
  const std::uint64_t due = engine_.next_due_ns();
  const bool tick_due =
      due <= now && now - last_apply_ns_ >= std::uint64_t{options_.idle_tick_ms} * 1'000'000;
  if (slot->commands.empty() && !tick_due) {
    if (stop_requested_) return Turn::done;
    if (block) wait_for_work(due != UINT64_MAX);
    return Turn::idle;
  }
  if (state_.load(std::memory_order_acquire) != PipelineState::running) {
    refuse(slot->commands);
    return Turn::worked;
  }
  const auto apply_start = Clock::now();
  if (!slot->commands.empty()) {
    const std::uint32_t now_us = steady_us();
    metrics::LocalHistogram waits(metrics_.queue_wait);
    for (const Command& c : slot->commands)
      waits.observe(std::uint64_t{static_cast<std::uint32_t>(now_us - c.enqueued_us)} * 1'000);
    waits.flush();
    metrics_.batch_commands.observe(slot->commands.size());
  }
  engine_.apply(slot->commands.data(), slot->commands.size(), now, &slot->output);
  last_apply_ns_ = now;
  slot->applied = Clock::now();
  metrics_.engine_apply.observe(nanoseconds(slot->applied - apply_start));
  if (slot->output.results.empty() && slot->output.records.empty()) return Turn::idle;  // tick
  publish_slot();
  return Turn::worked;
}

void Pipeline::reload_on_engine_thread() {
  {
    std::lock_guard lock(ring_mutex_);
    reload_requested_ = false;
  }
  spdlog::info("event=reload_started");
  if (Status s = load(&engine_); !s.ok()) {
    spdlog::error("event=reload_failed error=\"{}\"", s.message());
    if (options_.threads) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::lock_guard lock(ring_mutex_);
    reload_requested_ = true;  // try again; PostgreSQL may be flapping
    return;
  }
  counters_.reloads.fetch_add(1);
  LEDGER_ASSERT(state() == PipelineState::recovering);  // reloads happen only while recovering
  state_.store(PipelineState::running, std::memory_order_release);
  spdlog::info("event=recovered reloads={}", counters_.reloads.load());
}

// --- Journal thread ----------------------------------------------------------------------

Pipeline::Turn Pipeline::take_slots(std::size_t* first, std::size_t* count, bool block) {
  std::unique_lock lock(ring_mutex_);
  if (block) ring_cv_.wait(lock, [this] { return published_ > released_ || engine_done_; });
  if (published_ == released_) return engine_done_ ? Turn::done : Turn::idle;
  *first = released_;
  *count = published_ - released_;
  return Turn::worked;
}

void Pipeline::release_slots(std::size_t count) {
  {
    std::lock_guard lock(ring_mutex_);
    LEDGER_ASSERT(count <= published_ - released_);  // only what the engine published
    released_ += count;
  }
  ring_cv_.notify_all();
  // A recovering engine thread may wait for an empty ring (to reload); a running one is woken
  // by journal_idle() or by new commands, never by every release.
  if (state_.load(std::memory_order_acquire) == PipelineState::recovering) {
    std::lock_guard lock(wake_mutex_);
    wake_cv_.notify_all();
  }
}

void Pipeline::complete_slots(std::size_t first, std::size_t count, Outcome outcome) {
  for (std::size_t i = 0; i < count; ++i) {
    const Slot& slot = slots_[(first + i) % slots_.size()];
    for (const CommandResult& result : slot.output.results) {
      if (auto* completion = reinterpret_cast<Completion*>(result.tag)) {
        completion->complete(result, outcome);
      }
    }
  }
}

bool Pipeline::commit_slots(std::size_t first, std::size_t count) {
  std::uint64_t last_ts = 0;
  std::size_t records = 0;
  for (std::size_t i = 0; i < count; ++i) {
    for (const JournalRecord& record : slots_[(first + i) % slots_.size()].output.records) {
      store_->add(record);
      last_ts = record_timestamp(record);
      ++records;
    }
  }
  if (inject_failure_.exchange(false)) store_->inject_failure_before_commit();
  Status error;
  const auto commit_start = Clock::now();
  if (options_.threads) journal_busy_.store(true, std::memory_order_relaxed);
  const CommitOutcome outcome = store_->flush(&error);
  const auto committed_at = Clock::now();
  // Paced: the engine stays deferred (journal_busy_) until the interval since this COMMIT's
  // start has passed, so that what arrives meanwhile is applied as one batch and committed as
  // one group. Only after a group of two requests or more: a lone request (a quiet ledger) is
  // never held, and under load the groups grow instead of the number of COMMITs.
  std::size_t commands = 0;
  for (std::size_t i = 0; i < count; ++i) {
    commands += slots_[(first + i) % slots_.size()].output.results.size();
  }
  const bool paced =
      options_.threads && outcome == CommitOutcome::committed &&
      options_.group_commit_interval_us > 0 && commands >= 2 &&
      committed_at - commit_start < std::chrono::microseconds(options_.group_commit_interval_us);
  if (options_.threads && !paced) journal_idle();
  metrics_.journal_commit.observe(nanoseconds(committed_at - commit_start));
  metrics_.commit_records.observe(records);
  if (outcome == CommitOutcome::committed) {
    for (std::size_t i = 0; i < count; ++i) {
      metrics_.durable_wait.observe(
          nanoseconds(committed_at - slots_[(first + i) % slots_.size()].applied));
    }
    counters_.batches_committed.fetch_add(count, std::memory_order_relaxed);
    counters_.records_committed.fetch_add(records, std::memory_order_relaxed);
    if (const std::uint64_t seq = store_->committed_seq(); seq != 0) {
      committed_seq_.store(seq, std::memory_order_relaxed);  // before the release below
    }
    // Counted before the answers, so that whoever has an answer sees its COMMIT counted.
    counters_.group_commits.fetch_add(1, std::memory_order_relaxed);
    if (paced) counters_.group_commits_paced.fetch_add(1, std::memory_order_relaxed);
    complete_slots(first, count, Outcome::durable);
    release_slots(count);
    if (paced) {  // the answers left above; only the next group waits
      std::this_thread::sleep_until(commit_start +
                                    std::chrono::microseconds(options_.group_commit_interval_us));
      journal_idle();
    }
    return true;
  }
  counters_.commit_failures.fetch_add(1);
  spdlog::error("event=commit_failed outcome={} records={} error=\"{}\"", outcome_name(outcome),
                records, error.message());
  LEDGER_ASSERT(state() == PipelineState::running);  // one failed COMMIT starts one recovery
  state_.store(PipelineState::recovering, std::memory_order_release);
  complete_slots(first, count, Outcome::unavailable);
  release_slots(count);
  if (outcome == CommitOutcome::fenced) {
    // Another ledgerd holds the lease: nothing this one journals can commit any more, so it
    // neither reconnects nor reloads; it answers unavailable until it is stopped.
    fenced_.store(true);
    spdlog::error(
        "event=journal_fenced detail=\"another ledgerd took the ledger lease; this one answers "
        "unavailable and steps down\"");
    if (options_.on_fenced) options_.on_fenced();
  }
  recover_connection(outcome, last_ts);
  return false;
}

void Pipeline::answer_published_unavailable() {
  std::unique_lock lock(ring_mutex_);
  const std::size_t first = released_;
  const std::size_t count = published_ - released_;
  lock.unlock();
  if (count > 0) {
    complete_slots(first, count, Outcome::unavailable);
    release_slots(count);
  }
}

// After a failed COMMIT: reconnect with exponential backoff (answering anything the engine
// still publishes as unavailable), resolve an unknown outcome by reading back, then ask the
// engine thread for a reload. In manual mode one attempt per journal turn.
void Pipeline::recover_connection(CommitOutcome outcome, std::uint64_t last_ts) {
  recovering_connection_ = true;
  failed_outcome_ = outcome;
  failed_last_ts_ = last_ts;
  backoff_ms_ = 50;
  if (!options_.threads) return;
  while (!try_recover() && !stop_requested_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms_));
    backoff_ms_ = std::min(backoff_ms_ * 2, options_.reconnect_backoff_max_ms);
  }
}

bool Pipeline::try_recover() {
  answer_published_unavailable();
  if (stop_requested_ || fenced_.load()) return false;
  if (Status status = store_->connect(); !status.ok()) {
    counters_.reconnect_failures.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("event=reconnect_failed backoff_ms={} error=\"{}\"", backoff_ms_,
                 status.message());
    return false;
  }
  if (failed_outcome_ == CommitOutcome::unknown && failed_last_ts_ != 0) {
    bool found = false;
    if (store_->contains_timestamp(failed_last_ts_, &found).ok()) {
      spdlog::warn("event=commit_outcome_resolved committed={} last_ts={}", found, failed_last_ts_);
    }
  }
  recovering_connection_ = false;
  {
    std::lock_guard lock(ring_mutex_);
    reload_requested_ = true;
  }
  std::lock_guard lock(wake_mutex_);
  wake_cv_.notify_all();
  return true;
}

void Pipeline::journal_loop() {
  while (journal_step(true) != Turn::done) {
  }
}

bool Pipeline::journal_turn() { return journal_step(false) == Turn::worked; }

// One turn of the journal thread: commit everything published (one group), or answer it
// "unavailable" while recovering.
Pipeline::Turn Pipeline::journal_step(bool block) {
  if (recovering_connection_) {
    // Manual mode recovers here, a turn at a time. A journal thread gets here only when a stop
    // ended its recovery (or the lease was lost): it answers what is left and ends once the
    // engine thread has (it publishes nothing after that).
    if (options_.threads && stop_requested_) {
      answer_published_unavailable();
      std::unique_lock lock(ring_mutex_);
      if (engine_done_ && published_ == released_) return Turn::done;
      ring_cv_.wait_for(lock, std::chrono::milliseconds(10),
                        [this] { return engine_done_ || published_ > released_; });
      return Turn::idle;
    }
    try_recover();
    return Turn::worked;
  }
  std::size_t first = 0;
  std::size_t count = 0;
  const Turn turn = take_slots(&first, &count, block);
  if (turn != Turn::worked) return turn;
  if (state_.load(std::memory_order_acquire) == PipelineState::recovering) {
    complete_slots(first, count, Outcome::unavailable);
    release_slots(count);
    return Turn::worked;
  }
  commit_slots(first, count);
  return Turn::worked;
}

}  // namespace ledger::pipeline
