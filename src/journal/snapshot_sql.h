// The engine_snapshots table (migrations/0016): the snapshots ledgerd may restore from, and
// their publication, fenced by the ledger lease. docs/durability.md, "Snapshots".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "journal/pg.h"
#include "ledger/status.h"

namespace ledger::snapshot_sql {

struct Row {
  std::uint64_t id = 0;
  std::uint64_t events_seq = 0;
  std::uint64_t last_ts = 0;
  std::int64_t epoch = 0;
  std::uint64_t layout = 0;
  std::uint64_t state_hash = 0;
  std::uint64_t checksum = 0;
  std::uint64_t bytes = 0;
  std::string file;
};

// The newest `limit` snapshots, newest first.
Status newest(PGconn* conn, int limit, std::vector<Row>* rows);

// Publishes `row` in a transaction that first checks the lease still has `epoch` (0: no lease),
// then deletes all but the newest `keep` rows. *dropped: the files of the rows deleted.
Status publish(PGconn* conn, const Row& row, std::int64_t epoch, int keep,
               std::vector<std::string>* dropped);

}  // namespace ledger::snapshot_sql
