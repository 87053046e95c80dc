// Balance monitors (types.h: BalanceMonitor): which balance they watch and when their condition
// holds. Shared by the engine (which evaluates them), the REST mapping and the event feed, so
// that "available" means the same number everywhere.
#pragma once

#include <optional>
#include <string_view>

#include "ledger/types.h"

namespace ledger {

// The balances as GET /v1/accounts/{id} shows them: posted and pending from the account's
// normal side (credit-normal accounts, credits_must_not_exceed_debits, count debits as the
// balance), available = posted - pending + overdraft_limit.
inline Sum balance_value(const Account& a, BalanceField field) {
  const bool credit_normal = (a.flags & credits_must_not_exceed_debits) != 0;
  const Sum posted =
      credit_normal ? a.debits_posted - a.credits_posted : a.credits_posted - a.debits_posted;
  const Sum pending = credit_normal ? a.credits_pending : a.debits_pending;
  switch (field) {
    case BalanceField::posted:
      return posted;
    case BalanceField::pending:
      return pending;
    case BalanceField::available:
      break;
  }
  return posted - pending + a.overdraft_limit;
}

inline bool monitor_condition(BalanceOperator op, Sum value, std::int64_t threshold) {
  switch (op) {
    case BalanceOperator::less:
      return value < threshold;
    case BalanceOperator::less_equal:
      return value <= threshold;
    case BalanceOperator::greater:
      return value > threshold;
    case BalanceOperator::greater_equal:
      break;
  }
  return value >= threshold;
}

std::string_view field_name(BalanceField field);
std::optional<BalanceField> parse_balance_field(std::string_view name);
std::string_view operator_text(BalanceOperator op);  // "<", "<=", ">", ">="
std::optional<BalanceOperator> parse_balance_operator(std::string_view text);

}  // namespace ledger
