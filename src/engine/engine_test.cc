// The engine alone: accounts, transfers, holds, expiry, linked chains, capacity, replay.
#include "engine/engine_test_fixture.h"

namespace ledger::engine {
namespace {

using namespace testing;

TEST_F(EngineTest, CreatesAccountsAndAnswersRetriesPrecisely) {
  EXPECT_EQ(open(1), AR::ok);
  EXPECT_EQ(open(1), AR::exists);
  EXPECT_EQ(open(1, 0), AR::exists_with_different_flags);
  EXPECT_EQ(open(1, debits_must_not_exceed_credits, 5), AR::exists_with_different_overdraft_limit);
  EXPECT_EQ(open(1, debits_must_not_exceed_credits, 0, usd_), AR::exists_with_different_currency);
  EXPECT_EQ(engine_.account_count(), 1u);
}

TEST_F(EngineTest, RejectsInvalidAccounts) {
  EXPECT_EQ(open(0), AR::id_must_not_be_zero);
  EXPECT_EQ(open(5, debits_must_not_exceed_credits | credits_must_not_exceed_debits),
            AR::flags_are_mutually_exclusive);
  EXPECT_EQ(open(5, 1u << 7), AR::flags_are_mutually_exclusive);
  EXPECT_EQ(open(5, debits_must_not_exceed_credits, -1), AR::overdraft_limit_must_not_be_negative);
  EXPECT_EQ(engine_.account_count(), 0u);
}

TEST_F(EngineTest, AccountCapacityIsALimitNotACrash) {
  for (std::uint64_t n = 1; n <= 64; ++n) ASSERT_EQ(open(n), AR::ok);
  EXPECT_EQ(open(65), AR::account_capacity_exhausted);
}

TEST_F(EngineTest, SinglePhaseTransferDebitsOneAndCreditsTheOther) {
  SetUpAccounts();
  fund(2, 1000, 1);
  ASSERT_EQ(apply(single(2, 2, 3, 300)), R::ok);
  EXPECT_EQ(account(2).credits_posted, 1000);
  EXPECT_EQ(account(2).debits_posted, 300);
  EXPECT_EQ(account(3).credits_posted, 300);
  EXPECT_EQ(account(1).debits_posted, 1000);
  expect_balanced();
}

TEST_F(EngineTest, RejectsOverdraftAndHonoursTheOverdraftLimit) {
  SetUpAccounts();
  fund(2, 100, 1);
  EXPECT_EQ(apply(single(2, 2, 3, 101)), R::exceeds_available);
  EXPECT_EQ(update(2, 50, std::nullopt), AR::ok);
  EXPECT_EQ(available(2), 150);
  EXPECT_EQ(apply(single(3, 2, 3, 150)), R::ok);
  EXPECT_EQ(available(2), 0);
  EXPECT_EQ(apply(single(4, 2, 3, 1)), R::exceeds_available);
  EXPECT_EQ(update(2, 0, std::nullopt), AR::ok);  // lowering below usage is allowed
  EXPECT_EQ(available(2), -50);
  EXPECT_EQ(apply(single(5, 2, 3, 1)), R::exceeds_available);
  EXPECT_EQ(update(2, -1, std::nullopt), AR::overdraft_limit_must_not_be_negative);
}

TEST_F(EngineTest, CreditsMustNotExceedDebitsIsTheMirror) {
  ASSERT_EQ(open(1, 0), AR::ok);
  ASSERT_EQ(open(4, credits_must_not_exceed_debits), AR::ok);
  EXPECT_EQ(apply(single(1, 1, 4, 1)), R::exceeds_available);
  ASSERT_EQ(apply(single(2, 4, 1, 10)), R::ok);
  EXPECT_EQ(apply(single(3, 1, 4, 10)), R::ok);
  EXPECT_EQ(apply(single(4, 1, 4, 1)), R::exceeds_available);
}

TEST_F(EngineTest, RejectsMalformedTransfersWithSpecificReasons) {
  SetUpAccounts();
  fund(2, 1000, 1);
  Transfer t = single(0, 2, 3, 1);
  EXPECT_EQ(apply(t), R::id_must_not_be_zero);
  t = single(10, 2, 3, 1);
  t.flags = flag_pending | flag_post_pending;
  EXPECT_EQ(apply(t), R::flags_are_mutually_exclusive);
  t = single(11, 2, 3, 1);
  t.flags = flag_expiry;  // engine-only flag
  EXPECT_EQ(apply(t), R::flags_are_mutually_exclusive);
  t = single(12, 2, 3, 1);
  t.flags = flag_allow_over_capture;
  EXPECT_EQ(apply(t), R::over_capture_requires_post_pending);
  EXPECT_EQ(apply(resolve(13, 0, flag_post_pending)), R::pending_id_required);
  EXPECT_EQ(apply(resolve(14, 14, flag_void_pending)), R::pending_id_must_differ);
  t = single(15, 2, 3, 1);
  t.pending_id = tid(1);
  EXPECT_EQ(apply(t), R::pending_id_must_be_zero);
  t = single(16, 2, 3, 1);
  t.timeout_s = 5;
  EXPECT_EQ(apply(t), R::timeout_reserved_for_pending);
  EXPECT_EQ(apply(single(17, 2, 3, 0)), R::amount_must_be_positive);
  EXPECT_EQ(apply(single(18, 2, 3, -5)), R::amount_must_be_positive);
  EXPECT_EQ(apply(resolve(19, 1, flag_post_pending, -1)), R::amount_must_be_positive);
  EXPECT_EQ(apply(single(20, 2, 2, 1)), R::accounts_must_be_different);
  EXPECT_EQ(apply(single(21, 9, 3, 1)), R::debit_account_not_found);
  EXPECT_EQ(apply(single(22, 2, 9, 1)), R::credit_account_not_found);
  EXPECT_EQ(apply(single(23, 2, 3, 1, usd_)), R::currency_mismatch);
  ASSERT_EQ(open(5, 0, 0, usd_), AR::ok);
  EXPECT_EQ(apply(single(24, 5, 3, 1, usd_)), R::currency_mismatch);
  EXPECT_EQ(account(2).debits_posted, 0);
  expect_balanced();
}

TEST_F(EngineTest, FrozenAccountsRefuseDebitsButTakeCreditsAndForce) {
  SetUpAccounts();
  fund(2, 100, 1);
  ASSERT_EQ(update(2, std::nullopt, AccountStatus::frozen), AR::ok);
  EXPECT_EQ(apply(single(2, 2, 3, 10)), R::account_frozen);
  EXPECT_EQ(apply(single(3, 3, 2, 0)), R::amount_must_be_positive);
  fund(3, 5, 4);
  EXPECT_EQ(apply(single(5, 3, 2, 5)), R::ok);  // credit to a frozen account
  Transfer forced = single(6, 2, 3, 500);
  forced.flags = flag_force;  // network advice: past frozen and past the balance
  EXPECT_EQ(apply(forced), R::ok);
  EXPECT_EQ(available(2), 105 - 500);
  ASSERT_EQ(update(2, std::nullopt, AccountStatus::active), AR::ok);
  EXPECT_EQ(apply(single(7, 2, 3, 1)), R::exceeds_available);
  expect_balanced();
}

// Running totals are 128 bits: totals past int64 are normal, and no sequence of transfers
// locks an account (the largest amount there and back used to leave both unusable).
TEST_F(EngineTest, TotalsPastInt64LockNothing) {
  ASSERT_EQ(open(1, 0), AR::ok);
  ASSERT_EQ(open(2, 0), AR::ok);
  ASSERT_EQ(apply(single(1, 1, 2, max64)), R::ok);
  ASSERT_EQ(apply(single(2, 2, 1, max64)), R::ok);  // and back: both balances are 0
  EXPECT_EQ(apply(single(3, 1, 2, 1)), R::ok);
  EXPECT_EQ(apply(single(4, 2, 1, 1)), R::ok);
  EXPECT_EQ(account(1).debits_posted, Sum{max64} + 1);
  EXPECT_EQ(account(1).credits_posted, Sum{max64} + 1);
  Transfer h = single(5, 2, 1, max64);
  h.flags = flag_pending;
  ASSERT_EQ(apply(single(6, 1, 2, max64)), R::ok);
  EXPECT_EQ(apply(h), R::ok);  // pending plus posted past int64
  EXPECT_EQ(account(2).debits_pending + account(2).debits_posted, 2 * Sum{max64} + 1);
  expect_balanced();
  Engine rebuilt(EngineOptions{64, 256, 16});
  for (const JournalRecord& record : journal_) rebuilt.replay(record);
  EXPECT_EQ(rebuilt.state_hash(), engine_.state_hash());
}

TEST_F(EngineTest, OverCaptureOfAFrozenAccountIsRefusedUnlessForced) {
  SetUpAccounts();
  fund(2, 1000, 1);
  ASSERT_EQ(apply(hold(2, 2, 3, 100)), R::ok);
  ASSERT_EQ(update(2, std::nullopt, AccountStatus::frozen), AR::ok);
  // The part above the hold is a new debit: refused like a transfer from a frozen account.
  EXPECT_EQ(apply(resolve(3, 2, flag_post_pending | flag_allow_over_capture, 150)),
            R::account_frozen);
  EXPECT_EQ(apply(resolve(4, 2, flag_post_pending, 80)), R::ok);  // within the hold: fine
  ASSERT_EQ(apply(hold(5, 2, 3, 100)), R::account_frozen);
  ASSERT_EQ(update(2, std::nullopt, AccountStatus::active), AR::ok);
  ASSERT_EQ(apply(hold(6, 2, 3, 100)), R::ok);
  ASSERT_EQ(update(2, std::nullopt, AccountStatus::frozen), AR::ok);
  EXPECT_EQ(apply(resolve(7, 6, flag_post_pending | flag_allow_over_capture | flag_force, 150)),
            R::ok);  // a network's forced capture
  expect_balanced();
}

TEST_F(EngineTest, RetriesAreIdempotentAndConflictsNameTheField) {
  SetUpAccounts();
  fund(2, 1000, 1);
  Transfer t = single(2, 2, 3, 100);
  t.reference_a = 1;
  t.reference_b = 2;
  t.reference_32 = 3;
  t.code = TransferCode::fee;
  ASSERT_EQ(apply(t), R::ok);
  EXPECT_EQ(apply(t), R::exists);
  EXPECT_EQ(out_.results[0].value.transfer.timestamp, engine_.find_transfer(tid(2))->timestamp);
  EXPECT_EQ(account(2).debits_posted, 100);  // applied once
  const auto differ = [&](auto change, R expected) {
    Transfer u = t;
    change(u);
    EXPECT_EQ(apply(u), expected) << to_string(expected);
  };
  differ([](Transfer& u) { u.flags = flag_pending; }, R::exists_with_different_flags);
  differ([](Transfer& u) { u.debit_account_id = acct(1); },
         R::exists_with_different_debit_account_id);
  differ([](Transfer& u) { u.credit_account_id = acct(1); },
         R::exists_with_different_credit_account_id);
  differ([](Transfer& u) { u.amount = 101; }, R::exists_with_different_amount);
  differ([this](Transfer& u) { u.currency = usd_; }, R::exists_with_different_currency);
  differ([](Transfer& u) { u.pending_id = tid(1); }, R::exists_with_different_pending_id);
  differ([](Transfer& u) { u.timeout_s = 1; }, R::exists_with_different_timeout);
  differ([](Transfer& u) { u.code = TransferCode::internal; }, R::exists_with_different_code);
  differ([](Transfer& u) { u.reference_a = 9; }, R::exists_with_different_reference_a);
  differ([](Transfer& u) { u.reference_b = 9; }, R::exists_with_different_reference_b);
  differ([](Transfer& u) { u.reference_32 = 9; }, R::exists_with_different_reference_32);
}

TEST_F(EngineTest, ARejectedIdGetsTheSameRejectionForever) {
  SetUpAccounts();
  EXPECT_EQ(apply(single(5, 2, 3, 100)), R::exceeds_available);
  fund(2, 1000, 1);  // now it would pass, but the id is spent
  EXPECT_EQ(apply(single(5, 2, 3, 100)), R::exceeds_available);
  EXPECT_EQ(account(2).debits_posted, 0);
  EXPECT_EQ(apply(single(5, 2, 3, 99)), R::exists_with_different_amount);
}

TEST_F(EngineTest, HoldsReduceAvailableAndPostInFullOrPart) {
  SetUpAccounts();
  fund(2, 1000, 1);
  ASSERT_EQ(apply(hold(2, 2, 3, 600)), R::ok);
  EXPECT_EQ(account(2).debits_pending, 600);
  EXPECT_EQ(account(3).credits_pending, 600);
  EXPECT_EQ(available(2), 400);
  EXPECT_EQ(apply(hold(3, 2, 3, 401)), R::exceeds_available);
  ASSERT_EQ(apply(resolve(4, 2, flag_post_pending, 250)), R::ok);  // partial: the rest is released
  EXPECT_EQ(account(2).debits_pending, 0);
  EXPECT_EQ(account(2).debits_posted, 250);
  EXPECT_EQ(account(3).credits_posted, 250);
  EXPECT_EQ(engine_.find_transfer(tid(2))->pending_state, PendingState::posted);
  EXPECT_EQ(engine_.find_transfer(tid(4))->amount_effective, 250);
  EXPECT_EQ(apply(resolve(5, 2, flag_post_pending)), R::pending_already_posted);
  EXPECT_EQ(apply(resolve(6, 2, flag_void_pending)), R::pending_already_posted);
  ASSERT_EQ(apply(hold(7, 2, 3, 100)), R::ok);
  ASSERT_EQ(apply(resolve(8, 7, flag_post_pending)), R::ok);  // amount 0: the full hold
  EXPECT_EQ(account(2).debits_posted, 350);
  expect_balanced();
}

TEST_F(EngineTest, VoidReleasesAHoldOnce) {
  SetUpAccounts();
  fund(2, 100, 1);
  ASSERT_EQ(apply(hold(2, 2, 3, 100)), R::ok);
  ASSERT_EQ(apply(resolve(3, 2, flag_void_pending)), R::ok);
  EXPECT_EQ(available(2), 100);
  EXPECT_EQ(account(2).open_pending, 0u);
  EXPECT_EQ(apply(resolve(4, 2, flag_void_pending)), R::pending_already_voided);
  EXPECT_EQ(apply(resolve(5, 2, flag_post_pending)), R::pending_already_voided);
}

TEST_F(EngineTest, APartialVoidReleasesPartOfTheHold) {
  SetUpAccounts();
  fund(2, 100, 1);
  ASSERT_EQ(apply(hold(2, 2, 3, 80)), R::ok);
  EXPECT_EQ(apply(resolve(3, 2, flag_void_pending, 81)), R::amount_exceeds_pending);
  ASSERT_EQ(apply(resolve(4, 2, flag_void_pending, 30)), R::ok);
  EXPECT_EQ(account(2).debits_pending, 50);
  EXPECT_EQ(engine_.find_transfer(tid(2))->pending_state, PendingState::open);
  EXPECT_EQ(engine_.find_transfer(tid(2))->amount_effective, 50);
  EXPECT_EQ(engine_.find_transfer(tid(4))->amount_effective, 30);
  ASSERT_EQ(apply(resolve(5, 2, flag_post_pending)), R::ok);  // posts what is left
  EXPECT_EQ(account(2).debits_posted, 50);
  EXPECT_EQ(account(2).debits_pending, 0);
  Engine rebuilt(EngineOptions{64, 256, 16});
  for (const JournalRecord& record : journal_) rebuilt.replay(record);
  EXPECT_EQ(rebuilt.state_hash(), engine_.state_hash());
  expect_balanced();
}

TEST_F(EngineTest, PostingMoreThanHeldNeedsOverCaptureAndBalance) {
  SetUpAccounts();
  fund(2, 100, 1);
  ASSERT_EQ(apply(hold(2, 2, 3, 50)), R::ok);
  EXPECT_EQ(apply(resolve(3, 2, flag_post_pending, 60)), R::amount_exceeds_pending);
  EXPECT_EQ(apply(resolve(4, 2, flag_post_pending | flag_allow_over_capture, 101)),
            R::exceeds_available);
  EXPECT_EQ(apply(resolve(5, 2, flag_post_pending | flag_allow_over_capture, 60)), R::ok);
  EXPECT_EQ(account(2).debits_posted, 60);
  ASSERT_EQ(apply(hold(6, 2, 3, 40)), R::ok);
  EXPECT_EQ(apply(resolve(7, 6, flag_post_pending | flag_allow_over_capture | flag_force, 500)),
            R::ok);  // a network completion past the balance
  EXPECT_EQ(available(2), 100 - 560);
  expect_balanced();
}

TEST_F(EngineTest, ResolutionsCheckTheHold) {
  SetUpAccounts();
  fund(2, 100, 1);
  EXPECT_EQ(apply(resolve(2, 77, flag_post_pending)), R::pending_not_found);
  EXPECT_EQ(apply(resolve(3, 1, flag_void_pending)), R::pending_is_not_pending);
  ASSERT_EQ(apply(hold(4, 2, 3, 10)), R::ok);
  Transfer wrong = resolve(5, 4, flag_post_pending);
  wrong.debit_account_id = acct(3);
  EXPECT_EQ(apply(wrong), R::pending_has_different_debit_account_id);
  wrong = resolve(6, 4, flag_post_pending);
  wrong.credit_account_id = acct(2);
  EXPECT_EQ(apply(wrong), R::pending_has_different_credit_account_id);
  wrong = resolve(7, 4, flag_post_pending);
  wrong.currency = usd_;
  EXPECT_EQ(apply(wrong), R::currency_mismatch);
  EXPECT_EQ(apply(hold(8, 2, 3, 100)), R::exceeds_available);
  EXPECT_EQ(apply(resolve(9, 8, flag_void_pending)), R::pending_is_not_pending);  // rejected hold
}

TEST_F(EngineTest, HoldsExpireOnTheLogicalClock) {
  SetUpAccounts();
  fund(2, 100, 1);
  ASSERT_EQ(apply(hold(2, 2, 3, 70, 10)), R::ok);
  const std::uint64_t placed = engine_.find_transfer(tid(2))->timestamp;
  now_ = placed + 10 * second_ns - 1;
  run({});
  EXPECT_TRUE(out_.records.empty());
  EXPECT_EQ(available(2), 30);
  now_ = placed + 10 * second_ns;
  run({});
  ASSERT_EQ(out_.records.size(), 1u);
  const Transfer& expiry = out_.records[0].value.transfer;
  EXPECT_EQ(expiry.id, Engine::expiry_id(tid(2), 0));
  EXPECT_EQ(expiry.pending_id, tid(2));
  EXPECT_EQ(expiry.code, TransferCode::expiry);
  EXPECT_EQ(expiry.flags, flag_void_pending | flag_expiry);
  EXPECT_EQ(expiry.amount_effective, 70);
  EXPECT_EQ(available(2), 100);
  EXPECT_EQ(engine_.find_transfer(tid(2))->pending_state, PendingState::expired);
  EXPECT_EQ(apply(resolve(3, 2, flag_post_pending)), R::pending_expired);
  EXPECT_EQ(apply(resolve(4, 2, flag_void_pending)), R::pending_expired);
  EXPECT_EQ(engine_.open_pending_count(), 0u);
  expect_balanced();
}

TEST_F(EngineTest, PostedHoldsDoNotExpire) {
  SetUpAccounts();
  fund(2, 100, 1);
  ASSERT_EQ(apply(hold(2, 2, 3, 70, 1)), R::ok);
  ASSERT_EQ(apply(resolve(3, 2, flag_post_pending)), R::ok);
  now_ += 5 * second_ns;
  run({});
  EXPECT_TRUE(out_.records.empty());
  EXPECT_EQ(account(2).debits_posted, 70);
}

TEST_F(EngineTest, LinkedChainSucceedsAsOne) {
  SetUpAccounts();
  fund(2, 100, 1);
  Transfer a = hold(2, 2, 3, 60);
  a.flags |= flag_linked;
  Transfer b = resolve(3, 2, flag_post_pending | flag_linked, 50);
  Transfer c = single(4, 3, 1, 50);
  run({command(a), command(b), command(c)});
  for (const auto& r : out_.results) EXPECT_EQ(r.transfer_result(), R::ok);
  EXPECT_EQ(account(2).debits_posted, 50);
  EXPECT_EQ(account(3).debits_posted, 50);
  EXPECT_EQ(out_.records.size(), 3u);
  run({command(a), command(b), command(c)});
  for (const auto& r : out_.results) EXPECT_EQ(r.transfer_result(), R::exists);
}

TEST_F(EngineTest, LinkedChainFailingAtEachLinkChangesNothing) {
  for (std::size_t failing = 0; failing < 4; ++failing) {
    Engine engine(EngineOptions{16, 64, 16});
    BatchOutput out;
    std::vector<Command> setup;
    for (std::uint64_t n = 1; n <= 3; ++n) {
      Command c;
      c.kind = CommandKind::create_account;
      c.body.account = Account{};
      c.body.account.id = acct(n);
      c.body.account.currency = eur_;
      c.body.account.flags = n == 1 ? 0 : debits_must_not_exceed_credits;
      setup.push_back(c);
    }
    setup.push_back(command(single(1, 1, 2, 100)));
    engine.apply(setup.data(), setup.size(), now_, &out);
    const std::uint64_t before = engine.state_hash();
    std::vector<Command> chain;
    for (std::uint64_t k = 0; k < 4; ++k) {
      Transfer t = single(10 + k, 2, 3, k == failing ? 1000 : 10);
      if (k < 3) t.flags = flag_linked;
      chain.push_back(command(t));
    }
    engine.apply(chain.data(), chain.size(), now_, &out);
    for (std::size_t k = 0; k < 4; ++k) {
      const R expected = k == failing ? R::exceeds_available : R::linked_event_failed;
      EXPECT_EQ(out.results[k].transfer_result(), expected) << "failing=" << failing << " k=" << k;
      EXPECT_EQ(out.results[k].failed_link, failing);
    }
    EXPECT_EQ(engine.find_account(acct(2))->debits_posted, 0);
    EXPECT_EQ(out.records.size(), 4u);  // four remembered rejections, no effects
    // A retry of the failed chain gets the same answers and still changes nothing.
    engine.apply(chain.data(), chain.size(), now_, &out);
    for (std::size_t k = 0; k < 4; ++k) {
      const R expected = k == failing ? R::exceeds_available : R::linked_event_failed;
      EXPECT_EQ(out.results[k].transfer_result(), expected);
    }
    EXPECT_TRUE(out.records.empty());
    EXPECT_NE(engine.state_hash(), before);  // ids remembered
    EXPECT_EQ(engine.find_account(acct(2))->debits_posted, 0);
  }
}

TEST_F(EngineTest, LinkedChainRollsBackHoldsAndPosts) {
  SetUpAccounts();
  fund(2, 100, 1);
  ASSERT_EQ(apply(hold(2, 2, 3, 40)), R::ok);
  Transfer post = resolve(3, 2, flag_post_pending | flag_linked);
  Transfer new_hold = hold(4, 2, 3, 30);
  new_hold.flags |= flag_linked;
  Transfer bad = single(5, 2, 9, 1);
  run({command(post), command(new_hold), command(bad)});
  EXPECT_EQ(out_.results[2].transfer_result(), R::credit_account_not_found);
  EXPECT_EQ(engine_.find_transfer(tid(2))->pending_state, PendingState::open);
  EXPECT_EQ(account(2).debits_pending, 40);
  EXPECT_EQ(account(2).debits_posted, 0);
  EXPECT_EQ(account(2).open_pending, 1u);
  EXPECT_EQ(engine_.open_pending_count(), 1u);
  EXPECT_EQ(apply(resolve(6, 2, flag_void_pending)), R::ok);  // the hold still works
  expect_balanced();
}

TEST_F(EngineTest, ChainLeftOpenAtTheEndOfABatchIsRejected) {
  SetUpAccounts();
  fund(2, 100, 1);
  Transfer a = single(2, 2, 3, 1);
  a.flags = flag_linked;
  run({command(a)});
  EXPECT_EQ(out_.results[0].transfer_result(), R::linked_event_chain_open);
  EXPECT_EQ(engine_.find_transfer(tid(2)), nullptr);  // not remembered: fix and resend
  EXPECT_EQ(account(2).debits_posted, 0);
}

TEST_F(EngineTest, ClosingNeedsZeroBalanceAndNoHolds) {
  SetUpAccounts();
  fund(2, 100, 1);
  EXPECT_EQ(update(2, std::nullopt, AccountStatus::closed), AR::account_balance_not_zero);
  ASSERT_EQ(apply(hold(2, 2, 1, 100)), R::ok);
  EXPECT_EQ(update(2, std::nullopt, AccountStatus::closed), AR::account_has_pending_transfers);
  ASSERT_EQ(apply(resolve(3, 2, flag_post_pending)), R::ok);
  EXPECT_EQ(update(2, std::nullopt, AccountStatus::closed), AR::ok);
  EXPECT_EQ(apply(single(4, 1, 2, 1)), R::account_closed);
  EXPECT_EQ(update(2, std::nullopt, AccountStatus::active), AR::account_closed);
  EXPECT_EQ(update(9, 1, std::nullopt), AR::account_not_found);
}

TEST_F(EngineTest, TimestampsStrictlyIncreaseEvenWhenTheClockDoesNot) {
  SetUpAccounts();
  fund(2, 100, 1);
  const std::uint64_t first = engine_.find_transfer(tid(1))->timestamp;
  now_ -= 500 * second_ns;  // a clock step backwards
  ASSERT_EQ(apply(single(2, 2, 3, 1)), R::ok);
  ASSERT_EQ(apply(single(3, 2, 3, 1)), R::ok);
  EXPECT_GT(engine_.find_transfer(tid(2))->timestamp, first);
  EXPECT_GT(engine_.find_transfer(tid(3))->timestamp, engine_.find_transfer(tid(2))->timestamp);
}

TEST_F(EngineTest, LookupsAnswerInTheSameStream) {
  SetUpAccounts();
  fund(2, 100, 1);
  Command a;
  a.kind = CommandKind::lookup_account;
  a.body.account_id = acct(2);
  Command t;
  t.kind = CommandKind::lookup_transfer;
  t.body.transfer_id = tid(1);
  Command missing;
  missing.kind = CommandKind::lookup_transfer;
  missing.body.transfer_id = tid(999);
  run({a, t, missing});
  EXPECT_EQ(out_.results[0].code, 0);
  EXPECT_EQ(out_.results[0].value.account.credits_posted, 100);
  EXPECT_EQ(out_.results[1].value.transfer.amount, 100);
  EXPECT_EQ(out_.results[2].code, 1);
  EXPECT_TRUE(out_.records.empty());
}

TEST_F(EngineTest, CapacityKeepsRoomToExpireEveryHold) {
  Engine small(EngineOptions{4, 8, 4});
  BatchOutput out;
  std::vector<Command> commands;
  for (std::uint64_t n = 1; n <= 2; ++n) {
    Command c;
    c.kind = CommandKind::create_account;
    c.body.account = Account{};
    c.body.account.id = acct(n);
    c.body.account.currency = eur_;
    commands.push_back(c);
  }
  for (std::uint64_t k = 1; k <= 6; ++k) {
    Transfer h = single(k, 1, 2, 1, eur_);
    h.flags = flag_pending;
    h.timeout_s = 1;
    commands.push_back(command(h));
  }
  small.apply(commands.data(), commands.size(), now_, &out);
  int accepted = 0;
  for (std::size_t i = 2; i < out.results.size(); ++i) {
    accepted += out.results[i].transfer_result() == R::ok;
    if (out.results[i].transfer_result() != R::ok) {
      EXPECT_EQ(out.results[i].transfer_result(), R::transfer_capacity_exhausted);
    }
  }
  EXPECT_EQ(accepted, 4);  // 4 holds + 4 reserved resolutions = 8
  small.apply(nullptr, 0, now_ + 2 * second_ns, &out);
  EXPECT_EQ(out.records.size(), 4u);  // every hold could expire
  EXPECT_EQ(small.open_pending_count(), 0u);
}

TEST_F(EngineTest, ReplayingTheJournalRebuildsTheSameState) {
  SetUpAccounts();
  fund(2, 1000, 1);
  ASSERT_EQ(apply(hold(2, 2, 3, 100, 5)), R::ok);
  ASSERT_EQ(apply(hold(3, 2, 3, 100, 50)), R::ok);
  ASSERT_EQ(apply(resolve(4, 3, flag_post_pending, 60)), R::ok);
  ASSERT_EQ(apply(single(5, 2, 3, 5000)), R::exceeds_available);
  ASSERT_EQ(update(2, 300, AccountStatus::frozen), AR::ok);
  now_ += 6 * second_ns;
  run({});  // expires hold 2
  Engine rebuilt(EngineOptions{64, 256, 16});
  for (const JournalRecord& record : journal_) rebuilt.replay(record);
  EXPECT_EQ(rebuilt.state_hash(), engine_.state_hash());
  EXPECT_EQ(rebuilt.open_pending_count(), engine_.open_pending_count());
  EXPECT_EQ(rebuilt.last_timestamp(), engine_.last_timestamp());
  // And the rebuilt engine still answers retries with the original results.
  Transfer retry = single(5, 2, 3, 5000);
  Command c = command(retry);
  rebuilt.apply(&c, 1, now_, &out_);
  EXPECT_EQ(out_.results[0].transfer_result(), R::exceeds_available);
}

}  // namespace
}  // namespace ledger::engine
