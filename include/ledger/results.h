// Business outcomes of the engine, one value per reason. They are mapped to
// HTTP statuses and ISO 8583 DE39 only at the edges. Names are stable API ("code" in REST).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ledger {

#define LEDGER_TRANSFER_RESULTS(X)           \
  X(ok)                                      \
  X(exists)                                  \
  X(exists_with_different_flags)             \
  X(exists_with_different_debit_account_id)  \
  X(exists_with_different_credit_account_id) \
  X(exists_with_different_amount)            \
  X(exists_with_different_currency)          \
  X(exists_with_different_pending_id)        \
  X(exists_with_different_timeout)           \
  X(exists_with_different_code)              \
  X(exists_with_different_reference_a)       \
  X(exists_with_different_reference_b)       \
  X(exists_with_different_reference_32)      \
  X(id_must_not_be_zero)                     \
  X(flags_are_mutually_exclusive)            \
  X(over_capture_requires_post_pending)      \
  X(amount_must_be_positive)                 \
  X(pending_id_must_be_zero)                 \
  X(pending_id_required)                     \
  X(pending_id_must_differ)                  \
  X(timeout_reserved_for_pending)            \
  X(accounts_must_be_different)              \
  X(debit_account_not_found)                 \
  X(credit_account_not_found)                \
  X(currency_mismatch)                       \
  X(account_closed)                          \
  X(account_frozen)                          \
  X(pending_not_found)                       \
  X(pending_is_not_pending)                  \
  X(pending_has_different_debit_account_id)  \
  X(pending_has_different_credit_account_id) \
  X(pending_already_posted)                  \
  X(pending_already_voided)                  \
  X(pending_expired)                         \
  X(amount_exceeds_pending)                  \
  X(overflow)                                \
  X(exceeds_available)                       \
  X(linked_event_failed)                     \
  X(linked_event_chain_open)                 \
  X(transfer_capacity_exhausted)             \
  X(card_unknown)                            \
  X(card_expired)                            \
  X(card_not_active)                         \
  X(card_channel_not_allowed)                \
  X(card_mcc_blocked)                        \
  X(card_limit_exceeded)                     \
  X(card_count_limit_exceeded)               \
  X(nothing_to_reverse)                      \
  X(over_capture_beyond_tolerance)           \
  X(card_transaction_full)

#define LEDGER_ACCOUNT_RESULTS(X)          \
  X(ok)                                    \
  X(exists)                                \
  X(exists_with_different_holder_id)       \
  X(exists_with_different_currency)        \
  X(exists_with_different_kind)            \
  X(exists_with_different_flags)           \
  X(exists_with_different_overdraft_limit) \
  X(exists_with_different_reference)       \
  X(id_must_not_be_zero)                   \
  X(flags_are_mutually_exclusive)          \
  X(currency_required)                     \
  X(overdraft_limit_must_not_be_negative)  \
  X(account_not_found)                     \
  X(account_closed)                        \
  X(account_balance_not_zero)              \
  X(account_has_pending_transfers)         \
  X(account_capacity_exhausted)

#define LEDGER_CARD_RESULTS(X)        \
  X(ok)                               \
  X(exists)                           \
  X(exists_with_different_account_id) \
  X(exists_with_different_pan)        \
  X(exists_with_different_expiry)     \
  X(id_must_not_be_zero)              \
  X(card_pan_exists)                  \
  X(card_account_not_found)           \
  X(card_account_closed)              \
  X(card_not_found)                   \
  X(card_blocked)                     \
  X(card_capacity_exhausted)

#define LEDGER_MONITOR_RESULTS(X) \
  X(ok)                           \
  X(exists)                       \
  X(exists_with_different_fields) \
  X(id_must_not_be_zero)          \
  X(monitor_account_not_found)    \
  X(monitor_account_closed)       \
  X(monitor_not_found)            \
  X(monitor_capacity_exhausted)

#define LEDGER_DIRECT_DEBIT_RESULTS(X) \
  X(ok)                                \
  X(exists)                            \
  X(exists_with_different_fields)      \
  X(id_must_not_be_zero)               \
  X(direct_debit_not_found)            \
  X(direct_debit_not_paid)             \
  X(refund_not_allowed_for_b2b)        \
  X(refund_period_over)                \
  X(direct_debit_capacity_exhausted)   \
  X(direct_debit_already_settled)

#define LEDGER_ENUM_VALUE(name) name,
enum class TransferResult : std::uint8_t { LEDGER_TRANSFER_RESULTS(LEDGER_ENUM_VALUE) };
enum class AccountResult : std::uint8_t { LEDGER_ACCOUNT_RESULTS(LEDGER_ENUM_VALUE) };
enum class CardResult : std::uint8_t { LEDGER_CARD_RESULTS(LEDGER_ENUM_VALUE) };
enum class MonitorResult : std::uint8_t { LEDGER_MONITOR_RESULTS(LEDGER_ENUM_VALUE) };
enum class DirectDebitResult : std::uint8_t { LEDGER_DIRECT_DEBIT_RESULTS(LEDGER_ENUM_VALUE) };
#undef LEDGER_ENUM_VALUE

std::string_view to_string(TransferResult result);
std::string_view to_string(AccountResult result);
std::string_view to_string(CardResult result);
std::string_view to_string(MonitorResult result);
std::string_view to_string(DirectDebitResult result);

// The ISO 8583 response code (DE39) of an engine result for an authorization: 00 for
// approvals and repeats. One table for the card-network answer and for the events that
// report it (authorization events carry it as response_code).
std::string_view authorization_response_code(TransferResult result);
// "insufficient_funds" -> "insufficient funds" ("approved" for ok): what a person reads
// (Slack text, the reason of a card event).
std::string reason_in_words(TransferResult result);

inline constexpr int transfer_result_count =
    static_cast<int>(TransferResult::card_transaction_full) + 1;
// Results of card authorizations only (the plain transfer API never produces them).
inline constexpr int transfer_result_card_first = static_cast<int>(TransferResult::card_unknown);
inline constexpr int account_result_count =
    static_cast<int>(AccountResult::account_capacity_exhausted) + 1;

}  // namespace ledger
