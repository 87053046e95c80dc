#include "ledger/direct_debits.h"

#include <algorithm>
#include <array>

namespace ledger {
namespace {
constexpr std::array<std::string_view, 7> statuses = {
    "received", "refused", "waiting_for_funds", "paid", "returned", "refunded", "reversed"};
constexpr std::array<std::string_view, 8> changes = {"received",          "refused", "at_risk",
                                                     "waiting_for_funds", "paid",    "returned",
                                                     "refunded",          "reversed"};
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
                                  const DirectDebitDetails& details, std::int64_t amount,
                                  std::uint32_t same_creditor_this_month) {
  if (rules.debtor_deceased) return sepa::Reason::MD07;
  // The collection's creditors and mandates: its own, and those it had before an amendment.
  std::vector<std::string> creditors{sepa::creditor_identity(details.creditor_id)};
  if (!details.original_creditor_id.empty()) {
    creditors.push_back(sepa::creditor_identity(details.original_creditor_id));
  }
  std::vector<std::string> mandates{details.mandate_reference};
  if (!details.original_mandate_reference.empty()) {
    mandates.push_back(details.original_mandate_reference);
  }
  const auto any_of = [](const std::vector<std::string>& ours, auto&& matches) {
    return std::any_of(ours.begin(), ours.end(), matches);
  };
  const auto is_creditor = [&](const std::string& listed) {
    const std::string identity = sepa::creditor_identity(listed);
    return any_of(creditors, [&](const std::string& c) { return c == identity; });
  };
  const auto is_mandate = [&](const std::string& listed) {
    return any_of(mandates, [&](const std::string& m) { return m == listed; });
  };
  const auto is_pair = [&](const MandateRules::B2bMandate& m) {
    return is_creditor(m.creditor_id) && is_mandate(m.mandate_reference);
  };
  if (std::any_of(rules.blocked_creditors.begin(), rules.blocked_creditors.end(), is_creditor) ||
      std::any_of(rules.blocked_mandates.begin(), rules.blocked_mandates.end(), is_mandate) ||
      std::any_of(rules.blocked_creditor_mandates.begin(), rules.blocked_creditor_mandates.end(),
                  is_pair)) {
    return sepa::Reason::SL01;
  }
  // The payer's limits: a whitelist of creditors, an amount, a number per month (SL01: the
  // debtor bank's service the payer asked for).
  if (!rules.allowed_creditors.empty() &&
      std::none_of(rules.allowed_creditors.begin(), rules.allowed_creditors.end(), is_creditor)) {
    return sepa::Reason::SL01;
  }
  for (const MandateRules::Limit& limit : rules.limits) {
    if (!limit.creditor_id.empty() && !is_creditor(limit.creditor_id)) continue;
    if (limit.max_amount > 0 && amount > limit.max_amount) return sepa::Reason::SL01;
    if (limit.max_per_month > 0 && same_creditor_this_month >= limit.max_per_month) {
      return sepa::Reason::SL01;
    }
  }
  if (scheme == DirectDebitScheme::b2b &&
      !std::any_of(rules.b2b_mandates.begin(), rules.b2b_mandates.end(), is_pair)) {
    return sepa::Reason::MD01;
  }
  return sepa::Reason::none;
}

}  // namespace ledger
