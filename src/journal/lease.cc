#include "journal/lease.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>

#include "ledger/thread_name.h"

namespace ledger {
namespace {

// PostgreSQL's clock_timestamp() in ms, as every lease statement returns it.
constexpr const char* pg_clock_ms = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

struct Stamp {
  std::int64_t system_ms = system_clock_ms();
  std::int64_t steady_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
};

// PostgreSQL's clock against ours at the midpoint of the round trip [sent, received].
ClockReading read_clock(PGresult* rows, int column, const Stamp& sent, const Stamp& received) {
  std::int64_t theirs = 0;
  if (PQntuples(rows) < 1 || !pg::number(rows, 0, column, &theirs)) return {};
  return {theirs - (sent.system_ms + (received.system_ms - sent.system_ms) / 2),
          theirs - (sent.steady_ms + (received.steady_ms - sent.steady_ms) / 2)};
}

}  // namespace

std::int64_t system_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status try_take_lease(PGconn* conn, const std::string& holder, std::uint32_t lease_ms,
                      std::uint32_t max_skew_ms, LeaseState* state) {
  // The UPDATE takes the row only if the lease has lapsed and our clock ($3, read as the
  // statement leaves) is within $4 of PostgreSQL's; the SELECT after it reads whoever holds it
  // (us, if the UPDATE won). One statement: the row lock serialises two takers.
  pg::Result rows;
  const std::string ms = std::to_string(lease_ms);
  const Stamp sent;
  const std::string sql =
      std::string(
          "WITH taken AS (UPDATE ledger_lease SET epoch = epoch + 1, holder = $1, "
          "acquired_at = now(), expires_at = now() + $2 * interval '1 millisecond' "
          "WHERE id = 1 AND expires_at <= now() AND abs(") +
      pg_clock_ms +
      " - $3::bigint) <= $4::bigint RETURNING epoch, holder, expires_at) "
      "SELECT epoch, holder, CASE WHEN isfinite(expires_at) THEN (extract(epoch FROM expires_at - "
      "now()) * 1000)::bigint END, "
      "true, " +
      pg_clock_ms +
      " FROM taken UNION ALL "
      "SELECT epoch, holder, CASE WHEN isfinite(expires_at) THEN (extract(epoch FROM expires_at - "
      "now()) * 1000)::bigint END, false, " +
      pg_clock_ms + " FROM ledger_lease WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM taken)";
  if (Status s = pg::exec_params(
          conn, sql, {holder, ms, std::to_string(sent.system_ms), std::to_string(max_skew_ms)},
          &rows);
      !s.ok()) {
    return s;
  }
  const ClockReading clock = read_clock(rows.get(), 4, sent, Stamp{});
  state->clock_skew_ms = clock.skew_ms;
  state->pg_minus_steady_ms = clock.pg_minus_steady_ms;
  if (PQntuples(rows.get()) != 1 || !pg::number(rows.get(), 0, 0, &state->epoch)) {
    return Status::error("ledger_lease: no lease row (are the migrations applied?)");
  }
  state->holder = PQgetvalue(rows.get(), 0, 1);
  if (PQgetisnull(rows.get(), 0, 2) || !pg::number(rows.get(), 0, 2, &state->expires_in_ms)) {
    state->expires_in_ms = 0;  // '-infinity': never taken
  }
  state->taken = std::string_view(PQgetvalue(rows.get(), 0, 3)) == "t";
  state->skew_refused = !state->taken && state->expires_in_ms <= 0 &&
                        std::abs(state->clock_skew_ms) > static_cast<std::int64_t>(max_skew_ms);
  return Status();
}

Status renew_lease(PGconn* conn, std::int64_t epoch, std::uint32_t lease_ms, bool* ours,
                   ClockReading* clock) {
  pg::Result rows;
  const Stamp sent;
  if (Status s = pg::exec_params(conn,
                                 std::string("UPDATE ledger_lease SET expires_at = now() + $2 * "
                                             "interval '1 millisecond' WHERE id = 1 AND epoch = "
                                             "$1 RETURNING epoch, ") +
                                     pg_clock_ms,
                                 {std::to_string(epoch), std::to_string(lease_ms)}, &rows);
      !s.ok()) {
    return s;
  }
  *ours = PQntuples(rows.get()) == 1;
  if (*ours) *clock = read_clock(rows.get(), 1, sent, Stamp{});
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
                         std::uint32_t max_skew_ms, std::function<void()> on_lost)
    : url_(std::move(url)),
      epoch_(epoch),
      lease_ms_(lease_ms),
      max_skew_ms_(max_skew_ms),
      on_lost_(std::move(on_lost)) {}

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
  int skewed_in_a_row = 0;
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
    ClockReading clock;
    Status status = conn_ ? renew_lease(conn_.get(), epoch_, lease_ms_, &ours, &clock)
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
      const std::int64_t skew = clock.skew_ms;
      clock_skew_ms_.store(skew, std::memory_order_relaxed);
      if (clock.pg_minus_steady_ms != 0) {
        pg_minus_steady_ms_.store(clock.pg_minus_steady_ms, std::memory_order_relaxed);
      }
      skewed_in_a_row =
          std::abs(skew) > static_cast<std::int64_t>(max_skew_ms_) ? skewed_in_a_row + 1 : 0;
      if (skewed_in_a_row >= skew_checks_max) {
        // Our clock is wrong (or PostgreSQL's): stop deciding business time. Released, so a
        // standby whose clock agrees with PostgreSQL's takes over at once.
        lost_ = true;
        spdlog::error(
            "event=lease_given_up epoch={} reason=clock_skew skew_ms={} max_skew_ms={} "
            "detail=\"this ledgerd's clock is more than LEDGER_MAX_CLOCK_SKEW_MS from "
            "PostgreSQL's for {} renewals in a row; it steps down (fix NTP on this host)\"",
            epoch_, skew, max_skew_ms_, skewed_in_a_row);
        (void)release_lease(conn_.get(), epoch_);
        if (on_lost_) on_lost_();
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_; });
        return;
      }
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
