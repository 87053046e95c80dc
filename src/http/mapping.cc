#include "http/mapping.h"

#include <algorithm>
#include <cstring>

#include "ledger/limits.h"
#include "ledger/pan_hash.h"
#include "ledger/parse.h"

namespace ledger::http {
namespace {

using bhttp::status;
using nlohmann::json;

Problem query_problem(std::string name, std::string detail) {
  return Problem{status::bad_request, "invalid_query", std::move(detail), std::move(name)};
}

Problem unsupported_media_type() {
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

std::string money_text(__int128 value) {
  if (value == 0) return "0";
  const bool negative = value < 0;
  auto magnitude =
      negative ? static_cast<unsigned __int128>(-value) : static_cast<unsigned __int128>(value);
  std::string digits;
  while (magnitude > 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  }
  return negative ? "-" + digits : digits;
}

json balance_json(__int128 value) {
  if (value > INT64_MAX || value < INT64_MIN) return money_text(value);  // never in practice
  return static_cast<std::int64_t>(value);
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

}  // namespace

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
    return "/" + std::string(parts[0]);
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

bool parse_query(std::string_view target, Query* out) {
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
    return true;
  };
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto equals = pair.find('=');
    std::string key;
    std::string value;
    if (!decode(pair.substr(0, equals), &key)) return false;
    if (equals != std::string_view::npos && !decode(pair.substr(equals + 1), &value)) return false;
    if (out->count(key) != 0) return false;
    (*out)[key] = value;
  }
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
  Problem problem(status::service_unavailable, "", "");
  if (call == CallStatus::busy) {
    problem.code = "busy";
    problem.detail = "the ledger is at capacity; retry shortly";
  } else if (call == CallStatus::timeout) {
    problem.code = "commit_timeout";
    problem.detail = "the write was not confirmed in time; retry with the same id";
  } else {
    problem.code = "ledger_unavailable";
    problem.detail =
        "the ledger cannot confirm writes right now (database unavailable or reloading); retry "
        "with the same id";
  }
  problem.retry_after = "1";
  return problem;
}

Problem read_failed() {
  Problem problem{status::service_unavailable, "ledger_unavailable",
                  "the history store did not answer; retry shortly"};
  problem.retry_after = "1";
  return problem;
}

Problem bad_request(const BadRequest& error) {
  return Problem{status::bad_request, error.code, error.detail, error.field};
}

// --- Accounts ----------------------------------------------------------------------------

Mapped<Command> map_create_account(const Body& body, Uint128 fresh_id) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  FieldReader fields(std::get<json>(object));
  const auto id = fields.uuid("id", false);
  const auto holder = fields.uuid("holder_id", true);
  const auto currency = fields.currency("currency", true);
  const auto kind_text = fields.text("kind", true, 32);
  const auto no_overdraft = fields.boolean("no_overdraft");
  const auto credit_normal = fields.boolean("credits_must_not_exceed_debits");
  const auto overdraft = fields.amount("overdraft_limit", false, true);
  const auto reference = fields.unsigned_integer("reference", UINT64_MAX);
  fields.reject_unknown_fields();
  std::optional<AccountKind> kind;
  if (fields.ok() && !(kind = parse_kind(*kind_text))) {
    fields.fail("invalid_field", "kind",
                "kind must be customer, settlement, fees, suspense, revenue or internal");
  }
  if (fields.ok() && no_overdraft.value_or(false) && credit_normal.value_or(false)) {
    fields.fail("invalid_field", "credits_must_not_exceed_debits",
                "no_overdraft and credits_must_not_exceed_debits exclude each other");
  }
  if (!fields.ok()) return bad_request(fields.error());
  Command command = command_of(CommandKind::create_account);
  Account& a = command.body.account;
  a = Account{};
  a.id.value = id                              ? *id
               : !body.idempotency_key.empty() ? id_from_key(body.idempotency_key)
                                               : fresh_id;
  a.holder_id.value = *holder;
  a.currency = *currency;
  a.kind = *kind;
  const bool limited =
      no_overdraft.value_or(*kind == AccountKind::customer && !credit_normal.value_or(false));
  a.flags = static_cast<std::uint16_t>(
      (limited ? debits_must_not_exceed_credits : 0) |
      (credit_normal.value_or(false) ? credits_must_not_exceed_debits : 0));
  a.overdraft_limit = overdraft.value_or(0);
  a.reference = reference.value_or(0);
  return command;
}

