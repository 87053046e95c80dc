#include "http/api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "http/mapping.h"
#include "ledger/ids.h"
#include "ledger/limits.h"

namespace ledger::http {
namespace {

Response unauthorized(AuthResult auth, unsigned version) {
  if (auth == AuthResult::insufficient_scope) {
    return make_problem(bhttp::status::forbidden, "insufficient_scope",
                        "this API key's scope does not allow this request", version);
  }
  Problem problem{bhttp::status::unauthorized,
                  auth == AuthResult::expired ? "key_expired" : "unauthorized",
                  auth == AuthResult::missing   ? "send Authorization: Bearer <API key>"
                  : auth == AuthResult::expired ? "this API key has expired"
                                                : "the API key is not valid"};
  problem.authenticate = true;
  return render(problem, version);
}

bool is_read(bhttp::verb method) {
  return method == bhttp::verb::get || method == bhttp::verb::head;
}

std::string_view target_of(const RequestHeader& header) {
  return std::string_view(header.target().data(), header.target().size());
}

// POST /v1/cards: the answer says whether the card number is issued (409), so it counts.
bool looks_up_a_pan(const RequestHeader& header, const Parts& parts) {
  return header.method() == bhttp::verb::post && parts.size() == 2 && parts[1] == "cards";
}

}  // namespace

bool Api::pan_lookup_allowed(const std::string& key_id, std::uint32_t* retry_after_ms) {
  pan_lookups_.fetch_add(1);
  if (pan_lookup_limiter_.allow(key_id, RateLimiter::Clock::now(), retry_after_ms)) return true;
  if (pan_lookups_refused_.fetch_add(1) % 100 == 0) {
    spdlog::warn("event=pan_lookups_rate_limited key_id={} refused_total={}", key_id,
                 pan_lookups_refused_.load());
  }
  return false;
}

// What a request needs: its route under /v1, and the scope that route and method ask for.
Api::Access Api::access(const RequestHeader& header) const {
  Access a;
  const auto parts = split_path(target_of(header));
  a.api_route = !parts.empty() && parts[0] == "v1";
  const bool admin_route =
      parts.size() >= 2 && (parts[1] == "audit" || parts[1] == "keys" || parts[1] == "test-clock");
  // A payee check is a read, though a POST: the payer's bank needs no right to change anything.
  const bool payee_check = parts.size() >= 2 && parts[1] == "payee-verifications";
  a.needed = admin_route                               ? Scope::admin
             : is_read(header.method()) || payee_check ? Scope::read
                                                       : Scope::backoffice;
  const auto authorization = header[bhttp::field::authorization];
  a.auth = authenticate(std::string_view(authorization.data(), authorization.size()), keys_,
                        a.needed, &a.key);
  return a;
}

std::optional<Response> Api::check_header(const RequestHeader& header) {
  if (target_of(header).rfind("/v1", 0) != 0) return std::nullopt;  // health, metrics: no key
  const Access a = access(header);
  if (!a.api_route || a.auth == AuthResult::ok) return std::nullopt;
  Response response = unauthorized(a.auth, header.version());
  audit(header, a, static_cast<int>(response.result_int()));
  return response;
}

void Api::observe_refusal(const RequestHeader& header, const Response& response) {
  if (response.result() == bhttp::status::unauthorized ||
      response.result() == bhttp::status::forbidden) {
    return;  // check_header recorded it already
  }
  const Access a = access(header);
  if (a.api_route) audit(header, a, static_cast<int>(response.result_int()));
}

namespace {

// The resource a write names: "/v1/<collection>/<id>" from the path when it has an id there
// (a change, an action), else from the "id" of a successful answer (a creation). Only ids made
// of letters, digits, '-' and '_' are taken, so nothing else from the answer (a key's secret,
// a PAN) can land in the trail.
void resource_of(std::string_view path, const Response* response, std::string* resource,
                 std::string* id) {
  const auto parts = split_path(path);
  if (parts.size() < 2 || parts[0] != "v1") return;
  const auto plain = [](std::string_view s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
    });
  };
  std::string found;
  if (parts.size() >= 3 && parts[2].size() == uuid_text_bytes && plain(parts[2])) {
    found = std::string(parts[2]);
  } else if (parts.size() == 2 && response != nullptr && response->result_int() >= 200 &&
             response->result_int() < 300) {
    const auto body = nlohmann::json::parse(response->body(), nullptr, false);
    if (body.is_object()) {
      const auto it = body.find("id");
      if (it != body.end() && it->is_string() && plain(it->get_ref<const std::string&>()))
        found = it->get<std::string>();
    }
  }
  if (found.empty()) return;
  *resource = "/v1/" + std::string(parts[1]) + "/" + found;
  *id = std::move(found);
}

}  // namespace

