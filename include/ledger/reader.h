// Reads served from PostgreSQL rather than the engine: account history, statements, accounts
// of a holder. Committed data only, so they never show an unacknowledged change. The network
// edge depends on this interface; the journal component implements it (journal/read_pool).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "ledger/audit.h"
#include "ledger/events.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace ledger {

struct HistoryQuery {
  AccountId account;
  std::uint64_t from_ts = 0;             // inclusive
  std::uint64_t to_ts = UINT64_MAX;      // exclusive
  std::uint64_t before_ts = UINT64_MAX;  // cursor: only transfers older than this
  std::uint32_t limit = 50;
};
struct HistoryPage {
  std::vector<Transfer> transfers;  // newest first
  bool more = false;
};

struct StatementQuery {
  AccountId account;
  bool credit_normal = false;  // credits_must_not_exceed_debits: balance = debits - credits
  std::uint64_t from_ts = 0;
  std::uint64_t to_ts = UINT64_MAX;
  std::uint32_t lines_max = 50'000;
};
struct Statement {
  __int128 opening = 0;
  __int128 closing = 0;
  std::vector<Transfer> lines;  // postings (single-phase transfers and posts), oldest first
  bool truncated = false;       // more than lines_max postings in the range
};

struct AccountListQuery {
  HolderId holder;
  Uint128 after{};  // cursor: ids greater than this
  std::uint32_t limit = 50;
};
struct AccountList {
  std::vector<AccountId> ids;  // ascending
  bool more = false;
};

// The event feed after a cursor: at most `limit` events, looking at no more than
// limits::events_scan_max events past `after` (so a rare filter costs a bounded read; the
// cursor still moves past what was looked at).
struct EventQuery {
  std::uint64_t after = 0;
  std::uint32_t limit = 100;
  std::uint64_t types = 0;  // bit (1 << EventType): only these (0: every type)
  AccountId account;        // zero: any
  HolderId holder;          // zero: any
  // Transfer events only, of this currency and within these amounts (each optional; the
  // amount as subscription filters compare it).
  std::uint32_t currency = 0;  // Currency::code; 0: any
  std::optional<std::int64_t> amount_at_least;
  std::optional<std::int64_t> amount_at_most;
  // Non-empty: exactly these events, ascending (the rest of the query is ignored).
  std::vector<std::uint64_t> seqs;
};
struct Event {
  std::uint64_t seq = 0;
  EventType type = EventType::transfer_created;
  JournalRecord record;       // the journal record the event is
  bool has_merchant = false;  // card events: the merchant journaled with the message
  CardMessage merchant;
  // The balances of the record's accounts right after the change (events.a_*, b_*): a, a
  // transfer's debit account or the account a direct debit concerns; b, the credit account.
  BalanceAfter after_a;
  BalanceAfter after_b;
  // Direct-debit events: the clearing system's references of the collection (table
  // direct_debits), empty for other events.
  std::string creditor_name;
  std::string creditor_id;
  std::string mandate_reference;
  std::string end_to_end_id;
  // Credit-transfer events: from table credit_transfers, the other party (the creditor of an
  // outgoing transfer, the debtor of an incoming one), the reason of a rejection or return
  // (ISO code) and whether it is instant; empty for other events.
  std::string counterparty_name;
  std::string reason_code;
  bool instant = false;
};
struct EventPage {
  std::vector<Event> events;     // ascending seq
  std::uint64_t next_after = 0;  // the cursor for the next call
  std::uint64_t last_seq = 0;    // the last committed event (any type, any account)
};

// Balance monitors, live ones (not deleted), of one account or of all (zero), in creation
// order, at most `limit`.
struct MonitorListQuery {
  AccountId account;
  std::uint32_t limit = 100;
};

// Each call returns at once; `done` runs later on a reader thread. false: too busy (answer 503).
class LedgerReader {
 public:
  virtual bool history(const HistoryQuery& query,
                       std::function<void(Status, HistoryPage)> done) = 0;
  virtual bool statement(const StatementQuery& query,
                         std::function<void(Status, Statement)> done) = 0;
  virtual bool accounts(const AccountListQuery& query,
                        std::function<void(Status, AccountList)> done) = 0;
  virtual bool audit(const AuditQuery& query, std::function<void(Status, AuditPage)> done) = 0;
  virtual bool events(const EventQuery& query, std::function<void(Status, EventPage)> done) = 0;
  virtual bool monitors(const MonitorListQuery& query,
                        std::function<void(Status, std::vector<BalanceMonitor>)> done) = 0;

 protected:
  ~LedgerReader() = default;
};

}  // namespace ledger
