#include "journal/snapshot_sql.h"

namespace ledger::snapshot_sql {
namespace {

// uint64 values are stored as their two's-complement bigint.
std::string signed_text(std::uint64_t v) { return std::to_string(static_cast<std::int64_t>(v)); }

bool unsigned_at(const PGresult* rows, int row, int column, std::uint64_t* out) {
  std::int64_t v = 0;
  if (!pg::number(rows, row, column, &v)) return false;
  *out = static_cast<std::uint64_t>(v);
  return true;
}

}  // namespace

Status newest(PGconn* conn, int limit, std::vector<Row>* rows) {
  rows->clear();
  pg::Result result;
  if (Status s = pg::exec_params(conn,
                                 "SELECT id, events_seq, last_ts, epoch, layout, state_hash, "
                                 "checksum, bytes, file FROM engine_snapshots "
                                 "ORDER BY events_seq DESC, created_at DESC LIMIT $1",
                                 {std::to_string(limit)}, &result);
      !s.ok()) {
    return s;
  }
  for (int i = 0; i < PQntuples(result.get()); ++i) {
    Row r;
    if (!unsigned_at(result.get(), i, 0, &r.id) ||
        !unsigned_at(result.get(), i, 1, &r.events_seq) ||
        !unsigned_at(result.get(), i, 2, &r.last_ts) || !pg::number(result.get(), i, 3, &r.epoch) ||
        !unsigned_at(result.get(), i, 4, &r.layout) ||
        !unsigned_at(result.get(), i, 5, &r.state_hash) ||
        !unsigned_at(result.get(), i, 6, &r.checksum) ||
        !unsigned_at(result.get(), i, 7, &r.bytes)) {
      return Status::error("engine_snapshots: a row does not decode");
    }
    r.file = PQgetvalue(result.get(), i, 8);
    rows->push_back(std::move(r));
  }
  return Status();
}

Status publish(PGconn* conn, const Row& row, std::int64_t epoch, int keep,
               std::vector<std::string>* dropped) {
  dropped->clear();
  if (Status s = pg::exec(conn, "BEGIN"); !s.ok()) return s;
  const auto abort = [conn](Status s) {
    (void)pg::exec(conn, "ROLLBACK");
    return s;
  };
  if (epoch > 0) {
    pg::Result fence;
    if (Status s =
            pg::exec_params(conn, "SELECT ledger_fence($1)", {std::to_string(epoch)}, &fence);
        !s.ok()) {
      return abort(s);
    }
  }
  if (Status s = pg::exec_params(
          conn,
          "INSERT INTO engine_snapshots (id, events_seq, last_ts, epoch, layout, state_hash, "
          "checksum, bytes, file) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
          {signed_text(row.id), signed_text(row.events_seq), signed_text(row.last_ts),
           std::to_string(row.epoch), signed_text(row.layout), signed_text(row.state_hash),
           signed_text(row.checksum), signed_text(row.bytes), row.file},
          nullptr);
      !s.ok()) {
    return abort(s);
  }
  pg::Result old;
  if (Status s = pg::exec_params(conn,
                                 "DELETE FROM engine_snapshots WHERE id NOT IN (SELECT id FROM "
                                 "engine_snapshots ORDER BY events_seq DESC, created_at DESC "
                                 "LIMIT $1) RETURNING file",
                                 {std::to_string(keep)}, &old);
      !s.ok()) {
    return abort(s);
  }
  if (Status s = pg::exec(conn, "COMMIT"); !s.ok()) return s;
  for (int i = 0; i < PQntuples(old.get()); ++i) dropped->push_back(PQgetvalue(old.get(), i, 0));
  return Status();
}

}  // namespace ledger::snapshot_sql
