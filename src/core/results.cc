#include "ledger/results.h"

namespace ledger {
namespace {
#define LEDGER_ENUM_NAME(name) #name,
constexpr std::string_view transfer_names[] = {LEDGER_TRANSFER_RESULTS(LEDGER_ENUM_NAME)};
constexpr std::string_view account_names[] = {LEDGER_ACCOUNT_RESULTS(LEDGER_ENUM_NAME)};
constexpr std::string_view card_names[] = {LEDGER_CARD_RESULTS(LEDGER_ENUM_NAME)};
constexpr std::string_view monitor_names[] = {LEDGER_MONITOR_RESULTS(LEDGER_ENUM_NAME)};
constexpr std::string_view direct_debit_names[] = {LEDGER_DIRECT_DEBIT_RESULTS(LEDGER_ENUM_NAME)};
#undef LEDGER_ENUM_NAME
static_assert(std::size(transfer_names) == transfer_result_count);
static_assert(std::size(account_names) == account_result_count);
}  // namespace

std::string_view to_string(TransferResult result) {
  return transfer_names[static_cast<std::size_t>(result)];
}
std::string_view to_string(CardResult result) {
  return card_names[static_cast<std::size_t>(result)];
}

std::string_view to_string(MonitorResult result) {
  const auto i = static_cast<std::size_t>(result);
  return i < std::size(monitor_names) ? monitor_names[i] : std::string_view{};
}

std::string_view to_string(DirectDebitResult result) {
  const auto i = static_cast<std::size_t>(result);
  return i < std::size(direct_debit_names) ? direct_debit_names[i] : std::string_view{};
}

std::string_view to_string(AccountResult result) {
  return account_names[static_cast<std::size_t>(result)];
}

std::string reason_in_words(TransferResult result) {
  if (result == TransferResult::ok) return "approved";
  std::string out(to_string(result));
  for (char& c : out) {
    if (c == '_') c = ' ';
  }
  return out;
}

std::string_view authorization_response_code(TransferResult result) {
  switch (result) {
    case TransferResult::ok:
    case TransferResult::exists:
      return "00";
    case TransferResult::card_unknown:
      return "14";
    case TransferResult::card_expired:
      return "54";
    case TransferResult::card_not_active:
      return "62";
    case TransferResult::card_channel_not_allowed:
    case TransferResult::card_mcc_blocked:
    case TransferResult::currency_mismatch:
      return "57";
    case TransferResult::card_limit_exceeded:
      return "61";
    case TransferResult::card_count_limit_exceeded:
    case TransferResult::card_transaction_full:
      return "65";
    case TransferResult::exceeds_available:
      return "51";
    default:
      return "91";
  }
}

}  // namespace ledger
