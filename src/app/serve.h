#pragma once

#include "app/config.h"
#include "journal/pg.h"

namespace ledger::app {
// Exit codes: 0 clean stop, 1 run-time failure (database, port, migrations), 2 bad settings.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_deposed = 3;  // another ledgerd took the ledger lease

int run_serve(const Config& config);
// Validates the URL, reads the migrations, connects and applies what is pending; prints the
// error line and returns its exit code on failure.
int prepare_database(const Config& config, pg::Conn* conn);
int run_migrate(const Config& config);
}  // namespace ledger::app
