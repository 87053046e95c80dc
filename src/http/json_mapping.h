// JSON <-> ledger records for the REST API. Parsing is strict: unknown fields, floats,
// strings where numbers belong, negatives, values beyond int64 and malformed UUIDs are
// rejected with an error naming the field. Pure functions (no I/O), fuzzed and unit-tested.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/types.h"

namespace ledger::http {

struct BadRequest {
  std::string code;   // malformed_json, unknown_field, missing_field, invalid_field
  std::string field;  // the field at fault ("" for the whole body)
  std::string detail;
};

// Reads typed fields out of one JSON object and remembers the first error.
class FieldReader {
 public:
  explicit FieldReader(const nlohmann::json& object) : object_(object) {}

  std::optional<Uint128> uuid(const char* name, bool required);
  std::optional<std::int64_t> amount(const char* name, bool required, bool allow_zero);
  std::optional<std::uint64_t> unsigned_integer(const char* name, std::uint64_t max);
  std::optional<bool> boolean(const char* name);
  std::optional<Currency> currency(const char* name, bool required);
  std::optional<std::string> text(const char* name, bool required, std::size_t max_bytes);
  // Fails on any field not read so far.
  void reject_unknown_fields();

  bool ok() const { return !error_.has_value(); }
  const BadRequest& error() const { return *error_; }
  void fail(std::string code, std::string field, std::string detail);

 private:
  const nlohmann::json* find(const char* name, bool required);
  const nlohmann::json& object_;
  std::vector<std::string> known_;
  std::optional<BadRequest> error_;
};

// Parses a body that must be one JSON object (error: malformed_json).
std::optional<nlohmann::json> parse_object(std::string_view body, BadRequest* error);

std::string_view kind_name(AccountKind kind);
std::optional<AccountKind> parse_kind(std::string_view name);
std::string_view status_name(AccountStatus status);
std::optional<AccountStatus> parse_status(std::string_view name);
std::string_view code_name(TransferCode code);
std::optional<TransferCode> parse_code(std::string_view name);

// RFC 3339 UTC text of a logical timestamp (nanoseconds since the Unix epoch).
std::string format_time(std::uint64_t timestamp_ns);

nlohmann::json account_json(const Account& account);
nlohmann::json transfer_json(const Transfer& transfer);

}  // namespace ledger::http
