// Deterministic simulation: the real engine and the real pipeline (batcher and durability
// protocol, turned by hand, no threads) over a simulated PostgreSQL that, driven by a seed,
// fails COMMITs, loses the connection during COMMIT with the transaction either landed or
// not (unknown outcome), stalls past the authorization deadline, goes down for a while, and
// crashes the whole process at any step. Clients retry what was not acknowledged with the
// same ids. After every step it checks the invariants of docs/architecture.md:
//   1 double entry: debits = credits, in memory and in what is durable;
//   2 ack after durable: every durable answer is in the journal, with that result;
//   3 idempotency: an id is journaled once, and every answer for it says the same;
//   7 the deadline rule: a hold whose answer came after its deadline (the network was told
//     91) is voided, except when the process died before that void was durable (counted).
// At the end (faults off, everything drained) the engine equals a replay of the journal.
//
// The days run (DirectDebitsAcrossDaysWithCrashes) adds incoming SEPA collections and lets
// hours pass between steps, so collections settle, wait for funds, are paid by credits or
// returned at their deadlines across crashes and outages. After every commit: suspense holds
// exactly the waiting collections, clearing exactly the paid and waiting ones, and no
// collection is both paid and returned; at the end (eight more days, drained) none is still
// received or waiting, and every acknowledged collection is in the journal.
//
// A failing seed reproduces: LEDGER_SIM_SEED=<seed> ./simulation_test. LEDGER_SIM_SEEDS and
// LEDGER_SIM_STEPS change how many seeds and steps CI runs (defaults 120 and 1500; 24 seeds
// under the sanitizers).
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ledger/card_ids.h"
#include "ledger/events.h"
#include "ledger/money.h"
#include "ledger/sepa.h"
#include "ledger/units.h"
#include "pipeline/pipeline.h"

namespace ledger::pipeline {
namespace {

constexpr std::uint64_t ms = 1'000'000;
constexpr std::uint64_t deadline_ns = 2'000 * ms;
constexpr int accounts = 8;

engine::EngineOptions capacities() { return engine::EngineOptions{64, 1u << 16, 4}; }

// Everything outside the process: PostgreSQL's durable contents and its moods, the clock.
struct World {
  explicit World(std::uint64_t seed) : rng(seed), durable(capacities()) {}
  std::mt19937_64 rng;
  std::uint64_t now = 1'800'000'000'000'000'000ULL;
  int down_steps = 0;  // PostgreSQL unreachable for this many more steps
  bool faults = true;
  std::vector<JournalRecord> journal;  // committed, in order
  engine::Engine durable;              // the journal replayed as it commits
  std::set<Uint128> journaled_ids;
  // Collections as journaled: the latest state of each, and whether it was ever paid/returned.
  struct Collection {
    DirectDebit latest;
    bool paid = false;
    bool returned = false;
  };
  std::map<Uint128, Collection> collections;
  std::string violation;  // first broken invariant

  bool chance(int percent) { return static_cast<int>(rng() % 1000) < percent * 10; }
  std::uint64_t pick(std::uint64_t n) { return rng() % n; }
  void fail(const std::string& what) {
    if (violation.empty()) violation = what;
  }
  void commit(const std::vector<JournalRecord>& records) {
    for (const JournalRecord& r : records) {
      if (r.kind == RecordKind::transfer && !journaled_ids.insert(r.value.transfer.id.value).second)
        fail("idempotency: transfer " + to_string(r.value.transfer.id) + " journaled twice");
      journal.push_back(r);
      durable.replay(r);
    }
    for (const auto& [currency, totals] : durable.totals_by_currency())
      if (!totals.balanced()) fail("double entry: the journal does not balance");
    check_collections(records);
  }
  // Suspense = minus the waiting collections; clearing = the paid and the waiting ones.
  void check_collections(const std::vector<JournalRecord>& records) {
    bool any = false;
    for (const JournalRecord& r : records) {
      if (r.kind != RecordKind::direct_debit) continue;
      any = true;
      Collection& c = collections[r.value.direct_debit.id.value];
      c.latest = r.value.direct_debit;
      c.paid = c.paid || c.latest.status == DirectDebitStatus::paid;
      c.returned = c.returned || c.latest.status == DirectDebitStatus::returned;
      if (c.paid && c.returned)
        fail("direct debit " + to_string(c.latest.id) + " paid and returned");
    }
    if (!any) return;
    Sum waiting = 0, kept = 0;
    for (const auto& [id, c] : collections) {
      if (c.latest.status == DirectDebitStatus::waiting_for_funds) waiting += c.latest.amount;
      if (c.latest.status == DirectDebitStatus::paid ||
          c.latest.status == DirectDebitStatus::waiting_for_funds) {
        kept += c.latest.amount;
      }
    }
    const auto posted = [this](AccountId id) -> Sum {
      const Account* a = durable.find_account(id);
      return a == nullptr ? 0 : a->credits_posted - a->debits_posted;
    };
    if (posted(engine::Engine::direct_debit_suspense_account_id()) != -waiting)
      fail("direct debits: suspense does not equal the waiting collections");
    if (posted(engine::Engine::direct_debit_clearing_account_id()) != kept)
      fail("direct debits: clearing does not equal the paid and waiting collections");
  }
};

class SimulatedPostgres final : public JournalStore {
 public:
  explicit SimulatedPostgres(World& world) : w_(world) {}

