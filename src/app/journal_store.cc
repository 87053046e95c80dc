#include "app/journal_store.h"

#include "journal/pg.h"

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
  if (!pg::number(row.get(), 0, 0, &counts->accounts) ||
      !pg::number(row.get(), 0, 1, &counts->transfers) ||
      !pg::number(row.get(), 0, 2, &counts->cards)) {
    return Status::error("cannot count the journal: unexpected answer from PostgreSQL");
  }
  return Status();
}

Status PgJournalStore::load(const std::function<void(const JournalRecord&)>& visit,
                            LoadStats* stats) {
  pg::Conn conn;
  if (Status s = pg::connect(url_, &conn); !s.ok()) return s;
  return load_journal(conn.get(), visit, stats);
}

}  // namespace ledger::app
