// Engine: cards, their controls and velocity, and card-network messages (authorization,
// advice, completion, reversal), each decided in one command.
#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>

#include "engine/engine.h"
#include "engine/engine_rules.h"
#include "ledger/assert.h"
#include "ledger/card_ids.h"
#include "ledger/disputes.h"

namespace ledger::engine {
using namespace rules;

// --- Card authorizations -----------------------------------------------------------------

AccountId Engine::settlement_account_id(Currency currency) {
  return card_settlement_account_id(currency);
}

std::uint32_t Engine::ensure_settlement_account(Currency currency, BatchOutput* out) {
  return ensure_internal_account(settlement_account_id(currency), AccountKind::settlement, currency,
                                 out);
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

// The decision order: card, (unless forced) expiry, status, channel and MCC, then currency,
// then (all checks) limits, count and funds. *approved is the amount to hold or post (less
// than asked: a partial approval).
TransferResult Engine::decide(const Authorization& a, const Card* card, const Account* account,
                              CardChecks checks, std::int64_t* approved) const {
  if (card == nullptr) return TransferResult::card_unknown;
  if (checks != CardChecks::existence) {
    if (card->expiry_yymm < a.today_yymm ||
        (a.expiry_yymm != 0 && a.expiry_yymm != card->expiry_yymm)) {
      return TransferResult::card_expired;
    }
    if (card->status != CardStatus::active || account->status != AccountStatus::active) {
      return TransferResult::card_not_active;
    }
    if ((a.channels & ~card->controls.channels) != 0)
      return TransferResult::card_channel_not_allowed;
    for (std::uint8_t i = 0; i < card->controls.blocked_mcc_count; ++i) {
      if (card->controls.blocked_mccs[i] == a.mcc) return TransferResult::card_mcc_blocked;
    }
  }
  if (a.currency != account->currency) return TransferResult::currency_mismatch;
  *approved = a.amount;
  if (checks != CardChecks::all) return TransferResult::ok;
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
      const std::int64_t purchase = a.amount - a.cash_back;
      if (a.cash_back > 0 && purchase > 0 && available >= purchase) {
        *approved = purchase;  // the purchase without its cash-back
      } else if (!a.partial_allowed || available <= 0) {
        return TransferResult::exceeds_available;
      } else {
        *approved = static_cast<std::int64_t>(available);
      }
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

namespace {
bool is_open_hold(const Transfer& t) {
  return t.result == TransferResult::ok && (t.flags & flag_pending) != 0 &&
         t.pending_state == PendingState::open;
}
bool is_posting(const Transfer& t) {  // an approved transfer that moved posted money itself
  return t.result == TransferResult::ok && (t.flags & (flag_pending | resolution_flags)) == 0;
}
}  // namespace

// An original a follow-up can find by the network's reference: a card authorization, financial
// or refund with a reference key, between a card and its currency's settlement account.
namespace {
bool referable(const Transfer& t) {
  return card_ids::is_reference_key(t.reference_32) && (t.reference_a | t.reference_b) != 0 &&
         (t.code == TransferCode::card_authorization || t.code == TransferCode::card_financial ||
          t.code == TransferCode::card_refund);
}
Uint128 alias_of(const Transfer& t) {
  return card_ids::reference_alias(t.reference_a, t.reference_b, t.reference_32);
}
}  // namespace

void Engine::index_reference(const Transfer& t, std::uint32_t position) {
  if (!referable(t)) return;
  const auto key_of = [this](std::uint32_t q) { return alias_of(transfers_[q]); };
  if (reference_index_.find(alias_of(t), key_of) != IdIndex::not_found) return;  // first wins
  reference_index_.insert(alias_of(t), position);
}

void Engine::unindex_reference(std::uint32_t position) {
  const Transfer& t = transfers_[position];
  if (!referable(t)) return;
  const auto key_of = [this](std::uint32_t q) { return alias_of(transfers_[q]); };
  if (reference_index_.find(alias_of(t), key_of) == position) {
    reference_index_.erase(alias_of(t), key_of);
  }
}

// The original a follow-up refers to: by id (DE90, or the follow-up's own DE32/DE11/DE7), else
// by the card and the network's reference (DE37, DE11, DE32), as networks match a reversal
// that does not carry DE90. The one found must be a card-network original: one side the
// settlement account of its currency.
TransferId Engine::find_original(const Authorization& a) const {
  if (a.reference == 0 || transfer_position(a.original) != IdIndex::not_found) return a.original;
  const Card* card = find_card_by_pan(a.pan_hash);
  if (card == nullptr) return a.original;
  const std::uint32_t p = reference_index_.find(
      card_ids::reference_alias(card->id.value.hi, card->id.value.lo, a.reference),
      [this](std::uint32_t q) { return alias_of(transfers_[q]); });
  if (p == IdIndex::not_found) return a.original;
  const Transfer& t = transfers_[p];
  const AccountId settlement = settlement_account_id(t.currency);
  if (t.debit_account_id != settlement && t.credit_account_id != settlement) return a.original;
  return t.id;
}

Engine::CardTransaction Engine::card_transaction(TransferId original) const {
  CardTransaction x;
  x.root = transfer_position(original);
  x.advice = transfer_position(card_ids::advice(original));
  x.capture = transfer_position(card_ids::completion(original));
  while (x.incremental_count < limits::card_incrementals_max) {
    const std::uint32_t p = transfer_position(card_ids::incremental(original, x.incremental_count));
    if (p == IdIndex::not_found) break;
    x.incrementals[x.incremental_count++] = p;
  }
  while (x.reversal_count < limits::card_reversals_max) {
    const std::uint32_t p = transfer_position(card_ids::reversal(original, x.reversal_count));
    if (p == IdIndex::not_found) break;
    x.reversals[x.reversal_count++] = p;
  }
  const auto hold = [&](std::uint32_t p) {
    if (p == IdIndex::not_found || !is_open_hold(transfers_[p])) return;
    x.holds[x.hold_count++] = p;
    x.held += transfers_[p].amount_effective;
  };
  hold(x.root);
  hold(x.advice);
  for (std::uint32_t i = 0; i < x.incremental_count; ++i) hold(x.incrementals[i]);
  return x;
}

// An approval whose money is gone again: its hold voided or expired, or its posting
// refunded in full by reversals (the late rule, or the network's).
bool Engine::money_released(const Transfer& t) const {
  if (t.result != TransferResult::ok) return false;
  if ((t.flags & flag_pending) != 0) {
    return t.pending_state == PendingState::voided || t.pending_state == PendingState::expired;
  }
  if (!is_posting(t)) return false;
  const CardTransaction x = card_transaction(t.id);
  Sum refunded = 0;
  for (std::uint32_t i = 0; i < x.reversal_count; ++i) {
    if (is_posting(transfers_[x.reversals[i]]))
      refunded += transfers_[x.reversals[i]].amount_effective;
  }
  return refunded >= t.amount_effective;
}

// Balance inquiries, account verifications and refund authorizations: the card's checks, an
// answer, and nothing journaled (a refund moves money only when it is posted).
void Engine::check_card_only(const Authorization& a, CommandResult* result) const {
  const Card* card = find_card_by_pan(a.pan_hash);
  const Account* account = card != nullptr ? find_account(card->account_id) : nullptr;
  std::int64_t unused = 0;
  Authorization probe = a;
  probe.amount = 0;
  TransferResult code = decide(probe, card, account, CardChecks::card, &unused);
  if (code == TransferResult::currency_mismatch && a.kind != AuthorizationKind::refund) {
    code = TransferResult::ok;  // an inquiry or a verification in another currency
  }
  result->code = static_cast<std::uint8_t>(code);
  result->value.transfer = Transfer{};
  result->value.transfer.currency = a.currency;
  if (account != nullptr && a.kind == AuthorizationKind::balance_inquiry) {
    result->value.account = *account;
  }
}

// 0100/0200 and approving advices (force). A repeat finds its decision, unless that decision
// no longer holds money (declined, then approved by the network in stand-in; or its hold
// released by the late rule): then it is decided anew under card_ids::advice. An incremental
// authorization takes the transaction's next slot.
void Engine::authorize(const Authorization& input, CommandResult* result, BatchOutput* out) {
  if (input.kind == AuthorizationKind::balance_inquiry ||
      input.kind == AuthorizationKind::verification ||
      (input.kind == AuthorizationKind::refund && !input.post_now)) {
    return check_card_only(input, result);
  }
  Authorization a = input;
  std::uint32_t key = card_ids::is_reference_key(a.reference) ? a.reference : 0;
  if (a.incremental) {
    a.original = find_original(a);
    const CardTransaction x = card_transaction(a.original);
    key = card_ids::message_key(a.id);
    const Transfer* declined = nullptr;  // (an increment keeps its message key, not a reference)
    for (std::uint32_t i = 0; i < x.incremental_count; ++i) {
      const Transfer& slot = transfers_[x.incrementals[i]];
      if (slot.reference_32 != key) continue;
      if (slot.result == TransferResult::ok) return answer_repeat(slot, result);
      declined = &slot;
    }
    if (declined != nullptr && !a.force) return answer_repeat(*declined, result);
    if (x.incremental_count == limits::card_incrementals_max) {
      result->code = static_cast<std::uint8_t>(TransferResult::card_transaction_full);
      result->value.transfer = Transfer{};
      return;
    }
    a.id = card_ids::incremental(a.original, x.incremental_count);
  } else if (const Transfer* original = find_transfer(a.id)) {
    const bool approved = original->result == TransferResult::ok;
    if ((approved && !money_released(*original)) || (!approved && !a.force)) {
      return answer_repeat(*original, result);
    }
    a.id = card_ids::advice(a.id);
    key = 0;  // the original keeps the network's reference
    if (const Transfer* again = find_transfer(a.id)) {
      // Its money released too (a second deadline's late rule): no slot is left for a third
      // decision, and an approval must hold money; declined (65), never 00 with nothing held.
      if (again->result == TransferResult::ok && money_released(*again)) {
        result->code = static_cast<std::uint8_t>(TransferResult::card_transaction_full);
        result->value.transfer = *again;
        return;
      }
      return answer_repeat(*again, result);
    }
  }
  const Card* card = find_card_by_pan(a.pan_hash);
  const Account* account = card != nullptr ? find_account(card->account_id) : nullptr;
  Transfer t;
  t.id = a.id;
  t.amount = a.amount;
  t.currency = a.currency;
  t.reference_32 = key;
  if (card != nullptr) {
    t.reference_a = card->id.value.hi;
    t.reference_b = card->id.value.lo;
  }
  const bool refund = a.kind == AuthorizationKind::refund;
  t.code = refund ? TransferCode::card_refund
                  : (a.post_now ? TransferCode::card_financial : TransferCode::card_authorization);
  t.flags = a.post_now ? 0 : flag_pending;
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
  const CardChecks checks = a.force  ? CardChecks::existence
                            : refund ? CardChecks::card
                                     : CardChecks::all;
  TransferResult code = decide(a, card, account, checks, &approved);
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

// One transfer of a command that makes several (a completion, a reversal): the first answers
// the command (false: it failed, stop); the others resolve holds the first has proven open.
bool Engine::execute_part(const Transfer& t, bool first, CommandResult* result, BatchOutput* out) {
  if (first) {
    execute_card_transfer(t, result, out);
    return result->transfer_result() == TransferResult::ok;
  }
  std::uint32_t position = IdIndex::not_found;
  const TransferResult code = execute_transfer(t, /*remember=*/true, out, &position);
  LEDGER_ASSERT(code == TransferResult::ok);
  return true;
}

// 0220: the final amount of the transaction. Its open holds (the original or the network's
// stand-in approval, and the incremental ones) are resolved together: the first posted with
// the final amount, the others released. Above what is held only within the MCC group's
// tolerance (beyond it: refused, nothing changes). No open hold (unknown, expired, voided,
// declined) or a refund: the completion is a forced posting of its own.
void Engine::complete_card(const Authorization& input, CommandResult* result, BatchOutput* out) {
  Authorization a = input;
  a.original = find_original(input);
  const TransferId id = card_ids::completion(a.original);
  if (const Transfer* repeat = find_transfer(id)) return answer_repeat(*repeat, result);
  const CardTransaction x = card_transaction(a.original);
  if (a.kind == AuthorizationKind::refund || x.hold_count == 0) {
    if (a.kind != AuthorizationKind::refund && x.root != IdIndex::not_found &&
        is_posting(transfers_[x.root])) {
      result->code = static_cast<std::uint8_t>(TransferResult::pending_is_not_pending);
      result->value.transfer = transfers_[x.root];  // a single-message posting: done already
      return;
    }
    Authorization posting = a;
    posting.id = id;
    posting.force = true;
    posting.post_now = true;
    posting.incremental = false;
    return authorize(posting, result, out);
  }
  if (a.amount > x.held) {
    const Sum tolerated =
        std::max<Sum>(x.held + x.held * a.over_capture_pct / 100, a.over_capture_max);
    if (a.amount > tolerated) {
      result->code = static_cast<std::uint8_t>(TransferResult::over_capture_beyond_tolerance);
      result->value.transfer = transfers_[x.holds[0]];
      return;
    }
  }
  for (std::uint32_t i = 0; i < x.hold_count; ++i) {
    const Transfer& hold = transfers_[x.holds[i]];
    Transfer t;
    t.id = i == 0 ? id : card_ids::part(id, i);
    t.pending_id = hold.id;
    t.code = TransferCode::card_capture;
    if (i == 0 && a.amount > 0) {
      t.flags = flag_post_pending;
      t.amount = a.amount;
      if (a.amount > hold.amount_effective) t.flags |= flag_allow_over_capture | flag_force;
    } else {
      t.flags = flag_void_pending;  // released: the first hold carries the final amount
    }
    if (!execute_part(t, i == 0, result, out)) return;
  }
}

// 0400/0420, a 0120 that reports the network's decline (release_only), and the late rule.
// Open holds: released down to a.replacement (what the transaction comes to now; 0: all),
// the latest hold first. Captured or posted (no open hold): what was posted, less earlier
// reversals, is given back down to a.replacement, as a forced posting. Each reversal takes
// the transaction's next slot, so partial reversals add up and a repeat finds its own.
void Engine::reverse_card(const Authorization& input, CommandResult* result, BatchOutput* out) {
  Authorization a = input;
  a.original = find_original(input);
  const CardTransaction x = card_transaction(a.original);
  const std::uint32_t key = input.late_rule ? card_ids::late_rule_key(input.answer_by_ns)
                                            : card_ids::message_key(input.id);
  for (std::uint32_t i = 0; i < x.reversal_count; ++i) {
    if (transfers_[x.reversals[i]].reference_32 == key) {
      return answer_repeat(transfers_[x.reversals[i]], result);
    }
  }
  const auto nothing = [&](TransferResult code) {
    result->code = static_cast<std::uint8_t>(code);
    result->value.transfer = x.root != IdIndex::not_found ? transfers_[x.root] : Transfer{};
  };
  if (x.root == IdIndex::not_found && x.advice == IdIndex::not_found)
    return nothing(TransferResult::pending_not_found);
  if (x.reversal_count == limits::card_reversals_max)
    return nothing(TransferResult::card_transaction_full);
  const TransferId id = card_ids::reversal(a.original, x.reversal_count);
  if (x.hold_count > 0) {
    Sum release = x.held - std::max<std::int64_t>(a.replacement, 0);
    if (release <= 0) return nothing(TransferResult::nothing_to_reverse);
    for (std::uint32_t j = 0, i = x.hold_count; i-- > 0 && release > 0; ++j) {
      const Transfer& hold = transfers_[x.holds[i]];
      const auto part = static_cast<std::int64_t>(std::min<Sum>(release, hold.amount_effective));
      Transfer t;
      t.id = j == 0 ? id : card_ids::part(id, j);
      t.pending_id = hold.id;
      t.flags = flag_void_pending;
      t.amount = part == hold.amount_effective ? 0 : part;
      t.code = TransferCode::card_reversal;
      t.reference_32 = key;
      release -= part;
      if (!execute_part(t, j == 0, result, out)) return;
    }
    return;
  }
  if (a.release_only) return nothing(TransferResult::nothing_to_reverse);
  refund_posting(a, x, id, key, result, out);
}

// A reversal of what a transaction posted (its completion, itself as a single-message
// posting or refund, or a posting decided anew after the late rule): the money back, less
// earlier reversals, as a forced posting the other way.
void Engine::refund_posting(const Authorization& a, const CardTransaction& x, TransferId id,
                            std::uint32_t key, CommandResult* result, BatchOutput* out) {
  const Transfer* first = nullptr;
  Sum posted = 0;
  const struct {
    std::uint32_t position;
    bool capture;  // the completion: a post of a hold or a forced posting
  } sources[] = {{x.capture, true}, {x.root, false}, {x.advice, false}};
  for (const auto& source : sources) {
    if (source.position == IdIndex::not_found) continue;
    const Transfer& t = transfers_[source.position];
    if (source.capture ? t.result != TransferResult::ok : !is_posting(t)) continue;
    if (first == nullptr) first = &t;
    posted += t.amount_effective;
  }
  Sum refunded = 0;
  for (std::uint32_t i = 0; i < x.reversal_count; ++i) {
    if (is_posting(transfers_[x.reversals[i]]))
      refunded += transfers_[x.reversals[i]].amount_effective;
  }
  // More than one transfer can carry (only with amounts near 2^63): the rest by a later one.
  const auto back = static_cast<std::int64_t>(
      std::min<Sum>(posted - refunded - std::max<std::int64_t>(a.replacement, 0),
                    std::numeric_limits<std::int64_t>::max()));
  if (first == nullptr || back <= 0) {
    result->code = static_cast<std::uint8_t>(TransferResult::nothing_to_reverse);
    result->value.transfer = first != nullptr               ? *first
                             : x.root != IdIndex::not_found ? transfers_[x.root]
                                                            : Transfer{};
    return;
  }
  Transfer t;
  t.id = id;
  t.debit_account_id = first->credit_account_id;
  t.credit_account_id = first->debit_account_id;
  t.amount = back;
  t.currency = first->currency;
  t.flags = flag_force;
  t.code = TransferCode::card_reversal;
  t.reference_a = first->reference_a;
  t.reference_b = first->reference_b;
  t.reference_32 = key;
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
