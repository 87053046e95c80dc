#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "cpu.h"
#include "histogram.h"
#include "schedule.h"
#include "stats.h"
#include "workload.h"

namespace ledger::bench {
namespace {

TEST(HistogramTest, PercentilesMatchASortedReferenceWithinTheBucketWidth) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> latency(13.0, 1.0);  // around 0.4 ms, long tail
  Histogram h;
  std::vector<std::uint64_t> values;
  for (int i = 0; i < 200'000; ++i) {
    const auto v = static_cast<std::uint64_t>(latency(rng));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999, 0.9999}) {
    const std::uint64_t exact =
        values[static_cast<std::size_t>(q * static_cast<double>(values.size()))];
    const std::uint64_t reported = h.percentile(q);
    EXPECT_GE(reported, exact) << q;
    EXPECT_LE(static_cast<double>(reported), static_cast<double>(exact) * (1.0 + 1.0 / 16)) << q;
  }
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.count(), values.size());
}

TEST(HistogramTest, SmallValuesAreExactAndMergingAdds) {
  Histogram a;
  Histogram b;
  for (std::uint64_t v = 0; v < 32; ++v) a.record(v);
  b.record(1'000'000);
  a.merge(b);
  EXPECT_EQ(a.count(), 33u);
  EXPECT_EQ(a.percentile(0.5), 16u);
  EXPECT_EQ(a.max(), 1'000'000u);
  for (std::uint64_t v : {33ULL, 1000ULL, 123456789ULL, 1ULL << 40}) {
    EXPECT_GE(Histogram::upper_bound(Histogram::index(v)), v);
  }
}

TEST(ScheduleTest, UniformRateRampsAndEnds) {
  Schedule s({{1.0, 100, 100}, {1.0, 100, 300}}, false, 1);
  int first = 0;
  int second = 0;
  double previous = 0;
  for (double t = s.next(); t >= 0; t = s.next()) {
    EXPECT_GT(t, previous);
    previous = t;
    if (t < 1.0) {
      ++first;
    } else {
      ++second;
    }
  }
  EXPECT_EQ(first, 99);          // 100/s for one second (the 100th lands on the boundary)
  EXPECT_NEAR(second, 200, 10);  // the ramp averages 200/s
  EXPECT_DOUBLE_EQ(s.total_seconds(), 2.0);
}

