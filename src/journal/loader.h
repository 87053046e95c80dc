// Recovery loader: streams the journal out of PostgreSQL (accounts, then every transfer in
// timestamp order) as JournalRecords for Engine::replay. Thread: the caller's.
#pragma once

#include <functional>
#include <string>

#include "journal/pg.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace ledger {

struct LoadStats {
  std::size_t accounts = 0;
  std::size_t transfers = 0;
  std::size_t cards = 0;
};

Status load_journal(PGconn* conn, const std::function<void(const JournalRecord&)>& visit,
                    LoadStats* stats);

}  // namespace ledger
