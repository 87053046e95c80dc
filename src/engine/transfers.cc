// Engine: transfers (checks, idempotency, effects on balances, holds).
#include <algorithm>
#include <cstring>
#include <functional>

#include "engine/engine.h"
#include "engine/engine_rules.h"
#include "ledger/assert.h"

namespace ledger::engine {
using namespace rules;

// --- Transfers ---------------------------------------------------------------------------

bool Engine::has_room(const Transfer& input) const {
  // Every open hold keeps one slot for the void or post that will resolve it, so expiry can
  // always be journaled. A new hold therefore needs two slots.
  const std::size_t needed = is_resolution(input) ? 1 : ((input.flags & flag_pending) ? 2 : 1);
  return transfers_.size() + open_pending_total_ + needed <= options_.transfers_max;
}

TransferResult Engine::check_existing(const Transfer& input, const Transfer& existing) const {
  const bool resolution = is_resolution(existing);
  if (existing.flags != input.flags) {
    return TransferResult::exists_with_different_flags;
  }
  if ((!resolution || !input.debit_account_id.is_zero()) &&
      existing.debit_account_id != input.debit_account_id) {
    return TransferResult::exists_with_different_debit_account_id;
  }
  if ((!resolution || !input.credit_account_id.is_zero()) &&
      existing.credit_account_id != input.credit_account_id) {
    return TransferResult::exists_with_different_credit_account_id;
  }
  if (existing.amount != input.amount) return TransferResult::exists_with_different_amount;
  if ((!resolution || input.currency.code != 0) && existing.currency != input.currency) {
    return TransferResult::exists_with_different_currency;
  }
  if (existing.pending_id != input.pending_id)
    return TransferResult::exists_with_different_pending_id;
  if (existing.timeout_s != input.timeout_s) return TransferResult::exists_with_different_timeout;
  if (existing.code != input.code) return TransferResult::exists_with_different_code;
  if (existing.reference_a != input.reference_a)
    return TransferResult::exists_with_different_reference_a;
  if (existing.reference_b != input.reference_b)
    return TransferResult::exists_with_different_reference_b;
  if (existing.reference_32 != input.reference_32) {
    return TransferResult::exists_with_different_reference_32;
  }
  return existing.result == TransferResult::ok ? TransferResult::exists : existing.result;
}

// Flags, ids, timeout and amount: everything that needs no account or hold.
TransferResult Engine::check_transfer(const Transfer& input, Transfer* stored,
                                      Positions* at) const {
  const std::uint16_t phase = input.flags & (flag_pending | flag_post_pending | flag_void_pending);
  if ((input.flags & ~transfer_flags_client) != 0 || !one_bit_at_most(phase)) {
    return TransferResult::flags_are_mutually_exclusive;
  }
  const bool resolution = is_resolution(input);
  if ((input.flags & flag_allow_over_capture) != 0 && (input.flags & flag_post_pending) == 0) {
    return TransferResult::over_capture_requires_post_pending;
  }
  if (resolution) {
    if (input.pending_id.is_zero()) return TransferResult::pending_id_required;
    if (input.pending_id == input.id) return TransferResult::pending_id_must_differ;
  } else if (!input.pending_id.is_zero()) {
    return TransferResult::pending_id_must_be_zero;
  }
  if (input.timeout_s != 0 && (input.flags & flag_pending) == 0) {
    return TransferResult::timeout_reserved_for_pending;
  }
  if (resolution ? input.amount < 0 : input.amount <= 0)
    return TransferResult::amount_must_be_positive;
  return resolution ? check_resolution(input, stored, at) : check_single(input, stored, at);
}

TransferResult Engine::check_single(const Transfer& input, Transfer* stored, Positions* at) const {
  if (input.debit_account_id == input.credit_account_id)
    return TransferResult::accounts_must_be_different;
  at->debit = account_position(input.debit_account_id);
  if (at->debit == IdIndex::not_found) return TransferResult::debit_account_not_found;
  at->credit = account_position(input.credit_account_id);
  if (at->credit == IdIndex::not_found) return TransferResult::credit_account_not_found;
  const Account* debit = &accounts_[at->debit];
  const Account* credit = &accounts_[at->credit];
  if (input.currency != debit->currency || input.currency != credit->currency) {
    return TransferResult::currency_mismatch;
  }
  if (debit->status == AccountStatus::closed || credit->status == AccountStatus::closed) {
    return TransferResult::account_closed;
  }
  const bool force = (input.flags & flag_force) != 0;
  if (debit->status == AccountStatus::frozen && !force) return TransferResult::account_frozen;
  const bool pending = (input.flags & flag_pending) != 0;
  Account d = *debit;
  Account c = *credit;
  Sum* debit_field = pending ? &d.debits_pending : &d.debits_posted;
  Sum* credit_field = pending ? &c.credits_pending : &c.credits_posted;
  Sum debits_total = 0;
  Sum credits_total = 0;
  if (!add_into(debit_field, input.amount) || !add_into(credit_field, input.amount) ||
      !checked_add(d.debits_pending, d.debits_posted, &debits_total) ||
      !checked_add(c.credits_pending, c.credits_posted, &credits_total)) {
    return TransferResult::overflow;
  }
  if (!force && exceeds_limits(d, c)) return TransferResult::exceeds_available;
  stored->amount_effective = input.amount;
  return TransferResult::ok;
}

TransferResult Engine::check_resolution(const Transfer& input, Transfer* stored,
                                        Positions* at) const {
  at->hold = transfer_position(input.pending_id);
  if (at->hold == IdIndex::not_found) return TransferResult::pending_not_found;
  const Transfer& hold = transfers_[at->hold];
  if ((hold.flags & flag_pending) == 0 || hold.result != TransferResult::ok) {
    return TransferResult::pending_is_not_pending;
  }
  if (!input.debit_account_id.is_zero() && input.debit_account_id != hold.debit_account_id) {
    return TransferResult::pending_has_different_debit_account_id;
  }
  if (!input.credit_account_id.is_zero() && input.credit_account_id != hold.credit_account_id) {
    return TransferResult::pending_has_different_credit_account_id;
  }
  if (input.currency.code != 0 && input.currency != hold.currency) {
    return TransferResult::currency_mismatch;
  }
  if (hold.pending_state == PendingState::posted) return TransferResult::pending_already_posted;
  if (hold.pending_state == PendingState::voided) return TransferResult::pending_already_voided;
  if (hold.pending_state == PendingState::expired) return TransferResult::pending_expired;
  LEDGER_ASSERT(hold.pending_state == PendingState::open);
  stored->debit_account_id = hold.debit_account_id;
  stored->credit_account_id = hold.credit_account_id;
  stored->currency = hold.currency;
  if ((input.flags & flag_void_pending) != 0) {  // amount 0: all; less than held: a part
    if (input.amount > hold.amount_effective) return TransferResult::amount_exceeds_pending;
    stored->amount_effective = input.amount == 0 ? hold.amount_effective : input.amount;
    at->debit = account_position(hold.debit_account_id);
    at->credit = account_position(hold.credit_account_id);
    return TransferResult::ok;
  }
  const std::int64_t held = hold.amount_effective;
  const std::int64_t posted = input.amount == 0 ? held : input.amount;
  if (posted > held && (input.flags & flag_allow_over_capture) == 0) {
    return TransferResult::amount_exceeds_pending;
  }
  at->debit = account_position(hold.debit_account_id);
  at->credit = account_position(hold.credit_account_id);
  const bool force = (input.flags & flag_force) != 0;
  // The part above the hold is a new debit: a frozen account refuses it, as a transfer.
  if (posted > held && !force && accounts_[at->debit].status == AccountStatus::frozen) {
    return TransferResult::account_frozen;
  }
  Account d = accounts_[at->debit];
  Account c = accounts_[at->credit];
  Sum debits_total = 0;
  Sum credits_total = 0;
  if (!add_into(&d.debits_pending, -held) || !add_into(&d.debits_posted, posted) ||
      !add_into(&c.credits_pending, -held) || !add_into(&c.credits_posted, posted) ||
      !checked_add(d.debits_pending, d.debits_posted, &debits_total) ||
      !checked_add(c.credits_pending, c.credits_posted, &credits_total)) {
    return TransferResult::overflow;
  }
  if (posted > held && !force && exceeds_limits(d, c)) {
    return TransferResult::exceeds_available;
  }
  stored->amount_effective = posted;
  return TransferResult::ok;
}

TransferResult Engine::execute_transfer(const Transfer& input, bool remember, BatchOutput* out,
                                        std::uint32_t* position) {
  if (input.id.is_zero()) return TransferResult::id_must_not_be_zero;
  *position = transfer_position(input.id);
  if (*position != IdIndex::not_found) return check_existing(input, transfers_[*position]);
  if (!has_room(input)) return TransferResult::transfer_capacity_exhausted;
  Transfer stored = input;  // flags as sent: only valid ones can pass check_transfer
  stored.amount_effective = 0;
  stored.pending_state = PendingState::none;
  Positions at;
  const TransferResult code = check_transfer(input, &stored, &at);
  if (code != TransferResult::ok) {
    if (remember) *position = remember_rejection(input, code, out);
    return code;
  }
  stored.result = TransferResult::ok;
  stored.timestamp = next_timestamp();
  if ((stored.flags & flag_pending) != 0) stored.pending_state = PendingState::open;
  *position = store_transfer(stored);
  apply_effects(stored, at);
  JournalRecord& record = out->records.emplace_back();
  record.kind = RecordKind::transfer;
  record.value.transfer = stored;
  return TransferResult::ok;
}

std::uint32_t Engine::remember_rejection(const Transfer& input, TransferResult result,
                                         BatchOutput* out) {
  Transfer stored = input;
  stored.amount_effective = 0;
  stored.pending_state = PendingState::none;
  stored.result = result;
  stored.timestamp = next_timestamp();
  const std::uint32_t position = store_transfer(stored);
  JournalRecord& record = out->records.emplace_back();
  record.kind = RecordKind::transfer;
  record.value.transfer = stored;
  return position;
}

std::uint32_t Engine::store_transfer(const Transfer& transfer) {
  LEDGER_ASSERT(transfers_.size() < options_.transfers_max);
  const auto position = static_cast<std::uint32_t>(transfers_.size());
  transfers_.push_back(transfer);
  transfer_index_.insert(transfer.id.value, position);
  index_reference(transfer, position);
  if (transfer.pending_state == PendingState::open && transfer.timeout_s != 0) {
    const std::uint64_t expires_at =
        transfer.timestamp + std::uint64_t{transfer.timeout_s} * ns_per_s;
    expiries_.push_back(Expiry{expires_at, transfer.timestamp, position});
    std::push_heap(expiries_.begin(), expiries_.end(), std::greater<>{});
  }
  return position;
}

Account& Engine::account_at(std::uint32_t position) {
  touch_account(position);
  return accounts_[position];
}

void Engine::touch_account(std::uint32_t position) {
  if (!undo_active_) return;
  Undo& undo = undo_.emplace_back();
  undo.kind = Undo::Kind::account;
  undo.position = position;
  undo.account = accounts_[position];
}

void Engine::set_hold(std::uint32_t position, PendingState state, std::int64_t amount) {
  if (undo_active_) {
    Undo& undo = undo_.emplace_back();
    undo.kind = Undo::Kind::hold;
    undo.position = position;
    undo.pending_state = transfers_[position].pending_state;
    undo.hold_amount = transfers_[position].amount_effective;
  }
  transfers_[position].pending_state = state;
  transfers_[position].amount_effective = amount;
}

Engine::Positions Engine::positions_of(const Transfer& t) const {
  Positions at;
  at.debit = account_position(t.debit_account_id);
  at.credit = account_position(t.credit_account_id);
  if (is_resolution(t)) at.hold = transfer_position(t.pending_id);
  return at;
}

namespace {
// Adds delta to a debit-side and a credit-side total. REQUIRES: neither overflows (checked
// transfers never do; replayed ones were checked when first applied).
void add_both(Sum* debit_total, Sum* credit_total, Sum delta) {
  const bool debit_fits = add_into(debit_total, delta);
  const bool credit_fits = add_into(credit_total, delta);
  LEDGER_ASSERT(debit_fits && credit_fits);
}
}  // namespace

// The only place balances change. Checked transfers never overflow here; replayed ones are
// asserted not to.
void Engine::apply_effects(const Transfer& t, const Positions& at) {
  if (t.result != TransferResult::ok) return;
  LEDGER_ASSERT(at.debit != IdIndex::not_found && at.credit != IdIndex::not_found);
  Account& debit = account_at(at.debit);
  Account& credit = account_at(at.credit);
  mark_watched(at.debit);
  mark_watched(at.credit);
  const std::int64_t amount = t.amount_effective;
  LEDGER_ASSERT(amount >= 0);
  if ((t.flags & flag_pending) != 0) {
    add_both(&debit.debits_pending, &credit.credits_pending, amount);
    ++debit.open_pending;
    ++credit.open_pending;
    ++open_pending_total_;
    velocity_add(t, +1, +1);
    return;
  }
  if (!is_resolution(t)) {
    add_both(&debit.debits_posted, &credit.credits_posted, amount);
    velocity_add(t, +1, +1);
    return;
  }
  const std::uint32_t hold_position = at.hold;
  LEDGER_ASSERT(hold_position != IdIndex::not_found);
  const Transfer& hold = transfers_[hold_position];
  LEDGER_ASSERT(hold.pending_state == PendingState::open);
  const std::int64_t held = hold.amount_effective;
  const bool partial_release = (t.flags & flag_void_pending) != 0 && amount < held;
  if (partial_release) {  // the hold stays open with what remains
    add_both(&debit.debits_pending, &credit.credits_pending, -amount);
    Transfer released = hold;
    released.amount_effective = amount;
    velocity_add(released, -1, 0);
    set_hold(hold_position, PendingState::open, held - amount);
    return;
  }
  add_both(&debit.debits_pending, &credit.credits_pending, -held);
  PendingState state = PendingState::voided;
  // Reversed: the spending is taken back (not when a completion releases the holds it does
  // not post, nor at expiry).
  if ((t.flags & (flag_post_pending | flag_expiry)) == 0 && t.code != TransferCode::card_capture) {
    velocity_add(hold, -1, -1);
  }
  if ((t.flags & flag_post_pending) != 0) {
    add_both(&debit.debits_posted, &credit.credits_posted, amount);
    state = PendingState::posted;
  } else if ((t.flags & flag_expiry) != 0) {
    state = PendingState::expired;
  }
  set_hold(hold_position, state, held);
  LEDGER_ASSERT(debit.open_pending > 0 && credit.open_pending > 0 && open_pending_total_ > 0);
  --debit.open_pending;
  --credit.open_pending;
  --open_pending_total_;
}

}  // namespace ledger::engine
