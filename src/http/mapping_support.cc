#include "http/mapping_support.h"

#include <algorithm>

#include "ledger/parse.h"

namespace ledger::http::detail {

using bhttp::status;
using nlohmann::json;

Problem query_problem(std::string name, std::string detail) {
  return Problem{status::bad_request, "invalid_query", std::move(detail), std::move(name)};
}

static Problem unsupported_media_type() {
  return Problem{status::unsupported_media_type, "unsupported_media_type",
                 "send Content-Type: application/json"};
}

bool is_json(const Body& body) { return body.content_type.rfind("application/json", 0) == 0; }

// The body as one JSON object, or the problem to answer instead (415 not JSON, 400 malformed).
Mapped<json> json_body(const Body& body) {
  if (!is_json(body)) return unsupported_media_type();
  BadRequest error;
  auto parsed = parse_object(body.text, &error);
  if (!parsed) return bad_request(error);
  return std::move(*parsed);
}

bool only_known(const Query& query, std::initializer_list<const char*> known,
                std::string* unknown) {
  for (const auto& entry : query) {
    const std::string& key = entry.first;
    const bool found =
        std::any_of(known.begin(), known.end(), [&key](const char* k) { return key == k; });
    if (!found) {
      *unknown = key;
      return false;
    }
  }
  return true;
}

// limit: 1..max, default `fallback`.
bool read_limit(const Query& query, std::uint32_t fallback, std::uint32_t max, std::uint32_t* out) {
  const auto it = query.find("limit");
  if (it == query.end()) {
    *out = fallback;
    return true;
  }
  std::uint64_t v = 0;
  if (!parse_digits(it->second, &v) || v < 1 || v > max) return false;
  *out = static_cast<std::uint32_t>(v);
  return true;
}

std::optional<std::uint64_t> parse_cursor(const std::string& text) {
  if (text.size() < 2 || text[0] != 'c' || text.size() > 17) return std::nullopt;
  std::uint64_t v = 0;
  for (std::size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    const int d = c >= '0' && c <= '9' ? c - '0' : (c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1);
    if (d < 0) return std::nullopt;
    v = v * 16 + static_cast<std::uint64_t>(d);
  }
  return v;
}

std::string format_cursor(std::uint64_t ts) {
  char text[24];
  std::snprintf(text, sizeof text, "c%llx", static_cast<unsigned long long>(ts));
  return text;
}

std::string csv_field(std::string text) {
  // RFC 4180 quoting; a leading =,+,-,@ is prefixed with ' so spreadsheets do not run it.
  if (!text.empty() && (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@'))
    text = "'" + text;
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// from/to of history and statements: RFC 3339 instants, from inclusive, to exclusive.
std::optional<Problem> read_period(const Query& query, std::uint64_t* from, std::uint64_t* to) {
  for (const char* name : {"from", "to"}) {
    const auto it = query.find(name);
    if (it == query.end()) continue;
    const auto ts = parse_time(it->second);
    if (!ts) {
      return query_problem(name, std::string(name) +
                                     " must be an RFC 3339 date-time between 1970 and 2261, e.g. "
                                     "2026-11-29T00:00:00Z (no 2024-02-30, no 24:00)");
    }
    (std::string_view(name) == "from" ? *from : *to) = *ts;
  }
  if (*from > *to) return query_problem("from", "from must not be after to");
  return std::nullopt;
}

bool is_conflict(TransferResult r) {
  return r >= TransferResult::exists_with_different_flags &&
         r <= TransferResult::exists_with_different_reference_32;
}

bool is_conflict(AccountResult r) {
  return r >= AccountResult::exists_with_different_holder_id &&
         r <= AccountResult::exists_with_different_reference;
}

Command command_of(CommandKind kind) {
  Command c;
  c.kind = kind;
  return c;
}

// 409 for id conflicts, 422 for business rejections; the remembered transfer is included.
Problem transfer_problem(const CommandResult& result, status code) {
  const std::string name(to_string(result.transfer_result()));
  Problem problem{code, name, "the transfer was rejected: " + name};
  problem.members["transfer"] = transfer_json(result.value.transfer);
  if (result.transfer_result() == TransferResult::linked_event_failed) {
    problem.members["failed_link"] = result.failed_link;
  }
  return problem;
}

}  // namespace ledger::http::detail
