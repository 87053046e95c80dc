// Balance monitors in PostgreSQL (migrations/0011): the journal writer's rows (text COPY into
// monitor_events), recovery's read of each monitor's latest row, and the reads behind
// GET /v1/balance-monitors and the event feed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "journal/pg.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace ledger::monitor_sql {

inline constexpr const char* columns =
    "ts, monitor_id, account_id, field, op, threshold, value, change, triggered, deleted, "
    "created_ts, currency";

// One row of COPY monitor_events (columns) FROM STDIN, text format.
void append_row(const BalanceMonitor& monitor, std::string* rows);

// Rows of `SELECT columns FROM monitor_events ... `: each decoded monitor in order.
Status visit_rows(PGconn* conn, const std::string& sql, const std::vector<std::string>& params,
                  const std::function<void(const BalanceMonitor&)>& visit);

// Each monitor's latest state, in creation order (recovery); with after_ts, only the monitors
// changed after it (the tail after a snapshot).
Status load_latest(PGconn* conn, const std::function<void(const BalanceMonitor&)>& visit,
                   std::uint64_t after_ts = 0);

// The monitors as they were at the given timestamps (the event feed).
Status load_at(PGconn* conn, const std::vector<std::uint64_t>& timestamps,
               const std::function<void(const BalanceMonitor&)>& visit);

}  // namespace ledger::monitor_sql
