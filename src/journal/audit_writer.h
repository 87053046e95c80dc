// Writes the audit trail (migrations/0005_audit.sql) on its own thread and connection, in
// batches: the REST API queues an entry after answering and never waits for it. Entries reach
// PostgreSQL within about a second; while PostgreSQL is away they wait in a bounded queue
// (reconnect with backoff), and beyond the bound new entries are refused and counted (the
// metric ledgerd_audit_dropped_total, and an error log line per refusal burst).
//
// Threads: record() from any thread; one writer thread; start()/stop() from the main thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "ledger/audit.h"

namespace ledger {

class AuditWriter final : public AuditSink {
 public:
  AuditWriter(std::string url, std::size_t queue_max);
  ~AuditWriter();
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  void start();
  // Writes what is queued (one last attempt), then stops the thread.
  void stop();
  bool record(AuditEntry entry) override;

  std::uint64_t written() const { return written_.load(); }
  std::uint64_t dropped() const { return dropped_.load(); }
  std::uint64_t failures() const { return failures_.load(); }

 private:
  void run();

  std::string url_;
  std::size_t queue_max_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<AuditEntry> queue_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace ledger
