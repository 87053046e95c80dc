#include "document/event.h"

#include <cstdio>
#include <cstring>

#include "document/records.h"
#include "ledger/card_ids.h"
#include "ledger/credit_transfers.h"
#include "ledger/disputes.h"
#include "ledger/ids.h"
#include "ledger/money.h"
#include "ledger/results.h"

namespace ledger::document {

using nlohmann::json;

namespace {

template <std::size_t N>
json merchant_text(const Event& event, const char (&text)[N]) {
  const std::size_t n = strnlen(text, N);
  if (!event.has_merchant || n == 0) return nullptr;
  return std::string(text, n);
}

std::string mcc_text(std::uint16_t mcc) {
  char text[8];
  std::snprintf(text, sizeof text, "%04u", mcc);
  return text;
}

// JavaScript reads every JSON number as a double: integers beyond 2^53 - 1 arrive rounded.
// Events are read by browsers, Zapier, Make and Node services, so an event never holds such a
// number: the 64-bit identifiers and the nanosecond timestamp are always decimal strings
// (below), and any other integer beyond that range (an amount or sum past 90 trillion minor
// units) is a decimal string too.
constexpr std::int64_t javascript_exact_max = (std::int64_t{1} << 53) - 1;

void exact_for_javascript(json& value) {
  if (value.is_object() || value.is_array()) {
    for (auto& item : value) exact_for_javascript(item);
  } else if (value.is_number_unsigned()) {
    const auto v = value.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(javascript_exact_max)) value = std::to_string(v);
  } else if (value.is_number_integer()) {
    const auto v = value.get<std::int64_t>();
    if (v > javascript_exact_max || v < -javascript_exact_max) value = std::to_string(v);
  }
}

void as_text(json& object, const char* field) {
  const auto it = object.find(field);
  if (it == object.end()) return;
  if (it->is_number_unsigned()) {
    *it = std::to_string(it->get<std::uint64_t>());
  } else if (it->is_number_integer()) {
    *it = std::to_string(it->get<std::int64_t>());
  }
}

}  // namespace

std::string_view channel_name(CardChannel channel) {
  switch (channel) {
    case CardChannel::card_present:
      return "card_present";
    case CardChannel::online:
      return "online";
    case CardChannel::atm:
      return "atm";
    case CardChannel::contactless:
      return "contactless";
    case CardChannel::unknown:
      break;
  }
  return "";
}

std::string event_id(std::uint64_t seq) {
  char text[32];
  std::snprintf(text, sizeof text, "evt_%016llx", static_cast<unsigned long long>(seq));
  return text;
}