Mapped<Command> map_update_account(Uint128 id, const Body& body) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  FieldReader fields(std::get<json>(object));
  const auto overdraft = fields.amount("overdraft_limit", false, true);
  const auto status_text = fields.text("status", false, 16);
  fields.reject_unknown_fields();
  std::optional<AccountStatus> new_status;
  if (fields.ok() && status_text &&
      (!(new_status = parse_status(*status_text)) || *new_status == AccountStatus::closed)) {
    fields.fail("invalid_field", "status",
                "status must be active or frozen (close with POST .../close)");
  }
  if (fields.ok() && !overdraft && !status_text) {
    fields.fail("missing_field", "", "send overdraft_limit and/or status");
  }
  if (!fields.ok()) return bad_request(fields.error());
  Command command = command_of(CommandKind::update_account);
  AccountUpdate& update = command.body.update;
  update = AccountUpdate{};
  update.id = AccountId{id};
  update.set_overdraft_limit = overdraft.has_value();
  update.overdraft_limit = overdraft.value_or(0);
  update.set_status = new_status.has_value();
  update.status = new_status.value_or(AccountStatus::active);
  return command;
}

Command map_close_account(Uint128 id) {
  Command command = command_of(CommandKind::update_account);
  command.body.update = AccountUpdate{};
  command.body.update.id = AccountId{id};
  command.body.update.set_status = true;
  command.body.update.status = AccountStatus::closed;
  return command;
}

Command lookup_account(Uint128 id) {
  Command command = command_of(CommandKind::lookup_account);
  command.body.account_id = AccountId{id};
  return command;
}

Response account_answer(const CommandResult& result, bool creating, unsigned version) {
  const AccountResult code = result.account_result();
  if (code == AccountResult::ok || code == AccountResult::exists) {
    Response response =
        make_json(creating && code == AccountResult::ok ? status::created : status::ok,
                  dump_json(account_json(result.value.account)), version);
    if (creating) {
      response.set(bhttp::field::location,
                   "/v1/accounts/" + format_uuid(result.value.account.id.value));
    }
    return response;
  }
  const std::string name(to_string(code));
  status http = status::unprocessable_entity;
  if (is_conflict(code) || code == AccountResult::account_closed) http = status::conflict;
  if (code == AccountResult::account_not_found) http = status::not_found;
  return render(Problem{http, name,
                        (creating ? "the account was not created: "
                                  : "the account was not "
                                    "changed: ") +
                            name},
                version);
}

Mapped<AccountListQuery> map_list_accounts(const Query& query) {
  std::string unknown;
  if (!only_known(query, {"holder_id", "cursor", "limit"}, &unknown))
    return query_problem(unknown, "unknown query parameter " + unknown);
  const auto holder_it = query.find("holder_id");
  const auto holder = holder_it == query.end() ? std::nullopt : parse_uuid(holder_it->second);
  if (!holder) return query_problem("holder_id", "holder_id (a UUID) is required");
  AccountListQuery list;
  list.holder = HolderId{*holder};
  if (const auto cursor = query.find("cursor"); cursor != query.end()) {
    const auto after = parse_uuid(cursor->second);
    if (!after) return query_problem("cursor", "cursor must be the next_cursor of a previous page");
    list.after = *after;
  }
  if (!read_limit(query, 50, limits::http_accounts_page_max, &list.limit))
    return query_problem("limit", "limit must be an integer from 1 to " +
                                      std::to_string(limits::http_accounts_page_max));
  return list;
}

