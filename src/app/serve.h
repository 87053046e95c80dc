#pragma once

#include "config.h"

namespace ledger::app {
// Exit codes: 0 clean stop, 1 run-time failure (database, port, migrations), 2 bad settings.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

int run_serve(const Config& config);
int run_migrate(const Config& config);
}  // namespace ledger::app
