#include "journal/lease.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "ledger/thread_name.h"

namespace ledger {

Status try_take_lease(PGconn* conn, const std::string& holder, std::uint32_t lease_ms,
                      LeaseState* state) {
  // The UPDATE takes the row only if the lease has lapsed; the SELECT after it reads whoever
  // holds it (us, if the UPDATE won). One statement: the row lock serialises two takers.
  pg::Result rows;
  const std::string ms = std::to_string(lease_ms);
  if (Status s = pg::exec_params(
          conn,
          "WITH taken AS (UPDATE ledger_lease SET epoch = epoch + 1, holder = $1, "
          "acquired_at = now(), expires_at = now() + $2 * interval '1 millisecond' "
          "WHERE id = 1 AND expires_at <= now() RETURNING epoch, holder, expires_at) "
          "SELECT epoch, holder, (extract(epoch FROM expires_at - now()) * 1000)::bigint, "
          "true FROM taken UNION ALL "
          "SELECT epoch, holder, (extract(epoch FROM expires_at - now()) * 1000)::bigint, false "
          "FROM ledger_lease WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM taken)",
          {holder, ms}, &rows);
      !s.ok()) {
    return s;
  }
  if (PQntuples(rows.get()) != 1 || !pg::number(rows.get(), 0, 0, &state->epoch)) {
    return Status::error("ledger_lease: no lease row (are the migrations applied?)");
  }
  state->holder = PQgetvalue(rows.get(), 0, 1);
  if (PQgetisnull(rows.get(), 0, 2) || !pg::number(rows.get(), 0, 2, &state->expires_in_ms)) {
    state->expires_in_ms = 0;  // '-infinity': never taken
  }
  state->taken = std::string_view(PQgetvalue(rows.get(), 0, 3)) == "t";
  return Status();
}

Status renew_lease(PGconn* conn, std::int64_t epoch, std::uint32_t lease_ms, bool* ours) {
  pg::Result rows;
  if (Status s = pg::exec_params(conn,
                                 "UPDATE ledger_lease SET expires_at = now() + $2 * interval '1 "
                                 "millisecond' WHERE id = 1 AND epoch = $1 RETURNING epoch",
                                 {std::to_string(epoch), std::to_string(lease_ms)}, &rows);
      !s.ok()) {
    return s;
  }
  *ours = PQntuples(rows.get()) == 1;
  return Status();
}

Status release_lease(PGconn* conn, std::int64_t epoch) {
  pg::Result rows;
  return pg::exec_params(conn,
                         "UPDATE ledger_lease SET expires_at = now() WHERE id = 1 AND epoch = $1",
                         {std::to_string(epoch)}, &rows);
}

Status end_deposed_sessions(PGconn* conn, std::int64_t epoch, std::int64_t* ended) {
  pg::Result rows;
  if (Status s = pg::exec_params(
          conn,
          "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity "
          "WHERE pid <> pg_backend_pid() AND datname = current_database() "
          "AND application_name ~ '^ledgerd epoch=[0-9]{1,18}$' "
          "AND substr(application_name, 15)::bigint < $1) terminated WHERE ended",
          {std::to_string(epoch)}, &rows);
      !s.ok()) {
    return s;
  }
  if (!pg::number(rows.get(), 0, 0, ended)) return Status::error("pg_terminate_backend: no count");
  return Status();
}

LeaseKeeper::LeaseKeeper(std::string url, std::int64_t epoch, std::uint32_t lease_ms,
                         std::function<void()> on_lost)
    : url_(std::move(url)), epoch_(epoch), lease_ms_(lease_ms), on_lost_(std::move(on_lost)) {}

LeaseKeeper::~LeaseKeeper() { stop(); }

void LeaseKeeper::start() {
  thread_ = std::thread([this] {
    name_this_thread("ledgerd-lease");
    run();
  });
}

void LeaseKeeper::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LeaseKeeper::run() {
  const auto interval = std::chrono::milliseconds(std::max<std::uint32_t>(lease_ms_ / 4, 10));
  std::uint64_t failed_in_a_row = 0;  // logged once per streak, not four times a second
  for (;;) {
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
      conn_.reset();
      if (Status s = pg::connect(url_, &conn_); s.ok()) {
        // A renewal that cannot finish within the lease is worth nothing: give up on it. It
        // need not wait for its WAL flush either (a renewal lost in a crash only makes the
        // lease look older, which is safe), so it holds the lease row for microseconds, not for
        // an fsync that every journal transaction's fence would wait behind.
        (void)pg::exec(conn_.get(), "SET statement_timeout = " + std::to_string(lease_ms_) +
                                        "; SET synchronous_commit = off");
      } else {
        conn_.reset();
      }
    }
    bool ours = true;
    Status status = conn_ ? renew_lease(conn_.get(), epoch_, lease_ms_, &ours)
                          : Status::error("not connected to PostgreSQL");
    if (!status.ok()) {
      // Not deposed, only unsure: the journal's fence decides; keep trying.
      renewal_failures_.fetch_add(1, std::memory_order_relaxed);
      if (failed_in_a_row++ == 0) {
        spdlog::warn(
            "event=lease_renewal_failed epoch={} error=\"{}\" detail=\"retrying every {} ms; "
            "logged again when a renewal succeeds\"",
            epoch_, status.message(), interval.count());
      }
      if (conn_ && PQstatus(conn_.get()) != CONNECTION_OK) conn_.reset();
    } else if (!ours) {
      lost_ = true;
      spdlog::error(
          "event=lease_lost epoch={} detail=\"another ledgerd took the lease; this "
          "one stops journaling and steps down\"",
          epoch_);
      if (on_lost_) on_lost_();
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_; });
      return;
    } else {
      renewals_.fetch_add(1, std::memory_order_relaxed);
      if (failed_in_a_row > 0) {
        spdlog::info("event=lease_renewed epoch={} failed_renewals={}", epoch_, failed_in_a_row);
        failed_in_a_row = 0;
      }
    }
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, interval, [this] { return stopping_; })) break;
  }
  if (conn_ && PQstatus(conn_.get()) == CONNECTION_OK) {
    if (Status s = release_lease(conn_.get(), epoch_); s.ok()) {
      spdlog::info("event=lease_released epoch={}", epoch_);
    }
  }
}

}  // namespace ledger
