// Engine: accounts (creation, settings, status).
#include <algorithm>
#include <cstring>
#include <functional>

#include "engine/engine.h"
#include "engine/engine_rules.h"
#include "ledger/assert.h"

namespace ledger::engine {
using namespace rules;

// --- Accounts ----------------------------------------------------------------------------

AccountResult Engine::check_account(const Account& input) const {
  if (input.id.is_zero()) return AccountResult::id_must_not_be_zero;
  if (const Account* existing = find_account(input.id)) {
    if (existing->holder_id != input.holder_id)
      return AccountResult::exists_with_different_holder_id;
    if (existing->currency != input.currency) return AccountResult::exists_with_different_currency;
    if (existing->kind != input.kind) return AccountResult::exists_with_different_kind;
    // Settings may have changed since (PATCH): the creation's flags are compared.
    if ((existing->flags & ~account_settings) != (input.flags & ~account_settings)) {
      return AccountResult::exists_with_different_flags;
    }
    if (existing->overdraft_limit_created != input.overdraft_limit) {
      return AccountResult::exists_with_different_overdraft_limit;
    }
    if (existing->reference != input.reference)
      return AccountResult::exists_with_different_reference;
    return AccountResult::exists;
  }
  if ((input.flags & ~(account_flags_known | account_settings)) != 0 ||
      (input.flags & account_flags_known) == account_flags_known) {
    return AccountResult::flags_are_mutually_exclusive;
  }
  if (input.currency.code == 0) return AccountResult::currency_required;
  if (input.overdraft_limit < 0) return AccountResult::overdraft_limit_must_not_be_negative;
  if (accounts_.size() >= options_.accounts_max) return AccountResult::account_capacity_exhausted;
  return AccountResult::ok;
}

void Engine::create_account(const Command& command, CommandResult* result, BatchOutput* out) {
  const Account& input = command.body.account;
  const AccountResult code = check_account(input);
  result->code = static_cast<std::uint8_t>(code);
  if (code == AccountResult::ok) {
    Account account;
    account.id = input.id;
    account.holder_id = input.holder_id;
    account.currency = input.currency;
    account.kind = input.kind;
    account.flags = input.flags;
    account.overdraft_limit = input.overdraft_limit;
    account.overdraft_limit_created = input.overdraft_limit;
    account.reference = input.reference;
    account.timestamp = next_timestamp();
    account.created_timestamp = account.timestamp;
    account_index_.insert(account.id.value, static_cast<std::uint32_t>(accounts_.size()));
    accounts_.push_back(account);
    JournalRecord& record = out->records.emplace_back();
    record.kind = RecordKind::account;
    record.value.account = account;
  }
  const Account* stored = find_account(input.id);
  result->value.account = stored != nullptr ? *stored : input;
}

AccountResult Engine::check_account_update(const AccountUpdate& update,
                                           const Account& account) const {
  if (account.status == AccountStatus::closed) return AccountResult::account_closed;
  if (update.set_overdraft_limit && update.overdraft_limit < 0) {
    return AccountResult::overdraft_limit_must_not_be_negative;
  }
  if (update.set_status && update.status == AccountStatus::closed) {
    if (account.open_pending != 0 || account.debits_pending != 0 || account.credits_pending != 0) {
      return AccountResult::account_has_pending_transfers;
    }
    if (account.debits_posted != account.credits_posted) {
      return AccountResult::account_balance_not_zero;
    }
  }
  return AccountResult::ok;
}

void Engine::update_account(const Command& command, CommandResult* result, BatchOutput* out) {
  const AccountUpdate& update = command.body.update;
  const std::uint32_t position = account_position(update.id);
  if (position == IdIndex::not_found) {
    result->code = static_cast<std::uint8_t>(AccountResult::account_not_found);
    result->value.account = Account{};
    result->value.account.id = update.id;
    return;
  }
  Account& account = accounts_[position];
  const AccountResult code = check_account_update(update, account);
  result->code = static_cast<std::uint8_t>(code);
  if (code == AccountResult::ok) {
    if (update.set_overdraft_limit) {
      account.overdraft_limit = update.overdraft_limit;
      mark_watched(position);  // available moves with the overdraft limit
    }
    if (update.set_status) {
      account.status = update.status;
      mark_watched(position);  // unfrozen: its waiting collections may be paid now
    }
    if (update.set_cards_before_direct_debits) {
      account.flags = static_cast<std::uint16_t>(update.cards_before_direct_debits
                                                     ? account.flags | cards_before_direct_debits
                                                     : account.flags & ~cards_before_direct_debits);
      mark_watched(position);  // collections first again: pay the waiting ones now
    }
    account.timestamp = next_timestamp();
    JournalRecord& record = out->records.emplace_back();
    record.kind = RecordKind::account;
    record.value.account = account;
  }
  result->value.account = account;
}

}  // namespace ledger::engine
