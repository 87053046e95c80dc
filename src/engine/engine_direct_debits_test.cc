// Direct debits in the engine: settlement at the due time, the wait for funds, payment by a
// later credit in the same batch, the return at the deadline, refunds, and replay.
#include <random>

#include "engine/engine_test_fixture.h"
#include "ledger/monitors.h"
#include "ledger/sepa.h"

namespace ledger::engine::testing {
namespace {

constexpr std::uint64_t hour_ns = 3600 * second_ns;
constexpr std::uint64_t day_ns = 24 * hour_ns;
DirectDebitId ddid(std::uint64_t n) { return DirectDebitId{{9, n}}; }
using S = DirectDebitStatus;
using DR = DirectDebitResult;

class DirectDebitTest : public EngineTest {
 protected:
  // Today is day 20000 at 08:00; collections settle at 10:00 on their due day.
  DirectDebitTest() { now_ = 20000 * day_ns + 8 * hour_ns; }

  DR receive(std::uint64_t id, std::uint64_t account, std::int64_t amount, std::int32_t due_day,
             sepa::Reason preset = sepa::Reason::none,
             DirectDebitScheme scheme = DirectDebitScheme::core) {
    Command c;
    c.kind = CommandKind::receive_direct_debit;
    c.body.direct_debit = DirectDebit{};
    DirectDebit& dd = c.body.direct_debit;
    dd.id = ddid(id);
    dd.account_id = acct(account);
    dd.amount = amount;
    dd.due_day = due_day;
    dd.settle_at = static_cast<std::uint64_t>(due_day) * day_ns + 10 * hour_ns;
    dd.wait_window_ns = 48 * hour_ns;
    dd.latest_deadline = dd.settle_at + 5 * day_ns;
    dd.scheme = scheme;
    dd.reason = static_cast<std::uint8_t>(preset);
    run({c});
    return out_.results[0].direct_debit_result();
  }
  DR refund(std::uint64_t id, sepa::Reason reason) {
    Command c;
    c.kind = CommandKind::refund_direct_debit;
    c.body.direct_debit = DirectDebit{};
    c.body.direct_debit.id = ddid(id);
    c.body.direct_debit.reason = static_cast<std::uint8_t>(reason);
    run({c});
    return out_.results[0].direct_debit_result();
  }
  void advance_to(std::uint64_t t) {
    now_ = t;
    run({});
  }
  const DirectDebit& dd(std::uint64_t id) { return *engine_.find_direct_debit(ddid(id)); }
  Sum posted(AccountId id) {
    const Account* a = engine_.find_account(id);
    return a == nullptr ? 0 : a->credits_posted - a->debits_posted;
  }
  Sum suspense() { return posted(Engine::direct_debit_suspense_account_id()); }
  Sum clearing() { return posted(Engine::direct_debit_clearing_account_id()); }
  // Replay gives the same state; `timers`: and the same next due time (not when a quiet
  // day-before check ran live, which is not journaled).
  void expect_replay_equal(bool timers = true) {
    Engine replayed(EngineOptions{64, 256, 16});
    for (const JournalRecord& r : journal_) replayed.replay(r);
    EXPECT_EQ(replayed.state_hash(), engine_.state_hash());
    if (timers) {
      EXPECT_EQ(replayed.next_due_ns(), engine_.next_due_ns());
    }
  }
  std::uint64_t settle(std::int32_t day) {
    return static_cast<std::uint64_t>(day) * day_ns + 10 * hour_ns;
  }
};

TEST_F(DirectDebitTest, CoveredCollectionIsPaidAtTheSettlementTime) {
  SetUpAccounts();
  fund(2, 10'000, 1);
  ASSERT_EQ(receive(1, 2, 4'000, 20001), DR::ok);
  EXPECT_EQ(dd(1).status, S::received);
  advance_to(settle(20001) - 1);
  EXPECT_EQ(dd(1).status, S::received);
  advance_to(settle(20001));
  EXPECT_EQ(dd(1).status, S::paid);
  EXPECT_FALSE(dd(1).late);
  EXPECT_EQ(available(2), 6'000);
  EXPECT_EQ(clearing(), 4'000);
  EXPECT_EQ(suspense(), 0);
  const Transfer* paid =
      engine_.find_transfer(Engine::direct_debit_transfer_id(ddid(1), Engine::DebitPosting::paid));
  ASSERT_NE(paid, nullptr);
  EXPECT_EQ(paid->debit_account_id, acct(2));
  EXPECT_EQ(paid->code, TransferCode::direct_debit);
  // A repeat of the collection answers the existing one; it is never paid twice.
  ASSERT_EQ(receive(1, 2, 4'000, 20001), DR::exists);
  EXPECT_EQ(out_.results[0].value.direct_debit.status, S::paid);
  EXPECT_EQ(receive(1, 2, 4'001, 20001), DR::exists_with_different_fields);
  expect_balanced();
  expect_replay_equal();
}

TEST_F(DirectDebitTest, WaitsForFundsAndACreditOneSecondBeforeTheDeadlinePaysIt) {
  SetUpAccounts();
  fund(2, 1'000, 1);
  ASSERT_EQ(receive(1, 2, 4'000, 20001), DR::ok);
  advance_to(settle(20001));
  ASSERT_EQ(dd(1).status, S::waiting_for_funds);
  EXPECT_EQ(dd(1).wait_deadline, settle(20001) + 48 * hour_ns);
  EXPECT_EQ(dd(1).missing, 3'000);
  EXPECT_EQ(available(2), 1'000);  // waiting holds nothing: card payments keep working
  EXPECT_EQ(suspense(), -4'000);
  EXPECT_EQ(clearing(), 4'000);
  ASSERT_EQ(apply(single(2, 2, 3, 500)), R::ok);
  expect_replay_equal();
  now_ = dd(1).wait_deadline - second_ns;
  fund(2, 3'500, 3);  // 4,000: covers it; paid in the same batch as the credit
  EXPECT_EQ(dd(1).status, S::paid);
  EXPECT_TRUE(dd(1).late);
  EXPECT_EQ(available(2), 0);
  EXPECT_EQ(suspense(), 0);
  EXPECT_EQ(clearing(), 4'000);
  EXPECT_EQ(out_.records.back().kind, RecordKind::direct_debit);
  advance_to(dd(1).wait_deadline + day_ns);
  EXPECT_EQ(dd(1).status, S::paid);
  expect_balanced();
  expect_replay_equal();
}

TEST_F(DirectDebitTest, ACreditOneSecondAfterTheDeadlineDoesNotPayIt) {
  SetUpAccounts();
  ASSERT_EQ(receive(1, 2, 4'000, 20001), DR::ok);
  advance_to(settle(20001));
  ASSERT_EQ(dd(1).status, S::waiting_for_funds);
  const std::uint64_t deadline = dd(1).wait_deadline;
  now_ = deadline + second_ns;
  fund(2, 10'000, 3);  // the deadline passed first: returned before the credit applies
  EXPECT_EQ(dd(1).status, S::returned);
  EXPECT_EQ(dd(1).reason, static_cast<std::uint8_t>(sepa::Reason::AM04));
  EXPECT_EQ(available(2), 10'000);
  EXPECT_EQ(suspense(), 0);
  EXPECT_EQ(clearing(), 0);
  EXPECT_GE(dd(1).timestamp, deadline);
  expect_balanced();
  expect_replay_equal();
}

TEST_F(DirectDebitTest, TheOlderOfTwoWaitingCollectionsIsPaidFirst) {
  SetUpAccounts();
  ASSERT_EQ(receive(2, 2, 3'000, 20002), DR::ok);  // received first, due later
  ASSERT_EQ(receive(1, 2, 3'000, 20001), DR::ok);
  advance_to(settle(20002));
  ASSERT_EQ(dd(1).status, S::waiting_for_funds);
  ASSERT_EQ(dd(2).status, S::waiting_for_funds);
  fund(2, 4'000, 3);
  EXPECT_EQ(dd(1).status, S::paid);
  EXPECT_EQ(dd(2).status, S::waiting_for_funds);
  EXPECT_EQ(available(2), 1'000);
  EXPECT_EQ(suspense(), -3'000);
  expect_replay_equal();
  advance_to(dd(2).wait_deadline);
  EXPECT_EQ(dd(2).status, S::returned);
  EXPECT_EQ(suspense(), 0);
  EXPECT_EQ(clearing(), 3'000);
  expect_balanced();
}

// The account setting "direct_debits_first": false. A credit stays usable by card payments
// and transfers; the waiting collection is paid at its deadline if the balance covers it then,
// else returned. Switching back to collections first pays the waiting ones at once.
TEST_F(DirectDebitTest, CardsFirstLeavesCreditsUsableUntilTheDeadline) {
  SetUpAccounts();
  const auto cards_first = [this](std::uint64_t n, bool on) {
    Command c;
    c.kind = CommandKind::update_account;
    c.body.update = AccountUpdate{};
    c.body.update.id = acct(n);
    c.body.update.set_cards_before_direct_debits = true;
    c.body.update.cards_before_direct_debits = on;
    run({c});
    return out_.results[0].account_result();
  };
  ASSERT_EQ(cards_first(2, true), AR::ok);
  EXPECT_NE(account(2).flags & cards_before_direct_debits, 0);
  ASSERT_EQ(receive(1, 2, 4'000, 20001), DR::ok);
  ASSERT_EQ(receive(2, 2, 1'000, 20001), DR::ok);
  advance_to(settle(20001));
  ASSERT_EQ(dd(1).status, S::waiting_for_funds);
  ASSERT_EQ(dd(2).status, S::waiting_for_funds);
  fund(2, 4'500, 3);  // covers either: neither is paid, the money stays usable
  EXPECT_EQ(dd(1).status, S::waiting_for_funds);
  EXPECT_EQ(available(2), 4'500);
  ASSERT_EQ(apply(single(4, 2, 3, 500)), R::ok);  // a card payment uses it
  EXPECT_EQ(available(2), 4'000);
  expect_replay_equal();
  // Collections first again: the older (received first) is paid at once, the other waits.
  ASSERT_EQ(cards_first(2, false), AR::ok);
  EXPECT_EQ(dd(1).status, S::paid);
  EXPECT_TRUE(dd(1).late);
  EXPECT_EQ(dd(2).status, S::waiting_for_funds);
  ASSERT_EQ(cards_first(2, true), AR::ok);
  fund(2, 1'000, 5);
  EXPECT_EQ(dd(2).status, S::waiting_for_funds);
  EXPECT_EQ(available(2), 1'000);
  expect_replay_equal();
  // At the deadline the balance covers it: paid late, not returned.
  advance_to(dd(2).wait_deadline);
  EXPECT_EQ(dd(2).status, S::paid);
  EXPECT_TRUE(dd(2).late);
  EXPECT_EQ(available(2), 0);
  EXPECT_EQ(suspense(), 0);
  EXPECT_EQ(clearing(), 5'000);
  // A third, never covered by its deadline: returned AM04.
  ASSERT_EQ(receive(3, 2, 700, 20004), DR::ok);
  advance_to(settle(20004));
  ASSERT_EQ(dd(3).status, S::waiting_for_funds);
  fund(2, 300, 6);
  advance_to(dd(3).wait_deadline);
  EXPECT_EQ(dd(3).status, S::returned);
  EXPECT_EQ(available(2), 300);
  EXPECT_EQ(suspense(), 0);
  // A repeated creation of the account still matches: the setting is not a creation flag.
  EXPECT_EQ(open(2), AR::exists);
  expect_balanced();
  expect_replay_equal();
}

TEST_F(DirectDebitTest, RefusalsCarryTheirReasonCodes) {
  SetUpAccounts();
  ASSERT_EQ(open(4), AR::ok);
  ASSERT_EQ(open(5), AR::ok);
  ASSERT_EQ(open(6, debits_must_not_exceed_credits, 0, usd_), AR::ok);
  ASSERT_EQ(receive(1, 77, 100, 20001), DR::ok);
  EXPECT_EQ(dd(1).status, S::refused);
  EXPECT_EQ(dd(1).reason, static_cast<std::uint8_t>(sepa::Reason::AC01));
  ASSERT_EQ(receive(2, 2, 100, 20001, sepa::Reason::SL01), DR::ok);
  EXPECT_EQ(dd(2).reason, static_cast<std::uint8_t>(sepa::Reason::SL01));
  ASSERT_EQ(receive(3, 6, 100, 20001), DR::ok);
  EXPECT_EQ(dd(3).reason, static_cast<std::uint8_t>(sepa::Reason::AG01));
  ASSERT_EQ(update(5, std::nullopt, AccountStatus::frozen), AR::ok);
  ASSERT_EQ(receive(4, 5, 100, 20001), DR::ok);
  EXPECT_EQ(dd(4).reason, static_cast<std::uint8_t>(sepa::Reason::AC06));
  // Frozen before the reject cut-off (the day before, at the settlement time): rejected then.
  fund(4, 1'000, 10);
  ASSERT_EQ(receive(5, 4, 100, 20001), DR::ok);
  ASSERT_EQ(update(4, std::nullopt, AccountStatus::frozen), AR::ok);
  advance_to(settle(20001));
  EXPECT_EQ(dd(5).status, S::refused);
  EXPECT_EQ(dd(5).reason, static_cast<std::uint8_t>(sepa::Reason::AC06));
  EXPECT_EQ(clearing(), 0);
  expect_replay_equal();
}

// After the reject cut-off the collection belongs to the clearing system: an account frozen or
// closed after it cannot refuse it any more. At settlement the money has moved between the
// banks, so it is funded from suspense and returned at once (a pacs.004 with AC06 / AC04),
// never "refused" with nothing posted.
TEST_F(DirectDebitTest, AnAccountFrozenAfterTheCutOffReturnsTheCollectionFromSuspense) {
  SetUpAccounts();
  fund(2, 10'000, 1);
  fund(3, 10'000, 2);
  ASSERT_EQ(receive(1, 2, 1'000, 20001), DR::ok);
  ASSERT_EQ(receive(2, 3, 1'000, 20001), DR::ok);
  advance_to(settle(20001) - day_ns);  // the cut-off: both accounts active, nothing rejected
  EXPECT_EQ(dd(1).status, S::received);
  advance_to(settle(20001) - day_ns + hour_ns);
  ASSERT_EQ(update(2, std::nullopt, AccountStatus::frozen), AR::ok);
  advance_to(settle(20001));
  EXPECT_EQ(dd(1).status, S::returned);
  EXPECT_EQ(dd(1).reason, static_cast<std::uint8_t>(sepa::Reason::AC06));
  EXPECT_EQ(dd(2).status, S::paid);
  EXPECT_EQ(available(2), 10'000);  // the frozen customer's money did not move
  EXPECT_EQ(clearing(), 1'000);     // the paid one only
  EXPECT_EQ(suspense(), 0);         // funded and returned: nets to zero
  // A waiting collection whose account is closed or frozen meanwhile is returned with that
  // reason, not AM04.
  ASSERT_EQ(receive(3, 3, 50'000, 20002), DR::ok);
  advance_to(settle(20002));
  ASSERT_EQ(dd(3).status, S::waiting_for_funds);
  ASSERT_EQ(update(3, std::nullopt, AccountStatus::frozen), AR::ok);
  advance_to(dd(3).wait_deadline);
  EXPECT_EQ(dd(3).status, S::returned);
  EXPECT_EQ(dd(3).reason, static_cast<std::uint8_t>(sepa::Reason::AC06));
  EXPECT_EQ(suspense(), 0);
  expect_replay_equal();
}

// A refusal check that runs late (a restart, a test clock jumping over the cut-off) never
// rejects for a change made after the cut-off: the account's journaled timestamp says when.
TEST_F(DirectDebitTest, ALateCutOffCheckDoesNotRejectForAChangeAfterTheCutOff) {
  SetUpAccounts();
  fund(2, 10'000, 1);
  ASSERT_EQ(receive(1, 2, 1'000, 20001), DR::ok);
  advance_to(settle(20001) - day_ns);  // the quiet check at the cut-off (not journaled)
  advance_to(settle(20001) - day_ns + hour_ns);
  ASSERT_EQ(update(2, std::nullopt, AccountStatus::frozen), AR::ok);
  // A restart: the replayed engine runs the cut-off check again, late, and must not reject.
  Engine restarted(EngineOptions{64, 256, 16});
  for (const JournalRecord& r : journal_) restarted.replay(r);
  BatchOutput out;
  restarted.apply(nullptr, 0, settle(20001), &out);
  const DirectDebit* after = restarted.find_direct_debit(ddid(1));
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->status, S::returned);
  EXPECT_EQ(after->reason, static_cast<std::uint8_t>(sepa::Reason::AC06));
}

TEST_F(DirectDebitTest, ARuleChangeRefusesItBeforeSettlementNeverAfter) {
  SetUpAccounts();
  fund(2, 10'000, 1);
  ASSERT_EQ(receive(1, 2, 1'000, 20001), DR::ok);
  ASSERT_EQ(receive(2, 2, 1'000, 20001), DR::ok);
  const auto refuse = [this](std::uint64_t id) {
    Command c;
    c.kind = CommandKind::refuse_direct_debit;
    c.body.direct_debit = DirectDebit{};
    c.body.direct_debit.id = ddid(id);
    c.body.direct_debit.reason = static_cast<std::uint8_t>(sepa::Reason::SL01);
    run({c});
    return out_.results[0].direct_debit_result();
  };
  ASSERT_EQ(refuse(1), DR::ok);
  EXPECT_EQ(dd(1).status, S::refused);
  advance_to(settle(20001));
  EXPECT_EQ(dd(1).status, S::refused);
  EXPECT_EQ(dd(2).status, S::paid);
  EXPECT_EQ(refuse(2), DR::direct_debit_already_settled);
  EXPECT_EQ(refuse(9), DR::direct_debit_not_found);
  EXPECT_EQ(available(2), 9'000);
  expect_replay_equal();
}

TEST_F(DirectDebitTest, AtRiskTheDayBeforeWhenTheBalanceWouldNotCoverIt) {
  SetUpAccounts();
  fund(2, 1'000, 1);
  ASSERT_EQ(receive(1, 2, 4'000, 20003), DR::ok);
  advance_to(settle(20002) - 1);
  EXPECT_FALSE(dd(1).at_risk_checked);
  advance_to(settle(20002));
  EXPECT_TRUE(dd(1).at_risk_checked);
  ASSERT_EQ(out_.records.size(), 1u);
  EXPECT_EQ(out_.records[0].value.direct_debit.change, DirectDebitChange::at_risk);
  EXPECT_EQ(dd(1).missing, 3'000);
  fund(2, 3'000, 2);
  advance_to(settle(20003));
  EXPECT_EQ(dd(1).status, S::paid);
  EXPECT_FALSE(dd(1).late);
  expect_replay_equal();
}

TEST_F(DirectDebitTest, RefundsFollowTheSchemeAndTheirWindows) {
  SetUpAccounts();
  fund(2, 10'000, 1);
  ASSERT_EQ(receive(1, 2, 1'000, 20001), DR::ok);
  ASSERT_EQ(receive(2, 2, 1'000, 20001, sepa::Reason::none, DirectDebitScheme::b2b), DR::ok);
  ASSERT_EQ(receive(3, 2, 1'000, 20001), DR::ok);
  EXPECT_EQ(refund(1, sepa::Reason::MD06), DR::direct_debit_not_paid);
  advance_to(settle(20001));
  ASSERT_EQ(dd(1).status, S::paid);
  EXPECT_EQ(refund(2, sepa::Reason::MD06), DR::refund_not_allowed_for_b2b);
  EXPECT_EQ(refund(9, sepa::Reason::MD06), DR::direct_debit_not_found);
  now_ = settle(20001 + 56);
  ASSERT_EQ(refund(1, sepa::Reason::MD06), DR::ok);
  EXPECT_EQ(dd(1).status, S::refunded);
  EXPECT_EQ(available(2), 10'000 - 2'000);
  now_ = settle(20001 + 57);
  EXPECT_EQ(refund(3, sepa::Reason::MD06), DR::refund_period_over);
  ASSERT_EQ(refund(3, sepa::Reason::MD01), DR::ok);  // unauthorised: 13 months
  EXPECT_EQ(dd(3).reason, static_cast<std::uint8_t>(sepa::Reason::MD01));
  const Sum after = available(2);
  EXPECT_EQ(refund(3, sepa::Reason::MD01), DR::ok);  // a retry: that refund, nothing moves
  EXPECT_EQ(available(2), after);
  EXPECT_EQ(out_.records.size(), 0u);
  expect_balanced();
  expect_replay_equal();
}

// Random collections, credits, debits and clock moves: no collection both paid and returned,
// none returned before its deadline, suspense equal to the waiting amounts, debits = credits,
// and the journal replays to the same state at every step.
TEST_F(DirectDebitTest, RandomDaysKeepTheInvariants) {
  SetUpAccounts();
  std::mt19937_64 rng(16);
  std::uint64_t next_transfer = 100;
  std::uint64_t next_dd = 1;
  for (int step = 0; step < 150 && engine_.transfer_count() < 240; ++step) {
    const int what = static_cast<int>(rng() % 10);
    const std::uint64_t customer = 2 + rng() % 2;
    if (what < 3) {
      const std::int32_t due = sepa::day_of_ns(now_) + 1 + static_cast<std::int32_t>(rng() % 3);
      ASSERT_EQ(receive(next_dd++, customer, 100 + static_cast<std::int64_t>(rng() % 900), due),
                DR::ok);
    } else if (what < 6) {
      fund(customer, 50 + static_cast<std::int64_t>(rng() % 600), next_transfer++);
    } else if (what < 7) {
      apply(single(next_transfer++, customer, 1, 1 + static_cast<std::int64_t>(rng() % 300)));
    } else {
      advance_to(now_ + (rng() % 20) * hour_ns + rng() % 3600 * second_ns);
    }
    Sum waiting = 0;
    for (std::uint64_t i = 1; i < next_dd; ++i) {
      const DirectDebit& d = dd(i);
      if (d.status == S::waiting_for_funds) {
        waiting += d.amount;
        EXPECT_LT(now_, d.wait_deadline) << "a collection waits past its deadline";
      }
      const bool paid = engine_.find_transfer(Engine::direct_debit_transfer_id(
                            d.id, Engine::DebitPosting::paid)) != nullptr ||
                        engine_.find_transfer(Engine::direct_debit_transfer_id(
                            d.id, Engine::DebitPosting::paid_late)) != nullptr;
      const Transfer* returned = engine_.find_transfer(
          Engine::direct_debit_transfer_id(d.id, Engine::DebitPosting::returned));
      EXPECT_FALSE(paid && returned != nullptr);
      EXPECT_EQ(paid, d.status == S::paid);
      if (returned != nullptr) {
        EXPECT_GE(returned->timestamp, d.wait_deadline);
      }
    }
    EXPECT_EQ(suspense(), -waiting);
    expect_balanced();
    if (step % 50 == 0) expect_replay_equal(false);
    if (::testing::Test::HasFailure()) break;
  }
  expect_replay_equal(false);
  int late = 0, returned = 0, on_time = 0;
  for (std::uint64_t i = 1; i < next_dd; ++i) {
    late += dd(i).status == S::paid && dd(i).late;
    on_time += dd(i).status == S::paid && !dd(i).late;
    returned += dd(i).status == S::returned;
  }
  EXPECT_GT(late, 0);  // the seed exercises every path
  EXPECT_GT(on_time, 0);
  EXPECT_GT(returned, 0);
}

}  // namespace
}  // namespace ledger::engine::testing
