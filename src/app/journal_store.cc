#include "journal_store.h"

#include "pg.h"

namespace ledger::app {

Status PgJournalStore::count(JournalCounts* counts) {
  pg::Conn conn;
  if (Status s = pg::connect(url_, &conn); !s.ok()) return s;
  pg::Result row;
  if (Status s = pg::exec_params(conn.get(),
                                 "SELECT (SELECT count(*) FROM accounts), "
                                 "(SELECT count(*) FROM transfers), (SELECT count(*) FROM cards)",
                                 {}, &row);
      !s.ok()) {
    return s;
  }
  counts->accounts = std::stoull(PQgetvalue(row.get(), 0, 0));
  counts->transfers = std::stoull(PQgetvalue(row.get(), 0, 1));
  counts->cards = std::stoull(PQgetvalue(row.get(), 0, 2));
  return Status();
}

Status PgJournalStore::load(const std::function<void(const JournalRecord&)>& visit,
                            LoadStats* stats) {
  pg::Conn conn;
  if (Status s = pg::connect(url_, &conn); !s.ok()) return s;
  return load_journal(conn.get(), visit, stats);
}

}  // namespace ledger::app
