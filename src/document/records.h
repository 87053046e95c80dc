// The JSON documents of ledger records: what the REST API answers for an account, a transfer,
// a card, a balance monitor, a spike and a direct debit, and the data of the events that carry
// them (GET /v1/events, webhooks, docs/events.md). Their names for the enums, both ways.
// Pure: no I/O, no server; used by the REST mapping (src/http) and by delivery (src/outbound).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/direct_debits.h"
#include "ledger/monitors.h"
#include "ledger/spikes.h"
#include "ledger/types.h"

namespace ledger::document {

std::string_view kind_name(AccountKind kind);
std::optional<AccountKind> parse_kind(std::string_view name);
std::string_view status_name(AccountStatus status);
std::optional<AccountStatus> parse_status(std::string_view name);
std::string_view code_name(TransferCode code);
std::optional<TransferCode> parse_code(std::string_view name);
std::string_view card_status_name(CardStatus status);
std::optional<CardStatus> parse_card_status(std::string_view name);

// RFC 3339 UTC text of a logical timestamp (nanoseconds since the Unix epoch), nanosecond
// fraction: "2026-11-23T12:00:00.000000000Z".
std::string format_time(std::uint64_t timestamp_ns);
nlohmann::json time_or_null(std::uint64_t timestamp_ns);  // null for 0 (not set)
nlohmann::json uuid_or_null(Uint128 id);                  // null for the zero id
// A running total or balance: a JSON integer while it fits int64 (always, for real accounts),
// else its decimal digits as a string, never a rounded or wrapped number.
nlohmann::json sum_json(__int128 value);
// A spike rule's factor over the usual amount, stored in hundredths: 3 or 2.5 (null for none).
nlohmann::json times_usual_json(std::uint32_t x100);
// A SEPA reason code ("AM04") or null.
nlohmann::json sepa_reason_json(std::uint8_t reason);

nlohmann::json account_json(const Account& account);  // with its balances
nlohmann::json transfer_json(const Transfer& transfer);
nlohmann::json card_json(const Card& card);
nlohmann::json monitor_json(const BalanceMonitor& monitor);
nlohmann::json spike_json(const SpendingSpike& spike);          // the data of spending.spike
nlohmann::json direct_debit_state_json(const DirectDebit& dd);  // the engine's part

}  // namespace ledger::document
