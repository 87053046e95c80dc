// Recovery loader: streams the journal out of PostgreSQL (accounts, then every transfer in
// timestamp order) as JournalRecords for Engine::replay. Thread: the caller's.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "journal/pg.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace ledger {

struct LoadStats {
  std::size_t accounts = 0;
  std::size_t transfers = 0;
  std::size_t cards = 0;
  std::size_t monitors = 0;
  std::size_t direct_debits = 0;
  std::uint64_t events_seq = 0;  // the event feed's last seq in the snapshot loaded (if read)
};

// after_ts > 0: only what changed after that timestamp (the tail after a snapshot): accounts
// and cards updated since, as they are now; transfers since; monitors and collections changed
// since, as they are now. Applied to a state that holds everything up to after_ts, it gives
// the same state as a full load.
Status load_journal(PGconn* conn, const std::function<void(const JournalRecord&)>& visit,
                    LoadStats* stats, std::uint64_t after_ts = 0);

// The journal records (as written: account_events, card_events, transfers) of one kind whose
// timestamps are listed, in timestamp order. For the event feed.
Status load_records_at(PGconn* conn, RecordKind kind, const std::vector<std::uint64_t>& timestamps,
                       const std::function<void(const JournalRecord&)>& visit);

}  // namespace ledger
