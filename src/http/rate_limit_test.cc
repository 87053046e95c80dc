#include "http/rate_limit.h"

#include <gtest/gtest.h>

namespace ledger::http {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, AllowsTheBurstThenTheRatePerKey) {
  RateLimiter limiter(10, 5);  // 10/s, bursts of 5
  const auto t0 = RateLimiter::Clock::time_point{} + 1h;
  std::uint32_t retry = 0;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.allow("a", t0, &retry)) << i;
  EXPECT_FALSE(limiter.allow("a", t0, &retry));
  EXPECT_EQ(retry, 100u);                       // one token every 100 ms
  EXPECT_TRUE(limiter.allow("b", t0, &retry));  // another key has its own bucket
  EXPECT_FALSE(limiter.allow("a", t0 + 50ms, &retry));
  EXPECT_EQ(retry, 50u);
  EXPECT_TRUE(limiter.allow("a", t0 + 100ms, &retry));
  EXPECT_FALSE(limiter.allow("a", t0 + 100ms, &retry));
  // Refills up to the burst, not beyond.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.allow("a", t0 + 10s, &retry)) << i;
  EXPECT_FALSE(limiter.allow("a", t0 + 10s, &retry));
}

TEST(RateLimiter, ZeroRateMeansNoLimit) {
  RateLimiter limiter(0, 0);
  std::uint32_t retry = 0;
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(limiter.allow("a", {}, &retry));
  EXPECT_FALSE(limiter.enabled());
}

}  // namespace
}  // namespace ledger::http
