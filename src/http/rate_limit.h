// Per-API-key request rate limits: a token bucket per key (rate per second, burst). A key
// over its limit gets 429 with Retry-After; other keys are unaffected. Memory is bounded by
// the number of keys that exist (the key ring); buckets of keys idle for a minute are dropped.
//
// Threads: allow() from any thread (a mutex; one short critical section per request).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ledger::http {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // rate_per_second 0: no limit.
  RateLimiter(double rate_per_second, double burst);

  // true: the request may proceed. false: *retry_after_ms is when one token will be there.
  bool allow(const std::string& key_id, Clock::time_point now, std::uint32_t* retry_after_ms);
  bool enabled() const { return rate_ > 0; }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  double rate_;
  double burst_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  Clock::time_point last_sweep_{};
};

}  // namespace ledger::http
