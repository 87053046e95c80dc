#include "http/api.h"

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

}  // namespace

Awaitable<Response> Api::handle(Request& request) {
  if (auto health = handle_health(request, readiness_)) co_return std::move(*health);
  const std::string_view target(request.target().data(), request.target().size());
  const auto parts = split_path(target);
  const unsigned version = request.version();
  if (parts.empty() || parts[0] != "v1") co_return render(route_not_found(target), version);
  const bool reading =
      request.method() == bhttp::verb::get || request.method() == bhttp::verb::head;
  const bool admin_route = parts.size() >= 2 && (parts[1] == "audit" || parts[1] == "keys");
  const auto authorization = request[bhttp::field::authorization];
  ApiKey key;
  const Scope needed = admin_route ? Scope::admin : reading ? Scope::read : Scope::backoffice;
  const AuthResult auth = authenticate(std::string_view(authorization.data(), authorization.size()),
                                       keys_, needed, &key);
  if (auth != AuthResult::ok) co_return unauthorized(auth, version);
  std::uint32_t retry_after_ms = 0;
  if (!limiter_.allow(key.id, RateLimiter::Clock::now(), &retry_after_ms)) {
    Problem problem{bhttp::status::too_many_requests, "rate_limited",
                    "this API key is over its request rate; retry later"};
    problem.retry_after = std::to_string((retry_after_ms + 999) / 1000);
    co_return render(problem, version);
  }
  Query query;
  Response response;
  if (!parse_query(target, &query)) {
    response = render(Problem{bhttp::status::bad_request, "invalid_query",
                              "the query string is malformed or repeats a parameter"},
                      version);
  } else {
    response = co_await route(request, parts, query, key);
  }
  if (!reading && audit_ != nullptr) {  // who did what and when, whatever the outcome
    const auto path = target.substr(0, target.find('?'));
    const auto idempotency = request["Idempotency-Key"];
    audit_->record(AuditEntry{0, "", "key:" + key.id, key.name,
                              std::string(request.method_string()) + " " + route_label(target),
                              std::string(path.substr(0, limits::audit_target_bytes_max)),
                              static_cast<int>(response.result_int()),
                              idempotency.empty()
                                  ? std::string()
                                  : "idempotency_key=" + std::string(idempotency.substr(
                                                             0, limits::audit_detail_bytes_max))});
  }
  co_return response;
}

Awaitable<Response> Api::route(const Request& request, const Parts& parts, const Query& query,
                               const ApiKey& key) {
  const std::string_view resource = parts.size() >= 2 ? parts[1] : std::string_view{};
  if (resource == "accounts") co_return co_await route_accounts(routes_, request, parts, query);
  if (resource == "transfers") co_return co_await route_transfers(routes_, request, parts, query);
  if (resource == "cards") co_return co_await route_cards(routes_, request, parts, query);
  if (resource == "audit") co_return co_await route_audit(routes_, request, parts, query);
  if (resource == "keys") {
    co_return co_await route_keys(routes_, request, parts, query, "key:" + key.id, key.name);
  }
  co_return render(route_not_found(request.target()), request.version());
}

}  // namespace ledger::http
