// The engine's cards: creation, controls patches, authorizations in the documented decision
// order, velocity by UTC day, advices, completions and reversals, replay of velocity.
#include "engine/engine_test_fixture.h"
#include "ledger/card_ids.h"

namespace ledger::engine {
namespace {

using namespace testing;

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
  // The account is checked before the number: an issued PAN on an account that is not there
  // gets the same answer as any other PAN, and so does a known card id.
  EXPECT_EQ(code(card_command(4, 9, 0x11)), CardResult::card_account_not_found);
  EXPECT_EQ(code(card_command(1, 9, 0x12)), CardResult::card_account_not_found);
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
  Sum held() { return account(2).debits_pending; }
  Sum spent() { return account(2).debits_posted; }
};

TEST_F(CardMessageTest, CompletionPostsTheHoldWithinTheOverCaptureTolerance) {
  ASSERT_EQ(decision(auth(1, 200)), R::ok);
  EXPECT_EQ(complete(message(101, 1, 150)), R::ok);  // under the hold: the rest is released
  EXPECT_EQ(held(), 0);
  EXPECT_EQ(spent(), 150);
  EXPECT_EQ(complete(message(101, 1, 150)), R::exists);  // a repeat
  ASSERT_EQ(decision(auth(2, 100)), R::ok);
  EXPECT_EQ(complete(message(102, 2, 101)), R::over_capture_beyond_tolerance);  // no group
  EXPECT_EQ(held(), 100);  // nothing changed: a corrected completion can still come
  Authorization tip = message(102, 2, 120);
  tip.over_capture_pct = 20;
  EXPECT_EQ(complete(tip), R::ok);  // a 20% tip: the full amount, forced
  EXPECT_EQ(spent(), 150 + 120);
  ASSERT_EQ(decision(auth(3, 100)), R::ok);
  Authorization fuel = message(103, 3, 17'501);
  fuel.over_capture_max = 17'500;
  EXPECT_EQ(complete(fuel), R::over_capture_beyond_tolerance);
  fuel.amount = 17'500;  // up to the dispenser maximum, whatever was held
  EXPECT_EQ(complete(fuel), R::ok);
  EXPECT_EQ(held(), 0);
  expect_balanced();
}

TEST_F(CardMessageTest, CompletionWithoutAnOpenHoldIsAForcedPosting) {
  Authorization orphan = message(104, 99, 70);
  orphan.amount = 700;  // above the per-authorization limit: the network decided already
  const Sum before = spent();
  EXPECT_EQ(complete(orphan), R::ok);
  EXPECT_EQ(spent(), before + 700);
  EXPECT_EQ(complete(orphan), R::exists);
  EXPECT_EQ(spent(), before + 700);
  ASSERT_EQ(decision(auth(5, 100)), R::ok);  // a hold, then voided: the completion still posts
  ASSERT_EQ(reverse(message(205, 5, 0)), R::ok);
  EXPECT_EQ(complete(message(105, 5, 80)), R::ok);
  EXPECT_EQ(spent(), before + 700 + 80);
  EXPECT_EQ(held(), 0);
  Authorization refund = message(106, 98, 30);  // an orphan refund completion credits
  refund.kind = AuthorizationKind::refund;
  const Sum credits = account(2).credits_posted;
  EXPECT_EQ(complete(refund), R::ok);
  EXPECT_EQ(account(2).credits_posted, credits + 30);
  expect_balanced();
}

TEST_F(CardMessageTest, IncrementalHoldsAreCompletedTogether) {
  ASSERT_EQ(decision(auth(1, 100)), R::ok);
  Authorization more = auth(50, 150);
  more.incremental = true;
  more.original = tid(1001);
  ASSERT_EQ(decision(more), R::ok);
  EXPECT_EQ(decision(more), R::exists);  // a repeat of the increment finds its slot
  EXPECT_EQ(held(), 250);
  EXPECT_EQ(complete(message(101, 1, 240)), R::ok);
  EXPECT_EQ(held(), 0);
  EXPECT_EQ(spent(), 240);
  expect_balanced();
}

TEST_F(CardMessageTest, PartialReversalsAddUpAndRepeatsFindTheirOwn) {
  ASSERT_EQ(decision(auth(1, 300)), R::ok);
  Authorization partial = message(201, 1, 0);
  partial.replacement = 120;  // the sale came to 120: release 180
  EXPECT_EQ(reverse(partial), R::ok);
  EXPECT_EQ(held(), 120);
  EXPECT_EQ(reverse(partial), R::exists);
  Authorization second = message(202, 1, 0);
  second.replacement = 50;  // then to 50
  EXPECT_EQ(reverse(second), R::ok);
  EXPECT_EQ(held(), 50);
  EXPECT_EQ(reverse(message(203, 1, 0)), R::ok);  // then nothing
  EXPECT_EQ(held(), 0);
  Authorization above = message(204, 1, 0);
  above.replacement = 500;
  EXPECT_EQ(reverse(above), R::nothing_to_reverse);
  EXPECT_EQ(reverse(message(205, 77, 0)), R::pending_not_found);
  expect_balanced();
}

TEST_F(CardMessageTest, AReversalWithoutDe90FindsItsOriginalByTheNetworksReference) {
  Authorization original = auth(1, 300);
  original.reference = card_ids::reference_key_bit | 77;
  ASSERT_EQ(decision(original), R::ok);
  Authorization reversal = message(201, 99, 0);  // its own DE7: not the original's id
  reversal.reference = original.reference;
  Authorization stranger = reversal;
  std::memset(stranger.pan_hash, 0x43, 32);  // another card with the same reference
  EXPECT_EQ(reverse(stranger), R::pending_not_found);
  EXPECT_EQ(held(), 300);
  EXPECT_EQ(reverse(reversal), R::ok);
  EXPECT_EQ(held(), 0);
  Authorization later = auth(2, 120);
  later.reference = card_ids::reference_key_bit | 78;
  ASSERT_EQ(decision(later), R::ok);
  expect_balanced();
  Engine rebuilt(EngineOptions{64, 256, 16});  // the index comes back from the journal
  for (const JournalRecord& record : journal_) rebuilt.replay(record);
  Command c;
  c.kind = CommandKind::card_reversal;
  c.body.authorization = message(202, 98, 0);
  c.body.authorization.reference = later.reference;
  BatchOutput out;
  rebuilt.apply(&c, 1, now_, &out);
  EXPECT_EQ(out.results[0].transfer_result(), R::ok);
  EXPECT_EQ(rebuilt.find_account(acct(2))->debits_pending, 0);
}

TEST_F(CardMessageTest, ReversalAfterCaptureGivesBackWhatWasCaptured) {
  ASSERT_EQ(decision(auth(1, 100)), R::ok);
  ASSERT_EQ(complete(message(101, 1, 60)), R::ok);
  const Sum credits = account(2).credits_posted;
  EXPECT_EQ(reverse(message(301, 1, 100)), R::ok);  // DE4 says 100; 60 was captured
  EXPECT_EQ(account(2).credits_posted, credits + 60);
  EXPECT_EQ(reverse(message(302, 1, 100)), R::nothing_to_reverse);
  expect_balanced();
}

TEST_F(CardMessageTest, ReversalOfASingleMessagePostingGivesItBack) {
  Authorization cash = auth(1, 80);
  cash.kind = AuthorizationKind::cash;
  cash.post_now = true;
  cash.channels = 0;
  ASSERT_EQ(decision(cash), R::ok);
  EXPECT_EQ(spent(), 80);
  const Sum credits = account(2).credits_posted;
  Authorization misdispense = message(401, 1, 0);
  misdispense.replacement = 20;  // 20 dispensed
  EXPECT_EQ(reverse(misdispense), R::ok);
  EXPECT_EQ(account(2).credits_posted, credits + 60);
  expect_balanced();
}

TEST_F(CardMessageTest, CashBackBeyondTheFundsApprovesThePurchaseAlone) {
  ASSERT_EQ(apply(single(901, 2, 1, 900)), R::ok);  // 100 left
  Authorization a = auth(1, 150);
  a.cash_back = 60;  // the purchase (90) fits, the cash does not
  const CommandResult r = authorize(a);
  ASSERT_EQ(r.transfer_result(), R::ok);
  EXPECT_EQ(r.value.transfer.amount_effective, 90);
  Authorization b = auth(2, 60);
  b.cash_back = 20;  // 10 left: the purchase does not fit either, a decline
  EXPECT_EQ(decision(b), R::exceeds_available);
}

TEST_F(CardMessageTest, ARefundAuthorizationMovesNoMoney) {
  Authorization refund = auth(1, 40);
  refund.kind = AuthorizationKind::refund;
  const Sum credits = account(2).credits_posted;
  EXPECT_EQ(decision(refund), R::ok);
  EXPECT_EQ(account(2).credits_posted, credits);
  EXPECT_EQ(engine_.find_transfer(tid(1001)), nullptr);
  refund.post_now = true;  // the 0200 (or 0220) refund credits, once
  EXPECT_EQ(decision(refund), R::ok);
  EXPECT_EQ(decision(refund), R::exists);
  EXPECT_EQ(account(2).credits_posted, credits + 40);
}

TEST_F(CardMessageTest, AnAdviceRecordsTheNetworksApprovalPastEveryCardCheck) {
  EXPECT_EQ(decision(auth(1, 501)), R::card_limit_exceeded);
  Authorization advice = auth(1, 501);
  advice.force = true;
  EXPECT_EQ(decision(advice), R::ok);  // recorded anew, past the limit
  EXPECT_EQ(held(), 501);
  EXPECT_EQ(decision(advice), R::exists);
  EXPECT_EQ(held(), 501);
  EXPECT_NE(engine_.find_transfer(card_ids::advice(tid(1001))), nullptr);
  Authorization stand_in = auth(2, 100);
  stand_in.force = true;
  stand_in.mcc = 7995;  // blocked on this card, and a channel it does not allow
  stand_in.channels = channel_abroad;
  EXPECT_EQ(decision(stand_in), R::ok);
  EXPECT_EQ(held(), 601);
}

TEST_F(CardMessageTest, ARepeatAfterTheLateRuleReleasedTheHoldIsDecidedAnew) {
  ASSERT_EQ(decision(auth(1, 100)), R::ok);
  Authorization late;
  late.original = tid(1001);
  late.id = card_ids::late_reversal_message(tid(1001));
  late.late_rule = true;
  late.answer_by_ns = 1'000;
  ASSERT_EQ(reverse(late), R::ok);
  EXPECT_EQ(held(), 0);
  const CommandResult again = authorize(auth(1, 100));  // the 0101 repeat
  ASSERT_EQ(again.transfer_result(), R::ok);            // a new hold: an approval holds money again
  EXPECT_EQ(again.value.transfer.id, card_ids::advice(tid(1001)));
  EXPECT_EQ(held(), 100);
  EXPECT_EQ(complete(message(101, 1, 100)), R::ok);  // the completion finds the new hold
  EXPECT_EQ(held(), 0);
  EXPECT_EQ(spent(), 100);
  expect_balanced();
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

// Card clearing (clearing.cc): one command per record of the scheme's file.
class ClearingTest : public AuthorizationTest {
 protected:
  CardClearing presentment(std::uint64_t id, std::int64_t amount, TransferId authorization) {
    CardClearing c;
    c.id = tid(5000 + id);
    std::memset(c.pan_hash, 0x42, 32);
    c.approval_code = card_ids::approval_code_value(authorization);
    c.amount = amount;
    c.currency = eur_;
    c.mcc = 5411;
    return c;
  }
  CommandResult clear(const CardClearing& c) {
    Command command;
    command.kind = CommandKind::clear_card;
    command.body.clearing = c;
    run({command});
    return out_.results[0];
  }
  Sum posted_debits() { return account(2).debits_posted; }
};

TEST_F(ClearingTest, APresentmentPostsItsHoldPartlyAndReleasesTheRestOnce) {
  const CommandResult approved = authorize(auth(1, 400));
  ASSERT_EQ(approved.transfer_result(), R::ok);
  const TransferId hold = approved.value.transfer.id;
  EXPECT_EQ(account(2).debits_pending, 400);
  const CommandResult cleared = clear(presentment(1, 350, hold));
  ASSERT_EQ(cleared.transfer_result(), R::ok);
  EXPECT_EQ(cleared.detail, static_cast<std::uint8_t>(ClearingMatch::approval_code));
  EXPECT_EQ(cleared.detail2, static_cast<std::uint8_t>(ClearingOutcome::posted));
  EXPECT_EQ(cleared.related, hold);
  EXPECT_EQ(cleared.value.transfer.code, TransferCode::card_clearing);
  EXPECT_EQ(account(2).debits_pending, 0);  // the other 50 released
  EXPECT_EQ(posted_debits(), 350);
  // The same record again: its posting, nothing twice.
  EXPECT_EQ(clear(presentment(1, 350, hold)).transfer_result(), R::exists);
  EXPECT_EQ(posted_debits(), 350);
  // A second shipment of the same authorization: posted beside it.
  const CommandResult again = clear(presentment(2, 40, hold));
  EXPECT_EQ(again.detail2, static_cast<std::uint8_t>(ClearingOutcome::posted_again));
  EXPECT_EQ(posted_debits(), 390);
  expect_balanced();
}

TEST_F(ClearingTest, LifeCycleIdFindsItOverTheToleranceAndUnknownOnesAreForcePosted) {
  const TransferId hold = authorize(auth(1, 100)).value.transfer.id;
  CardClearing by_life_cycle = presentment(1, 118, TransferId{});
  by_life_cycle.approval_code = 0;
  by_life_cycle.life_cycle = card_ids::life_cycle_key(hold);
  by_life_cycle.over_capture_pct = 20;  // a restaurant's tip
  const CommandResult tipped = clear(by_life_cycle);
  EXPECT_EQ(tipped.detail, static_cast<std::uint8_t>(ClearingMatch::life_cycle));
  EXPECT_EQ(tipped.detail2, static_cast<std::uint8_t>(ClearingOutcome::posted));
  EXPECT_EQ(posted_debits(), 118);
  // No authorization with this code: force posted past the balance (1000 - 118 left).
  CardClearing unknown = presentment(2, 2000, TransferId{});
  unknown.approval_code = 12345;
  const CommandResult forced = clear(unknown);
  ASSERT_EQ(forced.transfer_result(), R::ok);
  EXPECT_EQ(forced.detail2, static_cast<std::uint8_t>(ClearingOutcome::force_unknown));
  EXPECT_EQ(forced.value.transfer.code, TransferCode::card_force_post);
  EXPECT_EQ(posted_debits(), 2118);
  // Its reversal gives back exactly what it posted.
  CardClearing reversal = presentment(3, 0, TransferId{});
  reversal.kind = ClearingKind::reversal;
  reversal.original = unknown.id;
  const CommandResult back = clear(reversal);
  ASSERT_EQ(back.transfer_result(), R::ok);
  EXPECT_EQ(back.value.transfer.amount_effective, 2000);
  EXPECT_EQ(account(2).credits_posted - 1000, 2000);
  // A refund credits; an unknown card or another currency post nothing.
  CardClearing refund = presentment(4, 30, TransferId{});
  refund.kind = ClearingKind::refund;
  EXPECT_EQ(clear(refund).transfer_result(), R::ok);
  CardClearing stranger = presentment(5, 30, TransferId{});
  std::memset(stranger.pan_hash, 0x77, 32);
  EXPECT_EQ(clear(stranger).transfer_result(), R::card_unknown);
  CardClearing dollars = presentment(6, 30, TransferId{});
  dollars.currency = usd_;
  EXPECT_EQ(clear(dollars).transfer_result(), R::currency_mismatch);
  expect_balanced();
  // Replayed from the journal, the balances are the same.
  Engine rebuilt(EngineOptions{64, 256, 16});
  for (const JournalRecord& record : journal_) rebuilt.replay(record);
  EXPECT_EQ(rebuilt.find_account(acct(2))->debits_posted, account(2).debits_posted);
  EXPECT_EQ(rebuilt.find_account(acct(2))->credits_posted, account(2).credits_posted);
}

TEST_F(ClearingTest, AReleasedAuthorizationIsForcePostedAndAnOnlineCompletionIsNotPostedTwice) {
  const TransferId reversed = authorize(auth(1, 200)).value.transfer.id;
  Authorization reversal = auth(1, 0);
  reversal.original = reversed;
  reversal.id = tid(9001);
  Command c;
  c.kind = CommandKind::card_reversal;
  c.body.authorization = reversal;
  run({c});
  ASSERT_EQ(account(2).debits_pending, 0);
  const CommandResult late = clear(presentment(1, 200, reversed));
  EXPECT_EQ(late.detail2, static_cast<std::uint8_t>(ClearingOutcome::force_released));
  EXPECT_EQ(posted_debits(), 200);
  const TransferId completed = authorize(auth(2, 100)).value.transfer.id;
  Authorization completion = auth(2, 100);
  completion.original = completed;
  completion.force = true;
  c.kind = CommandKind::card_completion;
  c.body.authorization = completion;
  run({c});
  ASSERT_EQ(posted_debits(), 300);
  const CommandResult cleared = clear(presentment(2, 100, completed));
  EXPECT_EQ(cleared.detail2, static_cast<std::uint8_t>(ClearingOutcome::completed_online));
  EXPECT_EQ(posted_debits(), 300);
  expect_balanced();
}

}  // namespace
}  // namespace ledger::engine
