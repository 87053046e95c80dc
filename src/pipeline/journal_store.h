// Where the pipeline's journal lives: PostgreSQL in production (PgJournalStore), a seeded
// in-memory store in the deterministic simulation test (src/pipeline/simulation_test.cc), which
// fails COMMITs, loses them, stalls and disappears on purpose.
//
// Threads: count/load from the engine thread (start and reload); connect/add/flush/
// contains_timestamp from the journal thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "journal/loader.h"
#include "journal/snapshot_sql.h"
#include "journal/writer.h"
#include "ledger/status.h"
#include "ledger/types.h"
#include "pipeline/snapshot_file.h"

namespace ledger::pipeline {

struct JournalCounts {
  std::uint64_t accounts = 0;
  std::uint64_t transfers = 0;
  std::uint64_t cards = 0;
};

class JournalStore {
 public:
  virtual ~JournalStore() = default;
  // What is durable, for loading the engine.
  virtual Status count(JournalCounts* counts) = 0;
  // after_ts > 0: only the tail after a snapshot that holds everything up to it (loader.h).
  virtual Status load(const std::function<void(const JournalRecord&)>& visit, LoadStats* stats,
                      std::uint64_t after_ts = 0) = 0;
  // The group commit: add records, then flush them in one transaction.
  virtual Status connect() = 0;
  virtual void add(const JournalRecord& record) = 0;
  virtual CommitOutcome flush(Status* error) = 0;
  // After an unknown outcome: did the record with this timestamp land?
  virtual Status contains_timestamp(std::uint64_t ts, bool* found) = 0;
  // Tests: the next flush loses its connection just before COMMIT returns.
  virtual void inject_failure_before_commit() = 0;
  // The seq of the last event the last successful flush committed (0: not known).
  virtual std::uint64_t committed_seq() const { return 0; }
  // The ledger lease's epoch every later transaction checks (0: none).
  virtual void set_fence(std::int64_t /*epoch*/) {}
  // A standby following the journal: the committed records after event `after`, in commit
  // order, at most about `limit`. *next_after: the cursor for the next call; *last_seq: the
  // last committed event. Thread: the caller's (one follower at a time).
  // Engine snapshots (snapshot_sql.h): the newest published, and publishing one (fenced by
  // `epoch`, keeping the newest `keep`; *dropped: the files no longer listed). Any thread: each
  // call uses its own connection.
  virtual Status snapshots(std::vector<snapshot_sql::Row>* rows) {
    rows->clear();
    return Status();
  }
  virtual Status publish_snapshot(const snapshot_sql::Row& /*row*/, std::int64_t /*epoch*/,
                                  int /*keep*/, std::vector<std::string>* /*dropped*/) {
    return Status::error("this journal keeps no snapshots");
  }
  // The ledger this journal is (snapshot files name it). Any thread: its own connection.
  virtual Status identity(LedgerIdentity* /*ledger*/) {
    return Status::error("this journal keeps no snapshots");
  }
  virtual Status follow(std::uint64_t /*after*/, std::uint32_t /*limit*/,
                        const std::function<void(const JournalRecord&)>& /*visit*/,
                        std::uint64_t* /*next_after*/, std::uint64_t* /*last_seq*/) {
    return Status::error("this journal cannot be followed");
  }
  // A standby taking over: the latest state of every record of `kind` (one whose records are
  // not all events, Followed::at_takeover), as a full load reads it.
  virtual Status reread(RecordKind /*kind*/,
                        const std::function<void(const JournalRecord&)>& /*visit*/) {
    return Status::error("this journal cannot be reread");
  }
};

class PgJournalStore final : public JournalStore {
 public:
  // fence_epoch: the ledger lease's epoch every transaction checks (0: none).
  explicit PgJournalStore(std::string url, std::int64_t fence_epoch = 0)
      : url_(url), writer_(std::move(url)) {
    writer_.set_fence(fence_epoch);
  }
  Status count(JournalCounts* counts) override;
  Status load(const std::function<void(const JournalRecord&)>& visit, LoadStats* stats,
              std::uint64_t after_ts = 0) override;
  Status snapshots(std::vector<snapshot_sql::Row>* rows) override;
  Status publish_snapshot(const snapshot_sql::Row& row, std::int64_t epoch, int keep,
                          std::vector<std::string>* dropped) override;
  Status identity(LedgerIdentity* ledger) override;
  Status connect() override { return writer_.connect(); }
  void add(const JournalRecord& record) override { writer_.add(record); }
  CommitOutcome flush(Status* error) override { return writer_.flush(error); }
  Status contains_timestamp(std::uint64_t ts, bool* found) override {
    return writer_.contains_timestamp(ts, found);
  }
  void inject_failure_before_commit() override { writer_.inject_failure_before_commit(); }
  std::uint64_t committed_seq() const override { return writer_.committed_seq(); }
  void set_fence(std::int64_t epoch) override { writer_.set_fence(epoch); }
  Status follow(std::uint64_t after, std::uint32_t limit,
                const std::function<void(const JournalRecord&)>& visit, std::uint64_t* next_after,
                std::uint64_t* last_seq) override;
  Status reread(RecordKind kind, const std::function<void(const JournalRecord&)>& visit) override;

 private:
  std::string url_;
  JournalWriter writer_;
  pg::Conn follow_conn_;  // the follower's (a standby's main thread)
};

}  // namespace ledger::pipeline