  Status count(JournalCounts* counts) override {
    if (w_.down_steps > 0) return Status::error("connection refused");
    counts->accounts = w_.durable.account_count();
    counts->transfers = w_.durable.transfer_count();
    counts->cards = 0;
    return Status();
  }
  Status load(const std::function<void(const JournalRecord&)>& visit, LoadStats* stats,
              std::uint64_t after_ts) override {
    if (w_.down_steps > 0) return Status::error("connection refused");
    if (after_ts != 0) return Status::error("this journal keeps no snapshots");
    for (const JournalRecord& r : w_.journal) visit(r);
    stats->accounts = w_.durable.account_count();
    stats->transfers = w_.durable.transfer_count();
    return Status();
  }
  Status connect() override {
    return w_.down_steps > 0 ? Status::error("connection refused") : Status();
  }
  void add(const JournalRecord& record) override { pending_.push_back(record); }
  CommitOutcome flush(Status* error) override {
    std::vector<JournalRecord> group;
    group.swap(pending_);
    w_.now += (1 + w_.pick(3)) * ms;  // COPY and COMMIT take a little time
    if (w_.down_steps > 0) {
      *error = Status::error("no connection");
      return CommitOutcome::rolled_back;
    }
    if (w_.faults) {
      const std::uint64_t r = w_.pick(100);
      if (r < 4) {  // COMMIT fails: nothing landed
        *error = Status::error("simulated: could not serialize");
        w_.down_steps = static_cast<int>(w_.pick(4));
        return CommitOutcome::rolled_back;
      }
      if (r < 7) {  // connection lost during COMMIT, after it landed
        w_.commit(group);
        *error = Status::error("simulated: server closed the connection during COMMIT");
        w_.down_steps = static_cast<int>(1 + w_.pick(6));
        return CommitOutcome::unknown;
      }
      if (r < 10) {  // connection lost during COMMIT, before it landed
        *error = Status::error("simulated: server closed the connection before COMMIT");
        w_.down_steps = static_cast<int>(1 + w_.pick(6));
        return CommitOutcome::unknown;
      }
      if (r < 13) w_.now += deadline_ns + w_.pick(1'000) * ms;  // a stall: fsync takes seconds
    }
    w_.commit(group);
    return CommitOutcome::committed;
  }
  Status contains_timestamp(std::uint64_t ts, bool* found) override {
    if (w_.down_steps > 0) return Status::error("connection refused");
    *found = false;
    for (const JournalRecord& r : w_.journal)
      *found = *found || (r.kind == RecordKind::transfer && r.value.transfer.timestamp == ts);
    return Status();
  }
  void inject_failure_before_commit() override {}

 private:
  World& w_;
  std::vector<JournalRecord> pending_;
};

// One logical request of a client (a back office or a card network), retried with the same
// id until it gets a durable answer.
struct Request {
  Command command;
  bool authorization = false;  // a card hold: answered 91 if not durable by the deadline
  std::uint64_t sent_at = 0;
  int attempts = 0;
  bool in_flight = false;
  bool answered = false;       // a durable answer arrived (the first one counts)
  std::uint8_t effective = 0;  // the result the first durable answer reported
  bool declined_late = false;  // authorization durable after its deadline: told 91
  bool resolved = false;       // posted or voided by a later request
};

std::uint8_t effective_result(const CommandResult& r) {
  if (r.kind == CommandKind::create_transfer && r.transfer_result() == TransferResult::exists)
    return static_cast<std::uint8_t>(r.value.transfer.result);
  if (r.kind == CommandKind::receive_direct_debit &&
      r.direct_debit_result() == DirectDebitResult::exists) {
    return static_cast<std::uint8_t>(DirectDebitResult::ok);  // the first answer was ok
  }
  return r.code;
}

class Simulation {
 public:
  // `days`: collections among the requests, and hours passing between steps.
  Simulation(std::uint64_t seed, int steps, bool days = false)
      : w_(seed), steps_(steps), days_(days) {}