Response accounts_answer(const AccountList& list, const std::vector<CommandResult>& accounts,
                         unsigned version) {
  json items = json::array();
  for (const CommandResult& r : accounts) {
    if (r.code == 0) items.push_back(account_json(r.value.account));
  }
  json body{{"accounts", std::move(items)}, {"next_cursor", nullptr}};
  if (list.more) body["next_cursor"] = format_uuid(list.ids.back().value);
  return make_json(status::ok, dump_json(body), version);
}

Mapped<HistoryQuery> map_history(Uint128 account, const Query& query) {
  std::string unknown;
  if (!only_known(query, {"from", "to", "cursor", "limit"}, &unknown))
    return query_problem(unknown, "unknown query parameter " + unknown);
  HistoryQuery history;
  history.account = AccountId{account};
  if (auto problem = read_period(query, &history.from_ts, &history.to_ts)) return *problem;
  if (const auto it = query.find("cursor"); it != query.end()) {
    const auto ts = parse_cursor(it->second);
    if (!ts) return query_problem("cursor", "cursor must be the next_cursor of a previous page");
    history.before_ts = *ts;
  }
  if (!read_limit(query, 50, limits::http_history_page_max, &history.limit)) {
    return query_problem("limit", "limit must be an integer from 1 to " +
                                      std::to_string(limits::http_history_page_max));
  }
  return history;
}

Response history_answer(const HistoryPage& page, const std::vector<CommandResult>& current,
                        unsigned version) {
  json transfers = json::array();
  for (std::size_t i = 0; i < page.transfers.size(); ++i) {
    // The engine's record if it still has it (it always does: every id is remembered), so a
    // hold shows as posted, voided or expired once it is, and what it still holds.
    const bool known = i < current.size() && current[i].code == 0;
    transfers.push_back(transfer_json(known ? current[i].value.transfer : page.transfers[i]));
  }
  json body{{"transfers", std::move(transfers)}, {"next_cursor", nullptr}};
  if (page.more) body["next_cursor"] = format_cursor(page.transfers.back().timestamp);
  return make_json(status::ok, dump_json(body), version);
}

Mapped<StatementRequest> map_statement(Uint128 account, const Query& query) {
  std::string unknown;
  if (!only_known(query, {"from", "to", "format"}, &unknown))
    return query_problem(unknown, "unknown query parameter " + unknown);
  StatementRequest request;
  const auto format = query.find("format");
  if (format != query.end() && format->second != "json" && format->second != "csv")
    return query_problem("format", "format must be json or csv");
  request.csv = format != query.end() && format->second == "csv";
  request.query.account = AccountId{account};
  request.query.lines_max = limits::http_statement_lines_max;
  if (auto problem = read_period(query, &request.query.from_ts, &request.query.to_ts))
    return *problem;
  return request;
}