// Every attempt to change something, whatever its outcome (refused keys and scopes, rate
// limits, bad input, rejections and successes alike): who, what, where, the answer's status.
void Api::audit(const RequestHeader& header, const Access& a, int status,
                const Response* response) {
  if (audit_ == nullptr || is_read(header.method())) return;
  const std::string_view target = target_of(header);
  const auto path = target.substr(0, target.find('?'));
  const auto idempotency = header["Idempotency-Key"];
  std::string actor = "anonymous";
  std::string detail;
  if (a.auth == AuthResult::ok || a.auth == AuthResult::insufficient_scope) {
    actor = "key:" + a.key.id;
  } else {
    detail = "refused=" + std::string(a.auth == AuthResult::missing   ? "no_key"
                                      : a.auth == AuthResult::expired ? "expired_key"
                                                                      : "invalid_key");
  }
  if (!idempotency.empty()) {
    if (!detail.empty()) detail += ' ';
    detail +=
        "idempotency_key=" + std::string(idempotency.substr(0, limits::audit_detail_bytes_max));
  }
  AuditEntry entry{0,
                   "",
                   actor,
                   a.key.name,
                   std::string(header.method_string()) + " " + route_label(target),
                   std::string(path.substr(0, limits::audit_target_bytes_max)),
                   status,
                   detail,
                   false,
                   "",
                   ""};
  resource_of(path, response, &entry.resource, &entry.resource_id);
  audit_->record(std::move(entry));
}

Awaitable<Response> Api::handle(Request& request) {
  if (auto health = handle_health(request, readiness_)) co_return std::move(*health);
  const std::string_view target = target_of(request);
  const auto parts = split_path(target);
  const unsigned version = request.version();
  if (parts.empty() || parts[0] != "v1") co_return render(route_not_found(target), version);
  const Access a = access(request);
  Response response;
  std::uint32_t retry_after_ms = 0;
  Query query;
  std::string bad_parameter;
  if (a.auth != AuthResult::ok) {
    response = unauthorized(a.auth, version);
  } else if (!limiter_.allow(a.key.id, RateLimiter::Clock::now(), &retry_after_ms)) {
    Problem problem{bhttp::status::too_many_requests, "rate_limited",
                    "this API key is over its request rate; retry later"};
    problem.retry_after = std::to_string((retry_after_ms + 999) / 1000);
    response = render(problem, version);
  } else if (parts.size() >= 2 && parts[1] == "payee-verifications" &&
             !payee_check_limiter_.allow(a.key.id, RateLimiter::Clock::now(), &retry_after_ms)) {
    Problem problem{bhttp::status::too_many_requests, "payee_check_rate_limited",
                    "this API key is over its rate of payee checks; retry later"};
    problem.retry_after = std::to_string((retry_after_ms + 999) / 1000);
    response = render(problem, version);
  } else if (looks_up_a_pan(request, parts) && !pan_lookup_allowed(a.key.id, &retry_after_ms)) {
    Problem problem{bhttp::status::too_many_requests, "pan_lookup_rate_limited",
                    "this API key is over its rate of card creations (each looks a card number "
                    "up); retry later"};
    problem.retry_after = std::to_string((retry_after_ms + 999) / 1000);
    response = render(problem, version);
  } else if (!parse_query(target, &query, &bad_parameter)) {
    response = render(Problem{bhttp::status::bad_request, "invalid_query",
                              "the query string is malformed, repeats a parameter, or has a value "
                              "that is not UTF-8 text without control characters",
                              bad_parameter},
                      version);
  } else {
    const bool head = request.method() == bhttp::verb::head;
    if (head) request.method(bhttp::verb::get);  // answered as GET; the server drops the body
    response = co_await route(request, parts, query, a.key);
    if (head) request.method(bhttp::verb::head);
  }
  audit(request, a, static_cast<int>(response.result_int()), &response);
  co_return response;
}

Awaitable<Response> Api::route(const Request& request, const Parts& parts, const Query& query,
                               const ApiKey& key) {
  const std::string_view resource = parts.size() >= 2 ? parts[1] : std::string_view{};
  if (resource == "accounts") co_return co_await route_accounts(routes_, request, parts, query);
  if (resource == "transfers") co_return co_await route_transfers(routes_, request, parts, query);
  if (resource == "cards") co_return co_await route_cards(routes_, request, parts, query);
  if (resource == "audit") co_return co_await route_audit(routes_, request, parts, query);
  if (resource == "events") co_return co_await route_events(routes_, request, parts, query);
  if (resource == "direct-debits") {
    co_return co_await route_direct_debits(routes_, request, parts, query);
  }
  if (resource == "credit-transfers") {
    co_return co_await route_credit_transfers(routes_, request, parts, query);
  }
  if (resource == "card-clearing") {
    co_return co_await route_card_clearing(routes_, request, parts, query);
  }
  if (resource == "disputes") co_return co_await route_disputes(routes_, request, parts, query);
  if (resource == "card-transactions") {
    co_return co_await route_card_transactions(routes_, request, parts, query);
  }
  if (resource == "payee-verifications") {
    co_return co_await route_payee_verifications(routes_, request, parts, query);
  }
  if (resource == "test-clock") co_return co_await route_test_clock(routes_, request, parts, query);
  if (resource == "spike-rules")
    co_return co_await route_spike_rules(routes_, request, parts, query);
  if (resource == "balance-monitors") {
    co_return co_await route_monitors(routes_, request, parts, query);
  }
  if (resource == "webhook-subscriptions") {
    co_return co_await route_webhooks(routes_, request, parts, query);
  }
  if (resource == "keys") {
    co_return co_await route_keys(routes_, request, parts, query, "key:" + key.id, key.name);
  }
  co_return render(route_not_found(request.target()), request.version());
}

}  // namespace ledger::http