  std::string run() {
    restart();
    for (int n = 0; n < accounts; ++n) {
      Command c;
      c.kind = CommandKind::create_account;
      c.body.account = Account{};
      c.body.account.id = AccountId{{0, static_cast<std::uint64_t>(n + 1)}};
      c.body.account.holder_id = HolderId{{0, 1}};
      c.body.account.currency = *currency_from_alpha("EUR");
      c.body.account.flags = n < 2 ? 0 : debits_must_not_exceed_credits;
      add(c, false);
    }
    for (int step = 0; step < steps_ && w_.violation.empty(); ++step) this->step();
    // The storm passes: no more faults, everything drains, late voids land.
    w_.faults = false;
    w_.down_steps = 0;
    if (days_) w_.now += 8 * ns_per_day;  // every due date and deadline passes
    for (int i = 0; i < 5'000 && w_.violation.empty() && !quiet(); ++i) {
      if (!pipeline_) restart();
      resend_unanswered();
      w_.now += 5 * ms;
      if (pipeline_) {
        pipeline_->engine_turn();
        pipeline_->journal_turn();
      }
    }
    if (w_.violation.empty() && !quiet()) w_.fail("liveness: the pipeline never drained");
    if (w_.violation.empty()) final_checks();
    return w_.violation;
  }

  int late_voids_lost_to_crashes() const { return lost_to_crash_; }
  int declined_late() const {
    int n = 0;
    for (const auto& r : requests_) n += r->declined_late ? 1 : 0;
    return n;
  }
  int crashes() const { return crashes_; }
  // How the collections ended, by status (after run()).
  std::map<DirectDebitStatus, int> collection_outcomes() const {
    std::map<DirectDebitStatus, int> counts;
    for (const auto& [id, c] : w_.collections) ++counts[c.latest.status];
    return counts;
  }
  int collections_paid_late() const {
    int n = 0;
    for (const auto& [id, c] : w_.collections) n += c.latest.late ? 1 : 0;
    return n;
  }

 private:
  struct Attempt final : Completion {
    Simulation* sim;
    Request* request;
    void complete(const CommandResult& result, Outcome outcome) override {
      sim->on_answer(*request, result, outcome);
    }
  };

  void restart() {
    pipeline_.reset();  // a crash: memory, queues and unanswered requests are gone
    PipelineOptions options;
    options.engine = capacities();
    options.ingress_capacity = 256;
    options.batch_commands_max = 1 + w_.pick(32);
    options.batches_in_flight_max = 1 + w_.pick(4);
    options.threads = false;
    options.clock_ns = [this] { return w_.now; };
    auto pipeline = std::make_unique<Pipeline>(options, std::make_unique<SimulatedPostgres>(w_));
    if (!pipeline->start().ok()) return;  // PostgreSQL down: start again later
    pipeline_ = std::move(pipeline);
    for (auto& r : requests_) r->in_flight = false;
  }

  void add(const Command& c, bool authorization) {
    auto r = std::make_unique<Request>();
    r->command = c;
    r->authorization = authorization;
    requests_.push_back(std::move(r));
    send(*requests_.back());
  }

  void send(Request& r) {
    if (!pipeline_ || r.in_flight) return;
    attempts_.emplace_back();
    Attempt& a = attempts_.back();
    a.sim = this;
    a.request = &r;
    r.sent_at = w_.now;
    const bool ok = r.authorization ? pipeline_->submit_priority(r.command, &a)
                                    : pipeline_->submit(r.command, &a);
    if (ok) {
      r.in_flight = true;
      ++r.attempts;
    }
  }

