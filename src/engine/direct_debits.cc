// Engine: incoming SEPA direct debits with a second chance (types.h: DirectDebit). Every
// decision runs here, on the engine thread, from the batch time: settlement at the due date's
// settlement time, the wait for funds, the payment when a credit covers a waiting collection
// (after the command that brought the money, in the same batch and COMMIT), the return at the
// deadline and refunds. Each change is one journaled record beside the transfers it made, so
// replay rebuilds the same state and a crash while a collection waits loses nothing.
#include <algorithm>
#include <functional>

#include "engine/engine.h"
#include "ledger/assert.h"
#include "ledger/monitors.h"
#include "ledger/sepa.h"
#include "ledger/units.h"

namespace ledger::engine {
namespace {

Currency eur() {
  static const Currency currency = *currency_from_alpha("EUR");
  return currency;
}

// When the collection next needs the engine (UINT64_MAX: never again).
std::uint64_t next_time(const DirectDebit& dd) {
  if (dd.status == DirectDebitStatus::received) {
    if (!dd.at_risk_checked && dd.settle_at > ns_per_day) return dd.settle_at - ns_per_day;
    return dd.settle_at;
  }
  if (dd.status == DirectDebitStatus::waiting_for_funds) return dd.wait_deadline;
  return UINT64_MAX;
}

// The last day a refund may be asked: 8 weeks after the debit (MD06), 13 months if the
// debtor says it was unauthorised (MD01).
std::int32_t refund_last_day(std::int32_t due_day, sepa::Reason reason) {
  if (reason == sepa::Reason::MD06) return due_day + 56;
  int y = 0;
  unsigned m = 0, d = 0;
  sepa::civil_from_days(due_day, &y, &m, &d);
  unsigned month = m + 13;
  y += static_cast<int>((month - 1) / 12);
  month = (month - 1) % 12 + 1;
  // The same day 13 months later, or the month's last day.
  const std::int32_t first_next =
      month == 12 ? sepa::days_from_civil(y + 1, 1, 1) : sepa::days_from_civil(y, month + 1, 1);
  return std::min(sepa::days_from_civil(y, month, 1) + static_cast<std::int32_t>(d) - 1,
                  first_next - 1);
}

}  // namespace

std::uint64_t Engine::reject_cutoff(const DirectDebit& dd) {
  return dd.settle_at > ns_per_day ? dd.settle_at - ns_per_day : 0;
}

AccountId Engine::direct_debit_clearing_account_id() {
  return AccountId{
      {0x5E9A000000000000ULL | 0x0000008000000000ULL, 0xC1EA000000000000ULL | 0x455552}};
}

AccountId Engine::direct_debit_suspense_account_id() {
  return AccountId{
      {0x5E9A000000000000ULL | 0x0000008000000000ULL, 0x5059000000000000ULL | 0x455552}};
}

TransferId Engine::direct_debit_transfer_id(DirectDebitId id, DebitPosting posting) {
  constexpr std::uint64_t salt = 0x4444000000000000ULL;  // "DD"
  return TransferId{derive_id(id.value, salt | static_cast<std::uint64_t>(posting))};
}

std::uint32_t Engine::direct_debit_position(DirectDebitId id) const {
  const auto it = direct_debit_index_.find(id.value);
  return it == direct_debit_index_.end() ? IdIndex::not_found : it->second;
}

const DirectDebit* Engine::find_direct_debit(DirectDebitId id) const {
  const std::uint32_t p = direct_debit_position(id);
  return p == IdIndex::not_found ? nullptr : &direct_debits_[p];
}

std::uint64_t Engine::next_due_ns() const {
  std::uint64_t next = expiries_.empty() ? UINT64_MAX : expiries_[0].expires_at;
  if (!debit_timers_.empty()) next = std::min(next, debit_timers_.begin()->first);
  return next;
}

std::uint32_t Engine::ensure_internal_account(AccountId id, AccountKind kind, Currency currency,
                                              BatchOutput* out) {
  const std::uint32_t existing = account_position(id);
  if (existing != IdIndex::not_found || accounts_.size() >= options_.accounts_max) return existing;
  Account account;
  account.id = id;
  account.currency = currency;
  account.kind = kind;
  account.timestamp = account.created_timestamp = next_timestamp();
  const auto at = static_cast<std::uint32_t>(accounts_.size());
  account_index_.insert(id.value, at);
  accounts_.push_back(account);
  JournalRecord& record = out->records.emplace_back();
  record.kind = RecordKind::account;
  record.value.account = account;
  return at;
}

void Engine::unschedule_direct_debit(std::uint32_t position) {
  const std::uint64_t at = next_time(direct_debits_[position]);
  if (at != UINT64_MAX) debit_timers_.erase({at, position});
}

void Engine::schedule_direct_debit(std::uint32_t position) {
  const std::uint64_t at = next_time(direct_debits_[position]);
  if (at != UINT64_MAX) debit_timers_.emplace(at, position);
}

void Engine::add_waiting(std::uint32_t position) {
  const DirectDebit& dd = direct_debits_[position];
  const std::uint32_t account = account_position(dd.account_id);
  LEDGER_ASSERT(account != IdIndex::not_found);
  std::vector<std::uint32_t>& list = waiting_debits_[account];
  // Payment order: oldest due date first, then the order received.
  const auto before = [this](std::uint32_t a, std::uint32_t b) {
    const DirectDebit& x = direct_debits_[a];
    const DirectDebit& y = direct_debits_[b];
    return x.due_day != y.due_day ? x.due_day < y.due_day
                                  : x.created_timestamp < y.created_timestamp;
  };
  list.insert(std::upper_bound(list.begin(), list.end(), position, before), position);
  ++accounts_[account].waiting_debits;
}

void Engine::remove_waiting(std::uint32_t position) {
  const std::uint32_t account = account_position(direct_debits_[position].account_id);
  LEDGER_ASSERT(account != IdIndex::not_found);
  const auto it = waiting_debits_.find(account);
  LEDGER_ASSERT(it != waiting_debits_.end());
  std::vector<std::uint32_t>& list = it->second;
  list.erase(std::remove(list.begin(), list.end(), position), list.end());
  if (list.empty()) waiting_debits_.erase(it);
  LEDGER_ASSERT(accounts_[account].waiting_debits > 0);
  --accounts_[account].waiting_debits;
}

void Engine::journal_direct_debit(DirectDebit& dd, DirectDebitChange change, BatchOutput* out) {
  dd.change = change;
  dd.timestamp = next_timestamp();
  JournalRecord& record = out->records.emplace_back();
  record.kind = RecordKind::direct_debit;
  record.value.direct_debit = dd;
}

// One posting of a collection, engine-made like an expiry (no client checks: the caller
// decided). false when the transfer store or the internal accounts have no room.
bool Engine::post_direct_debit(std::uint32_t position, DebitPosting posting, BatchOutput* out) {
  const DirectDebit& dd = direct_debits_[position];
  const AccountId clearing = direct_debit_clearing_account_id();
  const AccountId suspense = direct_debit_suspense_account_id();
  Transfer t;
  t.id = direct_debit_transfer_id(dd.id, posting);
  t.currency = dd.currency;
  t.amount = t.amount_effective = dd.amount;
  t.reference_a = dd.id.value.hi;
  t.reference_b = dd.id.value.lo;
  t.code = TransferCode::direct_debit;
  switch (posting) {
    case DebitPosting::paid:
      t.debit_account_id = dd.account_id;
      t.credit_account_id = clearing;
      break;
    case DebitPosting::funded:
      t.debit_account_id = suspense;
      t.credit_account_id = clearing;
      break;
    case DebitPosting::paid_late:
      t.debit_account_id = dd.account_id;
      t.credit_account_id = suspense;
      break;
    case DebitPosting::returned:
      t.debit_account_id = clearing;
      t.credit_account_id = suspense;
      t.code = TransferCode::direct_debit_return;
      break;
    case DebitPosting::refunded:
    case DebitPosting::reversed:
      t.debit_account_id = clearing;
      t.credit_account_id = dd.account_id;
      t.code = TransferCode::direct_debit_refund;
      break;
  }
  if (!has_room(t) || transfer_position(t.id) != IdIndex::not_found) return false;
  if (ensure_internal_account(clearing, AccountKind::settlement, eur(), out) ==
          IdIndex::not_found ||
      ensure_internal_account(suspense, AccountKind::suspense, eur(), out) == IdIndex::not_found) {
    return false;
  }
  t.result = TransferResult::ok;
  record_engine_transfer(t, out);
  return true;
}

void Engine::receive_direct_debit(const Command& command, CommandResult* result, BatchOutput* out) {
  const DirectDebit& input = command.body.direct_debit;
  const auto answer = [&](DirectDebitResult code, const DirectDebit& dd) {
    result->code = static_cast<std::uint8_t>(code);
    result->value.direct_debit = dd;
  };
  if (input.id.is_zero()) return answer(DirectDebitResult::id_must_not_be_zero, input);
  if (const DirectDebit* existing = find_direct_debit(input.id)) {
    const bool same = existing->account_id == input.account_id &&
                      existing->amount == input.amount && existing->due_day == input.due_day &&
                      existing->scheme == input.scheme;
    return answer(
        same ? DirectDebitResult::exists : DirectDebitResult::exists_with_different_fields,
        *existing);
  }
  if (direct_debits_.size() >= limits::direct_debits_max) {
    return answer(DirectDebitResult::direct_debit_capacity_exhausted, input);
  }
  DirectDebit dd = input;
  dd.status = DirectDebitStatus::received;
  dd.wait_deadline = dd.paid_at = 0;
  dd.missing = 0;
  dd.at_risk_checked = dd.late = false;
  dd.currency = eur();
  auto reason = static_cast<sepa::Reason>(input.reason);
  const Account* account = find_account(dd.account_id);
  if (reason == sepa::Reason::none) {
    if (account == nullptr || account->kind != AccountKind::customer) {
      reason = sepa::Reason::AC01;
    } else if (account->currency != eur()) {
      reason = sepa::Reason::AG01;  // SEPA debits only euro accounts
    } else if (account->status == AccountStatus::closed) {
      reason = sepa::Reason::AC04;
    } else if (account->status == AccountStatus::frozen) {
      reason = sepa::Reason::AC06;
    }
  }
  if (reason == sepa::Reason::AC01) dd.account_id = AccountId{};
  dd.reason = static_cast<std::uint8_t>(reason);
  if (reason != sepa::Reason::none) dd.status = DirectDebitStatus::refused;
  const auto position = static_cast<std::uint32_t>(direct_debits_.size());
  direct_debits_.push_back(dd);
  direct_debit_index_.emplace(dd.id.value, position);
  DirectDebit& stored = direct_debits_[position];
  journal_direct_debit(
      stored,
      reason == sepa::Reason::none ? DirectDebitChange::received : DirectDebitChange::refused, out);
  stored.created_timestamp = stored.timestamp;
  out->records.back().value.direct_debit.created_timestamp = stored.timestamp;
  schedule_direct_debit(position);
  answer(DirectDebitResult::ok, stored);
}

void Engine::refund_direct_debit(const Command& command, CommandResult* result, BatchOutput* out) {
  const DirectDebit& input = command.body.direct_debit;
  const std::uint32_t position = direct_debit_position(input.id);
  const auto answer = [&](DirectDebitResult code) {
    result->code = static_cast<std::uint8_t>(code);
    result->value.direct_debit = position == IdIndex::not_found ? input : direct_debits_[position];
  };
  if (position == IdIndex::not_found) return answer(DirectDebitResult::direct_debit_not_found);
  DirectDebit& dd = direct_debits_[position];
  // A collection is refunded once: a repeat (a client's retry) answers that refund.
  if (dd.status == DirectDebitStatus::refunded) return answer(DirectDebitResult::ok);
  if (dd.status != DirectDebitStatus::paid) return answer(DirectDebitResult::direct_debit_not_paid);
  if (dd.scheme == DirectDebitScheme::b2b) {
    return answer(DirectDebitResult::refund_not_allowed_for_b2b);
  }
  const auto reason = static_cast<sepa::Reason>(input.reason) == sepa::Reason::MD01
                          ? sepa::Reason::MD01
                          : sepa::Reason::MD06;
  // The window runs from the debit: the due date, or the day a waiting collection was paid.
  const std::int32_t debited = dd.paid_at != 0 ? sepa::day_of_ns(dd.paid_at) : dd.due_day;
  if (sepa::day_of_ns(now_ns_) > refund_last_day(std::max(debited, dd.due_day), reason)) {
    return answer(DirectDebitResult::refund_period_over);
  }
  if (!post_direct_debit(position, DebitPosting::refunded, out)) {
    return answer(DirectDebitResult::direct_debit_capacity_exhausted);
  }
  dd.status = DirectDebitStatus::refunded;
  dd.reason = static_cast<std::uint8_t>(reason);
  journal_direct_debit(dd, DirectDebitChange::refunded, out);
  answer(DirectDebitResult::ok);
}

// The creditor's bank reverses a collection it should not have sent (pacs.007, after
// settlement): the money comes back from the clearing system to the customer, whatever the
// scheme and with no refund window. Only a paid collection, for its whole amount; a repeat
// answers the reversal; a refunded one was given back already.
void Engine::reverse_direct_debit(const Command& command, CommandResult* result, BatchOutput* out) {
  const DirectDebit& input = command.body.direct_debit;
  const std::uint32_t position = direct_debit_position(input.id);
  const auto answer = [&](DirectDebitResult code) {
    result->code = static_cast<std::uint8_t>(code);
    result->value.direct_debit = position == IdIndex::not_found ? input : direct_debits_[position];
  };
  if (position == IdIndex::not_found) return answer(DirectDebitResult::direct_debit_not_found);
  DirectDebit& dd = direct_debits_[position];
  if (dd.status == DirectDebitStatus::reversed) return answer(DirectDebitResult::ok);
  if (dd.status != DirectDebitStatus::paid) return answer(DirectDebitResult::direct_debit_not_paid);
  if (input.amount != 0 && input.amount != dd.amount) {
    return answer(DirectDebitResult::exists_with_different_fields);
  }
  if (!post_direct_debit(position, DebitPosting::reversed, out)) {
    return answer(DirectDebitResult::direct_debit_capacity_exhausted);
  }
  dd.status = DirectDebitStatus::reversed;
  dd.reason = input.reason;
  journal_direct_debit(dd, DirectDebitChange::reversed, out);
  answer(DirectDebitResult::ok);
}

// The customer's rules changed after the collection arrived (a block, a b2b mandate withdrawn):
// refused until the reject cut-off (the day before settlement, at the settlement time), never
// after: past it the clearing system has the collection, and a core debtor's way back is a
// refund.
void Engine::refuse_direct_debit(const Command& command, CommandResult* result, BatchOutput* out) {
  const DirectDebit& input = command.body.direct_debit;
  const std::uint32_t position = direct_debit_position(input.id);
  if (position == IdIndex::not_found) {
    result->code = static_cast<std::uint8_t>(DirectDebitResult::direct_debit_not_found);
    result->value.direct_debit = input;
    return;
  }
  DirectDebit& dd = direct_debits_[position];
  if (dd.status != DirectDebitStatus::received || now_ns_ >= reject_cutoff(dd)) {
    result->code = static_cast<std::uint8_t>(DirectDebitResult::direct_debit_already_settled);
    result->value.direct_debit = dd;
    return;
  }
  unschedule_direct_debit(position);
  dd.status = DirectDebitStatus::refused;
  dd.reason = input.reason;
  journal_direct_debit(dd, DirectDebitChange::refused, out);
  result->code = static_cast<std::uint8_t>(DirectDebitResult::ok);
  result->value.direct_debit = dd;
}

// At the settlement time: paid if the available balance covers it, else waiting for funds
// (the interbank settlement is funded from suspense). The money has moved between the banks, so
// an account closed or frozen since the reject cut-off can no longer refuse it: the settlement
// is funded from suspense and returned at once (pacs.004, AC04 / AC06).
bool Engine::settle_direct_debit(std::uint32_t position, BatchOutput* out) {
  DirectDebit& dd = direct_debits_[position];
  const std::uint32_t account_at = account_position(dd.account_id);
  LEDGER_ASSERT(account_at != IdIndex::not_found);
  const Account& account = accounts_[account_at];
  if (account.status != AccountStatus::active) {
    const auto reason =
        account.status == AccountStatus::closed ? sepa::Reason::AC04 : sepa::Reason::AC06;
    // Both postings or neither (room for two transfers).
    if (transfers_.size() + open_pending_total_ + 2 > options_.transfers_max) return false;
    if (!post_direct_debit(position, DebitPosting::funded, out)) return false;
    const bool returned = post_direct_debit(position, DebitPosting::returned, out);
    LEDGER_ASSERT(returned);  // the room was checked, and both accounts exist now
    dd.status = DirectDebitStatus::returned;
    dd.reason = static_cast<std::uint8_t>(reason);
    journal_direct_debit(dd, DirectDebitChange::returned, out);
    return true;
  }
  const Sum available = balance_value(account, BalanceField::available);
  if (available >= dd.amount) {
    if (!post_direct_debit(position, DebitPosting::paid, out)) return false;
    dd.status = DirectDebitStatus::paid;
    dd.paid_at = now_ns_;
    journal_direct_debit(dd, DirectDebitChange::paid, out);
    return true;
  }
  if (!post_direct_debit(position, DebitPosting::funded, out)) return false;
  dd.status = DirectDebitStatus::waiting_for_funds;
  dd.missing = static_cast<std::int64_t>(dd.amount - std::max<Sum>(available, 0));
  dd.wait_deadline = std::min(dd.settle_at + dd.wait_window_ns, dd.latest_deadline);
  dd.wait_deadline = std::max(dd.wait_deadline, dd.settle_at);
  add_waiting(position);
  journal_direct_debit(dd, DirectDebitChange::waiting_for_funds, out);
  return true;
}

// Returned at the deadline: AM04 (insufficient funds), or AC04 / AC06 when the account was
// closed or frozen meanwhile.
bool Engine::return_direct_debit(std::uint32_t position, BatchOutput* out) {
  DirectDebit& dd = direct_debits_[position];
  if (!post_direct_debit(position, DebitPosting::returned, out)) return false;
  remove_waiting(position);
  const AccountStatus status = accounts_[account_position(dd.account_id)].status;
  dd.status = DirectDebitStatus::returned;
  dd.reason = static_cast<std::uint8_t>(status == AccountStatus::closed   ? sepa::Reason::AC04
                                        : status == AccountStatus::frozen ? sepa::Reason::AC06
                                                                          : sepa::Reason::AM04);
  journal_direct_debit(dd, DirectDebitChange::returned, out);
  return true;
}

// A waiting collection the balance now covers: paid late (customer -> suspense).
bool Engine::pay_waiting_direct_debit(std::uint32_t position, BatchOutput* out) {
  if (!post_direct_debit(position, DebitPosting::paid_late, out)) return false;
  remove_waiting(position);
  DirectDebit& dd = direct_debits_[position];
  dd.status = DirectDebitStatus::paid;
  dd.late = true;
  dd.missing = 0;
  dd.paid_at = now_ns_;
  journal_direct_debit(dd, DirectDebitChange::paid, out);
  return true;
}

void Engine::run_direct_debit_timers(BatchOutput* out) {
  while (!debit_timers_.empty() && debit_timers_.begin()->first <= now_ns_) {
    const auto [at, position] = *debit_timers_.begin();
    debit_timers_.erase(debit_timers_.begin());
    DirectDebit& dd = direct_debits_[position];
    // Stale when the collection moved on (its next time is later: an entry made before a
    // change, or none left); an entry at or after its time is its retry.
    if (next_time(dd) > at) continue;
    if (dd.status == DirectDebitStatus::received && !dd.at_risk_checked &&
        dd.settle_at > ns_per_day && at == dd.settle_at - ns_per_day) {
      // The reject cut-off, the day before: an account closed or frozen before it rejects the
      // collection now (pacs.002), the last moment it can; else warn if the balance today would
      // not cover it. Whether the account changed before the cut-off is read off its
      // journaled timestamp, so a check that runs late (after a restart, or a test clock that
      // jumped) never rejects for a change made after the cut-off: settlement returns those.
      dd.at_risk_checked = true;
      const std::uint32_t account_at = account_position(dd.account_id);
      if (account_at != IdIndex::not_found &&
          accounts_[account_at].status != AccountStatus::active &&
          accounts_[account_at].timestamp < reject_cutoff(dd)) {
        dd.status = DirectDebitStatus::refused;
        dd.reason = static_cast<std::uint8_t>(accounts_[account_at].status == AccountStatus::closed
                                                  ? sepa::Reason::AC04
                                                  : sepa::Reason::AC06);
        journal_direct_debit(dd, DirectDebitChange::refused, out);
      } else if (now_ns_ < dd.settle_at && account_at != IdIndex::not_found) {
        const Sum available = balance_value(accounts_[account_at], BalanceField::available);
        if (available < dd.amount) {
          dd.missing = static_cast<std::int64_t>(dd.amount - std::max<Sum>(available, 0));
          journal_direct_debit(dd, DirectDebitChange::at_risk, out);
        }
      }
    } else if (dd.status == DirectDebitStatus::received) {
      if (!settle_direct_debit(position, out)) {
        // No room for the postings: try again in a second (the capacity alarm is raised).
        debit_timers_.emplace(now_ns_ + ns_per_s, position);
        continue;
      }
    } else if (dd.status == DirectDebitStatus::waiting_for_funds) {
      // The deadline: a last try (an account whose cards come first waits for this one),
      // then the return.
      const Account& account = accounts_[account_position(dd.account_id)];
      if (account.status == AccountStatus::active &&
          balance_value(account, BalanceField::available) >= dd.amount) {
        if (!pay_waiting_direct_debit(position, out)) {
          debit_timers_.emplace(now_ns_ + ns_per_s, position);
          continue;
        }
      } else if (!return_direct_debit(position, out)) {
        debit_timers_.emplace(now_ns_ + ns_per_s, position);
        continue;
      }
    }
    schedule_direct_debit(position);
  }
}

// After a change to an account with waiting collections: pay each one its available balance
// now covers, oldest due date first, all or nothing.
void Engine::retry_waiting_debits(BatchOutput* out) {
  // Accounts in the order they were opened (a fixed order, whatever marked them: it decides who
  // gets the last transfer slot when the store is nearly full).
  std::sort(debit_dirty_.begin(), debit_dirty_.end(), std::greater<>());
  while (!debit_dirty_.empty()) {
    const std::uint32_t account_at = debit_dirty_.back();
    debit_dirty_.pop_back();
    const auto it = waiting_debits_.find(account_at);
    if (it == waiting_debits_.end()) continue;
    // Cards first (the account's setting): the money stays usable until the deadline.
    if ((accounts_[account_at].flags & cards_before_direct_debits) != 0) continue;
    const std::vector<std::uint32_t> waiting = it->second;  // paying changes the list
    for (const std::uint32_t position : waiting) {
      // (Looked up each time: a posting may add an engine-made account to accounts_.)
      const Account& account = accounts_[account_at];
      if (account.status != AccountStatus::active) break;  // it waits for the deadline
      if (balance_value(account, BalanceField::available) < direct_debits_[position].amount) {
        continue;
      }
      unschedule_direct_debit(position);
      if (!pay_waiting_direct_debit(position, out)) {
        schedule_direct_debit(position);
        break;
      }
    }
  }
  // A payment marks its account again (it still had this collection waiting), so the account
  // is looked at once more right away: on a debit-normal account that pays nothing more; on a
  // credit-normal one the payment raised the available balance.
  debit_dirty_.clear();
}

}  // namespace ledger::engine
