// Direct debits in PostgreSQL (migrations/0014): the journal writer's rows (text COPY into
// direct_debit_events), recovery's read of each collection's latest row, and the reads behind
// GET /v1/direct-debits and the event feed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "journal/pg.h"
#include "ledger/direct_debits.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace ledger::direct_debit_sql {

inline constexpr const char* columns =
    "ts, direct_debit_id, account_id, amount, currency, due_day, settle_at, wait_window, "
    "latest_deadline, wait_deadline, paid_at, missing, scheme, sequence_type, status, change, "
    "reason, at_risk_checked, late, created_ts";
inline constexpr int column_count = 20;

// One row of COPY direct_debit_events (columns) FROM STDIN, text format.
void append_row(const DirectDebit& dd, std::string* rows);

// Decodes `columns` starting at column `first` of row r.
bool decode(const PGresult* rows, int r, int first, DirectDebit* dd);

// Rows of `SELECT columns FROM direct_debit_events ...`: each decoded collection in order.
Status visit_rows(PGconn* conn, const std::string& sql, const std::vector<std::string>& params,
                  const std::function<void(const DirectDebit&)>& visit);

// Each collection's latest state, in the order received (recovery).
Status load_latest(PGconn* conn, const std::function<void(const DirectDebit&)>& visit,
                   std::uint64_t after_ts = 0);

// The collections as they were at the given timestamps (the event feed).
Status load_at(PGconn* conn, const std::vector<std::uint64_t>& timestamps,
               const std::function<void(const DirectDebit&)>& visit);

// The REST edge's operations (DirectDebitStore): receive (resolve the IBAN, read the account's
// mandate rules, store the references under their key), get (with history), list, rules.
Status run(PGconn* conn, const DirectDebitRequest& request, DirectDebitReply* reply);

}  // namespace ledger::direct_debit_sql