// The statement of an account over [from, to): the opening balance (posted, at `from`), every
// posting that moved the posted balance, oldest first, with the running balance, and the
// closing balance (posted, at `to`). Holds and voids never move it and are not lines.
Response statement_answer(const StatementRequest& request, const Account& account,
                          const Statement& statement, unsigned version) {
  const StatementQuery& q = request.query;
  if (statement.truncated) {
    return render(Problem{status::unprocessable_entity, "statement_too_large",
                          "more than " + std::to_string(q.lines_max) +
                              " postings in the range; ask for a shorter period"},
                  version);
  }
  const bool credit_normal = (account.flags & credits_must_not_exceed_debits) != 0;
  const std::string currency(currency_alpha(account.currency));
  const std::string from = q.from_ts == 0 ? "" : format_time(q.from_ts);
  const std::string to = q.to_ts == UINT64_MAX ? "" : format_time(q.to_ts);
  __int128 running = statement.opening;
  json lines = json::array();
  std::string csv =
      "date,transfer_id,code,debit_account_id,credit_account_id,debit,credit,"
      "balance,currency\r\n";
  csv += from + ",,opening_balance,,,,," + money_text(statement.opening) + "," + currency + "\r\n";
  for (const Transfer& t : statement.lines) {
    const bool credit = (t.credit_account_id == q.account) != credit_normal;
    running += credit ? t.amount_effective : -static_cast<__int128>(t.amount_effective);
    lines.push_back({{"transfer_id", format_uuid(t.id.value)},
                     {"at", format_time(t.timestamp)},
                     {"code", std::string(code_name(t.code))},
                     {"amount", credit ? t.amount_effective : -t.amount_effective},
                     {"balance", balance_json(running)}});
    const std::string amount = std::to_string(t.amount_effective);
    csv += format_time(t.timestamp) + "," + format_uuid(t.id.value) + "," +
           std::string(code_name(t.code)) + "," + format_uuid(t.debit_account_id.value) + "," +
           format_uuid(t.credit_account_id.value) + "," + (credit ? "" : amount) + "," +
           (credit ? amount : "") + "," + money_text(running) + "," + csv_field(currency) + "\r\n";
  }
  csv += to + ",,closing_balance,,,,," + money_text(statement.closing) + "," + currency + "\r\n";
  if (request.csv) {
    Response response{status::ok, version};
    response.set(bhttp::field::content_type, "text/csv; charset=utf-8");
    response.set(bhttp::field::cache_control, "no-store");
    response.set(bhttp::field::content_disposition,
                 "attachment; filename=\"statement-" + format_uuid(q.account.value) + ".csv\"");
    response.body() = "\xEF\xBB\xBF" + csv;  // UTF-8 BOM: spreadsheets pick the right encoding
    response.prepare_payload();
    return response;
  }
  json body{{"account_id", format_uuid(q.account.value)},
            {"currency", currency},
            {"from", from.empty() ? json(nullptr) : json(from)},
            {"to", to.empty() ? json(nullptr) : json(to)},
            {"opening_balance", balance_json(statement.opening)},
            {"closing_balance", balance_json(statement.closing)},
            {"lines", std::move(lines)}};
  return make_json(status::ok, dump_json(body), version);
}

// --- Transfers ---------------------------------------------------------------------------

Mapped<Command> map_create_transfer(const Body& body) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  BadRequest error;
  const auto transfer = parse_transfer(std::get<json>(object), "", &error);
  if (!transfer) return bad_request(error);
  Command command = command_of(CommandKind::create_transfer);
  command.body.transfer = *transfer;
  return command;
}

// Up to http_batch_transfers_max transfers in one request. atomic: all or none (a linked
// chain); otherwise each is applied on its own.
Mapped<Batch> map_batch(const Body& body) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  const json& root = std::get<json>(object);
  FieldReader fields(root);
  const auto atomic = fields.boolean("atomic");
  const auto it = root.find("transfers");
  if (it == root.end() || !it->is_array() || it->empty() ||
      it->size() > limits::http_batch_transfers_max) {
    return bad_request({"invalid_field", "transfers",
                        "transfers must be an array of 1 to " +
                            std::to_string(limits::http_batch_transfers_max) + " transfers"});
  }
  fields.allow("transfers");
  fields.reject_unknown_fields();
  if (!fields.ok()) return bad_request(fields.error());
  Batch batch;
  batch.atomic = atomic.value_or(false);
  batch.commands.resize(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    BadRequest error;
    const auto transfer = parse_transfer((*it)[i], "transfers[" + std::to_string(i) + "].", &error);
    if (!transfer) return bad_request(error);
    batch.commands[i].kind = CommandKind::create_transfer;
    batch.commands[i].body.transfer = *transfer;
    if (batch.atomic && i + 1 < it->size()) batch.commands[i].body.transfer.flags |= flag_linked;
  }
  return batch;
}

