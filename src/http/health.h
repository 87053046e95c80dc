// GET /health (the process answers) and GET /ready (database reachable, migrations applied,
// state loaded, journal accepting writes). Readiness flags are set by the app and the journal
// from their own threads; the HTTP threads only read them.
#pragma once

#include <atomic>
#include <optional>

#include "http/message.h"

namespace ledger::http {

struct Readiness {
  std::atomic<bool> database_reachable{false};
  std::atomic<bool> migrations_applied{false};
  std::atomic<bool> state_loaded{false};
  std::atomic<bool> ledger_running{true};  // false while the ledger reloads after a failure
  std::atomic<bool> stopping{false};
  bool test_clock = false;  // LEDGER_CLOCK=manual: shown, so nobody mistakes it for production

  bool ready() const {
    return database_reachable && migrations_applied && state_loaded && ledger_running && !stopping;
  }
};

// Answers /health and /ready; returns nullopt for any other target.
std::optional<Response> handle_health(const Request& request, const Readiness& readiness);

}  // namespace ledger::http
