#include "pipeline/journal_store.h"

#include <cstdlib>

#include "journal/event_reader.h"
#include "journal/monitor_sql.h"
#include "journal/pg.h"

namespace ledger::pipeline {

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

Status PgJournalStore::snapshots(std::vector<snapshot_sql::Row>* rows) {
  pg::Conn conn;
  if (Status s = pg::connect(url_, &conn); !s.ok()) return s;
  return snapshot_sql::newest(conn.get(), 3, rows);
}

Status PgJournalStore::publish_snapshot(const snapshot_sql::Row& row, std::int64_t epoch, int keep,
                                        std::vector<std::string>* dropped) {
  pg::Conn conn;
  if (Status s = pg::connect(url_, &conn); !s.ok()) return s;
  return snapshot_sql::publish(conn.get(), row, epoch, keep, dropped);
}

Status PgJournalStore::identity(LedgerIdentity* ledger) {
  pg::Conn conn;
  if (Status s = pg::connect(url_, &conn); !s.ok()) return s;
  pg::Result rows;
  if (Status s =
          pg::exec_params(conn.get(), "SELECT instance_id::text FROM ledger_instance", {}, &rows);
      !s.ok()) {
    return s;
  }
  if (PQntuples(rows.get()) != 1) return Status::error("ledger_instance has no row");
  ledger->ledger_id = PQgetvalue(rows.get(), 0, 0);
  // The cluster's identifier: readable by superusers and pg_monitor members only; another
  // role's ledgerd names its files by the database's id alone (0 here).
  ledger->system_identifier = 0;
  pg::Result system;
  if (pg::exec_params(conn.get(), "SELECT system_identifier::text FROM pg_control_system()", {},
                      &system)
          .ok() &&
      PQntuples(system.get()) == 1) {
    ledger->system_identifier = std::strtoull(PQgetvalue(system.get(), 0, 0), nullptr, 10);
  }
  return Status();
}

Status PgJournalStore::load(const std::function<void(const JournalRecord&)>& visit,
                            LoadStats* stats, std::uint64_t after_ts) {
  pg::Conn conn;
  if (Status s = pg::connect(url_, &conn); !s.ok()) return s;
  // One snapshot for every table and for the event feed's end, so that a standby loading while
  // the active commits gets a state and the exact event after which to follow it.
  if (Status s = pg::exec(conn.get(), "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !s.ok())
    return s;
  if (Status s = load_journal(conn.get(), visit, stats, after_ts); !s.ok()) return s;
  pg::Result last;
  if (Status s = pg::exec_params(conn.get(), "SELECT coalesce(max(seq), 0) FROM events", {}, &last);
      !s.ok()) {
    return s;
  }
  if (!pg::number(last.get(), 0, 0, &stats->events_seq)) {
    return Status::error("events: max(seq) does not decode");
  }
  return pg::exec(conn.get(), "COMMIT");
}

Status PgJournalStore::follow(std::uint64_t after, std::uint32_t limit,
                              const std::function<void(const JournalRecord&)>& visit,
                              std::uint64_t* next_after, std::uint64_t* last_seq) {
  if (!follow_conn_ || PQstatus(follow_conn_.get()) != CONNECTION_OK) {
    follow_conn_.reset();
    if (Status s = pg::connect(url_, &follow_conn_); !s.ok()) {
      follow_conn_.reset();
      return s;
    }
  }
  EventQuery query;
  query.after = after;
  query.limit = limit;
  EventPage page;
  if (Status s = read_events(follow_conn_.get(), query, &page); !s.ok()) {
    if (PQstatus(follow_conn_.get()) != CONNECTION_OK) follow_conn_.reset();
    return s;
  }
  for (const Event& event : page.events) visit(event.record);
  *next_after = page.next_after;
  *last_seq = page.last_seq;
  return Status();
}

Status PgJournalStore::reread(RecordKind kind,
                              const std::function<void(const JournalRecord&)>& visit) {
  if (kind != RecordKind::monitor) return Status::error("only monitors are reread at a takeover");
  pg::Conn conn;
  if (Status s = pg::connect(url_, &conn); !s.ok()) return s;
  JournalRecord record;
  record.kind = RecordKind::monitor;
  return monitor_sql::load_latest(conn.get(), [&](const BalanceMonitor& monitor) {
    record.value.monitor = monitor;
    visit(record);
  });
}

}  // namespace ledger::pipeline
