// GET /health (the process answers) and GET /ready (database reachable, migrations applied,
// state loaded, journal accepting writes). Readiness flags are set by the app and the journal
// from their own threads; the HTTP threads only read them.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "http/message.h"

namespace ledger::http {

enum class Role : std::uint8_t { standby, active, deposed };
const char* role_name(Role role);

struct Readiness {
  std::atomic<bool> database_reachable{false};
  std::atomic<bool> migrations_applied{false};
  std::atomic<bool> state_loaded{false};
  std::atomic<bool> ledger_running{true};  // false while the ledger reloads after a failure
  std::atomic<bool> stopping{false};
  bool test_clock = false;  // LEDGER_CLOCK=manual: shown, so nobody mistakes it for production
  // The ledger lease (docs/operations.md): a standby waits for it, the active holds it with
  // `lease_epoch`, a deposed active lost it. Only the active is ready.
  std::atomic<Role> role{Role::standby};
  std::atomic<std::int64_t> lease_epoch{0};
  std::atomic<std::int64_t> lease_expires_in_ms{0};  // standby: the holder's, when last seen
  std::atomic<std::int64_t> clock_skew_ms{0};  // standby: PostgreSQL's clock minus ours, last seen
  // standby: the last event of the journal it applied, and how many it has still to apply
  // (-1: it has not loaded the journal yet).
  std::atomic<std::uint64_t> followed_seq{0};
  std::atomic<std::int64_t> follow_lag_events{-1};

  bool ready() const {
    return role == Role::active && database_reachable && migrations_applied && state_loaded &&
           ledger_running && !stopping;
  }
};

// Answers /health and /ready; returns nullopt for any other target.
std::optional<Response> handle_health(const Request& request, const Readiness& readiness);

}  // namespace ledger::http
