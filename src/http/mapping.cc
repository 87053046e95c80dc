// The REST mapping shared by every resource: paths, queries, derived ids, common problems.
#include "http/mapping.h"

#include <algorithm>
#include <cstring>

#include "http/mapping_support.h"
#include "ledger/limits.h"
#include "ledger/parse.h"
#include "ledger/text.h"

namespace ledger::http {

using bhttp::status;
using nlohmann::json;
using namespace detail;

// --- Paths, queries, ids -----------------------------------------------------------------

std::vector<std::string_view> split_path(std::string_view target) {
  const auto query = target.find('?');
  if (query != std::string_view::npos) target = target.substr(0, query);
  std::vector<std::string_view> parts;
  std::size_t start = 1;
  while (start <= target.size()) {
    const auto slash = target.find('/', start);
    const auto end = slash == std::string_view::npos ? target.size() : slash;
    parts.push_back(target.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::string route_label(std::string_view target) {
  const auto parts = split_path(target);
  if (parts.size() == 1 && (parts[0] == "health" || parts[0] == "ready" || parts[0] == "metrics"))
    return std::string("/").append(parts[0]);
  if (parts.size() < 2 || parts.size() > 4 || parts[0] != "v1") return "other";
  static constexpr std::string_view known[] = {"accounts", "transfers", "cards", "batch",
                                               "post",     "void",      "close", "statement",
                                               "keys",     "audit",     "revoke"};
  std::string label;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string_view part = parts[i];
    label += '/';
    if (i == 0) {
      label += part;
    } else if (std::find(std::begin(known), std::end(known), part) != std::end(known)) {
      label += part;
    } else if (i >= 2 && part.size() == uuid_text_bytes) {
      label += "{id}";
    } else {
      return "other";
    }
  }
  return label;
}

bool parse_query(std::string_view target, Query* out, std::string* bad) {
  const auto mark = target.find('?');
  if (mark == std::string_view::npos) return true;
  std::string_view rest = target.substr(mark + 1);
  const auto decode = [](std::string_view in, std::string* decoded) {
    const auto hex = [](char c) {
      return c >= '0' && c <= '9'   ? c - '0'
             : c >= 'a' && c <= 'f' ? c - 'a' + 10
             : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                    : -1;
    };
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '+') {
        *decoded += ' ';
      } else if (in[i] == '%') {
        if (i + 2 >= in.size()) return false;
        const int hi = hex(in[i + 1]);
        const int lo = hex(in[i + 2]);
        if (hi < 0 || lo < 0) return false;
        *decoded += static_cast<char>(hi * 16 + lo);
        i += 2;
      } else {
        *decoded += in[i];
      }
    }
    return is_clean_text(*decoded);
  };
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto equals = pair.find('=');
    std::string key;
    std::string value;
    const bool key_ok = decode(pair.substr(0, equals), &key);
    if (bad != nullptr) *bad = key_ok ? key : "";
    if (!key_ok) return false;
    if (equals != std::string_view::npos && !decode(pair.substr(equals + 1), &value)) return false;
    if (out->count(key) != 0) return false;
    (*out)[key] = value;
  }
  if (bad != nullptr) bad->clear();
  return true;
}

Uint128 id_from_key(std::string_view key) {
  Uint128 digest{0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL};
  for (char c : key) {
    const auto byte = static_cast<std::uint64_t>(static_cast<unsigned char>(c));
    digest.hi = (digest.hi ^ byte) * 0x100000001b3ULL;
    digest.lo = mix64(digest.lo ^ byte);
  }
  return derive_id(digest, 0x4B4559ULL);  // "KEY"
}

Uint128 derived_id(Uint128 source, std::string_view purpose) {
  std::uint64_t salt = 0xcbf29ce484222325ULL;
  for (char c : purpose) salt = mix64(salt ^ static_cast<unsigned char>(c));
  return derive_id(source, salt);
}

// --- Common ------------------------------------------------------------------------------

Mapped<Uint128> path_id(std::string_view text, std::string_view what) {
  const auto id = parse_uuid(text);
  if (!id || id->is_zero()) {
    return Problem{status::bad_request, "invalid_field",
                   "the " + std::string(what) + " id in the path must be a UUID", "id"};
  }
  return *id;
}

Problem method_not_allowed(std::string_view allow) {
  Problem problem{status::method_not_allowed, "method_not_allowed", "use " + std::string(allow)};
  problem.allow = std::string(allow);
  return problem;
}

Problem route_not_found(std::string_view target) {
  return Problem{status::not_found, "route_not_found",
                 "no route for " + std::string(target.substr(0, target.find('?')))};
}

Problem not_found(std::string_view what, Uint128 id) {
  return Problem{status::not_found, std::string(what) + "_not_found",
                 "no " + std::string(what) + " " + format_uuid(id)};
}

Problem unavailable(CallStatus call) {
  const bool busy = call == CallStatus::busy;
  const bool timeout = call == CallStatus::timeout;
  Problem problem(status::service_unavailable,
                  busy ? "busy" : (timeout ? "commit_timeout" : "ledger_unavailable"),
                  busy      ? "the ledger is at capacity; retry shortly"
                  : timeout ? "the write was not confirmed in time; retry with the same id"
                            : "the ledger cannot confirm writes right now (database unavailable or "
                              "reloading); retry with the same id");
  problem.retry_after = std::string(1, '1');
  return problem;
}

Problem read_failed() {
  Problem problem(status::service_unavailable, "ledger_unavailable",
                  "the history store did not answer; retry shortly");
  problem.retry_after = std::string(1, '1');
  return problem;
}

Problem bad_request(const BadRequest& error) {
  return Problem{status::bad_request, error.code, error.detail, error.field};
}

}  // namespace ledger::http
