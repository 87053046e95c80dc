#include "http/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace ledger::http {

RateLimiter::RateLimiter(double rate_per_second, double burst)
    : rate_(rate_per_second), burst_(std::max(burst, 1.0)) {}

bool RateLimiter::allow(const std::string& key_id, Clock::time_point now,
                        std::uint32_t* retry_after_ms) {
  if (rate_ <= 0) return true;
  std::lock_guard lock(mutex_);
  if (now - last_sweep_ > std::chrono::seconds(60)) {  // forget keys idle for a minute
    std::erase_if(buckets_, [&](const auto& entry) {
      return now - entry.second.updated > std::chrono::seconds(60);
    });
    last_sweep_ = now;
  }
  auto [it, inserted] = buckets_.try_emplace(key_id, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!inserted) {
    const double elapsed = std::chrono::duration<double>(now - b.updated).count();
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.updated = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  *retry_after_ms = static_cast<std::uint32_t>(std::ceil((1.0 - b.tokens) / rate_ * 1000.0));
  return false;
}

}  // namespace ledger::http
