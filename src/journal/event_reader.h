// The event feed read from PostgreSQL: a page of events after a cursor, each with the journal
// record it is (GET /v1/events and the webhook dispatcher). Thread: the caller's connection.
#pragma once

#include "journal/pg.h"
#include "ledger/reader.h"

namespace ledger {

Status read_events(PGconn* conn, const EventQuery& query, EventPage* page);

}  // namespace ledger
