// Balance monitors in the engine: one journaled record per crossing, in the batch that caused
// it; none for changes that do not cross, for rolled-back chains or after deletion; the state
// replayed from the journal equals the live state.
#include <random>

#include "engine/engine_test_fixture.h"
#include "ledger/monitors.h"

namespace ledger::engine::testing {
namespace {

MonitorId mid(std::uint64_t n) { return n == 0 ? MonitorId{} : MonitorId{{5, n}}; }

class MonitorTest : public EngineTest {
 protected:
  MonitorResult watch(std::uint64_t id, std::uint64_t account, BalanceField field,
                      BalanceOperator op, std::int64_t threshold) {
    Command c;
    c.kind = CommandKind::create_monitor;
    c.body.monitor = BalanceMonitor{};
    c.body.monitor.id = mid(id);
    c.body.monitor.account_id = acct(account);
    c.body.monitor.field = field;
    c.body.monitor.op = op;
    c.body.monitor.threshold = threshold;
    run({c});
    return out_.results[0].monitor_result();
  }
  MonitorResult unwatch(std::uint64_t id) {
    Command c;
    c.kind = CommandKind::delete_monitor;
    c.body.monitor_id = mid(id);
    run({c});
    return out_.results[0].monitor_result();
  }
  // The monitor records of the last batch but quiet creations, as (id, change).
  std::vector<std::pair<std::uint64_t, MonitorChange>> crossings() const {
    std::vector<std::pair<std::uint64_t, MonitorChange>> found;
    for (const JournalRecord& r : out_.records) {
      if (r.kind == RecordKind::monitor && r.value.monitor.change != MonitorChange::created)
        found.emplace_back(r.value.monitor.id.value.lo, r.value.monitor.change);
    }
    return found;
  }
  void expect_replay_equal() {
    Engine replayed(EngineOptions{64, 256, 16});
    for (const JournalRecord& r : journal_) replayed.replay(r);
    EXPECT_EQ(replayed.state_hash(), engine_.state_hash());
  }
};

using C = MonitorChange;
using Pairs = std::vector<std::pair<std::uint64_t, MonitorChange>>;

TEST_F(MonitorTest, EachCrossingIsJournaledOnceInTheBatchThatCausedIt) {
  SetUpAccounts();
  // Available 0 < 1000 already holds: the creation is the first crossing.
  ASSERT_EQ(watch(1, 2, BalanceField::available, BalanceOperator::less, 1000), MonitorResult::ok);
  EXPECT_EQ(crossings(), (Pairs{{1, C::triggered}}));
  EXPECT_TRUE(engine_.find_monitor(mid(1))->triggered);
  fund(2, 5000, 10);
  EXPECT_EQ(crossings(), (Pairs{{1, C::resolved}}));
  EXPECT_EQ(engine_.find_monitor(mid(1))->value, 5000);
  ASSERT_EQ(apply(single(11, 2, 3, 3000)), R::ok);  // 2000: still not below 1000
  EXPECT_TRUE(crossings().empty());
  ASSERT_EQ(apply(hold(12, 2, 3, 1500)), R::ok);  // a hold lowers available to 500
  EXPECT_EQ(crossings(), (Pairs{{1, C::triggered}}));
  ASSERT_EQ(apply(single(13, 2, 3, 100)), R::ok);  // deeper below: no new crossing
  EXPECT_TRUE(crossings().empty());
  ASSERT_EQ(apply(resolve(14, 12, flag_void_pending)), R::ok);  // back to 1900
  EXPECT_EQ(crossings(), (Pairs{{1, C::resolved}}));
  // The crossing follows the transfer that caused it, with a later timestamp.
  ASSERT_EQ(out_.records.size(), 2u);
  EXPECT_EQ(out_.records[0].kind, RecordKind::transfer);
  EXPECT_LT(out_.records[0].value.transfer.timestamp, out_.records[1].value.monitor.timestamp);
  expect_replay_equal();
}

TEST_F(MonitorTest, OverdraftChangesAndExpiriesAreChangesToo) {
  ASSERT_EQ(open(1, 0), AR::ok);
  ASSERT_EQ(open(2, debits_must_not_exceed_credits, 0), AR::ok);
  ASSERT_EQ(watch(1, 2, BalanceField::available, BalanceOperator::greater_equal, 500),
            MonitorResult::ok);
  EXPECT_TRUE(crossings().empty());  // 0 >= 500 does not hold: created quietly
  ASSERT_EQ(update(2, 500, std::nullopt), AR::ok);
  EXPECT_EQ(crossings(), (Pairs{{1, C::triggered}}));
  ASSERT_EQ(apply(hold(20, 2, 1, 100, 5)), R::ok);
  EXPECT_EQ(crossings(), (Pairs{{1, C::resolved}}));
  now_ += 10 * second_ns;  // the hold expires at the start of the next batch
  run({});
  EXPECT_EQ(crossings(), (Pairs{{1, C::triggered}}));
  expect_replay_equal();
}

TEST_F(MonitorTest, ARolledBackChainCrossesNothing) {
  SetUpAccounts();
  fund(2, 1000, 10);
  ASSERT_EQ(watch(1, 2, BalanceField::posted, BalanceOperator::less_equal, 0), MonitorResult::ok);
  EXPECT_TRUE(crossings().empty());
  Transfer first = single(30, 2, 3, 1000);  // would empty the account...
  first.flags = flag_linked;
  const Transfer second = single(31, 3, 4, 1);  // ...but the chain fails: account 4 unknown
  run({command(first), command(second)});
  EXPECT_NE(out_.results[0].transfer_result(), R::ok);
  EXPECT_TRUE(crossings().empty());
  EXPECT_FALSE(engine_.find_monitor(mid(1))->triggered);
  expect_replay_equal();
}

TEST_F(MonitorTest, CreationIsIdempotentAndDeletionStopsTheAlerts) {
  SetUpAccounts();
  ASSERT_EQ(watch(1, 2, BalanceField::available, BalanceOperator::less, 10), MonitorResult::ok);
  EXPECT_EQ(watch(1, 2, BalanceField::available, BalanceOperator::less, 10), MonitorResult::exists);
  EXPECT_TRUE(out_.records.empty());
  EXPECT_EQ(watch(1, 2, BalanceField::available, BalanceOperator::less, 11),
            MonitorResult::exists_with_different_fields);
  EXPECT_EQ(watch(2, 9, BalanceField::available, BalanceOperator::less, 10),
            MonitorResult::monitor_account_not_found);
  EXPECT_EQ(watch(0, 2, BalanceField::available, BalanceOperator::less, 10),
            MonitorResult::id_must_not_be_zero);
  EXPECT_EQ(unwatch(1), MonitorResult::ok);
  EXPECT_EQ(crossings(), (Pairs{{1, C::deleted}}));
  EXPECT_EQ(unwatch(1), MonitorResult::ok);  // twice: the same answer, nothing journaled
  EXPECT_TRUE(out_.records.empty());
  EXPECT_EQ(unwatch(7), MonitorResult::monitor_not_found);
  fund(2, 100, 10);
  EXPECT_TRUE(crossings().empty());
  EXPECT_EQ(account(2).monitors, 0u);
  for (std::uint64_t id = 10; id < 10 + limits::monitors_per_account_max; ++id) {
    ASSERT_EQ(watch(id, 3, BalanceField::posted, BalanceOperator::greater, 0), MonitorResult::ok);
  }
  EXPECT_EQ(watch(99, 3, BalanceField::posted, BalanceOperator::greater, 0),
            MonitorResult::monitor_capacity_exhausted);
  expect_replay_equal();
}

// Property: over random transfers, holds and resolutions, each monitor's journaled crossings
// are exactly the flips of its condition observed after every command, and the replayed
// state equals the live one.
TEST_F(MonitorTest, CrossingsEqualTheFlipsOfTheConditionOverRandomTraffic) {
  SetUpAccounts();
  ASSERT_EQ(open(4, 0), AR::ok);
  std::mt19937_64 random(20261129);
  struct Watch {
    std::uint64_t account;
    BalanceField field;
    BalanceOperator op;
    std::int64_t threshold;
    bool state = false;
  };
  std::vector<Watch> watches;
  for (std::uint64_t id = 1; id <= 12; ++id) {
    Watch w{2 + id % 3, static_cast<BalanceField>(id % 3), static_cast<BalanceOperator>(id % 4),
            static_cast<std::int64_t>(random() % 3000) - 500};
    ASSERT_EQ(watch(id, w.account, w.field, w.op, w.threshold), MonitorResult::ok);
    w.state = monitor_condition(w.op, balance_value(account(w.account), w.field), w.threshold);
    watches.push_back(w);
  }
  std::vector<std::uint64_t> holds;
  std::uint64_t next_id = 100;
  for (int step = 0; step < 600; ++step) {
    const std::uint64_t from = 1 + random() % 4, to = 1 + (from + random() % 3) % 4;
    const std::int64_t amount = 1 + static_cast<std::int64_t>(random() % 1200);
    const unsigned kind = random() % 4;
    if (kind == 3 && !holds.empty()) {
      const std::uint64_t h = holds[random() % holds.size()];
      (void)apply(resolve(next_id++, h, random() % 2 ? flag_post_pending : flag_void_pending));
    } else if (kind == 2) {
      if (apply(hold(next_id, from, to, amount)) == R::ok) holds.push_back(next_id);
      ++next_id;
    } else {
      (void)apply(single(next_id++, from, to, amount));
    }
    Pairs expected;
    for (std::size_t i = 0; i < watches.size(); ++i) {
      Watch& w = watches[i];
      const bool now =
          monitor_condition(w.op, balance_value(account(w.account), w.field), w.threshold);
      if (now != w.state) expected.emplace_back(i + 1, now ? C::triggered : C::resolved);
      w.state = now;
    }
    Pairs got = crossings();
    std::sort(got.begin(), got.end());
    ASSERT_EQ(got, expected) << "step " << step;
  }
  expect_replay_equal();
  expect_balanced();
}

}  // namespace
}  // namespace ledger::engine::testing
