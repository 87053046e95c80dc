#include "api.h"

#include <random>
#include <vector>

#include "json_mapping.h"
#include "ledger_call.h"

namespace ledger::http {
namespace {

using bhttp::status;
using nlohmann::json;

constexpr std::uint32_t timeout_seconds_max = 60 * 24 * 3600;  // 60 days

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

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return x;
}

Uint128 as_version8(std::uint64_t hi, std::uint64_t lo) {
  return {(hi & ~0xF000ULL) | 0x8000ULL, (lo & ~(0xC0ULL << 56)) | (0x80ULL << 56)};
}

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

}  // namespace

Uint128 id_from_key(std::string_view key) {
  std::uint64_t hi = 0xcbf29ce484222325ULL;
  std::uint64_t lo = 0x84222325cbf29ce4ULL;
  for (char c : key) {
    const auto byte = static_cast<std::uint64_t>(static_cast<unsigned char>(c));
    hi = (hi ^ byte) * 0x100000001b3ULL;
    lo = mix(lo ^ byte);
  }
  return as_version8(mix(hi), mix(lo ^ hi));
}

Uint128 derived_id(Uint128 source, std::string_view purpose) {
  std::uint64_t salt = 0;
  for (char c : purpose) salt = salt * 131 + static_cast<unsigned char>(c);
  return as_version8(mix(source.hi ^ mix(salt)), mix(source.lo ^ mix(salt + source.hi)));
}

asio::awaitable<Response> Api::handle(Request& request) {
  if (auto health = handle_health(request, readiness_)) co_return std::move(*health);
  const std::string_view target(request.target().data(), request.target().size());
  const auto parts = split_path(target);
  const auto method = request.method();
  const auto not_allowed = [&](const char* allow) {
    Response response = make_problem(status::method_not_allowed, "method_not_allowed",
                                     std::string("use ") + allow, request.version());
    response.set(bhttp::field::allow, allow);
    return response;
  };
  if (parts.size() >= 2 && parts[0] == "v1" && parts[1] == "accounts") {
    if (parts.size() == 2) {
      if (method != bhttp::verb::post) co_return not_allowed("POST");
      co_return co_await create_account(request);
    }
    if (parts.size() == 3) {
      if (method != bhttp::verb::get) co_return not_allowed("GET");
      co_return co_await get_account(request, parts[2]);
    }
  }
  if (parts.size() >= 2 && parts[0] == "v1" && parts[1] == "transfers") {
    if (parts.size() == 2) {
      if (method != bhttp::verb::post) co_return not_allowed("POST");
      co_return co_await create_transfer(request);
    }
    if (parts.size() == 3) {
      if (method != bhttp::verb::get) co_return not_allowed("GET");
      co_return co_await get_transfer(request, parts[2]);
    }
    if (parts.size() == 4 && (parts[3] == "post" || parts[3] == "void")) {
      if (method != bhttp::verb::post) co_return not_allowed("POST");
      co_return co_await resolve_transfer(request, parts[2], parts[3] == "post");
    }
  }
  co_return make_problem(status::not_found, "route_not_found",
                         "no route for " + std::string(target), request.version());
}

asio::awaitable<Response> Api::create_account(const Request& request) {
  const unsigned version = request.version();
  if (!is_json(request)) {
    co_return make_problem(status::unsupported_media_type, "unsupported_media_type",
                           "send Content-Type: application/json", version);
  }
  BadRequest error;
  const auto body = parse_object(request.body(), &error);
  if (!body) co_return bad_request(error, version);
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
  const auto id = parse_uuid(id_text);
  if (!id || id->is_zero()) {
    co_return bad_request({"invalid_field", "id", "the account id in the path must be a UUID"},
                          request.version());
  }
  Command command;
  command.kind = CommandKind::lookup_account;
  command.body.account_id = AccountId{*id};
  const CallResult call = co_await call_ledger(sink_, command, options_.ledger_timeout);
  if (call.status != CallStatus::durable) co_return unavailable(call.status, request.version());
  if (call.result.code != 0) {
    co_return make_problem(status::not_found, "account_not_found",
                           "no account " + std::string(id_text), request.version());
  }
  co_return make_json(status::ok, account_json(call.result.value.account).dump(),
                      request.version());
}

