#include "engine/engine.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <vector>

namespace ledger::engine {
namespace {

constexpr std::int64_t max64 = std::numeric_limits<std::int64_t>::max();
constexpr std::uint64_t second_ns = 1'000'000'000;
using R = TransferResult;
using AR = AccountResult;

AccountId acct(std::uint64_t n) { return AccountId{{0, n}}; }
TransferId tid(std::uint64_t n) { return n == 0 ? TransferId{} : TransferId{{7, n}}; }

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : engine_(EngineOptions{64, 256}) {}

  Currency eur_ = *currency_from_alpha("EUR");
  Currency usd_ = *currency_from_alpha("USD");
  Engine engine_;
  BatchOutput out_;
  std::uint64_t now_ = 1'000 * second_ns;
  std::vector<JournalRecord> journal_;  // every record so far, for replay checks

  void run(const std::vector<Command>& commands) {
    engine_.apply(commands.data(), commands.size(), now_, &out_);
    journal_.insert(journal_.end(), out_.records.begin(), out_.records.end());
  }

  AR open(std::uint64_t n, std::uint16_t flags = debits_must_not_exceed_credits,
          std::int64_t overdraft = 0, Currency currency = {}) {
    Command c;
    c.kind = CommandKind::create_account;
    c.body.account = Account{};
    c.body.account.id = acct(n);
    c.body.account.holder_id = HolderId{{0, 99}};
    c.body.account.currency = currency.code == 0 ? eur_ : currency;
    c.body.account.flags = flags;
    c.body.account.overdraft_limit = overdraft;
    run({c});
    return out_.results[0].account_result();
  }

