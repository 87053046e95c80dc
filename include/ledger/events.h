// The event feed: every committed journal record is one event, numbered in commit order by a
// gap-free sequence (assigned by the journal writer inside the transaction that writes the
// record, so an event exists if and only if its change is durable). The types are the contract
// integration clients use: names are never renamed, only added.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "ledger/types.h"

namespace ledger {

enum class EventType : std::uint8_t {
  transfer_created = 1,  // single-phase transfer
  transfer_pending,
  transfer_posted,
  transfer_voided,
  transfer_expired,
  transfer_rejected,
  card_authorization_approved,
  card_authorization_declined,
  card_completion,
  card_reversal,
  account_created,
  account_updated,
  card_created,
  card_updated,
  balance_monitor_triggered,
  balance_monitor_resolved,
  spending_spike,
  direct_debit_received,  // then one per DirectDebitChange, in its order
  direct_debit_refused,
  direct_debit_at_risk,
  direct_debit_waiting_for_funds,
  direct_debit_paid,
  direct_debit_returned,
  direct_debit_refunded,
  direct_debit_reversed,
  // SEPA credit transfers (transfer records of the credit_transfer* codes).
  credit_transfer_accepted,
  credit_transfer_sent,
  credit_transfer_settled,
  credit_transfer_rejected,
  credit_transfer_returned,
  credit_transfer_received,
  // Card clearing (transfer records of the card_clearing* and card_force_post codes).
  card_cleared,
  card_force_posted,
  card_refund_cleared,
  card_clearing_reversed,
  // Disputes (transfer records of the dispute_* codes).
  dispute_opened,
  dispute_provisional_credit,
  dispute_charged_back,
  dispute_representment,
  dispute_won,
  dispute_lost,
};
inline constexpr std::size_t event_type_count = 41;

// Where the feed finds an event's record.
RecordKind record_kind_of(EventType type);

// "transfer.created", ... ("" for a value outside the enum).
std::string_view event_type_name(EventType type);
std::optional<EventType> event_type_from_name(std::string_view name);

// Whether a journal record is an event: every record but a card message's merchant (part of its
// transfer's event) and a monitor's creation or deletion (only its crossings are events).
bool is_event(const JournalRecord& record);

// The event a journal record is: card messages by their outcome, transfers by their kind,
// monitors by their crossing. REQUIRES: is_event(record).
EventType event_type_of(const JournalRecord& record);

// What the feed stores beside the type, so that it can be filtered without reading the
// record: the accounts the event concerns (b is zero when there is only one).
struct EventKey {
  EventType type = EventType::transfer_created;
  std::uint64_t ts = 0;  // the record's timestamp: unique, finds the record
  AccountId account_a;
  AccountId account_b;
  // Transfers: what subscription filters compare (amount_effective when money moved, else the
  // amount asked) and the currency; has_amount false for every other record.
  bool has_amount = false;
  std::int64_t amount = 0;
  Currency currency;
  // The accounts' balances right after the change (JournalRecord::after_a, after_b).
  BalanceAfter after_a;
  BalanceAfter after_b;
};
EventKey event_key_of(const JournalRecord& record);

}  // namespace ledger
