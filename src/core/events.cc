#include "ledger/events.h"

namespace ledger {
namespace {

constexpr std::array<std::string_view, event_type_count + 1> names = {
    "",
    "transfer.created",
    "transfer.pending",
    "transfer.posted",
    "transfer.voided",
    "transfer.expired",
    "transfer.rejected",
    "card.authorization.approved",
    "card.authorization.declined",
    "card.completion",
    "card.reversal",
    "account.created",
    "account.updated",
    "card.created",
    "card.updated",
    "balance_monitor.triggered",
    "balance_monitor.resolved",
    "spending.spike",
    "direct_debit.received",
    "direct_debit.refused",
    "direct_debit.at_risk",
    "direct_debit.waiting_for_funds",
    "direct_debit.paid",
    "direct_debit.returned",
    "direct_debit.refunded",
    "direct_debit.reversed",
    "credit_transfer.accepted",
    "credit_transfer.sent",
    "credit_transfer.settled",
    "credit_transfer.rejected",
    "credit_transfer.returned",
    "credit_transfer.received",
    "card.cleared",
    "card.force_posted",
    "card.refund_cleared",
    "card.clearing_reversed",
    "dispute.opened",
    "dispute.provisional_credit",
    "dispute.charged_back",
    "dispute.representment",
    "dispute.won",
    "dispute.lost",
};

EventType transfer_event(const Transfer& t) {
  const bool ok = t.result == TransferResult::ok;
  switch (t.code) {
    case TransferCode::card_authorization:
    case TransferCode::card_financial:
    case TransferCode::card_refund:
      return ok ? EventType::card_authorization_approved : EventType::card_authorization_declined;
    case TransferCode::card_capture:
      return EventType::card_completion;
    case TransferCode::card_reversal:
      return EventType::card_reversal;
    case TransferCode::credit_transfer:
    case TransferCode::credit_transfer_instant:
      if (!ok) return EventType::transfer_rejected;  // not accepted: no credit transfer exists
      if ((t.flags & flag_pending) != 0) return EventType::credit_transfer_accepted;
      if ((t.flags & flag_void_pending) != 0) return EventType::credit_transfer_rejected;
      // Posted: a regular one when its file leaves, an instant one on its ACCP (or, after a
      // time-out released the hold, the debit a later ACCP status makes).
      return t.code == TransferCode::credit_transfer ? EventType::credit_transfer_sent
                                                     : EventType::credit_transfer_settled;
    case TransferCode::credit_transfer_reject:
      return ok ? EventType::credit_transfer_rejected : EventType::transfer_rejected;
    case TransferCode::credit_transfer_return:
      return ok ? EventType::credit_transfer_returned : EventType::transfer_rejected;
    case TransferCode::credit_transfer_in:
      return ok ? EventType::credit_transfer_received : EventType::transfer_rejected;
    case TransferCode::card_clearing:
      if (!ok) return EventType::transfer_rejected;
      // The other holds of the transaction, released beside the one the record posted.
      return (t.flags & flag_void_pending) != 0 ? EventType::transfer_voided
                                                : EventType::card_cleared;
    case TransferCode::card_force_post:
      return ok ? EventType::card_force_posted : EventType::transfer_rejected;
    case TransferCode::card_clearing_refund:
      return ok ? EventType::card_refund_cleared : EventType::transfer_rejected;
    case TransferCode::card_clearing_reversal:
      return ok ? EventType::card_clearing_reversed : EventType::transfer_rejected;
    case TransferCode::dispute_opened:
      if (!ok) return EventType::transfer_rejected;
      if ((t.flags & flag_pending) != 0) return EventType::dispute_opened;
      if ((t.flags & flag_post_pending) != 0) return EventType::dispute_charged_back;
      return EventType::transfer_voided;
    case TransferCode::dispute_credit:
      return ok ? EventType::dispute_provisional_credit : EventType::transfer_rejected;
    case TransferCode::dispute_charged_back:
      return ok ? EventType::dispute_charged_back : EventType::transfer_rejected;
    case TransferCode::dispute_representment:
      return ok ? EventType::dispute_representment : EventType::transfer_rejected;
    case TransferCode::dispute_won:
      return ok ? EventType::dispute_won : EventType::transfer_rejected;
    case TransferCode::dispute_lost:
      return ok ? EventType::dispute_lost : EventType::transfer_rejected;
    default:
      break;
  }
  if (!ok) return EventType::transfer_rejected;
  if ((t.flags & flag_pending) != 0) return EventType::transfer_pending;
  if ((t.flags & flag_post_pending) != 0) return EventType::transfer_posted;
  if ((t.flags & flag_void_pending) != 0) {
    return t.code == TransferCode::expiry ? EventType::transfer_expired
                                          : EventType::transfer_voided;
  }
  return EventType::transfer_created;
}

}  // namespace

std::string_view event_type_name(EventType type) {
  const auto i = static_cast<std::size_t>(type);
  return i < names.size() ? names[i] : std::string_view{};
}

std::optional<EventType> event_type_from_name(std::string_view name) {
  for (std::size_t i = 1; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<EventType>(i);
  }
  return std::nullopt;
}

RecordKind record_kind_of(EventType e) {
  if (e == EventType::account_created || e == EventType::account_updated) {
    return RecordKind::account;
  }
  if (e == EventType::card_created || e == EventType::card_updated) return RecordKind::card;
  if (e == EventType::balance_monitor_triggered || e == EventType::balance_monitor_resolved) {
    return RecordKind::monitor;
  }
  if (e == EventType::spending_spike) return RecordKind::spike;
  if (e >= EventType::direct_debit_received && e <= EventType::direct_debit_reversed) {
    return RecordKind::direct_debit;
  }
  return RecordKind::transfer;
}

bool is_event(const JournalRecord& record) {
  if (record.kind == RecordKind::card_message) return false;
  // A collection's postings (paid, funded, returned, refunded) are part of its direct_debit.*
  // event: one event per business fact, so a subscriber (and Slack) sees a payment once.
  if (record.kind == RecordKind::transfer) {
    const TransferCode code = record.value.transfer.code;
    return code != TransferCode::direct_debit && code != TransferCode::direct_debit_return &&
           code != TransferCode::direct_debit_refund;
  }
  if (record.kind != RecordKind::monitor) return true;
  const MonitorChange change = record.value.monitor.change;
  return change == MonitorChange::triggered || change == MonitorChange::resolved;
}

EventType event_type_of(const JournalRecord& record) {
  switch (record.kind) {
    case RecordKind::account:
      return record.value.account.created_timestamp == record.value.account.timestamp
                 ? EventType::account_created
                 : EventType::account_updated;
    case RecordKind::card:
      return record.value.card.created_timestamp == record.value.card.timestamp
                 ? EventType::card_created
                 : EventType::card_updated;
    case RecordKind::monitor:
      return record.value.monitor.change == MonitorChange::resolved
                 ? EventType::balance_monitor_resolved
                 : EventType::balance_monitor_triggered;
    case RecordKind::spike:
      return EventType::spending_spike;
    case RecordKind::direct_debit:
      return static_cast<EventType>(static_cast<int>(EventType::direct_debit_received) +
                                    static_cast<int>(record.value.direct_debit.change));
    case RecordKind::transfer:
    case RecordKind::card_message:  // not an event (the writer skips it): its transfer is
      break;
  }
  return transfer_event(record.value.transfer);
}

EventKey event_key_of(const JournalRecord& record) {
  EventKey key;
  key.type = event_type_of(record);
  key.after_a = record.after_a;
  key.after_b = record.after_b;
  switch (record.kind) {
    case RecordKind::account:
      key.ts = record.value.account.timestamp;
      key.account_a = record.value.account.id;
      break;
    case RecordKind::card:
      key.ts = record.value.card.timestamp;
      key.account_a = record.value.card.account_id;
      break;
    case RecordKind::card_message:
      key.ts = record.value.card_message.timestamp;
      break;
    case RecordKind::monitor:
      key.ts = record.value.monitor.timestamp;
      key.account_a = record.value.monitor.account_id;
      break;
    case RecordKind::spike:
      key.ts = record.value.spike.timestamp;
      key.account_a = record.value.spike.account_id;
      break;
    case RecordKind::direct_debit:
      key.ts = record.value.direct_debit.timestamp;
      key.account_a = record.value.direct_debit.account_id;
      key.has_amount = true;
      key.amount = record.value.direct_debit.amount;
      key.currency = record.value.direct_debit.currency;
      break;
    case RecordKind::transfer:
      key.ts = record.value.transfer.timestamp;
      key.account_a = record.value.transfer.debit_account_id;
      key.account_b = record.value.transfer.credit_account_id;
      key.has_amount = true;
      key.amount = record.value.transfer.amount_effective > 0
                       ? record.value.transfer.amount_effective
                       : record.value.transfer.amount;
      key.currency = record.value.transfer.currency;
      break;
  }
  return key;
}

}  // namespace ledger
