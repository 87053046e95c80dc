// What the request mappings of the REST resources share (mapping.cc, accounts, transfers,
// cards, keys and audit mappings): queries, bodies, balances, problems. Internal to http.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "http/mapping.h"

namespace ledger::http::detail {

Problem query_problem(std::string name, std::string detail);
// The body as one JSON object, or the problem to answer instead (415 not JSON, 400 malformed).
Mapped<nlohmann::json> json_body(const Body& body);
bool only_known(const Query& query, std::initializer_list<const char*> known, std::string* unknown);
// limit: 1..max, default `fallback`.
bool read_limit(const Query& query, std::uint32_t fallback, std::uint32_t max, std::uint32_t* out);
std::optional<std::uint64_t> parse_cursor(const std::string& text);
std::string format_cursor(std::uint64_t ts);
std::string csv_field(std::string text);
// from/to of history and statements: RFC 3339 instants, from inclusive, to exclusive.
std::optional<Problem> read_period(const Query& query, std::uint64_t* from, std::uint64_t* to);
bool is_conflict(TransferResult r);
bool is_conflict(AccountResult r);
Command command_of(CommandKind kind);
// 409 for id conflicts, 422 for business rejections; the remembered transfer is included.
Problem transfer_problem(const CommandResult& result, bhttp::status code);

}  // namespace ledger::http::detail