  void on_answer(Request& r, const CommandResult& result, Outcome outcome) {
    r.in_flight = false;
    if (outcome != Outcome::durable) return;  // the client retries later, same id
    // 2: acknowledged only when durable.
    if (r.command.kind == CommandKind::create_transfer) {
      const Transfer* t = w_.durable.find_transfer(r.command.body.transfer.id);
      if (t == nullptr) {
        w_.fail("ack after durable: answered " + to_string(r.command.body.transfer.id) +
                " which is not in the journal");
        return;
      }
      if (static_cast<std::uint8_t>(t->result) != effective_result(result))
        w_.fail("ack after durable: answered a result the journal does not hold for " +
                to_string(t->id));
    } else if (r.command.kind == CommandKind::create_account &&
               w_.durable.find_account(r.command.body.account.id) == nullptr) {
      w_.fail("ack after durable: account answered but not journaled");
    } else if (r.command.kind == CommandKind::receive_direct_debit &&
               w_.durable.find_direct_debit(r.command.body.direct_debit.id) == nullptr) {
      w_.fail("ack after durable: collection answered but not journaled");
    }
    // 3: every answer for one id says the same.
    const std::uint8_t effective = effective_result(result);
    if (r.answered && effective != r.effective)
      w_.fail("idempotency: a retry of " + to_string(r.command.body.transfer.id) +
              " got a different result");
    if (!r.answered) {
      r.answered = true;
      r.effective = effective;
      // 7: a hold durable only after the deadline: the network heard 91; void it.
      if (r.authorization && w_.now > r.sent_at + deadline_ns &&
          result.transfer_result() == TransferResult::ok) {
        r.declined_late = true;
        const TransferId hold = r.command.body.transfer.id;
        pipeline_->reverse_late(hold, r.sent_at + deadline_ns);
      }
    }
  }

  Request* approved_hold() {
    std::vector<Request*> holds;
    for (auto& r : requests_) {
      if (r->authorization && r->answered && !r->declined_late && !r->resolved &&
          r->effective == static_cast<std::uint8_t>(TransferResult::ok))
        holds.push_back(r.get());
    }
    return holds.empty() ? nullptr : holds[w_.pick(holds.size())];
  }

  AccountId account() { return AccountId{{0, 1 + w_.pick(accounts)}}; }

