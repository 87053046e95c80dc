#include "ledger/direct_debits.h"

#include <algorithm>
#include <array>

namespace ledger {
namespace {
constexpr std::array<std::string_view, 6> statuses = {"received", "refused",  "waiting_for_funds",
                                                      "paid",     "returned", "refunded"};
constexpr std::array<std::string_view, 7> changes = {
    "received", "refused", "at_risk", "waiting_for_funds", "paid", "returned", "refunded"};
constexpr std::array<std::string_view, 4> sequences = {"FRST", "RCUR", "OOFF", "FNAL"};
}  // namespace

std::string_view status_name(DirectDebitStatus status) {
  return statuses[static_cast<std::size_t>(status) % statuses.size()];
}

std::optional<DirectDebitStatus> direct_debit_status_from_name(std::string_view name) {
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    if (statuses[i] == name) return static_cast<DirectDebitStatus>(i);
  }
  return std::nullopt;
}

std::string_view change_name(DirectDebitChange change) {
  return changes[static_cast<std::size_t>(change) % changes.size()];
}

std::string_view scheme_name(DirectDebitScheme scheme) {
  return scheme == DirectDebitScheme::b2b ? "b2b" : "core";
}

std::optional<DirectDebitScheme> scheme_from_name(std::string_view name) {
  if (name == "core" || name == "CORE") return DirectDebitScheme::core;
  if (name == "b2b" || name == "B2B") return DirectDebitScheme::b2b;
  return std::nullopt;
}

std::string_view sequence_name(SequenceType sequence) {
  return sequences[static_cast<std::size_t>(sequence) % sequences.size()];
}

std::optional<SequenceType> sequence_from_name(std::string_view name) {
  for (std::size_t i = 0; i < sequences.size(); ++i) {
    if (sequences[i] == name) return static_cast<SequenceType>(i);
  }
  return std::nullopt;
}

sepa::Reason mandate_rule_refusal(const MandateRules& rules, DirectDebitScheme scheme,
                                  const DirectDebitDetails& details) {
  const auto listed = [](const std::vector<std::string>& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
  };
  if (listed(rules.blocked_creditors, details.creditor_id) ||
      listed(rules.blocked_mandates, details.mandate_reference)) {
    return sepa::Reason::MS02;
  }
  if (scheme == DirectDebitScheme::b2b) {
    for (const MandateRules::B2bMandate& m : rules.b2b_mandates) {
      if (m.creditor_id == details.creditor_id &&
          m.mandate_reference == details.mandate_reference) {
        return sepa::Reason::none;
      }
    }
    return sepa::Reason::MD01;
  }
  return sepa::Reason::none;
}

}  // namespace ledger