  static Transfer single(std::uint64_t id, std::uint64_t debit, std::uint64_t credit,
                         std::int64_t amount, Currency currency) {
    Transfer t;
    t.id = tid(id);
    t.debit_account_id = acct(debit);
    t.credit_account_id = acct(credit);
    t.amount = amount;
    t.currency = currency;
    return t;
  }
  Transfer single(std::uint64_t id, std::uint64_t debit, std::uint64_t credit,
                  std::int64_t amount) {
    return single(id, debit, credit, amount, eur_);
  }
  Transfer hold(std::uint64_t id, std::uint64_t debit, std::uint64_t credit, std::int64_t amount,
                std::uint32_t timeout_s = 0) {
    Transfer t = single(id, debit, credit, amount);
    t.flags = flag_pending;
    t.timeout_s = timeout_s;
    return t;
  }
  static Transfer resolve(std::uint64_t id, std::uint64_t pending, std::uint16_t flag,
                          std::int64_t amount = 0) {
    Transfer t;
    t.id = tid(id);
    t.pending_id = tid(pending);
    t.flags = flag;
    t.amount = amount;
    return t;
  }
  static Command command(const Transfer& t) {
    Command c;
    c.kind = CommandKind::create_transfer;
    c.body.transfer = t;
    return c;
  }
  R apply(const Transfer& t) {
    run({command(t)});
    return out_.results[0].transfer_result();
  }
  const Account& account(std::uint64_t n) { return *engine_.find_account(acct(n)); }
  std::int64_t available(std::uint64_t n) {
    const Account& a = account(n);
    return a.credits_posted - a.debits_posted - a.debits_pending + a.overdraft_limit;
  }
  AR update(std::uint64_t n, std::optional<std::int64_t> overdraft,
            std::optional<AccountStatus> status) {
    Command c;
    c.kind = CommandKind::update_account;
    c.body.update = AccountUpdate{};
    c.body.update.id = acct(n);
    c.body.update.set_overdraft_limit = overdraft.has_value();
    c.body.update.overdraft_limit = overdraft.value_or(0);
    c.body.update.set_status = status.has_value();
    c.body.update.status = status.value_or(AccountStatus::active);
    run({c});
    return out_.results[0].account_result();
  }
  // A funded customer account n (balance `amount`) drawn from an unlimited settlement account 1.
  void fund(std::uint64_t n, std::int64_t amount, std::uint64_t transfer_id) {
    ASSERT_EQ(apply(single(transfer_id, 1, n, amount)), R::ok);
  }
  void SetUpAccounts() {
    ASSERT_EQ(open(1, 0), AR::ok);  // settlement: no limits
    ASSERT_EQ(open(2), AR::ok);     // customer: no overdraft
    ASSERT_EQ(open(3), AR::ok);
  }
  void expect_balanced() {
    for (const auto& [code, totals] : engine_.totals_by_currency()) {
      EXPECT_TRUE(totals.balanced()) << "currency " << code;
    }
  }
};

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

TEST_F(EngineTest, OverflowAtInt64LimitsIsARejection) {
  ASSERT_EQ(open(1, 0), AR::ok);
  ASSERT_EQ(open(2, 0), AR::ok);
  ASSERT_EQ(apply(single(1, 1, 2, max64)), R::ok);
  EXPECT_EQ(apply(single(2, 1, 2, 1)), R::overflow);
  EXPECT_EQ(account(2).credits_posted, max64);
  EXPECT_EQ(account(1).debits_posted, max64);
  Transfer h = single(3, 2, 1, max64);  // fine: other fields
  EXPECT_EQ(apply(h), R::ok);
  h = single(4, 2, 1, 1);
  h.flags = flag_pending;  // debits_pending + debits_posted would pass int64
  EXPECT_EQ(apply(h), R::overflow);
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
  Engine rebuilt(EngineOptions{64, 256});
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
    Engine engine(EngineOptions{16, 64});
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
  Engine small(EngineOptions{4, 8});
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
  Engine rebuilt(EngineOptions{64, 256});
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

TEST_F(EngineTest, CardsAreCreatedOnceFoundByPanAndBlockedForGood) {
  SetUpAccounts();
  const auto card_command = [](std::uint64_t id, std::uint64_t account, std::uint8_t pan_byte) {
    Command c;
    c.kind = CommandKind::create_card;
    c.body.card = Card{};
    c.body.card.id = id == 0 ? CardId{} : CardId{{0xCA, id}};
    c.body.card.account_id = acct(account);
    std::memset(c.body.card.pan_hash, pan_byte, 32);
    c.body.card.expiry_yymm = 2812;
    return c;
  };
  const auto code = [this](const Command& c) {
    run({c});
    return out_.results[0].card_result();
  };
  EXPECT_EQ(code(card_command(1, 2, 0x11)), CardResult::ok);
  EXPECT_EQ(code(card_command(1, 2, 0x11)), CardResult::exists);
  EXPECT_EQ(code(card_command(1, 3, 0x11)), CardResult::exists_with_different_account_id);
  EXPECT_EQ(code(card_command(1, 2, 0x12)), CardResult::exists_with_different_pan);
  EXPECT_EQ(code(card_command(2, 3, 0x11)), CardResult::card_pan_exists);
  EXPECT_EQ(code(card_command(3, 9, 0x13)), CardResult::card_account_not_found);
  EXPECT_EQ(code(card_command(0, 2, 0x14)), CardResult::id_must_not_be_zero);
  std::uint8_t pan[32];
  std::memset(pan, 0x11, 32);
  ASSERT_NE(engine_.find_card_by_pan(pan), nullptr);
  EXPECT_EQ(engine_.find_card_by_pan(pan)->id, (CardId{{0xCA, 1}}));
  std::memset(pan, 0x99, 32);
  EXPECT_EQ(engine_.find_card_by_pan(pan), nullptr);
  Command update;
  update.kind = CommandKind::update_card;
  update.body.card_update = CardUpdate{};
  update.body.card_update.id = CardId{{0xCA, 1}};
  update.body.card_update.controls.fields = control_daily_limit;
  update.body.card_update.controls.values.daily_limit = 500;
  EXPECT_EQ(code(update), CardResult::ok);
  update.body.card_update.set_status = true;
  update.body.card_update.status = CardStatus::blocked;
  EXPECT_EQ(code(update), CardResult::ok);
  update.body.card_update.status = CardStatus::active;
  EXPECT_EQ(code(update), CardResult::card_blocked);
  update.body.card_update.id = CardId{{0xCA, 7}};
  EXPECT_EQ(code(update), CardResult::card_not_found);
  Engine rebuilt(EngineOptions{64, 256, 16});
  for (const JournalRecord& record : journal_) rebuilt.replay(record);
  const Card* card = rebuilt.find_card(CardId{{0xCA, 1}});
  ASSERT_NE(card, nullptr);
  EXPECT_EQ(card->status, CardStatus::blocked);
  EXPECT_EQ(card->controls.daily_limit, 500);
  std::memset(pan, 0x11, 32);
  EXPECT_EQ(rebuilt.find_card_by_pan(pan), card);
}

class AuthorizationTest : public EngineTest {
 protected:
  void SetUp() override {
    SetUpAccounts();
    fund(2, 1000, 1);
    Command c;
    c.kind = CommandKind::create_card;
    c.body.card = Card{};
    c.body.card.id = CardId{{0xCA, 1}};
    c.body.card.account_id = acct(2);
    std::memset(c.body.card.pan_hash, 0x42, 32);
    c.body.card.expiry_yymm = 2812;
    c.body.card.controls.per_authorization_limit = 500;
    c.body.card.controls.daily_limit = 800;
    c.body.card.controls.daily_count_limit = 3;
    c.body.card.controls.channels = channels_all & ~channel_abroad;
    c.body.card.controls.blocked_mccs[0] = 7995;
    c.body.card.controls.blocked_mcc_count = 1;
    run({c});
    ASSERT_EQ(out_.results[0].card_result(), CardResult::ok);
  }
  Authorization auth(std::uint64_t id, std::int64_t amount) {
    Authorization a;
    a.id = tid(1000 + id);
    std::memset(a.pan_hash, 0x42, 32);
    a.amount = amount;
    a.currency = eur_;
    a.mcc = 5411;
    a.today_yymm = 2611;
    a.channels = channel_contactless;
    a.hold_timeout_s = 7 * 24 * 3600;
    return a;
  }
  CommandResult authorize(const Authorization& a) {
    Command c;
    c.kind = CommandKind::authorize;
    c.body.authorization = a;
    run({c});
    return out_.results[0];
  }
  R decision(const Authorization& a) { return authorize(a).transfer_result(); }
};

TEST_F(AuthorizationTest, DecidesInTheDocumentedOrder) {
  Authorization a = auth(1, 100);
  std::memset(a.pan_hash, 0x43, 32);
  EXPECT_EQ(decision(a), R::card_unknown);
  a = auth(2, 100);
  a.today_yymm = 2901;
  EXPECT_EQ(decision(a), R::card_expired);
  a = auth(3, 100);
  a.expiry_yymm = 2811;  // DE14 does not match the card
  EXPECT_EQ(decision(a), R::card_expired);
  a = auth(4, 100);
  a.channels = channel_online | channel_abroad;
  EXPECT_EQ(decision(a), R::card_channel_not_allowed);
  a = auth(5, 100);
  a.mcc = 7995;
  EXPECT_EQ(decision(a), R::card_mcc_blocked);
  EXPECT_EQ(decision(auth(6, 501)), R::card_limit_exceeded);  // per authorization
  a = auth(7, 100);
  a.currency = usd_;
  EXPECT_EQ(decision(a), R::currency_mismatch);
  EXPECT_EQ(account(2).debits_pending, 0);  // nothing held by any decline
}

TEST_F(AuthorizationTest, ApprovesWithAHoldAndAnswersRepeatsWithTheOriginal) {
  const CommandResult approved = authorize(auth(1, 300));
  ASSERT_EQ(approved.transfer_result(), R::ok);
  EXPECT_EQ(approved.value.transfer.amount_effective, 300);
  EXPECT_EQ(approved.value.transfer.code, TransferCode::card_authorization);
  EXPECT_EQ(approved.value.transfer.credit_account_id, Engine::settlement_account_id(eur_));
  EXPECT_EQ(account(2).debits_pending, 300);
  EXPECT_NE(engine_.find_account(Engine::settlement_account_id(eur_)), nullptr);
  EXPECT_EQ(decision(auth(1, 300)), R::exists);  // a repeat: no second hold
  EXPECT_EQ(account(2).debits_pending, 300);
  Authorization other_card = auth(9, 10);
  std::memset(other_card.pan_hash, 0x43, 32);
  EXPECT_EQ(decision(other_card), R::card_unknown);
  EXPECT_EQ(decision(other_card), R::card_unknown);  // declines are remembered too
  expect_balanced();
}

TEST_F(AuthorizationTest, DailyAmountAndCountLimitsAndPartialApproval) {
  ASSERT_EQ(decision(auth(1, 400)), R::ok);
  ASSERT_EQ(decision(auth(2, 400)), R::ok);
  EXPECT_EQ(decision(auth(3, 100)), R::card_limit_exceeded);  // 900 > 800 today
  // A reversal (void) gives the amount back to the daily limit.
  ASSERT_EQ(apply(resolve(50, 1002, flag_void_pending)), R::ok);
  EXPECT_EQ(engine_.card_spending(CardId{{0xCA, 1}}, now_).today, 400);
  ASSERT_EQ(decision(auth(4, 100)), R::ok);  // 2 approvals stand today (the void took one back)
  ASSERT_EQ(decision(auth(5, 10)), R::ok);   // the 3rd of 3 allowed
  EXPECT_EQ(decision(auth(6, 10)), R::card_count_limit_exceeded);
  EXPECT_EQ(decision(auth(4, 100)), R::exists);
}

TEST_F(AuthorizationTest, InsufficientFundsOrAPartialApproval) {
  Command lift;
  lift.kind = CommandKind::update_card;
  lift.body.card_update = CardUpdate{};
  lift.body.card_update.id = CardId{{0xCA, 1}};
  lift.body.card_update.controls.fields = control_per_authorization_limit | control_daily_limit |
                                          control_daily_count_limit;  // all to 0: no limits
  run({lift});
  EXPECT_EQ(decision(auth(1, 1500)), R::exceeds_available);
  Authorization partial = auth(2, 1500);
  partial.partial_allowed = true;
  const CommandResult r = authorize(partial);
  ASSERT_EQ(r.transfer_result(), R::ok);
  EXPECT_EQ(r.value.transfer.amount, 1500);
  EXPECT_EQ(r.value.transfer.amount_effective, 1000);  // all that was available
  EXPECT_EQ(available(2), 0);
  Authorization advice = auth(3, 50);
  advice.force = true;  // the network approved in our place: recorded past the balance
  EXPECT_EQ(decision(advice), R::ok);
  EXPECT_EQ(available(2), -50);
  expect_balanced();
}

TEST_F(AuthorizationTest, ControlsChangesMergeOnTheEngineThread) {
  // Two changes prepared from the same old state, each naming one control: both stay.
  Command limit;
  limit.kind = CommandKind::update_card;
  limit.body.card_update = CardUpdate{};
  limit.body.card_update.id = CardId{{0xCA, 1}};
  limit.body.card_update.controls.fields = control_daily_limit;
  limit.body.card_update.controls.values.daily_limit = 700;
  Command mccs = limit;
  mccs.body.card_update.controls = CardControlsPatch{};
  mccs.body.card_update.controls.fields = control_blocked_mccs;
  mccs.body.card_update.controls.values.blocked_mcc_count = 2;
  mccs.body.card_update.controls.values.blocked_mccs[0] = 5812;
  mccs.body.card_update.controls.values.blocked_mccs[1] = 4829;
  mccs.body.card_update.controls.channels_off = channel_atm;
  run({limit, mccs});
  const Card* card = engine_.find_card(CardId{{0xCA, 1}});
  ASSERT_NE(card, nullptr);
  EXPECT_EQ(card->controls.daily_limit, 700);
  EXPECT_EQ(card->controls.per_authorization_limit, 500);  // untouched
  EXPECT_EQ(card->controls.blocked_mcc_count, 2);
  EXPECT_EQ(card->controls.blocked_mccs[1], 4829);
  EXPECT_EQ(card->controls.channels, channels_all & ~channel_abroad & ~channel_atm);
}

TEST_F(AuthorizationTest, DailyLimitsCountTheUtcCalendarDay) {
  constexpr std::uint64_t day_ns = 86'400 * second_ns;
  now_ = 20'000 * day_ns + day_ns - 60 * second_ns;  // 23:59 UTC
  ASSERT_EQ(decision(auth(1, 500)), R::ok);
  ASSERT_EQ(decision(auth(2, 300)), R::ok);
  EXPECT_EQ(decision(auth(3, 100)), R::card_limit_exceeded);  // 900 > 800 on this day
  now_ += 2 * 60 * second_ns;                                 // 00:01 the next day
  EXPECT_EQ(engine_.card_spending(CardId{{0xCA, 1}}, now_).today, 0);
  EXPECT_EQ(engine_.card_spending(CardId{{0xCA, 1}}, now_).last_30_days, 800);
  fund(2, 1000, 2);
  EXPECT_EQ(decision(auth(4, 100)), R::ok);  // a new day: the daily limit starts again
}

class CardMessageTest : public AuthorizationTest {
 protected:
  Authorization message(std::uint64_t id, std::uint64_t original, std::int64_t amount) {
    Authorization a = auth(id, amount);
    a.original = tid(1000 + original);
    return a;
  }
  CommandResult send(CommandKind kind, const Authorization& a) {
    Command c;
    c.kind = kind;
    c.body.authorization = a;
    run({c});
    return out_.results[0];
  }
  R complete(const Authorization& a) {
    return send(CommandKind::card_completion, a).transfer_result();
  }
  R reverse(const Authorization& a) {
    return send(CommandKind::card_reversal, a).transfer_result();
  }
  std::int64_t held() { return account(2).debits_pending; }
  std::int64_t spent() { return account(2).debits_posted; }
};

TEST_F(CardMessageTest, CompletionPostsTheHoldCappedUnlessOverCaptureIsAllowed) {
  ASSERT_EQ(decision(auth(1, 200)), R::ok);
  EXPECT_EQ(complete(message(101, 1, 150)), R::ok);  // under the hold: the rest is released
  EXPECT_EQ(held(), 0);
  EXPECT_EQ(spent(), 150);
  EXPECT_EQ(complete(message(101, 1, 150)), R::exists);  // a repeat
  ASSERT_EQ(decision(auth(2, 100)), R::ok);
  const CommandResult capped = send(CommandKind::card_completion, message(102, 2, 180));
  EXPECT_EQ(capped.transfer_result(), R::ok);
  EXPECT_EQ(capped.value.transfer.amount_effective, 100);  // not above the hold
  ASSERT_EQ(decision(auth(3, 100)), R::ok);
  Authorization tip = message(103, 3, 120);
  tip.over_capture = true;
  EXPECT_EQ(complete(tip), R::ok);
  EXPECT_EQ(spent(), 150 + 100 + 120);
  expect_balanced();
}

TEST_F(CardMessageTest, CompletionWithoutAHoldIsAForcedPosting) {
  Authorization orphan = message(104, 99, 70);
  orphan.amount = 700;  // above the per-authorization limit: the network decided already
  const std::int64_t before = spent();
  EXPECT_EQ(complete(orphan), R::ok);
  EXPECT_EQ(spent(), before + 700);
  EXPECT_EQ(complete(orphan), R::exists);
  EXPECT_EQ(spent(), before + 700);
}

TEST_F(CardMessageTest, ReversalReleasesAllOrThePartAboveTheReplacement) {
  ASSERT_EQ(decision(auth(1, 300)), R::ok);
  Authorization partial = message(201, 1, 300);
  partial.replacement = 120;  // the sale came to 120: release 180
  EXPECT_EQ(reverse(partial), R::ok);
  EXPECT_EQ(held(), 120);
  EXPECT_EQ(reverse(partial), R::exists);
  ASSERT_EQ(decision(auth(2, 50)), R::ok);
  EXPECT_EQ(reverse(message(202, 2, 0)), R::ok);  // all of it
  EXPECT_EQ(held(), 120);
  Authorization above = message(203, 1, 0);
  above.replacement = 500;
  EXPECT_EQ(reverse(above), R::nothing_to_reverse);
  EXPECT_EQ(reverse(message(204, 77, 0)), R::pending_not_found);
  EXPECT_EQ(reverse(message(205, 2, 0)), R::pending_already_voided);
  expect_balanced();
}

TEST_F(CardMessageTest, ReversalAfterCaptureGivesTheMoneyBack) {
  ASSERT_EQ(decision(auth(1, 200)), R::ok);
  ASSERT_EQ(complete(message(101, 1, 200)), R::ok);
  const std::int64_t credits = account(2).credits_posted;
  Authorization back = message(301, 1, 200);
  back.replacement = 50;
  EXPECT_EQ(reverse(back), R::ok);
  EXPECT_EQ(account(2).credits_posted, credits + 150);
  expect_balanced();
}

TEST_F(CardMessageTest, AnAdviceRecordsTheNetworksApprovalOfOurDecline) {
  EXPECT_EQ(decision(auth(1, 501)), R::card_limit_exceeded);
  Authorization advice = auth(1, 501);
  advice.force = true;
  advice.advice_id = tid(5001);
  EXPECT_EQ(decision(advice), R::ok);  // recorded under the advice id, past the limit
  EXPECT_EQ(held(), 501);
  EXPECT_EQ(decision(advice), R::exists);
  EXPECT_EQ(held(), 501);
  EXPECT_NE(engine_.find_transfer(tid(5001)), nullptr);
}

TEST_F(AuthorizationTest, ReplayRebuildsVelocity) {
  ASSERT_EQ(decision(auth(1, 400)), R::ok);
  ASSERT_EQ(decision(auth(2, 300)), R::ok);
  Engine rebuilt(EngineOptions{64, 256, 16});
  for (const JournalRecord& record : journal_) rebuilt.replay(record);
  EXPECT_EQ(rebuilt.card_spending(CardId{{0xCA, 1}}, now_).today, 700);
  EXPECT_EQ(rebuilt.card_spending(CardId{{0xCA, 1}}, now_).count_today, 2u);
  EXPECT_EQ(rebuilt.state_hash(), engine_.state_hash());
}

}  // namespace
}  // namespace ledger::engine
