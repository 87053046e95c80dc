// Engine: recovery (replay of journal records), invariants and the state hash.
#include <algorithm>
#include <cstring>
#include <functional>

#include "engine/engine.h"
#include "engine/engine_rules.h"
#include "ledger/assert.h"
#include "ledger/card_ids.h"

namespace ledger::engine {
using namespace rules;

// --- Recovery and invariants -------------------------------------------------------------

void Engine::replay(const JournalRecord& record) {
  if (record.kind == RecordKind::card_message) return;  // for the event feed, not state
  if (record.kind == RecordKind::spike) {               // likewise
    last_timestamp_ = std::max(last_timestamp_, record.value.spike.timestamp);
    return;
  }
  if (record.kind == RecordKind::direct_debit) {
    const DirectDebit& dd = record.value.direct_debit;
    std::uint32_t position = direct_debit_position(dd.id);
    bool was_waiting = false;
    if (position == IdIndex::not_found) {
      position = static_cast<std::uint32_t>(direct_debits_.size());
      direct_debits_.push_back(dd);
      direct_debit_index_.emplace(dd.id.value, position);
    } else {
      was_waiting = direct_debits_[position].status == DirectDebitStatus::waiting_for_funds;
      unschedule_direct_debit(position);
      direct_debits_[position] = dd;
    }
    const bool waiting = dd.status == DirectDebitStatus::waiting_for_funds;
    if (was_waiting && !waiting) remove_waiting(position);
    if (!was_waiting && waiting) add_waiting(position);
    schedule_direct_debit(position);
    debit_dirty_.clear();
    last_timestamp_ = std::max(last_timestamp_, dd.timestamp);
    return;
  }
  if (record.kind == RecordKind::monitor) {
    const BalanceMonitor& m = record.value.monitor;
    std::uint32_t position = monitor_position(m.id);
    if (position == IdIndex::not_found) {
      LEDGER_ASSERT(monitors_.size() < options_.monitors_max);
      position = static_cast<std::uint32_t>(monitors_.size());
      monitors_.push_back(m);
      monitor_index_.insert(m.id.value, position);
      if (!m.deleted) attach_monitor(position);
    } else {
      const bool was_deleted = monitors_[position].deleted;
      monitors_[position] = m;
      if (!was_deleted && m.deleted) detach_monitor(position);
    }
    last_timestamp_ = std::max(last_timestamp_, m.timestamp);
    return;
  }
  if (record.kind == RecordKind::card) {
    const Card& c = record.value.card;
    const std::uint32_t position =
        card_index_.find(c.id.value, [this](std::uint32_t p) { return cards_[p].id.value; });
    if (position == IdIndex::not_found) {
      LEDGER_ASSERT(cards_.size() < options_.cards_max);
      const auto at = static_cast<std::uint32_t>(cards_.size());
      cards_.push_back(c);
      card_index_.insert(c.id.value, at);
      pan_index_.insert(pan_key(c.pan_hash), at);
    } else {
      cards_[position] = c;
    }
    last_timestamp_ = std::max(last_timestamp_, c.timestamp);
    return;
  }
  if (record.kind == RecordKind::account) {
    const Account& a = record.value.account;
    const std::uint32_t position = account_position(a.id);
    if (position == IdIndex::not_found) {
      LEDGER_ASSERT(accounts_.size() < options_.accounts_max);
      Account account = a;
      account.debits_pending = account.debits_posted = 0;
      account.credits_pending = account.credits_posted = 0;
      account.open_pending = 0;
      account.monitors = account.waiting_debits = 0;
      account_index_.insert(a.id.value, static_cast<std::uint32_t>(accounts_.size()));
      accounts_.push_back(account);
    } else {
      Account& account = accounts_[position];
      account.overdraft_limit = a.overdraft_limit;
      account.status = a.status;
      account.flags = a.flags;
      account.timestamp = a.timestamp;
    }
    last_timestamp_ = std::max(last_timestamp_, a.timestamp);
    return;
  }
  Transfer t = record.value.transfer;
  LEDGER_ASSERT(transfer_position(t.id) == IdIndex::not_found);
  t.pending_state = (t.result == TransferResult::ok && (t.flags & flag_pending) != 0)
                        ? PendingState::open
                        : PendingState::none;
  store_transfer(t);
  if (t.result == TransferResult::ok) apply_effects(t, positions_of(t));
  monitor_dirty_.clear();  // the journal holds the crossings already
  debit_dirty_.clear();    // and the payments of waiting collections
  last_timestamp_ = std::max(last_timestamp_, t.timestamp);
  now_ns_ = std::max(now_ns_, t.timestamp);
}

void Engine::clear() {
  for (Velocity* v = velocity_.begin(); v != velocity_.begin() + cards_.size(); ++v)
    *v = Velocity{};
  cards_.truncate(0);
  card_index_.clear();
  pan_index_.clear();
  accounts_.truncate(0);
  transfers_.truncate(0);
  expiries_.truncate(0);
  account_index_.clear();
  transfer_index_.clear();
  reference_index_.clear();
  undo_.clear();
  monitors_.truncate(0);
  monitor_index_.clear();
  account_monitors_.clear();
  monitor_dirty_.clear();
  direct_debits_.clear();
  direct_debit_index_.clear();
  debit_timers_.clear();
  waiting_debits_.clear();
  debit_dirty_.clear();
  open_pending_total_ = 0;
  now_ns_ = 0;
  last_timestamp_ = 0;
}

std::map<std::uint32_t, CurrencyTotals> Engine::totals_by_currency() const {
  std::map<std::uint32_t, CurrencyTotals> totals;
  for (const Account& a : accounts_) {
    CurrencyTotals& t = totals[a.currency.code];
    t.debits_posted += a.debits_posted;
    t.credits_posted += a.credits_posted;
    t.debits_pending += a.debits_pending;
    t.credits_pending += a.credits_pending;
  }
  return totals;
}

std::uint64_t Engine::state_hash() const {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  const auto add = [&hash](std::uint64_t value) { hash = mix64(hash ^ value) * 0x100000001b3ULL; };
  for (const Account& a : accounts_) {
    add(a.id.value.hi);
    add(a.id.value.lo);
    for (const Sum total :
         {a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted}) {
      add(static_cast<std::uint64_t>(total));
      add(static_cast<std::uint64_t>(static_cast<unsigned __int128>(total) >> 64));
    }
    add(static_cast<std::uint64_t>(a.overdraft_limit));
    add(static_cast<std::uint64_t>(a.status));
  }
  for (const Transfer& t : transfers_) {
    add(t.id.value.hi);
    add(t.id.value.lo);
    add(t.timestamp);
    add(static_cast<std::uint64_t>(t.amount_effective));
    add(static_cast<std::uint64_t>(t.result));
    add(static_cast<std::uint64_t>(t.pending_state));
  }
  for (const DirectDebit& dd : direct_debits_) {
    add(dd.id.value.hi);
    add(dd.id.value.lo);
    add(dd.timestamp);
    add(dd.wait_deadline);
    add(static_cast<std::uint64_t>(dd.amount));
    // at_risk_checked is not journaled when the balance covered the collection: after a
    // restart the day-before check may run again (it warns, it moves no money).
    add(std::uint64_t{static_cast<std::uint8_t>(dd.status)} | std::uint64_t{dd.reason} << 8 |
        std::uint64_t{dd.late} << 16);
  }
  for (const BalanceMonitor& m : monitors_) {
    add(m.id.value.hi);
    add(m.id.value.lo);
    add(m.timestamp);
    add(static_cast<std::uint64_t>(m.threshold));
    add(std::uint64_t{m.triggered} | std::uint64_t{m.deleted} << 1 |
        std::uint64_t{static_cast<std::uint8_t>(m.field)} << 8 |
        std::uint64_t{static_cast<std::uint8_t>(m.op)} << 16);
  }
  for (std::size_t p = 0; p < cards_.size(); ++p) {
    const Card& c = cards_[p];
    add(c.id.value.hi);
    add(c.id.value.lo);
    add(c.account_id.value.lo);
    add(static_cast<std::uint64_t>(c.status) | std::uint64_t{c.expiry_yymm} << 8);
    add(c.timestamp);
    const CardControls& k = c.controls;
    add(static_cast<std::uint64_t>(k.per_authorization_limit));
    add(static_cast<std::uint64_t>(k.daily_limit));
    add(static_cast<std::uint64_t>(k.monthly_limit));
    add(std::uint64_t{k.daily_count_limit} << 8 | k.channels);
    for (std::uint8_t i = 0; i < k.blocked_mcc_count; ++i) add(k.blocked_mccs[i]);
    const Velocity& v = velocity_[p];  // what card limits see: the days still counted
    for (std::size_t slot = 0; slot < 31; ++slot) {
      if (v.count[slot] == 0 && v.amount[slot] == 0) continue;
      add(slot << 32 | v.day[slot]);
      add(static_cast<std::uint64_t>(v.amount[slot]));
      add(v.count[slot]);
    }
  }
  return hash;
}
}  // namespace ledger::engine
