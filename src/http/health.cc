#include "http/health.h"

#include <nlohmann/json.hpp>

namespace ledger::http {

const char* role_name(Role role) {
  switch (role) {
    case Role::standby:
      return "standby";
    case Role::active:
      return "active";
    case Role::deposed:
      return "deposed";
  }
  return "unknown";
}

std::optional<Response> handle_health(const Request& request, const Readiness& readiness) {
  const std::string_view target(request.target().data(), request.target().size());
  const bool is_health = target == "/health";
  const bool is_ready = target == "/ready";
  if (!is_health && !is_ready) return std::nullopt;
  if (request.method() != bhttp::verb::get && request.method() != bhttp::verb::head) {
    Response response = make_problem(bhttp::status::method_not_allowed, "method_not_allowed",
                                     "use GET", request.version());
    response.set(bhttp::field::allow, "GET, HEAD");
    return response;
  }
  if (is_health) {
    return make_json(bhttp::status::ok, R"({"status":"ok"})", request.version());
  }
  const bool ready = readiness.ready();
  nlohmann::json body = {{"ready", ready},
                         {"database_reachable", readiness.database_reachable.load()},
                         {"migrations_applied", readiness.migrations_applied.load()},
                         {"state_loaded", readiness.state_loaded.load()},
                         {"ledger_running", readiness.ledger_running.load()},
                         {"stopping", readiness.stopping.load()},
                         {"clock", readiness.test_clock ? "manual" : "system"},
                         {"role", role_name(readiness.role.load())},
                         {"lease_epoch", readiness.lease_epoch.load()}};
  if (readiness.role == Role::standby) {
    // A standby waits for the lease and follows the journal meanwhile: how far behind it is.
    body["lease_expires_in_ms"] = readiness.lease_expires_in_ms.load();
    body["clock_skew_ms"] = readiness.clock_skew_ms.load();
    body["journal_loaded"] = readiness.follow_lag_events.load() >= 0;
    body["followed_seq"] = readiness.followed_seq.load();
    body["lag_events"] = readiness.follow_lag_events.load();
  }
  Response response = make_json(ready ? bhttp::status::ok : bhttp::status::service_unavailable,
                                body.dump(), request.version());
  if (!ready) response.set(bhttp::field::retry_after, "1");
  return response;
}

}  // namespace ledger::http
