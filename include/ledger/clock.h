// The ledger's clock: the system clock, or (LEDGER_CLOCK=manual, for tests) the system clock
// plus an offset that POST /v1/test-clock/advance moves forward. The engine's batch time, due
// dates, deadlines and refund windows all read this one clock.
// Thread: any; the offset is atomic and only grows.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace ledger {

class LedgerClock {
 public:
  explicit LedgerClock(bool manual = false) : manual_(manual) {}
  bool manual() const { return manual_; }
  std::uint64_t now_ns() const {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count()) +
           offset_.load(std::memory_order_acquire);
  }
  std::uint64_t offset_ns() const { return offset_.load(std::memory_order_acquire); }
  // REQUIRES: manual().
  void advance(std::uint64_t ns) { offset_.fetch_add(ns, std::memory_order_acq_rel); }

 private:
  bool manual_;
  std::atomic<std::uint64_t> offset_{0};
};

}  // namespace ledger