Mapped<Command> map_resolve(Uint128 pending_id, const Body& body, bool post) {
  json object = json::object();
  if (!body.text.empty()) {
    auto parsed = json_body(body);
    if (auto* problem = problem_of(parsed)) return *problem;
    object = std::move(std::get<json>(parsed));
  }
  FieldReader fields(object);
  const auto id = fields.uuid("id", false);
  const auto amount = fields.amount("amount", false, false);  // void: release only this much
  std::optional<bool> over_capture = false;
  if (post) over_capture = fields.boolean("allow_over_capture");
  const auto reference = fields.unsigned_integer("reference", UINT64_MAX);
  fields.reject_unknown_fields();
  if (!fields.ok()) return bad_request(fields.error());
  Command command = command_of(CommandKind::create_transfer);
  Transfer& t = command.body.transfer;
  t = Transfer{};
  t.pending_id.value = pending_id;
  t.amount = amount.value_or(0);  // 0: the full hold
  t.flags = post ? flag_post_pending : flag_void_pending;
  if (over_capture.value_or(false)) t.flags |= flag_allow_over_capture;
  t.reference_a = reference.value_or(0);
  t.code = TransferCode::internal;
  // Without an id: one id per distinct request on this hold.
  const std::string content = std::string(post ? "post" : "void") +
                              ":amount=" + std::to_string(t.amount) +
                              ":over=" + (over_capture.value_or(false) ? "1" : "0") +
                              ":reference=" + std::to_string(t.reference_a);
  t.id.value = id.value_or(derived_id(pending_id, content));
  return command;
}

Command lookup_transfer(Uint128 id) {
  Command command = command_of(CommandKind::lookup_transfer);
  command.body.transfer_id = TransferId{id};
  return command;
}

Response transfer_answer(const CommandResult& result, bool resolution, unsigned version) {
  const TransferResult code = result.transfer_result();
  if (code == TransferResult::ok || code == TransferResult::exists) {
    Response response = make_json(code == TransferResult::ok ? status::created : status::ok,
                                  dump_json(transfer_json(result.value.transfer)), version);
    response.set(bhttp::field::location,
                 "/v1/transfers/" + format_uuid(result.value.transfer.id.value));
    return response;
  }
  if (is_conflict(code)) return render(transfer_problem(result, status::conflict), version);
  if (resolution && code == TransferResult::pending_not_found) {
    return render(transfer_problem(result, status::not_found), version);
  }
  return render(transfer_problem(result, status::unprocessable_entity), version);
}

Response batch_answer(const Batch& batch, const std::vector<CommandResult>& results,
                      unsigned version) {
  json items = json::array();
  std::optional<std::size_t> failed;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const TransferResult r = results[i].transfer_result();
    if (r != TransferResult::ok && r != TransferResult::exists && !failed) failed = i;
    items.push_back({{"index", i},
                     {"result", std::string(to_string(r))},
                     {"transfer", transfer_json(results[i].value.transfer)}});
  }
  if (batch.atomic && failed) {
    const std::size_t index =
        std::min<std::size_t>(results[*failed].failed_link, results.size() - 1);
    const std::string name(to_string(results[index].transfer_result()));
    Problem problem{status::unprocessable_entity, name,
                    "the atomic batch was rejected at transfers[" + std::to_string(index) +
                        "]: " + name + "; nothing was applied"};
    problem.members["failed_index"] = index;
    problem.members["results"] = std::move(items);
    return render(problem, version);
  }
  return make_json(batch.atomic ? status::created : status::ok,
                   dump_json(json{{"atomic", batch.atomic}, {"results", std::move(items)}}),
                   version);
}

// --- Cards -------------------------------------------------------------------------------

