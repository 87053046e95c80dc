// Writes the audit trail (migrations/0005_audit.sql) on its own thread and connection, in
// batches: the REST API queues an entry after answering and never waits for it. Entries reach
// PostgreSQL within about a second.
//
// Nothing one request sends can stop the trail. A batch PostgreSQL refuses for its data (a
// header value that is not UTF-8, say) is written again row by row; a row refused on its own
// is set aside: stored with every text field escaped (ledger::escape_bytes) and set_aside =
// true, counted (ledgerd_audit_rows_set_aside_total) and logged. Only a row refused even
// escaped is lost, and then it is logged whole (escaped) and counted as lost.
//
// While PostgreSQL is away (no connection, or a refusal not about the data: disk full,
// permissions) entries wait in a bounded queue and the batch is retried with backoff; beyond
// the bound new entries are refused and counted (ledgerd_audit_dropped_total). stop() keeps
// retrying for up to limits::audit_stop_retry_ms, then logs every entry still unwritten, one
// error line each, so a graceful stop never loses an entry without a word.
//
// Threads: record() from any thread; one writer thread; start()/stop() from the main thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "journal/pg.h"
#include "ledger/audit.h"
#include "ledger/limits.h"

namespace ledger {

class AuditWriter final : public AuditSink {
 public:
  AuditWriter(std::string url, std::size_t queue_max,
              std::chrono::milliseconds stop_retry =
                  std::chrono::milliseconds(limits::audit_stop_retry_ms));
  ~AuditWriter();
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  void start();
  // Writes everything queued (retrying up to the stop-retry bound), then stops the thread.
  void stop();
  bool record(AuditEntry entry) override;

  std::uint64_t written() const { return written_.load(); }
  std::uint64_t dropped() const { return dropped_.load(); }  // refused: queue full
  std::uint64_t set_aside() const { return set_aside_.load(); }
  std::uint64_t lost() const { return lost_.load(); }  // never written; logged instead
  std::uint64_t failures() const { return failures_.load(); }

 private:
  enum class Outcome { written, refused_data, unavailable };

  void run();
  // Writes `rows` in one INSERT, escaped and marked set aside if `escaped`.
  Outcome insert(PGconn* conn, std::span<const AuditEntry> rows, bool escaped, std::string* error);
  // After a batch was refused for its data: each row alone, setting aside those refused.
  // Returns how many rows (from the front) are done; the rest wait for PostgreSQL.
  std::size_t write_one_by_one(PGconn* conn, std::span<const AuditEntry> rows);
  void log_unwritten(std::span<const AuditEntry> rows, const char* reason);

  std::string url_;
  std::size_t queue_max_;
  std::chrono::milliseconds stop_retry_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<AuditEntry> queue_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> set_aside_{0};
  std::atomic<std::uint64_t> lost_{0};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace ledger