json event_json(const Event& event) {
  json data = json::object();
  switch (event.record.kind) {
    case RecordKind::account: {
      const Account& a = event.record.value.account;
      json account = account_json(a);
      account.erase("balances");  // the feed carries settings; balances are read live
      as_text(account, "reference");
      data["account"] = std::move(account);
      break;
    }
    case RecordKind::card: {
      const Card& c = event.record.value.card;
      data["card"] = card_json(c);
      break;
    }
    case RecordKind::card_message:  // never an event of its own
      break;
    case RecordKind::direct_debit: {
      const DirectDebit& dd = event.record.value.direct_debit;
      data["direct_debit"] = direct_debit_state_json(dd);
      if (!dd.account_id.is_zero()) data["account_id"] = format_uuid(dd.account_id.value);
      // Who collects and under which mandate, as GET /v1/direct-debits/{id} shows them.
      const auto text = [](const std::string& v) { return v.empty() ? json(nullptr) : json(v); };
      data["direct_debit"]["creditor_name"] = text(event.creditor_name);
      data["direct_debit"]["creditor_id"] = text(event.creditor_id);
      data["direct_debit"]["mandate_reference"] = text(event.mandate_reference);
      data["direct_debit"]["end_to_end_id"] = text(event.end_to_end_id);
      break;
    }
    case RecordKind::spike: {
      const SpendingSpike& s = event.record.value.spike;
      data["spike"] = spike_json(s);
      break;
    }
    case RecordKind::monitor: {
      const BalanceMonitor& m = event.record.value.monitor;
      data["monitor"] = monitor_json(m);
      data["account_id"] = format_uuid(m.account_id.value);
      break;
    }
    case RecordKind::transfer: {
      const Transfer& t = event.record.value.transfer;
      data["transfer"] = transfer_json(t);
      for (const char* field : {"reference", "reference_b", "timestamp"})
        as_text(data["transfer"], field);
      const bool card_message = event.type == EventType::card_authorization_approved ||
                                event.type == EventType::card_authorization_declined ||
                                event.type == EventType::card_completion ||
                                event.type == EventType::card_reversal;
      if (is_credit_transfer_code(t.code) && t.result == TransferResult::ok) {
        // The credit transfer this step is of (GET /v1/credit-transfers/{id}), with the other
        // party, the reason of a rejection or return, and whether it is instant.
        const auto text = [](const std::string& v) { return v.empty() ? json(nullptr) : json(v); };
        data["credit_transfer"] = {{"id", format_uuid(Uint128{t.reference_a, t.reference_b})},
                                   {"counterparty_name", text(event.counterparty_name)},
                                   {"reason", text(event.reason_code)},
                                   {"instant", event.instant}};
      }
      const bool clearing =
          event.type >= EventType::card_cleared && event.type <= EventType::card_clearing_reversed;
      if (clearing) {
        // A clearing record's posting (docs/card-clearing.md): the card, the cardholder's
        // account, what moved and where, as the scheme's record named the merchant.
        const Uint128 card{t.reference_a, t.reference_b};
        // The cardholder's side is the one that is not the card settlement account.
        const bool credit = t.debit_account_id == card_settlement_account_id(t.currency);
        const AccountId account = credit ? t.credit_account_id : t.debit_account_id;
        data["clearing"] = {{"card_id", card.is_zero() ? json(nullptr) : json(format_uuid(card))},
                            {"account_id", format_uuid(account.value)},
                            {"amount", t.amount_effective},
                            {"currency", std::string(currency_alpha(t.currency))},
                            {"direction", credit ? "credit" : "debit"},
                            {"merchant_name", merchant_text(event, event.merchant.merchant.name)},
                            {"merchant_city", merchant_text(event, event.merchant.merchant.city)},
                            {"mcc", event.has_merchant && event.merchant.mcc != 0
                                        ? json(mcc_text(event.merchant.mcc))
                                        : json(nullptr)},
                            {"country", merchant_text(event, event.merchant.merchant.country)}};
      }
      if (t.code >= TransferCode::dispute_opened && t.code <= TransferCode::dispute_lost &&
          t.result == TransferResult::ok) {
        data["dispute"] = {{"id", format_uuid(Uint128{t.reference_a, t.reference_b})}};
      }
      if (card_message) {
        const Uint128 card{t.reference_a, t.reference_b};
        const bool refund = t.code == TransferCode::card_refund;
        const AccountId account = refund ? t.credit_account_id : t.debit_account_id;
        data["authorization"] = {
            {"card_id", card.is_zero() ? json(nullptr) : json(format_uuid(card))},
            {"account_id", account.is_zero() ? json(nullptr) : json(format_uuid(account.value))},
            {"amount", t.amount},
            {"amount_effective", t.amount_effective},
            {"currency",
             t.currency.code == 0 ? json(nullptr) : json(std::string(currency_alpha(t.currency)))},
            {"merchant_name", merchant_text(event, event.merchant.merchant.name)},
            {"merchant_city", merchant_text(event, event.merchant.merchant.city)},
            {"mcc", event.has_merchant && event.merchant.mcc != 0
                        ? json(mcc_text(event.merchant.mcc))
                        : json(nullptr)},
            {"country", merchant_text(event, event.merchant.merchant.country)},
            {"channel",
             event.has_merchant && event.merchant.merchant.channel != CardChannel::unknown
                 ? json(std::string(channel_name(event.merchant.merchant.channel)))
                 : json(nullptr)},
            {"response_code", std::string(authorization_response_code(t.result))},
            {"reason", reason_in_words(t.result)}};
        if (event.type == EventType::card_reversal) {
          // Who reversed: the network (0400/0420, a declined 0120), or ledgerd's late rule (the
          // approval committed after the network was answered 91).
          data["authorization"]["reversal"] =
              card_ids::is_late_rule_key(t.reference_32) ? "answered_late" : "network";
        }
      }
      break;
    }
  }
  // The balances right after the change, for each account whose balance it moved (posted and
  // available on the account's normal side): what a notification needs to say "balance after".
  json balances = json::array();
  const auto after = [&balances](AccountId account, const BalanceAfter& b) {
    if (!b.known || account.is_zero()) return;
    balances.push_back(json{{"account_id", format_uuid(account.value)},
                            {"posted", b.posted},
                            {"available", b.available}});
  };
  if (event.record.kind == RecordKind::transfer) {
    after(event.record.value.transfer.debit_account_id, event.after_a);
    after(event.record.value.transfer.credit_account_id, event.after_b);
  } else if (event.record.kind == RecordKind::direct_debit) {
    after(event.record.value.direct_debit.account_id, event.after_a);
  }
  if (!balances.empty()) data["balances_after"] = std::move(balances);
  exact_for_javascript(data);
  return json{{"id", event_id(event.seq)},
              {"seq", event.seq},
              {"type", std::string(event_type_name(event.type))},
              {"timestamp", format_time(record_timestamp(event.record))},
              {"data", std::move(data)}};
}

json test_event_json(std::string_view id, std::uint64_t timestamp_ns, Uint128 subscription_id) {
  return json{{"id", std::string(id)},
              {"seq", 0},
              {"type", "webhook.test"},
              {"timestamp", format_time(timestamp_ns)},
              {"data", {{"subscription_id", format_uuid(subscription_id)}}}};
}

}  // namespace ledger::document