Mapped<Command> map_create_card(const Body& body, std::string_view pan_secret, Uint128 fresh_id) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  if (pan_secret.empty()) {
    Problem problem{status::service_unavailable, "pan_secret_not_configured",
                    "set LEDGER_PAN_SECRET to store card numbers"};
    return problem;
  }
  const json& root = std::get<json>(object);
  FieldReader fields(root);
  const auto id = fields.uuid("id", false);
  const auto account = fields.uuid("account_id", true);
  const auto pan = fields.text("pan", true, 19);
  const auto expiry = fields.text("expiry", true, 4);
  fields.allow("controls");
  fields.reject_unknown_fields();
  if (fields.ok() && !valid_pan(*pan)) {
    fields.fail("invalid_field", "pan", "pan must be 12 to 19 digits with a valid check digit");
  }
  std::uint64_t yymm = 0;
  if (fields.ok() &&
      (expiry->size() != 4 || !parse_digits(*expiry, &yymm) || yymm % 100 < 1 || yymm % 100 > 12)) {
    fields.fail("invalid_field", "expiry", "expiry must be YYMM, e.g. \"2812\"");
  }
  if (!fields.ok()) return bad_request(fields.error());
  Command command = command_of(CommandKind::create_card);
  Card& card = command.body.card;
  card = Card{};
  if (const auto it = root.find("controls"); it != root.end() && !it->is_null()) {
    CardControlsPatch patch;
    BadRequest error;
    if (!parse_controls(*it, "", &patch, &error)) return bad_request(error);
    apply_controls_patch(patch, &card.controls);
  }
  card.id.value = id                              ? *id
                  : !body.idempotency_key.empty() ? id_from_key(body.idempotency_key)
                                                  : fresh_id;
  card.account_id.value = *account;
  pan_hash(pan_secret, *pan, card.pan_hash);
  const std::size_t bin_length = pan->size() >= 16 ? 8 : 6;
  std::memcpy(card.bin, pan->data(), bin_length);
  std::memcpy(card.last4, pan->data() + pan->size() - 4, 4);
  card.expiry_yymm = static_cast<std::uint16_t>(yymm);
  return command;
}

Mapped<Command> map_update_card(Uint128 id, const Body& body) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  const json& root = std::get<json>(object);
  FieldReader fields(root);
  const auto status_text = fields.text("status", false, 16);
  fields.allow("controls");
  fields.reject_unknown_fields();
  std::optional<CardStatus> new_status;
  if (fields.ok() && status_text && !(new_status = parse_card_status(*status_text))) {
    fields.fail("invalid_field", "status", "status must be active, frozen or blocked");
  }
  const auto controls = root.find("controls");
  const bool has_controls = controls != root.end() && !controls->is_null();
  if (fields.ok() && !status_text && !has_controls) {
    fields.fail("missing_field", "", "send status and/or controls");
  }
  if (!fields.ok()) return bad_request(fields.error());
  Command command = command_of(CommandKind::update_card);
  CardUpdate& update = command.body.card_update;
  update = CardUpdate{};
  update.id = CardId{id};
  update.set_status = new_status.has_value();
  update.status = new_status.value_or(CardStatus::active);
  if (has_controls) {  // only the fields sent: the engine merges them into the card
    BadRequest error;
    if (!parse_controls(*controls, "", &update.controls, &error)) return bad_request(error);
  }
  return command;
}

Command lookup_card(Uint128 id) {
  Command command = command_of(CommandKind::lookup_card);
  command.body.card_id = CardId{id};
  return command;
}

Response card_answer(const CommandResult& result, bool creating, unsigned version) {
  const CardResult code = result.card_result();
  if (code == CardResult::ok || code == CardResult::exists) {
    const bool created = creating && code == CardResult::ok;
    Response response = make_json(created ? status::created : status::ok,
                                  dump_json(card_json(result.value.card)), version);
    response.set(bhttp::field::location, "/v1/cards/" + format_uuid(result.value.card.id.value));
    return response;
  }
  const std::string name(to_string(code));
  status http = status::unprocessable_entity;
  if (code == CardResult::card_not_found) http = status::not_found;
  if (code == CardResult::card_pan_exists || code == CardResult::card_blocked ||
      (code >= CardResult::exists_with_different_account_id &&
       code <= CardResult::exists_with_different_expiry)) {
    http = status::conflict;
  }
  return render(Problem{http, name, "the card was not changed: " + name}, version);
}

// --- API keys ------------------------------------------------------------------------------

