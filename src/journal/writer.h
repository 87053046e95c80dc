// JournalWriter: writes a group of journal records to PostgreSQL in one transaction sent as one
// query string (binary COPY into account_events, card_events, transfers and events, statements
// folding account and card events into accounts and cards; one round trip per COPY) and reports
// whether COMMIT succeeded, failed, or has an unknown outcome. Each record is one event; their
// gap-free seq continues from the last committed one (read from PostgreSQL after connecting and
// after any failure). Thread: the journal thread owns it (one connection).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "journal/pg.h"
#include "ledger/events.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace ledger {

enum class CommitOutcome : std::uint8_t {
  committed,    // durable: answers may be released
  rolled_back,  // certainly not committed
  unknown,      // the connection broke during COMMIT: read back to know
  fenced,       // certainly not committed, and never will be: another ledgerd took the lease
};

class JournalWriter {
 public:
  explicit JournalWriter(std::string url) : url_(std::move(url)) {}

  Status connect();
  bool connected() const;
  void disconnect() { conn_.reset(); }

  // Every transaction from now on checks, in itself, that the ledger lease still has this
  // epoch (ledger_fence, migrations/0015_lease.sql). 0: no check (tools and tests that own
  // their database).
  void set_fence(std::int64_t epoch) { fence_epoch_ = epoch; }

  void add(const JournalRecord& record);
  std::size_t pending_records() const {
    return accounts_ + transfers_ + cards_ + messages_ + monitors_ + spikes_ + debits_;
  }
  // The seq of the last event this writer committed (0: none yet, or unknown after a failure).
  std::uint64_t committed_seq() const { return seq_known_ ? next_seq_ - 1 : 0; }
  // Writes everything added since the last flush in one transaction, then forgets it.
  CommitOutcome flush(Status* error);
  // After an unknown outcome: is the record with this timestamp in PostgreSQL?
  Status contains_timestamp(std::uint64_t ts, bool* found);

  // Fault injection for tests: the next flush loses its connection just before COMMIT
  // returns (the outcome is then unknown, the transaction is rolled back by the server).
  void inject_failure_before_commit() { fail_before_commit_ = true; }

 private:
  void reset_buffers();

  std::string url_;
  pg::Conn conn_;
  std::string account_rows_;
  std::string transfer_rows_;
  std::string card_rows_;
  std::string message_rows_;
  std::string monitor_rows_;  // text COPY: monitors change rarely
  std::string debit_rows_;    // text COPY: direct debits (direct_debit_events)
  std::string spike_rows_;    // text COPY: spikes are rare too
  std::size_t accounts_ = 0;
  std::size_t transfers_ = 0;
  std::size_t cards_ = 0;
  std::size_t messages_ = 0;
  std::size_t monitors_ = 0;
  std::size_t debits_ = 0;
  std::size_t spikes_ = 0;
  std::uint64_t card_ts_min_ = 0;
  std::uint64_t card_ts_max_ = 0;
  std::uint64_t account_ts_min_ = 0;
  std::uint64_t account_ts_max_ = 0;
  std::vector<EventKey> events_;  // one per event record added, in order
  std::uint64_t next_seq_ = 1;    // the seq of the next event, once read from PostgreSQL
  bool seq_known_ = false;        // false until read, and again after any failed flush
  bool fail_before_commit_ = false;
  std::int64_t fence_epoch_ = 0;
};

}  // namespace ledger