TEST(ScheduleTest, PoissonArrivalsAverageTheRate) {
  Schedule s({{10.0, 1000, 1000}}, true, 42);
  int n = 0;
  while (s.next() >= 0) ++n;
  EXPECT_NEAR(n, 10'000, 400);
}

// A search step's warm-up: answered and checked (late, codes) but not in the percentiles.
TEST(StatsTest, WarmUpAnswersAreCheckedButNotMeasured) {
  Stats stats;
  stats.start = Clock::now();
  stats.measure_from = stats.start + std::chrono::seconds(2);
  const auto at = [&](int ms) { return stats.start + std::chrono::milliseconds(ms); };
  stats.answer(Kind::auth, at(100), at(900), "00", 2000);   // a start-of-step hiccup
  stats.answer(Kind::auth, at(500), at(3000), "00", 2000);  // and a late one: still late
  stats.answer(Kind::auth, at(2100), at(2101), "00", 2000);
  EXPECT_EQ(stats.answered, 3u);
  EXPECT_EQ(stats.late, 1u);
  EXPECT_EQ(stats.latency.count(), 1u);
  EXPECT_LE(stats.latency.max(), 1'100'000u);
}

// /proc/<pid>/stat: the command name may hold spaces and parentheses.
TEST(CpuTest, ProcStatFieldsAreCountedAfterTheCommandName) {
  ProcStat s;
  ASSERT_TRUE(parse_proc_stat(
      "4242 (postgres: walwriter) (x)) S 4000 4000 4000 0 -1 4194560 120 0 0 0 1234 567 89 10 "
      "20 0 1 0 100 1000000 200 18446744073709551615",
      &s));
  EXPECT_EQ(s.ppid, 4000);
  EXPECT_EQ(s.utime, 1234u);
  EXPECT_EQ(s.stime, 567u);
  EXPECT_EQ(s.cutime, 89u);
  EXPECT_EQ(s.cstime, 10u);
  EXPECT_FALSE(parse_proc_stat("4242 (cut short) S 1 2", &s));
  EXPECT_FALSE(parse_proc_stat("no parenthesis at all", &s));
  EXPECT_GE(cpu_seconds("self", false), 0.0);
  EXPECT_LT(cpu_seconds("999999999", false), 0.0);  // no such process
}

TEST(CpuTest, ContextSwitchesAreBothKindsSummed) {
  std::uint64_t n = 0;
  ASSERT_TRUE(
      parse_context_switches("Name:\tledgerd-io\nThreads:\t11\nvoluntary_ctxt_switches:\t58029\n"
                             "nonvoluntary_ctxt_switches:\t38932\n",
                             &n));
  EXPECT_EQ(n, 58029u + 38932u);
  // The order in the file does not matter; "voluntary" is not read out of "nonvoluntary".
  ASSERT_TRUE(
      parse_context_switches("nonvoluntary_ctxt_switches:\t5\nvoluntary_ctxt_switches:\t7\n", &n));
  EXPECT_EQ(n, 12u);
  EXPECT_FALSE(parse_context_switches("nonvoluntary_ctxt_switches:\t5\n", &n));
  EXPECT_FALSE(
      parse_context_switches("voluntary_ctxt_switches:\tx\n"
                             "nonvoluntary_ctxt_switches:\t5\n",
                             &n));
  // A process that never blocked may show none yet: a sleep is one voluntary switch.
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_GT(context_switches("self", false), 0.0);
  EXPECT_LT(context_switches("999999999", false), 0.0);  // no such process
}

// Stats::answer is what the loadgen calls for every answer (ISO, REST and baseline alike).
TEST(StatsTest, LatencyCountsFromTheIntendedSendTimeAndLateAnswersAreCounted) {
  Stats stats;
  stats.start = Clock::now();
  stats.per_second.resize(3);
  const auto at = [&](int ms) { return stats.start + std::chrono::milliseconds(ms); };
  // Meant to leave at 10 ms; the generator was held up and sent it at 50 ms; answered at 51 ms:
  // 41 ms are charged, not 1 (no coordinated omission).
  stats.answer(Kind::auth, at(10), at(51), "00", 2000);
  stats.answer(Kind::auth, at(1200), at(1205), "51", 2000);
  stats.answer(Kind::capture, at(1500), at(4000), "91", 2000);  // 2.5 s: past the deadline
  EXPECT_EQ(stats.answered, 3u);
  EXPECT_EQ(stats.late, 1u);
  const Histogram& auths = stats.by_kind[static_cast<std::size_t>(Kind::auth)];
  const std::uint64_t ms41 = 41'000'000;  // the larger of the two (5 ms and 41 ms)
  EXPECT_GE(auths.percentile(0.5), ms41);
  EXPECT_LE(static_cast<double>(auths.percentile(0.5)), ms41 * (1.0 + 1.0 / 16));
  EXPECT_EQ(stats.latency.max(), 2'500'000'000u);
  EXPECT_EQ(stats.by_kind[static_cast<std::size_t>(Kind::auth)].count(), 2u);
  EXPECT_EQ(stats.by_kind[static_cast<std::size_t>(Kind::capture)].count(), 1u);
  EXPECT_EQ(stats.codes[static_cast<std::size_t>(Kind::auth)].at("51"), 1u);
  // Per second by intended send time; throughput by answer time.
  EXPECT_EQ(stats.per_second[0].count(), 1u);
  EXPECT_EQ(stats.per_second[1].count(), 2u);
  ASSERT_GE(stats.answered_per_second.size(), 5u);
  EXPECT_EQ(stats.answered_per_second[0], 1u);
  EXPECT_EQ(stats.answered_per_second[1], 1u);
  EXPECT_EQ(stats.answered_per_second[4], 1u);
  EXPECT_EQ(stats.last_answer, at(4000));
  EXPECT_DOUBLE_EQ(summary(stats.latency)["count"].get<double>(), 3.0);
}

// A failover run's series: declined (91 or 503), late and lost requests per second of their
// intended send time, beside the latency histograms.
TEST(StatsTest, FailoverSeriesCountDeclinedLateAndLostBySecond) {
  Stats stats;
  stats.start = Clock::now();
  stats.size_series(3);
  const auto at = [&](int ms) { return stats.start + std::chrono::milliseconds(ms); };
  stats.answer(Kind::auth, at(100), at(120), "00", 2000);
  stats.answer(Kind::auth, at(1100), at(1200), "91", 2000);
  stats.answer(Kind::transfer, at(1300), at(1400), "503", 2000);
  stats.answer(Kind::auth, at(1500), at(3600), "00", 2000);  // 2.1 s: late
  stats.lose(at(1600));
  stats.lose(at(2100));
  stats.lose(at(9000));  // beyond the series: counted, not placed
  EXPECT_EQ(stats.lost, 3u);
  EXPECT_EQ(stats.answered, 4u);
  EXPECT_EQ(stats.declined_per_second, (std::vector<std::uint64_t>{0, 2, 0}));
  EXPECT_EQ(stats.late_per_second, (std::vector<std::uint64_t>{0, 1, 0}));
  EXPECT_EQ(stats.lost_per_second, (std::vector<std::uint64_t>{0, 1, 1}));
}

TEST(WorkloadTest, MixFollowsTheWeightsAndCardsAreZipfSkewed) {
  Mix mix;
  std::string error;
  ASSERT_TRUE(mix.parse("auth=60,capture=20,reversal=0,inquiry=10,transfer=10", &error)) << error;
  const auto plan =
      plan_workload(Schedule({{10, 10'000, 10'000}}, false, 1), mix, 1000, 5, 1'000'000);
  ASSERT_NEAR(static_cast<double>(plan.size()), 100'000, 1);
  std::array<std::size_t, kinds> by_kind{};
  std::size_t first_card = 0;
  for (const Planned& p : plan) {
    ++by_kind[static_cast<std::size_t>(p.kind)];
    if (p.card == 1) ++first_card;
    ASSERT_GE(p.card, 1);
    ASSERT_LE(p.card, 1000);
    if (p.kind == Kind::transfer) {
      ASSERT_NE(p.card, p.other_card);
    }
  }
  EXPECT_NEAR(static_cast<double>(by_kind[0]) / static_cast<double>(plan.size()), 0.6, 0.01);
  EXPECT_NEAR(static_cast<double>(by_kind[1]) / static_cast<double>(plan.size()), 0.2, 0.01);
  EXPECT_EQ(by_kind[2], 0u);
  // Zipf(1) over 1000 cards: the most popular card gets 1/H(1000), about 13% of requests.
  EXPECT_NEAR(static_cast<double>(first_card) / static_cast<double>(plan.size()), 0.134, 0.01);
}

TEST(WorkloadTest, MixRejectsUnknownNamesAndBadWeights) {
  Mix mix;
  std::string error;
  EXPECT_FALSE(mix.parse("auth=1,refund=2", &error));
  EXPECT_NE(error.find("refund"), std::string::npos);
  EXPECT_FALSE(mix.parse("auth=x", &error));
  EXPECT_FALSE(mix.parse("auth=-1", &error));
  EXPECT_FALSE(mix.parse("auth=0", &error));
}

}  // namespace
}  // namespace ledger::bench
