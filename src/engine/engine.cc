// Engine: construction, lookups, batches, linked chains and hold expiry. Transfers are in
// transfers.cc, cards and card messages in cards.cc, accounts in accounts.cc, recovery in
// replay.cc.
#include "engine/engine.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>

#include "engine/engine_rules.h"
#include "ledger/assert.h"
#include "ledger/card_ids.h"
#include "ledger/credit_transfers.h"
#include "ledger/disputes.h"

namespace ledger::engine {
using namespace rules;

Engine::Engine(const EngineOptions& options)
    : options_(options),
      accounts_(options.accounts_max),
      transfers_(options.transfers_max),
      account_index_(options.accounts_max),
      transfer_index_(options.transfers_max),
      reference_index_(options.transfers_max),
      cards_(options.cards_max),
      velocity_(options.cards_max),
      card_index_(options.cards_max),
      pan_index_(options.cards_max),
      expiries_(options.transfers_max),
      monitors_(options.monitors_max),
      monitor_index_(options.monitors_max) {
  LEDGER_ASSERT(options.accounts_max > 0 && options.accounts_max < 0xFFFFFFFFu);
  LEDGER_ASSERT(options.transfers_max > 0 && options.transfers_max < 0xFFFFFFFFu);
  undo_.reserve(limits::linked_chain_undo_entries_reserved);
  monitor_dirty_.reserve(64);
}

std::size_t Engine::bytes_per_account() { return sizeof(Account) + 2 * 8; }
std::size_t Engine::bytes_per_transfer() { return sizeof(Transfer) + 4 * 8 + sizeof(Expiry); }

TransferId Engine::expiry_id(TransferId pending_id, std::uint32_t attempt) {
  constexpr std::uint64_t salt_expiry = 0x657870697279ULL;  // "expiry"
  return TransferId{derive_id(pending_id.value, salt_expiry + attempt)};
}

std::uint32_t Engine::account_position(AccountId id) const {
  return account_index_.find(id.value, [this](std::uint32_t p) { return accounts_[p].id.value; });
}

std::uint32_t Engine::transfer_position(TransferId id) const {
  return transfer_index_.find(id.value, [this](std::uint32_t p) { return transfers_[p].id.value; });
}

const Account* Engine::find_account(AccountId id) const {
  const std::uint32_t p = account_position(id);
  return p == IdIndex::not_found ? nullptr : &accounts_[p];
}

const Transfer* Engine::find_transfer(TransferId id) const {
  const std::uint32_t p = transfer_position(id);
  return p == IdIndex::not_found ? nullptr : &transfers_[p];
}

std::uint64_t Engine::next_timestamp() {
  last_timestamp_ = std::max(now_ns_, last_timestamp_ + 1);
  return last_timestamp_;
}

// --- Batches -----------------------------------------------------------------------------

void Engine::apply(const Command* commands, std::size_t count, std::uint64_t now_ns,
                   BatchOutput* out) {
  out->results.clear();
  out->records.clear();
  now_ns_ = std::max(now_ns, now_ns_);
  monitor_dirty_.clear();
  debit_dirty_.clear();
  std::size_t stamped = 0;  // records whose balances after are set
  expire_due(now_ns_, out);
  stamp_balances(out, &stamped);
  if (!debit_timers_.empty()) run_direct_debit_timers(out);
  stamp_balances(out, &stamped);
  after_change(out);
  stamp_balances(out, &stamped);
  // Memory-level parallelism: before a group of commands is applied, touch every index slot
  // of the group, then every record, with independent loads that the CPU overlaps (page
  // walks included). Software prefetch did not help on our VM; real loads did (engine_bench).
  constexpr std::size_t group_commands = 8;
  std::size_t touched = 0;
  std::size_t i = 0;
  while (i < count) {
    if (i >= touched) {
      touched = std::min(count, i + group_commands);
      for (std::size_t k = i; k < touched; ++k) touch_slots(commands[k]);
      for (std::size_t k = i; k < touched; ++k) touch_records(commands[k]);
    }
    const Command& command = commands[i];
    const bool linked = command.kind == CommandKind::create_transfer &&
                        (command.body.transfer.flags & flag_linked) != 0;
    if (!linked) {
      apply_one(command, out);
      ++i;
    } else {
      i += apply_chain(commands + i, count - i, out);
    }
    stamp_balances(out, &stamped);
    after_change(out);  // (a credit may pay waiting collections: those come after it)
    stamp_balances(out, &stamped);
  }
  LEDGER_ASSERT(out->results.size() == count);
}

// The balances right after a change, for its event: each accepted transfer's two accounts and
// each direct-debit change's account, as they are once the command (or timed step) that made
// the records is done.
void Engine::stamp_balances(BatchOutput* out, std::size_t* from) {
  const auto stamp = [this](AccountId id, BalanceAfter* after) {
    const std::uint32_t at = account_position(id);
    if (at == IdIndex::not_found) return;
    const Sum posted = balance_value(accounts_[at], BalanceField::posted);
    const Sum available = balance_value(accounts_[at], BalanceField::available);
    constexpr Sum lo = std::numeric_limits<std::int64_t>::min();
    constexpr Sum hi = std::numeric_limits<std::int64_t>::max();
    if (posted < lo || posted > hi || available < lo || available > hi) return;
    *after =
        BalanceAfter{static_cast<std::int64_t>(posted), static_cast<std::int64_t>(available), true};
  };
  for (std::size_t i = *from; i < out->records.size(); ++i) {
    JournalRecord& r = out->records[i];
    if (r.kind == RecordKind::transfer) {
      const Transfer& t = r.value.transfer;
      if (t.result != TransferResult::ok) continue;
      stamp(t.debit_account_id, &r.after_a);
      stamp(t.credit_account_id, &r.after_b);
    } else if (r.kind == RecordKind::direct_debit) {
      if (!r.value.direct_debit.account_id.is_zero()) {
        stamp(r.value.direct_debit.account_id, &r.after_a);
      }
    }
  }
  *from = out->records.size();
}

void Engine::touch_slots(const Command& command) {
  if (command.kind != CommandKind::create_transfer) return;
  const Transfer& t = command.body.transfer;
  touch_sink_ += transfer_index_.touch(t.id.value);
  if ((t.flags & resolution_flags) != 0) {
    touch_sink_ += transfer_index_.touch(t.pending_id.value);
  } else {
    touch_sink_ += account_index_.touch(t.debit_account_id.value);
    touch_sink_ += account_index_.touch(t.credit_account_id.value);
  }
}

void Engine::touch_records(const Command& command) {
  if (command.kind != CommandKind::create_transfer) return;
  const Transfer& t = command.body.transfer;
  if ((t.flags & resolution_flags) != 0) {
    const std::uint32_t hold = transfer_position(t.pending_id);
    if (hold != IdIndex::not_found) touch_sink_ += transfers_[hold].timestamp;
    return;
  }
  const std::uint32_t debit = account_position(t.debit_account_id);
  const std::uint32_t credit = account_position(t.credit_account_id);
  if (debit != IdIndex::not_found) touch_sink_ += accounts_[debit].timestamp;
  if (credit != IdIndex::not_found) touch_sink_ += accounts_[credit].timestamp;
}

void Engine::expire_due(std::uint64_t now_ns, BatchOutput* out) {
  while (!expiries_.empty() && expiries_.front().expires_at <= now_ns) {
    std::pop_heap(expiries_.begin(), expiries_.end(), std::greater<>{});
    const Expiry due = expiries_.back();
    expiries_.pop_back();
    if (due.position >= transfers_.size()) continue;  // rolled back
    const Transfer& hold = transfers_[due.position];
    if (hold.timestamp != due.timestamp || hold.pending_state != PendingState::open) continue;
    Transfer expiry;
    expiry.flags = flag_void_pending | flag_expiry;
    expiry.code = TransferCode::expiry;
    expiry.pending_id = hold.id;
    expiry.debit_account_id = hold.debit_account_id;
    expiry.credit_account_id = hold.credit_account_id;
    expiry.currency = hold.currency;
    expiry.amount_effective = hold.amount_effective;
    std::uint32_t attempt = 0;
    do {
      expiry.id = expiry_id(hold.id, attempt++);
    } while (transfer_position(expiry.id) != IdIndex::not_found);
    record_engine_transfer(expiry, out);
  }
}

void Engine::record_engine_transfer(Transfer& t, BatchOutput* out) {
  t.timestamp = next_timestamp();
  store_transfer(t);
  apply_effects(t, positions_of(t));
  JournalRecord& record = out->records.emplace_back();
  record.kind = RecordKind::transfer;
  record.value.transfer = t;
}

void Engine::apply_one(const Command& command, BatchOutput* out) {
  CommandResult& result = out->results.emplace_back();
  result.kind = command.kind;
  result.tag = command.tag;
  switch (command.kind) {
    case CommandKind::create_account:
      create_account(command, &result, out);
      return;
    case CommandKind::update_account:
      update_account(command, &result, out);
      return;
    case CommandKind::create_transfer: {
      std::uint32_t position = IdIndex::not_found;
      // A credit transfer's first posting opens the SCT clearing account (EUR, settlement).
      if (is_credit_transfer_code(command.body.transfer.code)) {
        (void)ensure_internal_account(sct_clearing_account_id(), AccountKind::settlement,
                                      *currency_from_alpha("EUR"), out);
      }
      // A dispute's step opens the card settlement, disputes and provisional accounts of its
      // currency (ledger/disputes.h).
      const TransferCode code_of = command.body.transfer.code;
      if (code_of >= TransferCode::dispute_opened && code_of <= TransferCode::dispute_lost &&
          command.body.transfer.currency.code != 0) {
        const Currency c = command.body.transfer.currency;
        (void)ensure_settlement_account(c, out);
        (void)ensure_internal_account(card_disputes_account_id(c), AccountKind::internal, c, out);
        (void)ensure_internal_account(card_provisional_account_id(c), AccountKind::internal, c,
                                      out);
      }
      const TransferResult code =
          execute_transfer(command.body.transfer, /*remember=*/true, out, &position);
      result.code = static_cast<std::uint8_t>(code);
      result.value.transfer =
          position != IdIndex::not_found ? transfers_[position] : command.body.transfer;
      return;
    }
    case CommandKind::lookup_account: {
      const Account* account = find_account(command.body.account_id);
      result.code = account == nullptr ? 1 : 0;
      if (account != nullptr) result.value.account = *account;
      return;
    }
    case CommandKind::create_card:
      create_card(command, &result, out);
      return;
    case CommandKind::update_card:
      update_card(command, &result, out);
      return;
    case CommandKind::authorize:
    case CommandKind::card_completion:
    case CommandKind::card_reversal: {
      const std::size_t first = out->records.size();
      if (command.kind == CommandKind::authorize) {
        authorize(command.body.authorization, &result, out);
      } else if (command.kind == CommandKind::card_completion) {
        complete_card(command.body.authorization, &result, out);
      } else {
        reverse_card(command.body.authorization, &result, out);
      }
      // The merchant, beside the first transfer the message produced (none for a repeat).
      for (std::size_t i = first; i < out->records.size(); ++i) {
        if (out->records[i].kind != RecordKind::transfer) continue;
        JournalRecord record;
        record.kind = RecordKind::card_message;
        record.value.card_message = CardMessage{
            out->records[i].value.transfer.id, out->records[i].value.transfer.timestamp,
            command.body.authorization.mcc, command.body.authorization.merchant,
            command.kind == CommandKind::authorize ? command.body.authorization.answer_by_ns : 0};
        out->records.push_back(record);
        break;
      }
      return;
    }
    case CommandKind::clear_card: {
      const std::size_t first = out->records.size();
      clear_card(command.body.clearing, &result, out);
      // The merchant, beside the first transfer the record produced (none for a repeat).
      for (std::size_t i = first; i < out->records.size(); ++i) {
        if (out->records[i].kind != RecordKind::transfer) continue;
        JournalRecord record;
        record.kind = RecordKind::card_message;
        record.value.card_message =
            CardMessage{out->records[i].value.transfer.id, out->records[i].value.transfer.timestamp,
                        command.body.clearing.mcc, command.body.clearing.merchant, 0};
        out->records.push_back(record);
        break;
      }
      return;
    }
    case CommandKind::lookup_card: {
      const Card* card = find_card(command.body.card_id);
      result.code = card == nullptr ? 1 : 0;
      if (card != nullptr) result.value.card = *card;
      return;
    }
    case CommandKind::create_monitor:
      create_monitor(command, &result, out);
      return;
    case CommandKind::receive_direct_debit:
      receive_direct_debit(command, &result, out);
      return;
    case CommandKind::refund_direct_debit:
      refund_direct_debit(command, &result, out);
      return;
    case CommandKind::reverse_direct_debit:
      reverse_direct_debit(command, &result, out);
      return;
    case CommandKind::refuse_direct_debit:
      refuse_direct_debit(command, &result, out);
      return;
    case CommandKind::lookup_direct_debit: {
      const DirectDebit* dd = find_direct_debit(command.body.direct_debit.id);
      result.code = static_cast<std::uint8_t>(
          dd == nullptr ? DirectDebitResult::direct_debit_not_found : DirectDebitResult::ok);
      result.value.direct_debit = dd != nullptr ? *dd : command.body.direct_debit;
      return;
    }
    case CommandKind::delete_monitor:
      delete_monitor(command, &result, out);
      return;
    case CommandKind::lookup_monitor: {
      const BalanceMonitor* monitor = find_monitor(command.body.monitor_id);
      result.code = static_cast<std::uint8_t>(monitor == nullptr ? MonitorResult::monitor_not_found
                                                                 : MonitorResult::ok);
      if (monitor != nullptr) result.value.monitor = *monitor;
      return;
    }
    case CommandKind::record_spike: {
      JournalRecord& record = out->records.emplace_back();
      record.kind = RecordKind::spike;
      record.value.spike = command.body.spike;
      record.value.spike.timestamp = next_timestamp();
      result.code = 0;
      return;
    }
    case CommandKind::lookup_transfer: {
      const Transfer* transfer = find_transfer(command.body.transfer_id);
      result.code = transfer == nullptr ? 1 : 0;
      if (transfer != nullptr) result.value.transfer = *transfer;
      return;
    }
  }
  LEDGER_ASSERT(false);
}

void Engine::reject_open_chain(const Command* commands, std::size_t count, BatchOutput* out) {
  for (std::size_t k = 0; k < count; ++k) {
    CommandResult& result = out->results.emplace_back();
    result.kind = CommandKind::create_transfer;
    result.tag = commands[k].tag;
    result.code = static_cast<std::uint8_t>(TransferResult::linked_event_chain_open);
    result.failed_link = static_cast<std::uint32_t>(count - 1);
    result.value.transfer = commands[k].body.transfer;
  }
}

// A linked chain: transfers up to and including the first without flag_linked. All apply or
// none do. On failure the failing link gets its reason, the others linked_event_failed, and
// links not seen before are remembered with those answers. Returns the commands consumed.
std::size_t Engine::apply_chain(const Command* commands, std::size_t count, BatchOutput* out) {
  std::size_t length = 0;
  while (length < count && commands[length].kind == CommandKind::create_transfer &&
         (commands[length].body.transfer.flags & flag_linked) != 0) {
    ++length;
  }
  if (length == count || commands[length].kind != CommandKind::create_transfer) {
    reject_open_chain(commands, length, out);  // the chain never closes: reject, remember none
    return length;
  }
  ++length;  // the closing transfer
  const std::size_t transfers_before = transfers_.size();
  const std::size_t open_pending_before = open_pending_total_;
  const std::size_t records_before = out->records.size();
  undo_.clear();
  undo_active_ = true;
  std::size_t failed = length;
  TransferResult failure = TransferResult::ok;
  chain_codes_.assign(length, TransferResult::ok);
  for (std::size_t k = 0; k < length && failed == length; ++k) {
    std::uint32_t position = IdIndex::not_found;
    chain_codes_[k] =
        execute_transfer(commands[k].body.transfer, /*remember=*/false, out, &position);
    if (chain_codes_[k] != TransferResult::ok && chain_codes_[k] != TransferResult::exists) {
      failed = k;
      failure = chain_codes_[k];
    }
  }
  undo_active_ = false;
  if (failed != length) {
    rollback(transfers_before, open_pending_before);
    out->records.resize(records_before);
    for (std::size_t k = 0; k < length; ++k) {
      const Transfer& input = commands[k].body.transfer;
      TransferResult code = k == failed ? failure : TransferResult::linked_event_failed;
      if (const Transfer* earlier = find_transfer(input.id)) {
        // Seen before this chain: a replayed answer stands (the failing link's is `failure`).
        if (k != failed)
          code = earlier->result == TransferResult::ok ? TransferResult::exists : earlier->result;
      } else if (!input.id.is_zero() && code != TransferResult::transfer_capacity_exhausted &&
                 has_room(input)) {
        remember_rejection(input, code, out);
      }
      chain_codes_[k] = code;
    }
  }
  undo_.clear();
  for (std::size_t k = 0; k < length; ++k) {
    CommandResult& result = out->results.emplace_back();
    result.kind = CommandKind::create_transfer;
    result.tag = commands[k].tag;
    result.code = static_cast<std::uint8_t>(chain_codes_[k]);
    result.failed_link = static_cast<std::uint32_t>(failed == length ? 0 : failed);
    const Transfer* stored = find_transfer(commands[k].body.transfer.id);
    result.value.transfer = stored != nullptr ? *stored : commands[k].body.transfer;
  }
  return length;
}

void Engine::rollback(std::size_t transfers_before, std::size_t open_pending_before) {
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    if (it->kind == Undo::Kind::account) {
      accounts_[it->position] = it->account;
    } else if (it->kind == Undo::Kind::velocity) {
      Velocity& v = velocity_[it->position];
      v.day[it->slot] = it->day;
      v.amount[it->slot] = it->amount;
      v.count[it->slot] = it->count;
    } else if (it->position < transfers_before) {
      transfers_[it->position].pending_state = it->pending_state;
      transfers_[it->position].amount_effective = it->hold_amount;
    }
  }
  for (std::size_t p = transfers_.size(); p > transfers_before; --p) {
    const Uint128 id = transfers_[p - 1].id.value;
    transfer_index_.erase(id, [this](std::uint32_t q) { return transfers_[q].id.value; });
    unindex_reference(static_cast<std::uint32_t>(p - 1));
  }
  transfers_.truncate(transfers_before);
  open_pending_total_ = open_pending_before;
}

}  // namespace ledger::engine