Mapped<NewApiKey> map_create_key(const Body& body) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  FieldReader fields(std::get<json>(object));
  const auto name = fields.text("name", true, limits::api_key_name_bytes_max);
  const auto scope = fields.text("scope", true, 16);
  const auto days = fields.unsigned_integer("expires_in_days", limits::api_key_expiry_days_max);
  fields.reject_unknown_fields();
  if (fields.ok() && name->empty()) fields.fail("invalid_field", "name", "name must not be empty");
  if (fields.ok() && *scope != "admin" && *scope != "backoffice" && *scope != "read") {
    fields.fail("invalid_field", "scope", "scope must be admin, backoffice or read");
  }
  if (fields.ok() && days && *days == 0) {
    fields.fail("invalid_field", "expires_in_days",
                "expires_in_days must be 1 or more (leave it out: the key never expires)");
  }
  if (!fields.ok()) return bad_request(fields.error());
  NewApiKey key;
  key.name = *name;
  key.scope = *scope;
  key.expires_in_days = static_cast<std::uint32_t>(days.value_or(0));
  return key;
}

namespace {
json key_json(const ApiKeyRecord& r) {
  const auto optional = [](const std::string& v) { return v.empty() ? json(nullptr) : json(v); };
  return json{{"id", r.id},
              {"name", r.name},
              {"scope", r.scope},
              {"prefix", r.prefix},
              {"created_at", r.created_at},
              {"expires_at", optional(r.expires_at)},
              {"revoked_at", optional(r.revoked_at)}};
}
}  // namespace

Response key_answer(const ApiKeyRecord& record, std::string_view key, unsigned version) {
  json body = key_json(record);
  if (!key.empty()) body["key"] = std::string(key);  // shown once; only its hash is kept
  Response response =
      make_json(key.empty() ? status::ok : status::created, dump_json(body), version);
  if (!key.empty()) response.set(bhttp::field::location, "/v1/keys/" + record.id);
  return response;
}

Response keys_answer(const std::vector<ApiKeyRecord>& keys, unsigned version) {
  json items = json::array();
  for (const ApiKeyRecord& r : keys) items.push_back(key_json(r));
  return make_json(status::ok, dump_json(json{{"keys", std::move(items)}}), version);
}

// --- Audit -------------------------------------------------------------------------------

Mapped<AuditQuery> map_audit_query(const Query& query) {
  std::string unknown;
  if (!only_known(query, {"limit", "cursor", "actor"}, &unknown))
    return query_problem(unknown, "unknown query parameter " + unknown);
  AuditQuery q;
  if (!read_limit(query, 100, limits::http_audit_page_max, &q.limit)) {
    return query_problem("limit", "limit must be an integer from 1 to " +
                                      std::to_string(limits::http_audit_page_max));
  }
  if (const auto cursor = query.find("cursor"); cursor != query.end()) {
    std::uint64_t before = 0;
    if (!parse_digits(cursor->second, &before) || before > INT64_MAX)
      return query_problem("cursor", "cursor must be the next_cursor of a previous page");
    q.before_id = static_cast<std::int64_t>(before);
  }
  if (const auto actor = query.find("actor"); actor != query.end()) {
    if (actor->second.empty() || actor->second.size() > limits::audit_actor_bytes_max) {
      return query_problem(
          "actor",
          "actor must be 1 to " + std::to_string(limits::audit_actor_bytes_max) + " characters");
    }
    q.actor = actor->second;
  }
  return q;
}

Response audit_answer(const AuditPage& page, unsigned version) {
  json entries = json::array();
  for (const AuditEntry& e : page.entries) {
    entries.push_back({{"id", e.id},
                       {"at", e.at},
                       {"actor", e.actor},
                       {"actor_name", e.actor_name},
                       {"action", e.action},
                       {"target", e.target},
                       {"status", e.status},
                       {"detail", e.detail}});
  }
  json body{{"entries", std::move(entries)}, {"next_cursor", nullptr}};
  if (page.more) body["next_cursor"] = std::to_string(page.entries.back().id);
  return make_json(status::ok, dump_json(body), version);
}

}  // namespace ledger::http
