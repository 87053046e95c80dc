// The webhook and Slack dispatcher: its own threads and PostgreSQL connection, never the
// engine's or the journal's, so a backlog or a hanging receiver never slows an authorization.
//
// One thread owns the database side. It matches each active subscription's filter against
// the event feed after the subscription's cursor, writes a pending delivery per matching event
// and moves the cursor (one transaction), then takes due deliveries and hands them to the
// sending thread (an io_context), at most one in flight per subscription (so a subscription
// receives its events in seq order while it is healthy) and `in_flight_max` in all. Outcomes
// come back and are recorded: 2xx delivered; 410 disables the subscription; 429/503 retry
// after Retry-After; anything else retries on the schedule (0, 5 s, 5 min, 30 min, 2 h, 5 h,
// 10 h, 14 h, 20 h, 24 h, with jitter), then fails for good. Progress lives in PostgreSQL, so a
// kill -9 at any point delivers again (same webhook-id, same body) rather than losing one.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "ledger/metrics.h"
#include "outbound/destination.h"

namespace ledger::outbound {

struct DispatcherOptions {
  std::string database_url;
  std::string seal_key;  // 32 bytes
  Allowlist allowlist;
  std::chrono::milliseconds poll_interval{100};
  std::chrono::milliseconds timeout{10'000};
  std::vector<std::uint32_t> schedule_s{0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400};
  std::size_t in_flight_max = 64;
  std::chrono::milliseconds slack_interval{1'000};  // at most one Slack message per URL per this
};

class Dispatcher {
 public:
  explicit Dispatcher(DispatcherOptions options);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  void start();
  void stop();  // cuts sends under way short; their deliveries stay pending (sent again later)
  void register_metrics(metrics::Registry& registry);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ledger::outbound
