// JSON -> ledger records for the REST API (the other way is src/document). Parsing is strict:
// unknown fields, floats, strings where numbers belong, negatives, values beyond int64 and
// malformed UUIDs are rejected with an error naming the field. Pure functions (no I/O), fuzzed and
// unit-tested.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "document/records.h"
#include "ledger/types.h"

namespace ledger::http {

// The records' JSON documents and enum names (src/document), as the mappings use them.
using document::account_json;
using document::card_json;
using document::card_status_name;
using document::code_name;
using document::direct_debit_state_json;
using document::format_time;
using document::kind_name;
using document::monitor_json;
using document::parse_card_status;
using document::parse_code;
using document::parse_kind;
using document::parse_status;
using document::sepa_reason_json;
using document::spike_json;
using document::status_name;
using document::sum_json;
using document::time_or_null;
using document::times_usual_json;
using document::transfer_json;
using document::uuid_or_null;

struct BadRequest {
  std::string code;   // malformed_json, unknown_field, missing_field, invalid_field
  std::string field;  // the field at fault ("" for the whole body)
  std::string detail;
};

// Reads typed fields out of one JSON object and remembers the first error.
class FieldReader {
 public:
  // `prefix` names the object in errors ("transfers[3]." for an item of a batch).
  explicit FieldReader(const nlohmann::json& object, std::string prefix = "")
      : object_(object), prefix_(std::move(prefix)) {}

  std::optional<Uint128> uuid(const char* name, bool required);
  std::optional<std::int64_t> amount(const char* name, bool required, bool allow_zero);
  std::optional<std::uint64_t> unsigned_integer(const char* name, std::uint64_t max);
  std::optional<bool> boolean(const char* name);
  std::optional<Currency> currency(const char* name, bool required);
  std::optional<std::string> text(const char* name, bool required, std::size_t max_bytes);
  // Marks a field as known without reading it (the caller checks it).
  void allow(const char* name) { known_.emplace_back(name); }
  // Fails on any field not read so far.
  void reject_unknown_fields();

  bool ok() const { return !error_.has_value(); }
  const BadRequest& error() const { return *error_; }
  void fail(std::string code, std::string field, std::string detail);

 private:
  const nlohmann::json* find(const char* name, bool required);
  const nlohmann::json& object_;
  std::string prefix_;
  std::vector<std::string> known_;
  std::optional<BadRequest> error_;
};

// Parses a body that must be one JSON object (error: malformed_json).
std::optional<nlohmann::json> parse_object(std::string_view body, BadRequest* error);

// RFC 3339 date-time ("2026-11-23T12:00:00Z", fraction and offset allowed) to nanoseconds
// since the Unix epoch. Every part is range-checked (2024-02-30 or 24:00 is nullopt, never a
// roll-over); years time_year_min..time_year_max (nanoseconds fit int64 up to 2262).
inline constexpr int time_year_min = 1970;
inline constexpr int time_year_max = 2261;
std::optional<std::uint64_t> parse_time(std::string_view text);

// The body of POST /v1/transfers (also each item of a batch). nullopt with *error set.
std::optional<Transfer> parse_transfer(const nlohmann::json& body, const std::string& prefix,
                                       BadRequest* error);

// The fields present in a "controls" object as a patch: only they change, the engine merges
// them into the card (a limit sent as null clears it; absent fields keep their value).
bool parse_controls(const nlohmann::json& object, const std::string& prefix,
                    CardControlsPatch* patch, BadRequest* error);
// 12 to 19 digits with a valid Luhn check digit.
bool valid_pan(std::string_view pan);

}  // namespace ledger::http
