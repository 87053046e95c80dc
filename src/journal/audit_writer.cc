#include "journal/audit_writer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <vector>

#include "journal/pg.h"
#include "ledger/limits.h"

namespace ledger {

AuditWriter::AuditWriter(std::string url, std::size_t queue_max)
    : url_(std::move(url)), queue_max_(queue_max) {}

AuditWriter::~AuditWriter() { stop(); }

void AuditWriter::start() {
  thread_ = std::thread([this] { run(); });
}

void AuditWriter::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

bool AuditWriter::record(AuditEntry entry) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= queue_max_) {
      if (dropped_.fetch_add(1) % 1000 == 0)
        spdlog::error("event=audit_dropped queued={} reason=queue_full", queue_.size());
      return false;
    }
    queue_.push_back(std::move(entry));
  }
  wake_.notify_one();
  return true;
}

void AuditWriter::run() {
  pg::Conn conn;
  std::uint32_t backoff_ms = 50;
  for (;;) {
    std::vector<AuditEntry> batch;
    bool stopping = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      stopping = stopping_;
      if (queue_.empty()) return;
      while (!queue_.empty() && batch.size() < 1000) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    Status status;
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
      conn.reset();
      status = pg::connect(url_, &conn);
    }
    if (status.ok()) status = pg::exec(conn.get(), "BEGIN");
    for (const AuditEntry& e : batch) {
      if (!status.ok()) break;
      pg::Result ignored;
      status = pg::exec_params(
          conn.get(),
          "INSERT INTO audit_log (actor, actor_name, action, target, status, "
          "detail) VALUES ($1, $2, $3, $4, $5, $6)",
          {e.actor, e.actor_name, e.action, e.target, std::to_string(e.status), e.detail},
          &ignored);
    }
    if (status.ok()) status = pg::exec(conn.get(), "COMMIT");
    if (status.ok()) {
      written_.fetch_add(batch.size());
      backoff_ms = 50;
      continue;
    }
    failures_.fetch_add(1);
    spdlog::warn("event=audit_write_failed entries={} error=\"{}\"", batch.size(),
                 status.message());
    conn.reset();
    if (stopping) {
      dropped_.fetch_add(batch.size());
      return;
    }
    {
      std::lock_guard lock(mutex_);  // put them back, oldest first, and try again later
      for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue_.push_front(std::move(*it));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    backoff_ms = std::min<std::uint32_t>(backoff_ms * 2, limits::audit_retry_backoff_max_ms);
  }
}

}  // namespace ledger
