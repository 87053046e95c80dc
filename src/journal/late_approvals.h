// Late approvals found from the journal alone (docs/durability.md, "Late approvals").
//
// An authorization answered 91 because it was not durable by the network's deadline may still
// commit afterwards. The ledgerd that answered reverses it (the late rule: Pipeline::
// reverse_late), but that reversal lives in its memory until it commits: a process killed,
// paused past its lease or cut off from PostgreSQL in between leaves the hold on the
// cardholder's money. So every authorization journals when its answer was due
// (card_messages.answer_by: on PostgreSQL's clock, read off the edge's steady clock and the
// difference the lease measures), and whoever takes the lease looks for approvals that
// committed after it:
// - with track_commit_timestamp = on, by PostgreSQL's commit timestamp of the row, later than
//   answer_by by more than margin_ms (the skew measurement's error: an approval the network
//   did receive in time must never be reversed);
// - without it, by the engine's apply time (the transfer's timestamp) later than answer_by:
//   only approvals that were late before they reached PostgreSQL are found.
// Reversing one that is already reversed is a repeat (same message key): nothing changes.
//
// Thread: the caller's; the connection is the caller's.
#pragma once

#include <cstdint>
#include <vector>

#include "journal/pg.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace ledger {

struct LateApprovals {
  struct Late {
    TransferId transfer;          // the approval
    std::uint64_t answer_by = 0;  // its deadline (card_ids::late_rule_key)
  };
  std::vector<Late> transfers;  // approvals whose answer was late, oldest first
  bool by_commit_time = false;  // track_commit_timestamp was on
};

// The approvals journaled at logical time >= since_ns whose commit (or apply) came more than
// margin_ms after their answer was due. At most `limit` (the oldest first).
Status find_late_approvals(PGconn* conn, std::uint64_t since_ns, std::uint32_t margin_ms,
                           std::uint32_t limit, LateApprovals* found);

}  // namespace ledger
