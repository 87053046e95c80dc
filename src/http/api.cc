#include "api.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "json_mapping.h"
#include "ledger/ledger_call.h"
#include "ledger/pan_hash.h"

namespace ledger::http {
namespace {

using bhttp::status;
using nlohmann::json;

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

}  // namespace

std::string route_label(std::string_view target) {
  const auto parts = split_path(target);
  if (parts.size() == 1 && (parts[0] == "health" || parts[0] == "ready" || parts[0] == "metrics"))
    return "/" + std::string(parts[0]);
  if (parts.size() < 2 || parts.size() > 4 || parts[0] != "v1") return "other";
  static constexpr std::string_view known[] = {"accounts", "transfers", "cards",   "batch",
                                               "post",     "void",      "close",   "statement",
                                               "keys",     "audit",     "controls"};
  std::string label;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string_view part = parts[i];
    label += '/';
    if (i == 0) {
      label += part;
    } else if (std::find(std::begin(known), std::end(known), part) != std::end(known)) {
      label += part;
    } else if (i >= 2 && part.size() == 36) {
      label += "{id}";
    } else {
      return "other";
    }
  }
  return label;
}

namespace {

Uint128 random_uuid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return {(rng() & ~0xF000ULL) | 0x4000ULL, (rng() & ~(0xC0ULL << 56)) | (0x80ULL << 56)};
}

Response bad_request(const BadRequest& error, unsigned version) {
  Response response = make_problem(status::bad_request, error.code, error.detail, version);
  if (!error.field.empty()) {
    json body = json::parse(response.body());
    body["field"] = error.field;
    response.body() = body.dump();
    response.prepare_payload();
  }
  return response;
}

Response unavailable(CallStatus call, unsigned version) {
  const char* code = call == CallStatus::busy      ? "busy"
                     : call == CallStatus::timeout ? "commit_timeout"
                                                   : "ledger_unavailable";
  const char* detail = call == CallStatus::busy ? "the ledger is at capacity; retry shortly"
                       : call == CallStatus::timeout
                           ? "the write was not confirmed in time; retry with the same id"
                           : "the ledger cannot confirm writes right now (database "
                             "unavailable or reloading); retry with the same id";
  Response response = make_problem(status::service_unavailable, code, detail, version);
  response.set(bhttp::field::retry_after, "1");
  return response;
}

bool is_json(const Request& request) {
  const auto type = request[bhttp::field::content_type];
  const std::string_view value(type.data(), type.size());
  return value.rfind("application/json", 0) == 0;
}

// The id in a path segment, or the 400 answer to send instead.
std::optional<Uint128> path_id(std::string_view text, const char* what, unsigned version,
                               Response* refusal) {
  const auto id = parse_uuid(text);
  if (!id || id->is_zero()) {
    *refusal = bad_request(
        {"invalid_field", "id", std::string("the ") + what + " id in the path must be a UUID"},
        version);
    return std::nullopt;
  }
  return id;
}

// The body as one JSON object, or the answer to send instead (415 not JSON, 400 malformed).
std::optional<json> json_body(const Request& request, Response* refusal) {
  if (!is_json(request)) {
    *refusal = make_problem(status::unsupported_media_type, "unsupported_media_type",
                            "send Content-Type: application/json", request.version());
    return std::nullopt;
  }
  BadRequest error;
  auto body = parse_object(request.body(), &error);
  if (!body) *refusal = bad_request(error, request.version());
  return body;
}

// 409 for id conflicts, 422 for business rejections; the remembered transfer is included.
Response transfer_problem(const CommandResult& result, status code, unsigned version) {
  const std::string name(to_string(result.transfer_result()));
  Response response = make_problem(code, name, "the transfer was rejected: " + name, version);
  json body = json::parse(response.body());
  body["transfer"] = transfer_json(result.value.transfer);
  if (result.transfer_result() == TransferResult::linked_event_failed) {
    body["failed_link"] = result.failed_link;
  }
  response.body() = body.dump();
  response.prepare_payload();
  return response;
}

bool is_conflict(TransferResult r) {
  return r >= TransferResult::exists_with_different_flags &&
         r <= TransferResult::exists_with_different_reference_32;
}

bool is_conflict(AccountResult r) {
  return r >= AccountResult::exists_with_different_holder_id &&
         r <= AccountResult::exists_with_different_reference;
}

Response invalid_query(const std::string& name, const std::string& detail, unsigned version) {
  return bad_request({"invalid_query", name, detail}, version);
}

Response read_failed(unsigned version) {
  Response response = make_problem(status::service_unavailable, "ledger_unavailable",
                                   "the history store did not answer; retry shortly", version);
  response.set(bhttp::field::retry_after, "1");
  return response;
}

