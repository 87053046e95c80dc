// Engine: balance monitors. A monitor watches one balance of one account; after every command
// that changed a watched account (a transfer, an expiry, a new overdraft limit) the engine
// compares the balance with the threshold and journals each monitor whose condition flipped:
// exactly one record per crossing, in the same batch (so the same COMMIT) as the change that
// caused it. Recovery replays those records, so the state after a restart is the journaled one.
#include "ledger/monitors.h"

#include <algorithm>

#include "engine/engine.h"
#include "ledger/assert.h"

namespace ledger::engine {

std::uint32_t Engine::monitor_position(MonitorId id) const {
  return monitor_index_.find(id.value, [this](std::uint32_t p) { return monitors_[p].id.value; });
}

const BalanceMonitor* Engine::find_monitor(MonitorId id) const {
  const std::uint32_t p = monitor_position(id);
  return p == IdIndex::not_found ? nullptr : &monitors_[p];
}

void Engine::mark_watched_slow(std::uint32_t account_position) {
  const Account& account = accounts_[account_position];
  const auto add = [account_position](std::vector<std::uint32_t>* list) {
    if (std::find(list->begin(), list->end(), account_position) == list->end()) {
      list->push_back(account_position);
    }
  };
  if (account.monitors != 0) add(&monitor_dirty_);
  if (account.waiting_debits != 0) add(&debit_dirty_);
}

void Engine::attach_monitor(std::uint32_t monitor_position) {
  const std::uint32_t account = account_position(monitors_[monitor_position].account_id);
  LEDGER_ASSERT(account != IdIndex::not_found);
  account_monitors_[account].push_back(monitor_position);
  ++accounts_[account].monitors;
}

void Engine::detach_monitor(std::uint32_t monitor_position) {
  const std::uint32_t account = account_position(monitors_[monitor_position].account_id);
  LEDGER_ASSERT(account != IdIndex::not_found);
  auto it = account_monitors_.find(account);
  LEDGER_ASSERT(it != account_monitors_.end());
  std::vector<std::uint32_t>& list = it->second;
  list.erase(std::remove(list.begin(), list.end(), monitor_position), list.end());
  if (list.empty()) account_monitors_.erase(it);
  LEDGER_ASSERT(accounts_[account].monitors > 0);
  --accounts_[account].monitors;
}

MonitorResult Engine::check_monitor(const BalanceMonitor& input) const {
  if (input.id.is_zero()) return MonitorResult::id_must_not_be_zero;
  if (const BalanceMonitor* existing = find_monitor(input.id)) {
    return existing->account_id == input.account_id && existing->field == input.field &&
                   existing->op == input.op && existing->threshold == input.threshold
               ? MonitorResult::exists
               : MonitorResult::exists_with_different_fields;
  }
  const Account* account = find_account(input.account_id);
  if (account == nullptr) return MonitorResult::monitor_account_not_found;
  if (account->status == AccountStatus::closed) return MonitorResult::monitor_account_closed;
  if (monitors_.size() >= options_.monitors_max ||
      account->monitors >= limits::monitors_per_account_max) {
    return MonitorResult::monitor_capacity_exhausted;
  }
  return MonitorResult::ok;
}

void Engine::create_monitor(const Command& command, CommandResult* result, BatchOutput* out) {
  const BalanceMonitor& input = command.body.monitor;
  const MonitorResult code = check_monitor(input);
  result->code = static_cast<std::uint8_t>(code);
  if (code != MonitorResult::ok) {
    const BalanceMonitor* existing = find_monitor(input.id);
    result->value.monitor = existing != nullptr ? *existing : input;
    return;
  }
  BalanceMonitor monitor;
  monitor.id = input.id;
  monitor.account_id = input.account_id;
  monitor.field = input.field;
  monitor.op = input.op;
  monitor.threshold = input.threshold;
  const Account& account = *find_account(input.account_id);
  monitor.currency = account.currency;
  monitor.value = balance_value(account, input.field);
  // A condition that already holds is a crossing at creation: the event says so at once.
  monitor.triggered = monitor_condition(monitor.op, monitor.value, monitor.threshold);
  monitor.change = monitor.triggered ? MonitorChange::triggered : MonitorChange::created;
  monitor.timestamp = next_timestamp();
  monitor.created_timestamp = monitor.timestamp;
  const auto position = static_cast<std::uint32_t>(monitors_.size());
  monitors_.push_back(monitor);
  monitor_index_.insert(monitor.id.value, position);
  attach_monitor(position);
  JournalRecord& record = out->records.emplace_back();
  record.kind = RecordKind::monitor;
  record.value.monitor = monitor;
  result->value.monitor = monitor;
}

void Engine::delete_monitor(const Command& command, CommandResult* result, BatchOutput* out) {
  const std::uint32_t position = monitor_position(command.body.monitor_id);
  if (position == IdIndex::not_found) {
    result->code = static_cast<std::uint8_t>(MonitorResult::monitor_not_found);
    result->value.monitor = BalanceMonitor{};
    result->value.monitor.id = command.body.monitor_id;
    return;
  }
  BalanceMonitor& monitor = monitors_[position];
  result->code = static_cast<std::uint8_t>(MonitorResult::ok);
  if (!monitor.deleted) {  // deleting twice is a no-op, answered the same
    detach_monitor(position);
    monitor.deleted = true;
    monitor.change = MonitorChange::deleted;
    monitor.timestamp = next_timestamp();
    JournalRecord& record = out->records.emplace_back();
    record.kind = RecordKind::monitor;
    record.value.monitor = monitor;
  }
  result->value.monitor = monitor;
}

void Engine::evaluate_monitors(BatchOutput* out) {
  for (const std::uint32_t account_position : monitor_dirty_) {
    const auto it = account_monitors_.find(account_position);
    if (it == account_monitors_.end()) continue;
    const Account& account = accounts_[account_position];
    for (const std::uint32_t position : it->second) {
      BalanceMonitor& monitor = monitors_[position];
      const Sum value = balance_value(account, monitor.field);
      const bool holds = monitor_condition(monitor.op, value, monitor.threshold);
      if (holds == monitor.triggered) continue;
      monitor.triggered = holds;
      monitor.value = value;
      monitor.change = holds ? MonitorChange::triggered : MonitorChange::resolved;
      monitor.timestamp = next_timestamp();
      JournalRecord& record = out->records.emplace_back();
      record.kind = RecordKind::monitor;
      record.value.monitor = monitor;
    }
  }
  monitor_dirty_.clear();
}

}  // namespace ledger::engine