asio::awaitable<Response> Api::create_transfer(const Request& request) {
  const unsigned version = request.version();
  if (!is_json(request)) {
    co_return make_problem(status::unsupported_media_type, "unsupported_media_type",
                           "send Content-Type: application/json", version);
  }
  BadRequest error;
  const auto body = parse_object(request.body(), &error);
  if (!body) co_return bad_request(error, version);
  FieldReader fields(*body);
  const auto id = fields.uuid("id", true);
  const auto debit = fields.uuid("debit_account_id", true);
  const auto credit = fields.uuid("credit_account_id", true);
  const auto amount = fields.amount("amount", true, false);
  const auto currency = fields.currency("currency", true);
  const auto code_text = fields.text("code", false, 32);
  const auto pending = fields.boolean("pending");
  const auto timeout = fields.unsigned_integer("timeout_seconds", timeout_seconds_max);
  const auto reference = fields.unsigned_integer("reference", UINT64_MAX);
  const auto reference_b = fields.unsigned_integer("reference_b", UINT64_MAX);
  const auto reference_32 = fields.unsigned_integer("reference_32", UINT32_MAX);
  fields.reject_unknown_fields();
  std::optional<TransferCode> code = TransferCode::internal;
  if (fields.ok() && code_text &&
      (!(code = parse_code(*code_text)) || *code == TransferCode::expiry)) {
    fields.fail("invalid_field", "code", "unknown transfer code \"" + *code_text + "\"");
  }
  if (fields.ok() && timeout && !pending.value_or(false)) {
    fields.fail("invalid_field", "timeout_seconds",
                "timeout_seconds applies to pending transfers only");
  }
  if (!fields.ok()) co_return bad_request(fields.error(), version);
  Command command;
  command.kind = CommandKind::create_transfer;
  Transfer& t = command.body.transfer;
  t = Transfer{};
  t.id.value = *id;
  t.debit_account_id.value = *debit;
  t.credit_account_id.value = *credit;
  t.amount = *amount;
  t.currency = *currency;
  t.code = *code;
  t.flags = pending.value_or(false) ? flag_pending : 0;
  t.timeout_s = static_cast<std::uint32_t>(timeout.value_or(0));
  t.reference_a = reference.value_or(0);
  t.reference_b = reference_b.value_or(0);
  t.reference_32 = static_cast<std::uint32_t>(reference_32.value_or(0));
  co_return co_await answer_transfer(request, command, false);
}

asio::awaitable<Response> Api::resolve_transfer(const Request& request, std::string_view id_text,
                                                bool post) {
  const unsigned version = request.version();
  const auto pending_id = parse_uuid(id_text);
  if (!pending_id || pending_id->is_zero()) {
    co_return bad_request({"invalid_field", "id", "the transfer id in the path must be a UUID"},
                          version);
  }
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
  const auto amount = post ? fields.amount("amount", false, false) : std::nullopt;
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
  const auto id = parse_uuid(id_text);
  if (!id || id->is_zero()) {
    co_return bad_request({"invalid_field", "id", "the transfer id in the path must be a UUID"},
                          request.version());
  }
  Command command;
  command.kind = CommandKind::lookup_transfer;
  command.body.transfer_id = TransferId{*id};
  const CallResult call = co_await call_ledger(sink_, command, options_.ledger_timeout);
  if (call.status != CallStatus::durable) co_return unavailable(call.status, request.version());
  if (call.result.code != 0) {
    co_return make_problem(status::not_found, "transfer_not_found",
                           "no transfer " + std::string(id_text), request.version());
  }
  co_return make_json(status::ok, transfer_json(call.result.value.transfer).dump(),
                      request.version());
}

}  // namespace ledger::http
