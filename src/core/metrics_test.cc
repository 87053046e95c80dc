#include "ledger/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace ledger::metrics {
namespace {

TEST(Metrics, HistogramBucketsAreCumulativeAndConsistent) {
  Histogram h = Histogram::latency();
  h.observe(10'000);         // 10 us: first bucket (le 25 us)
  h.observe(25'000);         // on the bound: same bucket (le is inclusive)
  h.observe(3'000'000);      // 3 ms: le 5 ms
  h.observe(9'000'000'000);  // 9 s: +Inf only
  Registry registry;
  registry.add_histogram("ledgerd_test_seconds", "A test.", {{"stage", "x"}}, h);
  const std::string text = registry.render();
  EXPECT_NE(text.find("# TYPE ledgerd_test_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("ledgerd_test_seconds_bucket{stage=\"x\",le=\"2.5e-05\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ledgerd_test_seconds_bucket{stage=\"x\",le=\"0.005\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ledgerd_test_seconds_bucket{stage=\"x\",le=\"5\"} 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("ledgerd_test_seconds_bucket{stage=\"x\",le=\"+Inf\"} 4\n"),
            std::string::npos);
  EXPECT_NE(text.find("ledgerd_test_seconds_count{stage=\"x\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("ledgerd_test_seconds_sum{stage=\"x\"} 9.003035\n"), std::string::npos)
      << text;
}

TEST(Metrics, LocalHistogramMergesIntoTheShared) {
  Histogram h = Histogram::sizes();
  LocalHistogram local(h);
  for (int i = 0; i < 100; ++i) local.observe(3);
  EXPECT_EQ(h.count(), 0u);
  local.flush();
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.sum(), 300u);
  EXPECT_EQ(h.count_in(h.bucket_of(3)), 100u);
  EXPECT_EQ(h.bound(h.bucket_of(3)), 4u);
}

TEST(Metrics, CounterFamilyIsBoundedAndEscapesLabels) {
  CounterFamily family({"type", "result"}, 3);
  family.with({"0100", "00"}).add();
  family.with({"0100", "00"}).add(2);
  family.with({"0100", "51"}).add();
  family.with({"a\"b\\c\nd", "x"}).add();
  family.with({"overflow", "1"}).add();  // past 3 series: counted as "other"
  family.with({"overflow", "2"}).add();
  Registry registry;
  registry.add_counter_family("ledgerd_requests_total", "Requests.", family);
  const std::string text = registry.render();
  EXPECT_NE(text.find("ledgerd_requests_total{type=\"0100\",result=\"00\"} 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("ledgerd_requests_total{type=\"a\\\"b\\\\c\\nd\",result=\"x\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ledgerd_requests_total{type=\"other\",result=\"other\"} 2\n"),
            std::string::npos)
      << text;
}

TEST(Metrics, ConcurrentObservationsAreAllCounted) {
  Histogram h = Histogram::latency();
  Counter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100'000; ++i) {
        h.observe(static_cast<std::uint64_t>(i) * 1'000);
        c.add();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(h.count(), 400'000u);
  EXPECT_EQ(c.value(), 400'000u);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < h.bucket_count(); ++i) total += h.count_in(i);
  EXPECT_EQ(total, 400'000u);
}

TEST(Metrics, FamiliesRenderHelpAndTypeOnce) {
  Registry registry;
  Counter a;
  Counter b;
  registry.add_counter("ledgerd_x_total", "X.", {{"k", "a"}}, a);
  registry.add_counter("ledgerd_x_total", "X.", {{"k", "b"}}, b);
  registry.add_gauge("ledgerd_depth", "Depth.", {}, [] { return 7.0; });
  const std::string text = registry.render();
  EXPECT_EQ(text,
            "# HELP ledgerd_x_total X.\n# TYPE ledgerd_x_total counter\n"
            "ledgerd_x_total{k=\"a\"} 0\nledgerd_x_total{k=\"b\"} 0\n"
            "# HELP ledgerd_depth Depth.\n# TYPE ledgerd_depth gauge\nledgerd_depth 7\n");
}

}  // namespace
}  // namespace ledger::metrics
