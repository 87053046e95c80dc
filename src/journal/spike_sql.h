// Spending spikes in PostgreSQL (migrations/0012): rules (the REST API's store and the spike
// watcher's read), and the journaled spikes (text COPY by the journal writer; read back for
// the event feed and for the watcher's cooldowns after a restart).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "journal/pg.h"
#include "ledger/spikes.h"

namespace ledger::spike_sql {

inline constexpr const char* event_columns =
    "ts, rule_id, scope, key_id, account_id, direction, window_s, window_start, window_sum, "
    "transfers, amount_at_least, times_usual_x100, usual, currency";

void append_row(const SpendingSpike& spike, std::string* rows);

// Spikes as journaled: those at the given timestamps, or a query's rows (event_columns).
Status load_at(PGconn* conn, const std::vector<std::uint64_t>& timestamps,
               const std::function<void(const SpendingSpike&)>& visit);
Status visit_spikes(PGconn* conn, const std::string& sql, const std::vector<std::string>& params,
                    const std::function<void(const SpendingSpike&)>& visit);

// Rules: one request of the REST API; or every live rule (the watcher).
Status run(PGconn* conn, const SpikeRuleRequest& request, SpikeRuleReply* reply);
Status live_rules(PGconn* conn, std::vector<SpikeRule>* rules);

}  // namespace ledger::spike_sql
