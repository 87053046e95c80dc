// Engine: cards, their controls and velocity, and card-network messages (authorization,
// advice, completion, reversal), each decided in one command.
#include <algorithm>
#include <cstring>
#include <functional>

#include "engine/engine.h"
#include "engine/engine_rules.h"
#include "ledger/assert.h"

namespace ledger::engine {
using namespace rules;

// --- Card authorizations -----------------------------------------------------------------

AccountId Engine::settlement_account_id(Currency currency) {
  return AccountId{
      {0x5E771E0000000000ULL | 0x0000008000000000ULL, 0xC0DE000000000000ULL | currency.code}};
}

std::uint32_t Engine::ensure_settlement_account(Currency currency, BatchOutput* out) {
  const AccountId id = settlement_account_id(currency);
  const std::uint32_t existing = account_position(id);
  if (existing != IdIndex::not_found || accounts_.size() >= options_.accounts_max) return existing;
  Account account;
  account.id = id;
  account.currency = currency;
  account.kind = AccountKind::settlement;
  account.timestamp = account.created_timestamp = next_timestamp();
  const auto at = static_cast<std::uint32_t>(accounts_.size());
  account_index_.insert(id.value, at);
  accounts_.push_back(account);
  JournalRecord& record = out->records.emplace_back();
  record.kind = RecordKind::account;
  record.value.account = account;
  return at;
}

// Card spending is counted by the UTC day of the transfer: +1 when a card hold or financial
// posting is approved, -1 when the hold is voided (reversal, or an answer sent too late).
void Engine::velocity_add(const Transfer& t, std::int64_t sign, std::int64_t count_delta) {
  if (!is_card_spending(t)) return;
  const std::uint32_t card =
      card_index_.find(Uint128{t.reference_a, t.reference_b},
                       [this](std::uint32_t q) { return cards_[q].id.value; });
  // Only a card that existed when the transfer was made counts it, so that recovery (which
  // loads every card before the transfers) rebuilds exactly what the live engine counted.
  if (card == IdIndex::not_found || cards_[card].created_timestamp > t.timestamp) return;
  Velocity& v = velocity_[card];
  const std::uint32_t day = day_of(t.timestamp);
  const std::uint32_t slot = day % 31;
  if (undo_active_) {  // inside a linked chain: a failing link puts the day back
    Undo& undo = undo_.emplace_back();
    undo.kind = Undo::Kind::velocity;
    undo.position = card;
    undo.slot = slot;
    undo.day = v.day[slot];
    undo.amount = v.amount[slot];
    undo.count = v.count[slot];
  }
  if (v.day[slot] != day) {
    if (sign < 0) return;  // that day has left the window
    v.day[slot] = day;
    v.amount[slot] = 0;
    v.count[slot] = 0;
  }
  std::int64_t updated = 0;
  if (checked_add(v.amount[slot], sign * t.amount_effective, &updated)) v.amount[slot] = updated;
  v.count[slot] =
      static_cast<std::uint16_t>(std::max<std::int64_t>(0, v.count[slot] + count_delta));
}

Engine::Spending Engine::card_spending(CardId id, std::uint64_t now_ns) const {
  Spending spending;
  const std::uint32_t card =
      card_index_.find(id.value, [this](std::uint32_t q) { return cards_[q].id.value; });
  if (card == IdIndex::not_found) return spending;
  const Velocity& v = velocity_[card];
  const std::uint32_t today = day_of(now_ns);
  for (std::uint32_t slot = 0; slot < 31; ++slot) {
    if (v.day[slot] + 30 <= today || v.day[slot] > today || v.count[slot] == 0) continue;
    spending.last_30_days += v.amount[slot];
    if (v.day[slot] == today) {
      spending.today += v.amount[slot];
      spending.count_today += v.count[slot];
    }
  }
  return spending;
}

// The decision order of the card network issue: card, expiry, status, channel and MCC,
// limits, then funds. *approved is the amount to hold or post (less than asked: partial).
TransferResult Engine::decide(const Authorization& a, const Card* card, const Account* account,
                              std::int64_t* approved) const {
  if (card == nullptr) return TransferResult::card_unknown;
  if (card->expiry_yymm < a.today_yymm ||
      (a.expiry_yymm != 0 && a.expiry_yymm != card->expiry_yymm)) {
    return TransferResult::card_expired;
  }
  if (card->status != CardStatus::active || account->status != AccountStatus::active) {
    return TransferResult::card_not_active;
  }
  if ((a.channels & ~card->controls.channels) != 0) return TransferResult::card_channel_not_allowed;
  for (std::uint8_t i = 0; i < card->controls.blocked_mcc_count; ++i) {
    if (card->controls.blocked_mccs[i] == a.mcc) return TransferResult::card_mcc_blocked;
  }
  if (a.currency != account->currency) return TransferResult::currency_mismatch;
  *approved = a.amount;
  if (a.force || a.kind == AuthorizationKind::refund) return TransferResult::ok;
  const CardControls& c = card->controls;
  const Spending spent = card_spending(card->id, now_ns_);
  const auto over = [](std::int64_t used, std::int64_t more, std::int64_t limit) {
    return limit != 0 && static_cast<__int128>(used) + more > limit;
  };
  if (over(0, a.amount, c.per_authorization_limit) || over(spent.today, a.amount, c.daily_limit) ||
      over(spent.last_30_days, a.amount, c.monthly_limit)) {
    return TransferResult::card_limit_exceeded;
  }
  if (c.daily_count_limit != 0 && spent.count_today + 1 > c.daily_count_limit) {
    return TransferResult::card_count_limit_exceeded;
  }
  if ((account->flags & debits_must_not_exceed_credits) != 0) {
    const __int128 available = static_cast<__int128>(account->credits_posted) -
                               account->debits_posted - account->debits_pending +
                               account->overdraft_limit;
    if (available < a.amount) {
      if (!a.partial_allowed || available <= 0) return TransferResult::exceeds_available;
      *approved = static_cast<std::int64_t>(available);
    }
  }
  return TransferResult::ok;
}

// A repeat of a card message finds its original answer: the stored transfer with its result.
void Engine::answer_repeat(const Transfer& original, CommandResult* result) const {
  result->code = static_cast<std::uint8_t>(
      original.result == TransferResult::ok ? TransferResult::exists : original.result);
  result->value.transfer = original;
}

void Engine::inquire_balance(const Authorization& a, CommandResult* result) const {
  const Card* card = find_card_by_pan(a.pan_hash);
  const Account* account = card != nullptr ? find_account(card->account_id) : nullptr;
  std::int64_t unused = 0;
  Authorization probe = a;
  probe.amount = 0;
  probe.force = true;
  TransferResult code = decide(probe, card, account, &unused);
  if (code == TransferResult::currency_mismatch) code = TransferResult::ok;
  result->code = static_cast<std::uint8_t>(code);
  if (account != nullptr) result->value.account = *account;
}

// 0100/0200 and advices (force). An advice for an authorization we had declined records the
// network's approval under a.advice_id. Nothing is journaled for balance inquiries.
void Engine::authorize(const Authorization& input, CommandResult* result, BatchOutput* out) {
  if (input.kind == AuthorizationKind::balance_inquiry) return inquire_balance(input, result);
  Authorization a = input;
  if (const Transfer* original = find_transfer(a.id)) {
    if (!a.force || a.advice_id.is_zero() || original->result == TransferResult::ok) {
      return answer_repeat(*original, result);
    }
    a.id = a.advice_id;  // we had declined it; the network approved: record its decision
    if (const Transfer* advice = find_transfer(a.id)) return answer_repeat(*advice, result);
  }
  const Card* card = find_card_by_pan(a.pan_hash);
  const Account* account = card != nullptr ? find_account(card->account_id) : nullptr;
  Transfer t;
  t.id = a.id;
  t.amount = a.amount;
  t.currency = a.currency;
  if (card != nullptr) {
    t.reference_a = card->id.value.hi;
    t.reference_b = card->id.value.lo;
  }
  const bool refund = a.kind == AuthorizationKind::refund;
  t.code = refund ? TransferCode::card_refund
                  : (a.post_now ? TransferCode::card_financial : TransferCode::card_authorization);
  t.flags = a.post_now || refund ? 0 : flag_pending;
  if (a.force) t.flags |= flag_force;
  t.timeout_s = (t.flags & flag_pending) != 0 ? a.hold_timeout_s : 0;
  const AccountId settlement = settlement_account_id(a.currency);
  t.debit_account_id = refund ? settlement : (account != nullptr ? account->id : AccountId{});
  t.credit_account_id = refund ? (account != nullptr ? account->id : AccountId{}) : settlement;
  if (a.id.is_zero() || !has_room(t) || a.amount <= 0 || a.currency.code == 0) {
    result->code = static_cast<std::uint8_t>(
        a.id.is_zero()         ? TransferResult::id_must_not_be_zero
        : a.amount <= 0        ? TransferResult::amount_must_be_positive
        : a.currency.code == 0 ? TransferResult::currency_mismatch
                               : TransferResult::transfer_capacity_exhausted);
    result->value.transfer = t;
    return;
  }
  std::int64_t approved = 0;
  TransferResult code = decide(a, card, account, &approved);
  if (code == TransferResult::ok &&
      ensure_settlement_account(a.currency, out) == IdIndex::not_found) {
    code = TransferResult::transfer_capacity_exhausted;  // no room for the settlement account
  }
  if (code == TransferResult::ok && record_card_transfer(t, approved, out, result)) return;
  if (code == TransferResult::ok) code = TransferResult::overflow;
  const std::uint32_t position = remember_rejection(t, code, out);
  result->code = static_cast<std::uint8_t>(code);
  result->value.transfer = transfers_[position];
}

// Stores an approved card transfer of `approved` (the running totals must stay inside their
// 128 bits on both sides; false otherwise, nothing changed).
bool Engine::record_card_transfer(Transfer t, std::int64_t approved, BatchOutput* out,
                                  CommandResult* result) {
  const Positions at = positions_of(t);
  const Account& d = accounts_[at.debit];
  const Account& c = accounts_[at.credit];
  Sum debits = 0;
  Sum credits = 0;
  if (!checked_add(d.debits_pending, d.debits_posted, &debits) ||
      !checked_add(debits, Sum{approved}, &debits) ||
      !checked_add(c.credits_pending, c.credits_posted, &credits) ||
      !checked_add(credits, Sum{approved}, &credits)) {
    return false;
  }
  t.amount_effective = approved;
  t.result = TransferResult::ok;
  t.timestamp = next_timestamp();
  t.pending_state = (t.flags & flag_pending) != 0 ? PendingState::open : PendingState::none;
  const std::uint32_t position = store_transfer(t);
  apply_effects(t, at);
  JournalRecord& record = out->records.emplace_back();
  record.kind = RecordKind::transfer;
  record.value.transfer = t;
  result->code = static_cast<std::uint8_t>(TransferResult::ok);
  result->value.transfer = transfers_[position];
  return true;
}

// Runs one transfer for a card message and answers with its result and stored transfer.
void Engine::execute_card_transfer(const Transfer& t, CommandResult* result, BatchOutput* out) {
  std::uint32_t position = IdIndex::not_found;
  const TransferResult code = execute_transfer(t, /*remember=*/true, out, &position);
  result->code = static_cast<std::uint8_t>(code);
  result->value.transfer = position != IdIndex::not_found ? transfers_[position] : t;
}

// 0220: posts the hold, fully or partly. Above the hold only with a.over_capture (tip and fuel
// MCCs: forced past the balance); otherwise the post is capped at the hold. No hold at all:
// the completion is recorded as a forced single-message posting.
void Engine::complete_card(const Authorization& a, CommandResult* result, BatchOutput* out) {
  if (const Transfer* repeat = find_transfer(a.id)) return answer_repeat(*repeat, result);
  const Transfer* hold = find_transfer(a.original);
  if (hold == nullptr) {
    Authorization financial = a;
    financial.force = true;
    financial.post_now = true;
    financial.advice_id = TransferId{};
    return authorize(financial, result, out);
  }
  Transfer post;
  post.id = a.id;
  post.pending_id = a.original;
  post.flags = flag_post_pending;
  post.code = TransferCode::card_capture;
  post.amount = a.amount;
  const bool open = hold->result == TransferResult::ok && (hold->flags & flag_pending) != 0 &&
                    hold->pending_state == PendingState::open;
  if (open && a.amount > hold->amount_effective) {
    if (a.over_capture) {
      post.flags |= flag_allow_over_capture | flag_force;
    } else {
      post.amount = hold->amount_effective;
    }
  }
  execute_card_transfer(post, result, out);
}

// 0400/0420 (and an advice of the network's decline): releases the original hold, all of it
// or the part above a.replacement; if the hold was posted, gives back what was reversed as a
// forced posting. An unknown, declined, voided or expired original has nothing to reverse.
void Engine::reverse_card(const Authorization& a, CommandResult* result, BatchOutput* out) {
  if (const Transfer* repeat = find_transfer(a.id)) return answer_repeat(*repeat, result);
  const Transfer* hold = find_transfer(a.original);
  const auto nothing = [&](TransferResult code) {
    result->code = static_cast<std::uint8_t>(code);
    result->value.transfer = hold != nullptr ? *hold : Transfer{};
  };
  if (hold == nullptr) return nothing(TransferResult::pending_not_found);
  if (hold->result != TransferResult::ok || (hold->flags & flag_pending) == 0) {
    return nothing(TransferResult::pending_is_not_pending);
  }
  if (hold->pending_state == PendingState::voided)
    return nothing(TransferResult::pending_already_voided);
  if (hold->pending_state == PendingState::expired) return nothing(TransferResult::pending_expired);
  Transfer t;
  t.id = a.id;
  t.code = TransferCode::card_reversal;
  if (hold->pending_state == PendingState::open) {
    const std::int64_t release =
        a.replacement > 0 ? hold->amount_effective - a.replacement : 0;  // 0: all of it
    if (a.replacement > 0 && release <= 0) return nothing(TransferResult::nothing_to_reverse);
    t.pending_id = a.original;
    t.flags = flag_void_pending;
    t.amount = release;
    return execute_card_transfer(t, result, out);
  }
  const std::int64_t stated = a.amount > 0 ? a.amount : hold->amount;
  const std::int64_t refund = stated - a.replacement;
  if (refund <= 0) return nothing(TransferResult::nothing_to_reverse);
  t.debit_account_id = hold->credit_account_id;
  t.credit_account_id = hold->debit_account_id;
  t.amount = refund;
  t.currency = hold->currency;
  t.flags = flag_force;
  t.reference_a = hold->reference_a;
  t.reference_b = hold->reference_b;
  execute_card_transfer(t, result, out);
}

// --- Cards -------------------------------------------------------------------------------

const Card* Engine::find_card(CardId id) const {
  const std::uint32_t p =
      card_index_.find(id.value, [this](std::uint32_t q) { return cards_[q].id.value; });
  return p == IdIndex::not_found ? nullptr : &cards_[p];
}

const Card* Engine::find_card_by_pan(const std::uint8_t (&pan_hash)[32]) const {
  const std::uint32_t p = pan_index_.find(
      pan_key(pan_hash), [this](std::uint32_t q) { return pan_key(cards_[q].pan_hash); });
  if (p == IdIndex::not_found || std::memcmp(cards_[p].pan_hash, pan_hash, 32) != 0) return nullptr;
  return &cards_[p];
}

// The account is checked before anything that depends on card numbers, so a caller who names
// an account that does not exist learns nothing about which PANs are issued.
CardResult Engine::check_card(const Card& input) const {
  if (input.id.is_zero()) return CardResult::id_must_not_be_zero;
  const Account* account = find_account(input.account_id);
  if (account == nullptr) return CardResult::card_account_not_found;
  if (const Card* existing = find_card(input.id)) {
    if (existing->account_id != input.account_id)
      return CardResult::exists_with_different_account_id;
    if (std::memcmp(existing->pan_hash, input.pan_hash, 32) != 0)
      return CardResult::exists_with_different_pan;
    if (existing->expiry_yymm != input.expiry_yymm) return CardResult::exists_with_different_expiry;
    return CardResult::exists;
  }
  if (account->status == AccountStatus::closed) return CardResult::card_account_closed;
  if (find_card_by_pan(input.pan_hash) != nullptr) return CardResult::card_pan_exists;
  if (cards_.size() >= cards_.capacity()) return CardResult::card_capacity_exhausted;
  return CardResult::ok;
}

void Engine::create_card(const Command& command, CommandResult* result, BatchOutput* out) {
  const Card& input = command.body.card;
  const CardResult code = check_card(input);
  result->code = static_cast<std::uint8_t>(code);
  if (code == CardResult::ok) {
    Card card = input;
    card.timestamp = card.created_timestamp = next_timestamp();
    const auto at = static_cast<std::uint32_t>(cards_.size());
    cards_.push_back(card);
    card_index_.insert(card.id.value, at);
    pan_index_.insert(pan_key(card.pan_hash), at);
    JournalRecord& record = out->records.emplace_back();
    record.kind = RecordKind::card;
    record.value.card = card;
  }
  const Card* stored = find_card(input.id);
  result->value.card = stored != nullptr ? *stored : input;
}

// Merges the change into the card (status and the named controls only), so concurrent
// changes of different controls both stay. A blocked card is final.
void Engine::update_card(const Command& command, CommandResult* result, BatchOutput* out) {
  const CardUpdate& update = command.body.card_update;
  const std::uint32_t p =
      card_index_.find(update.id.value, [this](std::uint32_t q) { return cards_[q].id.value; });
  if (p == IdIndex::not_found) {
    result->code = static_cast<std::uint8_t>(CardResult::card_not_found);
    result->value.card = Card{};
    result->value.card.id = update.id;
    return;
  }
  Card& card = cards_[p];
  if (card.status == CardStatus::blocked) {
    result->code = static_cast<std::uint8_t>(CardResult::card_blocked);
  } else {
    if (update.set_status) card.status = update.status;
    apply_controls_patch(update.controls, &card.controls);
    card.timestamp = next_timestamp();
    result->code = static_cast<std::uint8_t>(CardResult::ok);
    JournalRecord& record = out->records.emplace_back();
    record.kind = RecordKind::card;
    record.value.card = card;
  }
  result->value.card = card;
}

}  // namespace ledger::engine
