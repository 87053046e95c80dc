#include "journal/audit_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "ledger/text.h"
#include "ledger/thread_name.h"

namespace ledger {
namespace {

// SQLSTATE classes that are about the row itself: data exceptions (22: bad encoding, value
// too long), integrity constraints (23), program limits (54: a row too large to index).
// Anything else (no answer, 08 connection, 53 disk full, 42501 permissions, 57 shutdown) is
// about PostgreSQL, and the same rows are retried later.
bool refused_for_its_data(const std::string& sqlstate) {
  return sqlstate.size() == 5 &&
         (sqlstate.starts_with("22") || sqlstate.starts_with("23") || sqlstate.starts_with("54"));
}

bool holds_nul(const AuditEntry& e) {
  for (const std::string* field : {&e.actor, &e.actor_name, &e.action, &e.target, &e.detail}) {
    if (field->find('\0') != std::string::npos) return true;  // libpq would cut it there
  }
  return false;
}

}  // namespace

AuditWriter::AuditWriter(std::string url, std::size_t queue_max,
                         std::chrono::milliseconds stop_retry)
    : url_(std::move(url)), queue_max_(queue_max), stop_retry_(stop_retry) {}

AuditWriter::~AuditWriter() { stop(); }

void AuditWriter::start() {
  thread_ = std::thread([this] {
    name_this_thread("ledgerd-audit");
    run();
  });
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
    if (queue_.size() >= queue_max_ || stopping_) {
      if (dropped_.fetch_add(1) % 1000 == 0) {
        spdlog::error("event=audit_dropped queued={} reason={}", queue_.size(),
                      stopping_ ? "stopping" : "queue_full");
      }
      return false;
    }
    queue_.push_back(std::move(entry));
  }
  wake_.notify_one();
  return true;
}

AuditWriter::Outcome AuditWriter::insert(PGconn* conn, std::span<const AuditEntry> rows,
                                         bool escaped, std::string* error) {
  if (!escaped) {
    for (const AuditEntry& e : rows) {
      if (holds_nul(e)) {
        *error = "a field holds a NUL byte";
        return Outcome::refused_data;
      }
    }
  }
  std::string sql =
      "INSERT INTO audit_log (actor, actor_name, action, target, status, detail, set_aside, "
      "resource, resource_id) "
      "VALUES ";
  std::vector<std::string> params;
  params.reserve(rows.size() * 9);
  const auto text = [escaped](const std::string& s) { return escaped ? escape_bytes(s) : s; };
  for (const AuditEntry& e : rows) {
    const std::size_t n = params.size();
    if (n != 0) sql += ',';
    sql += '(';
    for (std::size_t k = 1; k <= 9; ++k) sql += (k == 1 ? "$" : ",$") + std::to_string(n + k);
    sql += ')';
    params.push_back(text(e.actor));
    params.push_back(text(e.actor_name));
    params.push_back(text(e.action));
    params.push_back(text(e.target));
    params.push_back(std::to_string(e.status));
    params.push_back(text(e.detail));
    params.push_back(escaped ? "true" : "false");
    params.push_back(text(e.resource));
    params.push_back(text(e.resource_id));
  }
  std::string sqlstate;
  const Status status = pg::exec_params(conn, sql, params, nullptr, &sqlstate);
  if (status.ok()) return Outcome::written;
  *error = status.message();
  return refused_for_its_data(sqlstate) && PQstatus(conn) == CONNECTION_OK ? Outcome::refused_data
                                                                           : Outcome::unavailable;
}

std::size_t AuditWriter::write_one_by_one(PGconn* conn, std::span<const AuditEntry> rows) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto row = rows.subspan(i, 1);
    std::string error;
    Outcome outcome = insert(conn, row, false, &error);
    if (outcome == Outcome::refused_data) {
      const std::string why = error;
      outcome = insert(conn, row, true, &error);
      if (outcome == Outcome::written) {
        set_aside_.fetch_add(1);
        spdlog::warn(
            "event=audit_row_set_aside actor=\"{}\" action=\"{}\" status={} error=\"{}\" "
            "detail=\"stored escaped with set_aside=true\"",
            escape_bytes(row[0].actor), escape_bytes(row[0].action), row[0].status,
            escape_bytes(why));
        continue;
      }
      if (outcome == Outcome::refused_data) {
        log_unwritten(row, "refused_even_escaped");
        continue;
      }
    }
    if (outcome == Outcome::unavailable) return i;
    written_.fetch_add(1);
  }
  return rows.size();
}

void AuditWriter::log_unwritten(std::span<const AuditEntry> rows, const char* reason) {
  for (const AuditEntry& e : rows) {
    spdlog::error(
        "event=audit_entry_unwritten reason={} actor=\"{}\" actor_name=\"{}\" action=\"{}\" "
        "target=\"{}\" status={} detail=\"{}\"",
        reason, escape_bytes(e.actor), escape_bytes(e.actor_name), escape_bytes(e.action),
        escape_bytes(e.target), e.status, escape_bytes(e.detail));
  }
  lost_.fetch_add(rows.size());
}

void AuditWriter::run() {
  pg::Conn conn;
  std::uint32_t backoff_ms = 50;
  std::optional<std::chrono::steady_clock::time_point> give_up_at;  // set once stopping
  for (;;) {
    std::vector<AuditEntry> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_ && !give_up_at) give_up_at = std::chrono::steady_clock::now() + stop_retry_;
      if (queue_.empty()) return;
      while (!queue_.empty() && batch.size() < limits::audit_batch_rows_max) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::size_t done = 0;
    std::string error;
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
      conn.reset();
      if (Status s = pg::connect(url_, &conn); !s.ok()) {
        conn.reset();
        error = s.message();
      }
    }
    if (conn) {
      switch (insert(conn.get(), batch, false, &error)) {
        case Outcome::written:
          written_.fetch_add(batch.size());
          done = batch.size();
          break;
        case Outcome::refused_data:
          done = write_one_by_one(conn.get(), batch);
          break;
        case Outcome::unavailable:
          break;
      }
    }
    if (done == batch.size()) {
      backoff_ms = 50;
      continue;
    }
    failures_.fetch_add(1);
    spdlog::warn("event=audit_write_failed entries={} error=\"{}\"", batch.size() - done,
                 escape_bytes(error));
    conn.reset();
    const auto rest = std::span<const AuditEntry>(batch).subspan(done);
    if (give_up_at && std::chrono::steady_clock::now() >= *give_up_at) {
      log_unwritten(rest, "stopping_without_postgresql");
      std::deque<AuditEntry> queued;
      {
        std::lock_guard lock(mutex_);
        queued.swap(queue_);
      }
      for (const AuditEntry& e : queued)
        log_unwritten(std::span(&e, 1), "stopping_without_postgresql");
      return;
    }
    {
      std::unique_lock lock(mutex_);  // put them back, oldest first, and try again later
      for (auto it = batch.rbegin(); it != batch.rend() - static_cast<std::ptrdiff_t>(done); ++it)
        queue_.push_front(std::move(*it));
      // A stop cuts the wait short; its retries are bounded by give_up_at.
      wake_.wait_for(lock, std::chrono::milliseconds(backoff_ms),
                     [this, &give_up_at] { return stopping_ && !give_up_at; });
    }
    backoff_ms = std::min<std::uint32_t>(backoff_ms * 2, limits::audit_retry_backoff_max_ms);
  }
}

}  // namespace ledger
