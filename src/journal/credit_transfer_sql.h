// SEPA credit transfers in PostgreSQL (migrations/0026): the rows and files behind
// /v1/credit-transfers, read and written on the direct-debit store's connection.
#pragma once

#include "journal/pg.h"
#include "ledger/direct_debits.h"
#include "ledger/status.h"

namespace ledger::credit_transfer_sql {

// The ct_* operations of DirectDebitRequest.
Status run(PGconn* conn, const DirectDebitRequest& q, DirectDebitReply* reply);

}  // namespace ledger::credit_transfer_sql
