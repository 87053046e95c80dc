// The ledger lease (migrations/0015_lease.sql; docs/operations.md): which ledgerd may journal.
// Taking it raises the epoch; the holder renews it; every journal transaction of the holder
// checks its epoch (ledger_fence) in the same transaction, so a deposed ledgerd cannot commit.
// All times are PostgreSQL's clock.
//
// Threads: the functions take a connection their caller owns. LeaseKeeper owns one thread and
// one connection; start/stop from the main thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "journal/pg.h"
#include "ledger/status.h"

namespace ledger {

// One reading of PostgreSQL's clock (clock_timestamp(), returned by every lease statement)
// against ours, at the midpoint of the statement's round trip.
struct ClockReading {
  std::int64_t skew_ms = 0;  // PostgreSQL's clock minus our system clock
  // PostgreSQL's clock minus our steady clock: what our steady clock reads plus this is
  // PostgreSQL's time, whatever happens to our wall clock meanwhile (0: no reading).
  std::int64_t pg_minus_steady_ms = 0;
};

struct LeaseState {
  std::int64_t epoch = 0;          // ours if taken; the current one otherwise
  std::string holder;              // who holds it now
  std::int64_t expires_in_ms = 0;  // until the current holder's lease lapses (<= 0: lapsed)
  bool taken = false;              // true: we took it, with `epoch`
  // PostgreSQL's clock minus ours (ms), measured by this check (the midpoint of its round
  // trip), and whether the lease was free but refused because that exceeds the bound.
  std::int64_t clock_skew_ms = 0;
  std::int64_t pg_minus_steady_ms = 0;  // as in ClockReading
  bool skew_refused = false;
};

// Our system clock in milliseconds since the epoch (not the test clock's offset).
std::int64_t system_clock_ms();

// Takes the lease if it has lapsed (or was released) and our clock is within max_skew_ms of
// PostgreSQL's (LEDGER_MAX_CLOCK_SKEW_MS: business time is ours, and must not run ahead of or
// behind the database's): one statement, so two ledgerd racing for it cannot both win. *state
// says who holds it either way, and the skew measured.
Status try_take_lease(PGconn* conn, const std::string& holder, std::uint32_t lease_ms,
                      std::uint32_t max_skew_ms, LeaseState* state);
// Moves our lease's expiry on. *ours false: the epoch has changed (we were deposed).
// *clock: PostgreSQL's clock against ours, read by the renewal.
Status renew_lease(PGconn* conn, std::int64_t epoch, std::uint32_t lease_ms, bool* ours,
                   ClockReading* clock);
// Lets the lease lapse now (a clean stop), so a successor need not wait for it.
Status release_lease(PGconn* conn, std::int64_t epoch);
// Right after taking the lease with `epoch`: ends every session of an older holder of this
// database's lease (named "ledgerd epoch=N" with N < epoch, pg::set_session_fence; other
// databases of the cluster have leases of their own). None of their transactions can
// commit any more (each fences before COMMIT, and the take waited for those that had), but one
// stopped in mid-COPY keeps its uncommitted rows, whose keys the new holder's inserts would
// wait for as long as the old process stays stopped. *ended: how many were ended.
Status end_deposed_sessions(PGconn* conn, std::int64_t epoch, std::int64_t* ended);

// Renews the lease every lease_ms / 4 on its own connection until stop(), which releases it.
// on_lost runs (on the keeper's thread, once) when a renewal finds another epoch, or when our
// clock has been more than max_skew_ms away from PostgreSQL's for skew_checks_max renewals in
// a row (the keeper then releases the lease: a ledger whose clock is wrong must not decide
// what time it is, and a standby whose clock is right takes over).
class LeaseKeeper {
 public:
  static constexpr int skew_checks_max = 3;
  LeaseKeeper(std::string url, std::int64_t epoch, std::uint32_t lease_ms,
              std::uint32_t max_skew_ms, std::function<void()> on_lost);
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  void start();
  void stop();  // releases the lease unless it was lost
  bool lost() const { return lost_.load(); }
  std::uint64_t renewals() const { return renewals_.load(); }
  std::uint64_t renewal_failures() const { return renewal_failures_.load(); }
  std::int64_t clock_skew_ms() const { return clock_skew_ms_.load(); }  // at the last renewal
  // PostgreSQL's clock minus our steady clock (ClockReading), from the last renewal.
  const std::atomic<std::int64_t>* pg_clock_anchor() const { return &pg_minus_steady_ms_; }
  // Before start(): what the take read, until the first renewal reads again.
  void set_clock(std::int64_t skew_ms, std::int64_t pg_minus_steady_ms) {
    clock_skew_ms_.store(skew_ms);
    pg_minus_steady_ms_.store(pg_minus_steady_ms);
  }

 private:
  void run();

  std::string url_;
  std::int64_t epoch_;
  std::uint32_t lease_ms_;
  std::uint32_t max_skew_ms_;
  std::function<void()> on_lost_;
  std::atomic<bool> lost_{false};
  std::atomic<std::uint64_t> renewals_{0};
  std::atomic<std::uint64_t> renewal_failures_{0};
  std::atomic<std::int64_t> clock_skew_ms_{0};
  std::atomic<std::int64_t> pg_minus_steady_ms_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  pg::Conn conn_;          // the keeper thread's
  std::thread thread_;
};

}  // namespace ledger