Response unauthorized(AuthResult auth, unsigned version) {
  if (auth == AuthResult::insufficient_scope) {
    return make_problem(status::forbidden, "insufficient_scope",
                        "this API key's scope does not allow this request", version);
  }
  Response response = make_problem(
      status::unauthorized, auth == AuthResult::expired ? "key_expired" : "unauthorized",
      auth == AuthResult::missing   ? "send Authorization: Bearer <API key>"
      : auth == AuthResult::expired ? "this API key has expired"
                                    : "the API key is not valid",
      version);
  response.set(bhttp::field::www_authenticate, "Bearer realm=\"ledgerd\"");
  return response;
}

bool only_known(const Query& query, std::initializer_list<const char*> known,
                std::string* unknown) {
  for (const auto& [key, value] : query) {
    bool found = false;
    for (const char* k : known) found = found || key == k;
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
  std::uint32_t v = 0;
  for (char c : it->second) {
    if (c < '0' || c > '9' || v > 100'000) return false;
    v = v * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (it->second.empty() || v < 1 || v > max) return false;
  *out = v;
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
  unsigned __int128 magnitude =
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
  if (!text.empty() && (text[0] == '=' || text[0] == '+' || text[0] == '@')) text = "'" + text;
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace

Uint128 id_from_key(std::string_view key) {
  Uint128 digest{0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL};
  for (char c : key) {
    const auto byte = static_cast<std::uint64_t>(static_cast<unsigned char>(c));
    digest.hi = (digest.hi ^ byte) * 0x100000001b3ULL;
    digest.lo = mix64(digest.lo ^ byte);
  }
  return derive_id(digest, 0x4B4559ULL);  // "KEY"
}

bool parse_query(std::string_view target, Query* out) {
  const auto mark = target.find('?');
  if (mark == std::string_view::npos) return true;
  std::string_view rest = target.substr(mark + 1);
  const auto decode = [](std::string_view in, std::string* decoded) {
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '+') {
        *decoded += ' ';
      } else if (in[i] == '%') {
        if (i + 2 >= in.size()) return false;
        const auto hex = [](char c) {
          return c >= '0' && c <= '9'   ? c - '0'
                 : c >= 'a' && c <= 'f' ? c - 'a' + 10
                 : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                        : -1;
        };
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

Uint128 derived_id(Uint128 source, std::string_view purpose) {
  std::uint64_t salt = 0;
  for (char c : purpose) salt = salt * 131 + static_cast<unsigned char>(c);
  return derive_id(source, salt);
}

asio::awaitable<Response> Api::handle(Request& request) {
  if (auto health = handle_health(request, readiness_)) co_return std::move(*health);
  const std::string_view target(request.target().data(), request.target().size());
  const auto parts = split_path(target);
  if (parts.empty() || parts[0] != "v1") {
    co_return make_problem(status::not_found, "route_not_found",
                           "no route for " + std::string(target), request.version());
  }
  const bool reading =
      request.method() == bhttp::verb::get || request.method() == bhttp::verb::head;
  const auto authorization = request[bhttp::field::authorization];
  ApiKey key;
  const AuthResult auth = authenticate(std::string_view(authorization.data(), authorization.size()),
                                       keys_, reading ? Scope::read : Scope::backoffice, &key);
  if (auth != AuthResult::ok) co_return unauthorized(auth, request.version());
  std::uint32_t retry_after_ms = 0;
  if (!limiter_.allow(key.id, RateLimiter::Clock::now(), &retry_after_ms)) {
    Response response =
        make_problem(status::too_many_requests, "rate_limited",
                     "this API key is over its request rate; retry later", request.version());
    response.set(bhttp::field::retry_after, std::to_string((retry_after_ms + 999) / 1000));
    co_return response;
  }
  Query query;
  if (!parse_query(target, &query)) {
    co_return invalid_query("", "the query string is malformed or repeats a parameter",
                            request.version());
  }
  if (parts.size() == 2 && parts[1] == "audit") {
    if (!reading)
      co_return make_problem(status::method_not_allowed, "method_not_allowed", "use GET",
                             request.version());
    if (key.scope != Scope::admin)
      co_return unauthorized(AuthResult::insufficient_scope, request.version());
    co_return co_await list_audit(request, query);
  }
  Response response = co_await route(request, parts, query);
  if (!reading && audit_ != nullptr) {  // who did what and when, whatever the outcome
    const auto path = target.substr(0, target.find('?'));
    const auto idempotency = request["Idempotency-Key"];
    audit_->record(AuditEntry{
        0, "", "key:" + key.id, key.name,
        std::string(request.method_string()) + " " + route_label(target),
        std::string(path.substr(0, 512)), static_cast<int>(response.result_int()),
        idempotency.empty() ? std::string()
                            : "idempotency_key=" + std::string(idempotency.substr(0, 255))});
  }
  co_return response;
}

// GET /v1/audit?limit=&cursor=&actor= : newest first, admin scope.
asio::awaitable<Response> Api::list_audit(const Request& request, const Query& query) {
  const unsigned version = request.version();
  std::string unknown;
  if (!only_known(query, {"limit", "cursor", "actor"}, &unknown)) {
    co_return invalid_query(unknown, "unknown query parameter " + unknown, version);
  }
  AuditQuery q;
  if (!read_limit(query, 100, 1000, &q.limit)) {
    co_return invalid_query("limit", "limit must be an integer from 1 to 1000", version);
  }
  if (const auto cursor = query.find("cursor"); cursor != query.end()) {
    const std::string& text = cursor->second;
    const bool digits =
        !text.empty() && text.size() <= 18 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) {
      co_return invalid_query("cursor", "cursor must be the next_cursor of a previous page",
                              version);
    }
    q.before_id = std::stoll(text);
  }
  if (const auto actor = query.find("actor"); actor != query.end()) {
    if (actor->second.empty() || actor->second.size() > 100)
      co_return invalid_query("actor", "actor must be 1 to 100 characters", version);
    q.actor = actor->second;
  }
  auto answer = co_await await_read<AuditPage>(
      [&](auto done) { return reader_.audit(q, std::move(done)); }, options_.ledger_timeout);
  if (!answer || !answer->first.ok()) co_return read_failed(version);
  json entries = json::array();
  for (const AuditEntry& e : answer->second.entries) {
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
  if (answer->second.more) body["next_cursor"] = std::to_string(answer->second.entries.back().id);
  co_return make_json(status::ok, body.dump(), version);
}

asio::awaitable<Response> Api::route(const Request& request,
                                     const std::vector<std::string_view>& parts,
                                     const Query& query) {
  const auto method = request.method();
  const auto not_allowed = [&](const char* allow) {
    Response response = make_problem(status::method_not_allowed, "method_not_allowed",
                                     std::string("use ") + allow, request.version());
    response.set(bhttp::field::allow, allow);
    return response;
  };
  const std::size_t n = parts.size();
  if (n >= 2 && parts[1] == "accounts") {
    if (n == 2) {
      if (method == bhttp::verb::post) co_return co_await create_account(request);
      if (method == bhttp::verb::get) co_return co_await list_accounts(request, query);
      co_return not_allowed("GET, POST");
    }
    if (n == 3) {
      if (method == bhttp::verb::get) co_return co_await get_account(request, parts[2]);
      if (method == bhttp::verb::patch) co_return co_await update_account(request, parts[2], false);
      co_return not_allowed("GET, PATCH");
    }
    if (n == 4 && parts[3] == "close") {
      if (method != bhttp::verb::post) co_return not_allowed("POST");
      co_return co_await update_account(request, parts[2], true);
    }
    if (n == 4 && (parts[3] == "transfers" || parts[3] == "statement")) {
      if (method != bhttp::verb::get) co_return not_allowed("GET");
      if (parts[3] == "transfers") co_return co_await account_history(request, parts[2], query);
      co_return co_await account_statement(request, parts[2], query);
    }
  }
  if (n >= 2 && parts[1] == "cards") {
    if (n == 2) {
      if (method != bhttp::verb::post) co_return not_allowed("POST");
      co_return co_await create_card(request);
    }
    if (n == 3) {
      if (method == bhttp::verb::get) co_return co_await get_card(request, parts[2]);
      if (method == bhttp::verb::patch) co_return co_await update_card(request, parts[2]);
      co_return not_allowed("GET, PATCH");
    }
  }
  if (n >= 2 && parts[1] == "transfers") {
    if (n == 2) {
      if (method != bhttp::verb::post) co_return not_allowed("POST");
      co_return co_await create_transfer(request);
    }
    if (n == 3 && parts[2] == "batch") {
      if (method != bhttp::verb::post) co_return not_allowed("POST");
      co_return co_await create_batch(request);
    }
    if (n == 3) {
      if (method != bhttp::verb::get) co_return not_allowed("GET");
      co_return co_await get_transfer(request, parts[2]);
    }
    if (n == 4 && (parts[3] == "post" || parts[3] == "void")) {
      if (method != bhttp::verb::post) co_return not_allowed("POST");
      co_return co_await resolve_transfer(request, parts[2], parts[3] == "post");
    }
  }
  const std::string_view target(request.target().data(), request.target().size());
  co_return make_problem(status::not_found, "route_not_found",
                         "no route for " + std::string(target), request.version());
}

asio::awaitable<Response> Api::create_account(const Request& request) {
  const unsigned version = request.version();
  BadRequest error;
  Response refusal;
  const auto body = json_body(request, &refusal);
  if (!body) co_return refusal;
  FieldReader fields(*body);
  Command command;
  command.kind = CommandKind::create_account;
  Account& a = command.body.account;
  a = Account{};
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
  if (!fields.ok()) co_return bad_request(fields.error(), version);
  const auto key = request["Idempotency-Key"];
  if (id) {
    a.id.value = *id;
  } else if (!key.empty()) {
    a.id.value = id_from_key(std::string_view(key.data(), key.size()));
  } else {
    a.id.value = random_uuid();
  }
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
  const CallResult call = co_await call_ledger(sink_, command, options_.ledger_timeout);
  if (call.status != CallStatus::durable) co_return unavailable(call.status, version);
  const AccountResult result = call.result.account_result();
  if (result == AccountResult::ok || result == AccountResult::exists) {
    Response response = make_json(result == AccountResult::ok ? status::created : status::ok,
                                  account_json(call.result.value.account).dump(), version);
    response.set(bhttp::field::location, "/v1/accounts/" + format_uuid(a.id.value));
    co_return response;
  }
  const std::string name(to_string(result));
  co_return make_problem(is_conflict(result) ? status::conflict : status::unprocessable_entity,
                         name, "the account was not created: " + name, version);
}

asio::awaitable<Response> Api::get_account(const Request& request, std::string_view id_text) {
  Response refusal;
  const auto id = path_id(id_text, "account", request.version(), &refusal);
  if (!id) co_return refusal;
  const auto account = co_await lookup_account(AccountId{*id}, &refusal, request.version());
  if (!account) co_return refusal;
  co_return make_json(status::ok, account_json(*account).dump(), request.version());
}

asio::awaitable<Response> Api::create_transfer(const Request& request) {
  const unsigned version = request.version();
  BadRequest error;
  Response refusal;
  const auto body = json_body(request, &refusal);
  if (!body) co_return refusal;
  const auto transfer = parse_transfer(*body, "", &error);
  if (!transfer) co_return bad_request(error, version);
  Command command;
  command.kind = CommandKind::create_transfer;
  command.body.transfer = *transfer;
  co_return co_await answer_transfer(request, command, false);
}

// Up to 8,000 transfers in one request. atomic: all or none (a linked chain), the answer is
// 201 or 422 naming the failing index; otherwise each is applied on its own, answer 200.
asio::awaitable<Response> Api::create_batch(const Request& request) {
  constexpr std::size_t batch_max = 8'000;
  const unsigned version = request.version();
  BadRequest error;
  Response refusal;
  const auto body = json_body(request, &refusal);
  if (!body) co_return refusal;
  FieldReader fields(*body);
  const auto atomic = fields.boolean("atomic");
  const auto it = body->find("transfers");
  if (it == body->end() || !it->is_array() || it->empty() || it->size() > batch_max) {
    co_return bad_request(
        {"invalid_field", "transfers", "transfers must be an array of 1 to 8000 transfers"},
        version);
  }
  fields.allow("transfers");
  fields.reject_unknown_fields();
  if (!fields.ok()) co_return bad_request(fields.error(), version);
  std::vector<Command> commands(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto transfer = parse_transfer((*it)[i], "transfers[" + std::to_string(i) + "].", &error);
    if (!transfer) co_return bad_request(error, version);
    commands[i].kind = CommandKind::create_transfer;
    commands[i].body.transfer = *transfer;
    if (atomic.value_or(false) && i + 1 < it->size())
      commands[i].body.transfer.flags |= flag_linked;
  }
  const BatchCallResult call = co_await call_ledger_all(sink_, commands, options_.ledger_timeout);
  if (call.status != CallStatus::durable) co_return unavailable(call.status, version);
  json results = json::array();
  std::optional<std::size_t> failed;
  for (std::size_t i = 0; i < call.results.size(); ++i) {
    const TransferResult r = call.results[i].transfer_result();
    if (r != TransferResult::ok && r != TransferResult::exists && !failed) failed = i;
    results.push_back({{"index", i},
                       {"result", std::string(to_string(r))},
                       {"transfer", transfer_json(call.results[i].value.transfer)}});
  }
  if (atomic.value_or(false) && failed) {
    const std::size_t index = call.results[*failed].failed_link;
    const std::string name(to_string(call.results[index].transfer_result()));
    Response response =
        make_problem(status::unprocessable_entity, name,
                     "the atomic batch was rejected at transfers[" + std::to_string(index) +
                         "]: " + name + "; nothing was applied",
                     version);
    json problem = json::parse(response.body());
    problem["failed_index"] = index;
    problem["results"] = std::move(results);
    response.body() = problem.dump();
    response.prepare_payload();
    co_return response;
  }
  co_return make_json(
      atomic.value_or(false) ? status::created : status::ok,
      json{{"atomic", atomic.value_or(false)}, {"results", std::move(results)}}.dump(), version);
}

asio::awaitable<Response> Api::resolve_transfer(const Request& request, std::string_view id_text,
                                                bool post) {
  const unsigned version = request.version();
  Response refusal;
  const auto pending_id = path_id(id_text, "transfer", version, &refusal);
  if (!pending_id) co_return refusal;
  json body = json::object();
  if (!request.body().empty()) {
    if (!is_json(request)) {
      co_return make_problem(status::unsupported_media_type, "unsupported_media_type",
                             "send Content-Type: application/json", version);
    }
    BadRequest error;
    auto parsed = parse_object(request.body(), &error);
    if (!parsed) co_return bad_request(error, version);
    body = std::move(*parsed);
  }
  FieldReader fields(body);
  const auto id = fields.uuid("id", false);
  const auto amount = fields.amount("amount", false, false);  // void: release only this much
  const auto over_capture = post ? fields.boolean("allow_over_capture") : std::nullopt;
  const auto reference = fields.unsigned_integer("reference", UINT64_MAX);
  fields.reject_unknown_fields();
  if (!fields.ok()) co_return bad_request(fields.error(), version);
  Command command;
  command.kind = CommandKind::create_transfer;
  Transfer& t = command.body.transfer;
  t = Transfer{};
  t.id.value = id.value_or(derived_id(*pending_id, post ? "post" : "void"));
  t.pending_id.value = *pending_id;
  t.amount = amount.value_or(0);  // 0: the full hold
  t.flags = post ? flag_post_pending : flag_void_pending;
  if (over_capture.value_or(false)) t.flags |= flag_allow_over_capture;
  t.reference_a = reference.value_or(0);
  t.code = TransferCode::internal;
  co_return co_await answer_transfer(request, command, true);
}

asio::awaitable<Response> Api::answer_transfer(const Request& request, const Command& command,
                                               bool resolution) {
  const unsigned version = request.version();
  const CallResult call = co_await call_ledger(sink_, command, options_.ledger_timeout);
  if (call.status != CallStatus::durable) co_return unavailable(call.status, version);
  const TransferResult result = call.result.transfer_result();
  if (result == TransferResult::ok || result == TransferResult::exists) {
    Response response = make_json(result == TransferResult::ok ? status::created : status::ok,
                                  transfer_json(call.result.value.transfer).dump(), version);
    response.set(bhttp::field::location,
                 "/v1/transfers/" + format_uuid(command.body.transfer.id.value));
    co_return response;
  }
  if (is_conflict(result)) co_return transfer_problem(call.result, status::conflict, version);
  if (resolution && result == TransferResult::pending_not_found) {
    co_return transfer_problem(call.result, status::not_found, version);
  }
  co_return transfer_problem(call.result, status::unprocessable_entity, version);
}

asio::awaitable<Response> Api::get_transfer(const Request& request, std::string_view id_text) {
  Response refusal;
  const auto id = path_id(id_text, "transfer", request.version(), &refusal);
  if (!id) co_return refusal;
  Command command;
  command.kind = CommandKind::lookup_transfer;
  command.body.transfer_id = TransferId{*id};
  const auto found = co_await lookup(command, "transfer", *id, &refusal, request.version());
  if (!found) co_return refusal;
  co_return make_json(status::ok, transfer_json(found->value.transfer).dump(), request.version());
}

// One lookup in the engine: the result, or (in *error) 503 if the ledger did not answer and
// 404 "<what>_not_found" if there is no such thing.
asio::awaitable<std::optional<CommandResult>> Api::lookup(const Command& command,
                                                          std::string_view what, Uint128 id,
                                                          Response* error, unsigned version) {
  const CallResult call = co_await call_ledger(sink_, command, options_.ledger_timeout);
  if (call.status != CallStatus::durable) {
    *error = unavailable(call.status, version);
    co_return std::nullopt;
  }
  if (call.result.code != 0) {
    *error = make_problem(status::not_found, std::string(what) + "_not_found",
                          "no " + std::string(what) + " " + format_uuid(id), version);
    co_return std::nullopt;
  }
  co_return call.result;
}

asio::awaitable<std::optional<Account>> Api::lookup_account(AccountId id, Response* error,
                                                            unsigned version) {
  Command command;
  command.kind = CommandKind::lookup_account;
  command.body.account_id = id;
  const auto found = co_await lookup(command, "account", id.value, error, version);
  if (!found) co_return std::nullopt;
  co_return found->value.account;
}

asio::awaitable<Response> Api::list_accounts(const Request& request, const Query& query) {
  const unsigned version = request.version();
  std::string unknown;
  if (!only_known(query, {"holder_id", "cursor", "limit"}, &unknown)) {
    co_return invalid_query(unknown, "unknown query parameter " + unknown, version);
  }
  const auto holder_it = query.find("holder_id");
  const auto holder = holder_it == query.end() ? std::nullopt : parse_uuid(holder_it->second);
  if (!holder) co_return invalid_query("holder_id", "holder_id (a UUID) is required", version);
  AccountListQuery list_query;
  list_query.holder = HolderId{*holder};
  if (const auto cursor = query.find("cursor"); cursor != query.end()) {
    const auto after = parse_uuid(cursor->second);
    if (!after)
      co_return invalid_query("cursor", "cursor must be the next_cursor of a previous page",
                              version);
    list_query.after = *after;
  }
  if (!read_limit(query, 50, 200, &list_query.limit)) {
    co_return invalid_query("limit", "limit must be an integer from 1 to 200", version);
  }
  auto answer = co_await await_read<AccountList>(
      [&](auto done) { return reader_.accounts(list_query, std::move(done)); },
      options_.ledger_timeout);
  if (!answer || !answer->first.ok()) co_return read_failed(version);
  std::vector<Command> lookups(answer->second.ids.size());
  for (std::size_t i = 0; i < lookups.size(); ++i) {
    lookups[i].kind = CommandKind::lookup_account;
    lookups[i].body.account_id = answer->second.ids[i];
  }
  json accounts = json::array();
  if (!lookups.empty()) {
    const BatchCallResult call = co_await call_ledger_all(sink_, lookups, options_.ledger_timeout);
    if (call.status != CallStatus::durable) co_return unavailable(call.status, version);
    for (const CommandResult& r : call.results) {
      if (r.code == 0) accounts.push_back(account_json(r.value.account));
    }
  }
  json body{{"accounts", std::move(accounts)}, {"next_cursor", nullptr}};
  if (answer->second.more) body["next_cursor"] = format_uuid(answer->second.ids.back().value);
  co_return make_json(status::ok, body.dump(), version);
}

asio::awaitable<Response> Api::update_account(const Request& request, std::string_view id_text,
                                              bool close) {
  const unsigned version = request.version();
  Response refusal;
  const auto id = path_id(id_text, "account", version, &refusal);
  if (!id) co_return refusal;
  Command command;
  command.kind = CommandKind::update_account;
  AccountUpdate& update = command.body.update;
  update = AccountUpdate{};
  update.id = AccountId{*id};
  if (close) {
    update.set_status = true;
    update.status = AccountStatus::closed;
  } else {
    if (!is_json(request)) {
      co_return make_problem(status::unsupported_media_type, "unsupported_media_type",
                             "send Content-Type: application/json", version);
    }
    BadRequest error;
    const auto body = parse_object(request.body(), &error);
    if (!body) co_return bad_request(error, version);
    FieldReader fields(*body);
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
    if (!fields.ok()) co_return bad_request(fields.error(), version);
    update.set_overdraft_limit = overdraft.has_value();
    update.overdraft_limit = overdraft.value_or(0);
    update.set_status = new_status.has_value();
    update.status = new_status.value_or(AccountStatus::active);
  }
  const CallResult call = co_await call_ledger(sink_, command, options_.ledger_timeout);
  if (call.status != CallStatus::durable) co_return unavailable(call.status, version);
  const AccountResult result = call.result.account_result();
  if (result == AccountResult::ok) {
    co_return make_json(status::ok, account_json(call.result.value.account).dump(), version);
  }
  const std::string name(to_string(result));
  const status code = result == AccountResult::account_not_found ? status::not_found
                      : result == AccountResult::account_closed  ? status::conflict
                                                                 : status::unprocessable_entity;
  co_return make_problem(code, name, "the account was not changed: " + name, version);
}

asio::awaitable<Response> Api::account_history(const Request& request, std::string_view id_text,
                                               const Query& query) {
  const unsigned version = request.version();
  Response refusal;
  const auto id = path_id(id_text, "account", version, &refusal);
  if (!id) co_return refusal;
  std::string unknown;
  if (!only_known(query, {"from", "to", "cursor", "limit"}, &unknown)) {
    co_return invalid_query(unknown, "unknown query parameter " + unknown, version);
  }
  HistoryQuery history;
  history.account = AccountId{*id};
  for (const char* name : {"from", "to"}) {
    if (const auto it = query.find(name); it != query.end()) {
      const auto ts = parse_time(it->second);
      if (!ts)
        co_return invalid_query(name, std::string(name) + " must be an RFC 3339 date-time",
                                version);
      (std::string_view(name) == "from" ? history.from_ts : history.to_ts) = *ts;
    }
  }
  if (const auto it = query.find("cursor"); it != query.end()) {
    const auto ts = parse_cursor(it->second);
    if (!ts)
      co_return invalid_query("cursor", "cursor must be the next_cursor of a previous page",
                              version);
    history.before_ts = *ts;
  }
  if (!read_limit(query, 50, 500, &history.limit)) {
    co_return invalid_query("limit", "limit must be an integer from 1 to 500", version);
  }
  Response missing;
  if (!co_await lookup_account(history.account, &missing, version)) co_return missing;
  auto answer = co_await await_read<HistoryPage>(
      [&](auto done) { return reader_.history(history, std::move(done)); },
      options_.ledger_timeout);
  if (!answer || !answer->first.ok()) co_return read_failed(version);
  json transfers = json::array();
  for (const Transfer& t : answer->second.transfers) transfers.push_back(transfer_json(t));
  json body{{"transfers", std::move(transfers)}, {"next_cursor", nullptr}};
  if (answer->second.more)
    body["next_cursor"] = format_cursor(answer->second.transfers.back().timestamp);
  co_return make_json(status::ok, body.dump(), version);
}

asio::awaitable<Response> Api::account_statement(const Request& request, std::string_view id_text,
                                                 const Query& query) {
  const unsigned version = request.version();
  Response refusal;
  const auto id = path_id(id_text, "account", version, &refusal);
  if (!id) co_return refusal;
  std::string unknown;
  if (!only_known(query, {"from", "to", "format"}, &unknown)) {
    co_return invalid_query(unknown, "unknown query parameter " + unknown, version);
  }
  const std::string format = query.count("format") ? query.at("format") : "json";
  if (format != "json" && format != "csv")
    co_return invalid_query("format", "format must be json or csv", version);
  StatementQuery statement_query;
  statement_query.account = AccountId{*id};
  for (const char* name : {"from", "to"}) {
    if (const auto it = query.find(name); it != query.end()) {
      const auto ts = parse_time(it->second);
      if (!ts)
        co_return invalid_query(name, std::string(name) + " must be an RFC 3339 date-time",
                                version);
      (std::string_view(name) == "from" ? statement_query.from_ts : statement_query.to_ts) = *ts;
    }
  }
  if (statement_query.from_ts > statement_query.to_ts) {
    co_return invalid_query("from", "from must not be after to", version);
  }
  Response missing;
  const auto account = co_await lookup_account(statement_query.account, &missing, version);
  if (!account) co_return missing;
  statement_query.credit_normal = (account->flags & credits_must_not_exceed_debits) != 0;
  auto answer = co_await await_read<Statement>(
      [&](auto done) { return reader_.statement(statement_query, std::move(done)); },
      options_.ledger_timeout);
  if (!answer || !answer->first.ok()) co_return read_failed(version);
  const Statement& statement = answer->second;
  if (statement.truncated) {
    co_return make_problem(status::unprocessable_entity, "statement_too_large",
                           "more than 50000 postings in the range; ask for a shorter period",
                           version);
  }
  const std::string currency(currency_alpha(account->currency));
  __int128 running = statement.opening;
  json lines = json::array();
  std::string csv =
      "date,transfer_id,code,debit_account_id,credit_account_id,debit,credit,balance,currency\r\n";
  for (const Transfer& t : statement.lines) {
    const bool credit =
        (t.credit_account_id == statement_query.account) != statement_query.credit_normal;
    running += credit ? t.amount_effective : -static_cast<__int128>(t.amount_effective);
    lines.push_back({{"transfer_id", format_uuid(t.id.value)},
                     {"at", format_time(t.timestamp)},
                     {"code", std::string(code_name(t.code))},
                     {"amount", credit ? t.amount_effective : -t.amount_effective},
                     {"balance", balance_json(running)}});
    csv += format_time(t.timestamp) + "," + format_uuid(t.id.value) + "," +
           std::string(code_name(t.code)) + "," + format_uuid(t.debit_account_id.value) + "," +
           format_uuid(t.credit_account_id.value) + "," +
           (credit ? "" : std::to_string(t.amount_effective)) + "," +
           (credit ? std::to_string(t.amount_effective) : "") + "," + money_text(running) + "," +
           csv_field(currency) + "\r\n";
  }
  if (format == "csv") {
    Response response{status::ok, version};
    response.set(bhttp::field::content_type, "text/csv; charset=utf-8");
    response.set(bhttp::field::content_disposition,
                 "attachment; filename=\"statement-" + format_uuid(*id) + ".csv\"");
    response.body() = "\xEF\xBB\xBF" + csv;  // UTF-8 BOM: spreadsheets pick the right encoding
    response.prepare_payload();
    co_return response;
  }
  json body{{"account_id", format_uuid(*id)},
            {"currency", currency},
            {"from", statement_query.from_ts == 0 ? json(nullptr)
                                                  : json(format_time(statement_query.from_ts))},
            {"to", statement_query.to_ts == UINT64_MAX ? json(nullptr)
                                                       : json(format_time(statement_query.to_ts))},
            {"opening_balance", balance_json(statement.opening)},
            {"closing_balance", balance_json(statement.closing)},
            {"lines", std::move(lines)}};
  co_return make_json(status::ok, body.dump(), version);
}

asio::awaitable<Response> Api::create_card(const Request& request) {
  const unsigned version = request.version();
  if (!is_json(request)) {
    co_return make_problem(status::unsupported_media_type, "unsupported_media_type",
                           "send Content-Type: application/json", version);
  }
  if (options_.pan_secret.empty()) {
    Response response = make_problem(status::service_unavailable, "pan_secret_not_configured",
                                     "set LEDGER_PAN_SECRET to store card numbers", version);
    co_return response;
  }
  BadRequest error;
  const auto body = parse_object(request.body(), &error);
  if (!body) co_return bad_request(error, version);
  FieldReader fields(*body);
  const auto id = fields.uuid("id", false);
  const auto account = fields.uuid("account_id", true);
  const auto pan = fields.text("pan", true, 19);
  const auto expiry = fields.text("expiry", true, 4);
  fields.allow("controls");
  fields.reject_unknown_fields();
  if (fields.ok() && !valid_pan(*pan)) {
    fields.fail("invalid_field", "pan", "pan must be 12 to 19 digits with a valid check digit");
  }
  if (fields.ok() &&
      (expiry->size() != 4 || expiry->find_first_not_of("0123456789") != std::string::npos ||
       std::stoi(expiry->substr(2)) < 1 || std::stoi(expiry->substr(2)) > 12)) {
    fields.fail("invalid_field", "expiry", "expiry must be YYMM, e.g. \"2812\"");
  }
  if (!fields.ok()) co_return bad_request(fields.error(), version);
  Command command;
  command.kind = CommandKind::create_card;
  Card& card = command.body.card;
  card = Card{};
  if (const auto it = body->find("controls"); it != body->end() && !it->is_null()) {
    if (!parse_controls(*it, "", &card.controls, &error)) co_return bad_request(error, version);
  }
  const auto key = request["Idempotency-Key"];
  card.id.value = id             ? *id
                  : !key.empty() ? id_from_key(std::string_view(key.data(), key.size()))
                                 : random_uuid();
  card.account_id.value = *account;
  pan_hash(options_.pan_secret, *pan, card.pan_hash);
  const std::size_t bin_length = pan->size() >= 16 ? 8 : 6;
  std::memcpy(card.bin, pan->data(), bin_length);
  std::memcpy(card.last4, pan->data() + pan->size() - 4, 4);
  card.expiry_yymm = static_cast<std::uint16_t>(std::stoi(*expiry));
  co_return co_await answer_card(command, version, true);
}

asio::awaitable<Response> Api::answer_card(const Command& command, unsigned version,
                                           bool creating) {
  const CallResult call = co_await call_ledger(sink_, command, options_.ledger_timeout);
  if (call.status != CallStatus::durable) co_return unavailable(call.status, version);
  const CardResult result = call.result.card_result();
  if (result == CardResult::ok || result == CardResult::exists) {
    const bool created = creating && result == CardResult::ok;
    Response response = make_json(created ? status::created : status::ok,
                                  card_json(call.result.value.card).dump(), version);
    response.set(bhttp::field::location,
                 "/v1/cards/" + format_uuid(call.result.value.card.id.value));
    co_return response;
  }
  const std::string name(to_string(result));
  status code = status::unprocessable_entity;
  if (result == CardResult::card_not_found) code = status::not_found;
  if (result == CardResult::card_pan_exists || result == CardResult::card_blocked ||
      (result >= CardResult::exists_with_different_account_id &&
       result <= CardResult::exists_with_different_expiry)) {
    code = status::conflict;
  }
  co_return make_problem(code, name, "the card was not changed: " + name, version);
}

asio::awaitable<Response> Api::get_card(const Request& request, std::string_view id_text) {
  Response refusal;
  const auto id = path_id(id_text, "card", request.version(), &refusal);
  if (!id) co_return refusal;
  Command command;
  command.kind = CommandKind::lookup_card;
  command.body.card_id = CardId{*id};
  const auto found = co_await lookup(command, "card", *id, &refusal, request.version());
  if (!found) co_return refusal;
  co_return make_json(status::ok, card_json(found->value.card).dump(), request.version());
}

asio::awaitable<Response> Api::update_card(const Request& request, std::string_view id_text) {
  const unsigned version = request.version();
  Response refusal;
  const auto id = path_id(id_text, "card", version, &refusal);
  if (!id) co_return refusal;
  BadRequest error;
  const auto body = json_body(request, &refusal);
  if (!body) co_return refusal;
  FieldReader fields(*body);
  const auto status_text = fields.text("status", false, 16);
  fields.allow("controls");
  fields.reject_unknown_fields();
  std::optional<CardStatus> new_status;
  if (fields.ok() && status_text && !(new_status = parse_card_status(*status_text))) {
    fields.fail("invalid_field", "status", "status must be active, frozen or blocked");
  }
  const auto controls = body->find("controls");
  if (fields.ok() && !status_text && (controls == body->end() || controls->is_null())) {
    fields.fail("missing_field", "", "send status and/or controls");
  }
  if (!fields.ok()) co_return bad_request(fields.error(), version);
  Command lookup;
  lookup.kind = CommandKind::lookup_card;
  lookup.body.card_id = CardId{*id};
  const CallResult current = co_await call_ledger(sink_, lookup, options_.ledger_timeout);
  if (current.status != CallStatus::durable) co_return unavailable(current.status, version);
  if (current.result.code != 0) {
    co_return make_problem(status::not_found, "card_not_found", "no card " + std::string(id_text),
                           version);
  }
  Command command;
  command.kind = CommandKind::update_card;
  CardUpdate& update = command.body.card_update;
  update = CardUpdate{};
  update.id = CardId{*id};
  update.set_status = new_status.has_value();
  update.status = new_status.value_or(CardStatus::active);
  update.controls = current.result.value.card.controls;  // merge: absent fields keep their value
  if (controls != body->end() && !controls->is_null()) {
    if (!parse_controls(*controls, "", &update.controls, &error))
      co_return bad_request(error, version);
    update.set_controls = true;
  }
  co_return co_await answer_card(command, version, false);
}

}  // namespace ledger::http