  // An incoming collection due in one to three TARGET2 days, for a constrained account.
  void new_collection() {
    Command c;
    c.kind = CommandKind::receive_direct_debit;
    c.body.direct_debit = DirectDebit{};
    DirectDebit& dd = c.body.direct_debit;
    dd.id = DirectDebitId{{3, ++next_id_}};
    dd.account_id = AccountId{{0, 3 + w_.pick(accounts - 2)}};
    dd.amount = static_cast<std::int64_t>(1 + w_.pick(4'000));
    dd.due_day = sepa::add_business_days(sepa::day_of_ns(w_.now) + 1, static_cast<int>(w_.pick(3)));
    constexpr std::uint64_t hour = 3600 * ns_per_s;
    dd.settle_at = static_cast<std::uint64_t>(dd.due_day) * ns_per_day + 6 * hour;
    dd.wait_window_ns = 48 * hour;
    dd.latest_deadline =
        static_cast<std::uint64_t>(sepa::add_business_days(dd.due_day, 5)) * ns_per_day + 2 * hour;
    dd.scheme = DirectDebitScheme::core;
    add(c, false);
  }

  void new_request() {
    if (days_ && w_.chance(15)) return new_collection();
    Command c;
    c.kind = CommandKind::create_transfer;
    Transfer& t = c.body.transfer;
    t = Transfer{};
    t.id = TransferId{{2, ++next_id_}};
    const std::uint64_t shape = w_.pick(100);
    if (shape < 40) {
      t.debit_account_id = account();
      t.credit_account_id = account();
      t.amount = static_cast<std::int64_t>(1 + w_.pick(2'000));
      t.currency = *currency_from_alpha("EUR");
      add(c, false);
    } else if (shape < 75) {  // a card authorization: a hold with a deadline
      t.flags = flag_pending;
      t.debit_account_id = AccountId{{0, 3 + w_.pick(accounts - 2)}};
      t.credit_account_id = AccountId{{0, 1}};
      t.amount = static_cast<std::int64_t>(1 + w_.pick(500));
      t.currency = *currency_from_alpha("EUR");
      t.timeout_s = w_.chance(20) ? static_cast<std::uint32_t>(1 + w_.pick(3)) : 0;
      add(c, true);
    } else if (Request* hold = approved_hold()) {  // capture or reversal of an approval
      hold->resolved = true;
      t.pending_id = hold->command.body.transfer.id;
      t.flags = w_.chance(60) ? flag_post_pending : flag_void_pending;
      add(c, false);
    } else {  // money in for the constrained accounts
      t.debit_account_id = AccountId{{0, 2}};
      t.credit_account_id = AccountId{{0, 3 + w_.pick(accounts - 2)}};
      t.amount = static_cast<std::int64_t>(1 + w_.pick(5'000));
      t.currency = *currency_from_alpha("EUR");
      add(c, false);
    }
  }

  void resend_unanswered() {
    for (auto& r : requests_) {
      if (!r->answered && !r->in_flight) send(*r);
    }
  }

  void step() {
    if (w_.down_steps > 0) --w_.down_steps;
    const std::uint64_t action = w_.pick(100);
    if (!pipeline_) {
      restart();
    } else if (action < 30) {
      new_request();
    } else if (action < 38) {
      resend_unanswered();
    } else if (action < 63) {
      pipeline_->engine_turn();
    } else if (action < 88) {
      pipeline_->journal_turn();
    } else if (action < 98) {
      // Days: now and then the clock jumps hours ahead (due dates, waits and deadlines pass).
      w_.now += days_ && w_.chance(25) ? w_.pick(14 * 3600) * ns_per_s : w_.pick(300) * ms;
    } else {
      crash();
    }
    check_memory();
  }

  void crash() {
    ++crashes_;
    // Late voids not yet durable die with the process (documented window).
    for (auto& r : requests_) {
      if (!r->declined_late) continue;
      const TransferId hold = r->command.body.transfer.id;
      if (w_.durable.find_transfer(card_ids::reversal(hold, 0)) == nullptr &&
          lost_.insert(hold.value).second) {
        ++lost_to_crash_;
      }
    }
    if (w_.chance(30)) w_.down_steps = static_cast<int>(w_.pick(10));
    restart();
  }

  // 1: the engine's books balance after every step.
  void check_memory() {
    if (!pipeline_) return;
    for (const auto& [currency, totals] : pipeline_->engine_for_tests().totals_by_currency())
      if (!totals.balanced()) w_.fail("double entry: the engine does not balance");
  }

  bool quiet() {
    if (!pipeline_ || pipeline_->state() != PipelineState::running) return false;
    if (days_ && pipeline_->engine_for_tests().next_due_ns() <= w_.now) return false;
    if (pipeline_->late_voids_waiting() != 0 || pipeline_->queue_depth() != 0 ||
        pipeline_->batches_in_flight() != 0)
      return false;
    for (const auto& r : requests_)
      if (!r->answered) return false;
    return true;
  }

  void final_checks() {
    // Memory equals the journal.
    if (pipeline_->engine_for_tests().state_hash() != w_.durable.state_hash())
      w_.fail("recovery: the engine differs from a replay of the journal");
    // Eight days later every collection has been decided: none still received or waiting.
    for (const auto& [id, c] : w_.collections) {
      if (c.latest.status == DirectDebitStatus::received ||
          c.latest.status == DirectDebitStatus::waiting_for_funds) {
        w_.fail("direct debit " + to_string(c.latest.id) + " undecided after its deadline");
      }
    }
    // 7: every late hold is voided, unless its void died in a crash.
    for (const auto& r : requests_) {
      if (!r->declined_late) continue;
      const TransferId hold = r->command.body.transfer.id;
      const Transfer* t = w_.durable.find_transfer(hold);
      if (t != nullptr && t->pending_state == PendingState::open && !lost_.count(hold.value))
        w_.fail("deadline rule: hold " + to_string(hold) + " answered 91 is still open");
    }
  }

  World w_;
  int steps_;
  bool days_ = false;
  std::unique_ptr<Pipeline> pipeline_;
  std::vector<std::unique_ptr<Request>> requests_;
  std::deque<Attempt> attempts_;  // stable addresses for completions
  std::uint64_t next_id_ = 0;
  std::set<Uint128> lost_;
  int lost_to_crash_ = 0;
  int crashes_ = 0;
};

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::stoull(value) : fallback;
}

// Runs the seeds (LEDGER_SIM_SEED: that one only; else LEDGER_SIM_SEEDS of them from
// `first_seed`, fewer under the sanitizers, where every engine (one per simulated crash) costs
// much more to build) of LEDGER_SIM_STEPS steps each, failing with the command that reproduces
// a violation; `each` reads the finished simulation's figures.
void run_seeds(std::uint64_t first_seed, std::uint64_t default_seeds, std::uint64_t sanitizer_seeds,
               bool days, const char* reproduce_filter,
               const std::function<void(const Simulation&)>& each) {
  spdlog::set_level(spdlog::level::off);  // thousands of simulated failures
  const std::uint64_t only = env_or("LEDGER_SIM_SEED", 0);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  default_seeds = sanitizer_seeds;
#else
  (void)sanitizer_seeds;
#endif
  const std::uint64_t seeds = only != 0 ? 1 : env_or("LEDGER_SIM_SEEDS", default_seeds);
  const int steps = static_cast<int>(env_or("LEDGER_SIM_STEPS", 1'500));
  for (std::uint64_t i = 0; i < seeds; ++i) {
    const std::uint64_t seed = only != 0 ? only : first_seed + i;
    Simulation sim(seed, steps, days);
    const std::string violation = sim.run();
    ASSERT_EQ(violation, "") << "seed " << seed << " (reproduce: LEDGER_SIM_SEED=" << seed
                             << " build/release/src/pipeline/simulation_test" << reproduce_filter
                             << ")";
    each(sim);
  }
  spdlog::set_level(spdlog::level::info);
  std::printf("simulation%s: %llu seeds x %d steps, ", days ? " (days)" : "",
              static_cast<unsigned long long>(seeds), steps);
}

TEST(SimulationTest, InvariantsHoldUnderFailuresCrashesAndStalls) {
  int declined = 0, lost = 0, crashes = 0;
  run_seeds(1'000, 120, 24, false, "", [&](const Simulation& sim) {
    declined += sim.declined_late();
    lost += sim.late_voids_lost_to_crashes();
    crashes += sim.crashes();
  });
  std::printf(
      "%d crashes, %d holds durable after their deadline (voided), %d of those whose void died "
      "in a crash\n",
      crashes, declined, lost);
  EXPECT_GT(declined, 0) << "the simulation never exercised the deadline rule";
}

// Collections over simulated days: settlement, the wait for funds, payment by a credit, the
// return at the deadline, across crashes, outages and unknown COMMIT outcomes.
TEST(SimulationTest, DirectDebitsAcrossDaysWithCrashes) {
  std::map<DirectDebitStatus, int> outcomes;
  int crashes = 0, late = 0;
  run_seeds(5'000, 40, 8, true, " --gtest_filter='*DirectDebits*'", [&](const Simulation& sim) {
    for (const auto& [status, n] : sim.collection_outcomes()) outcomes[status] += n;
    crashes += sim.crashes();
    late += sim.collections_paid_late();
  });
  std::printf("%d crashes; collections paid %d (%d late), returned %d\n", crashes,
              outcomes[DirectDebitStatus::paid], late, outcomes[DirectDebitStatus::returned]);
  EXPECT_GT(outcomes[DirectDebitStatus::paid] - late, 0) << "none paid on time";
  EXPECT_GT(late, 0) << "none paid after waiting for funds";
  EXPECT_GT(outcomes[DirectDebitStatus::returned], 0) << "none returned";
}

}  // namespace
}  // namespace ledger::pipeline

namespace ledger::pipeline {
namespace {

// Every kind of journal record reaches a standby: from the event feed when each of its records
// is an event, read again at the takeover otherwise (how_followed's switch has no default, so
// a new kind does not compile until it is given a way; this checks the way is true to the feed).
TEST(FollowTest, EveryRecordKindReachesAStandbyByTheFeedOrAtTakeover) {
  for (int k = 0; k <= static_cast<int>(RecordKind::direct_debit); ++k) {
    JournalRecord record;
    record.kind = static_cast<RecordKind>(k);
    switch (how_followed(record.kind)) {
      case Followed::by_events:
        EXPECT_TRUE(is_event(record)) << "kind " << k << " is followed by events but is none";
        break;
      case Followed::at_takeover:
        // PgJournalStore::reread reads monitors only: a new kind needs it there too.
        ASSERT_EQ(record.kind, RecordKind::monitor) << "kind " << k;
        // Some of its records are not events (a monitor's creation and deletion).
        record.value.monitor = BalanceMonitor{};
        record.value.monitor.change = MonitorChange::created;
        EXPECT_FALSE(is_event(record)) << "kind " << k;
        break;
      case Followed::not_state:
        EXPECT_EQ(record.kind, RecordKind::card_message) << "kind " << k;
        break;
    }
  }
  EXPECT_EQ(how_followed(RecordKind::monitor), Followed::at_takeover);
}

}  // namespace
}  // namespace ledger::pipeline
