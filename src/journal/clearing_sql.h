// Card clearing files, their records and disputes in PostgreSQL (migrations/0027): the rows
// behind /v1/card-clearing and /v1/disputes, read and written on the direct-debit store's
// connection. Each operation is one named statement over a JSON argument, answering JSON.
#pragma once

#include "journal/pg.h"
#include "ledger/direct_debits.h"
#include "ledger/status.h"

namespace ledger::clearing_sql {

// DirectDebitRequest::Op::card_sql: q.card_op names the operation, q.card_args its argument.
Status run(PGconn* conn, const DirectDebitRequest& q, DirectDebitReply* reply);

}  // namespace ledger::clearing_sql
