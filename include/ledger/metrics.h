// Metrics in the Prometheus text exposition format (version 0.0.4). Components own their
// counters and histograms (lock-free: relaxed atomics, one cache line per hot counter); a
// Registry holds pointers to them, grouped into families, and renders them for GET /metrics.
//
// Threads: observe/add from any thread; register at start-up only (before serving);
// render from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace ledger::metrics {

class Counter {
 public:
  void add(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  alignas(64) std::atomic<std::uint64_t> value_{0};
};

// Fixed upper bounds (inclusive, "le"); the last bucket is +Inf.
class Histogram {
 public:
  static constexpr std::size_t buckets_max = 24;
  // Latency in nanoseconds, rendered in seconds: 25 us .. 5 s.
  static Histogram latency();
  // Counts (batch sizes): 1, 2, 4, ... 32768.
  static Histogram sizes();

  Histogram(std::vector<std::uint64_t> bounds, double render_scale);
  Histogram(const Histogram& other);

  void observe(std::uint64_t value);
  // Adds a batch of observations collected without atomics (one thread), e.g. per engine batch.
  void merge(const std::uint64_t* bucket_counts, std::uint64_t count, std::uint64_t sum);
  // Index of the bucket a value falls in (for callers that collect locally, then merge).
  std::size_t bucket_of(std::uint64_t value) const;

  std::size_t bucket_count() const { return bounds_.size() + 1; }
  std::uint64_t bound(std::size_t i) const { return bounds_[i]; }
  std::uint64_t count_in(std::size_t i) const { return counts_[i].load(std::memory_order_relaxed); }
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  std::uint64_t sum() const { return sum_.load(std::memory_order_relaxed); }
  double render_scale() const { return scale_; }

 private:
  std::vector<std::uint64_t> bounds_;
  double scale_;  // rendered value = raw * scale (ns -> s: 1e-9)
  std::array<std::atomic<std::uint64_t>, buckets_max> counts_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_{0};
};

// Collects observations on one thread and adds them to a Histogram in one go.
class LocalHistogram {
 public:
  explicit LocalHistogram(Histogram& target) : target_(target) {}
  void observe(std::uint64_t value) {
    ++counts_[target_.bucket_of(value)];
    ++count_;
    sum_ += value;
  }
  void flush();

 private:
  Histogram& target_;
  std::array<std::uint64_t, Histogram::buckets_max> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
};

// Counters created on first use for a label set (e.g. type and result), found again lock-free
// in the common case (shared lock). Bounded: past `series_max` label sets, observations go to
// one series labelled "other" so a hostile client cannot grow memory.
class CounterFamily {
 public:
  explicit CounterFamily(std::vector<std::string> label_names, std::size_t series_max = 512);
  Counter& with(const std::vector<std::string>& label_values);
  // Rendered label sets ("a=\"x\",b=\"y\"") and their values, sorted.
  std::vector<std::pair<std::string, std::uint64_t>> snapshot() const;

 private:
  std::vector<std::string> names_;
  std::size_t series_max_;
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::unique_ptr<Counter>> series_;
};

class Registry {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  void add_counter(const std::string& name, const std::string& help, const Labels& labels,
                   const Counter& counter);
  void add_counter(const std::string& name, const std::string& help, const Labels& labels,
                   std::function<double()> read);
  void add_counter_family(const std::string& name, const std::string& help,
                          const CounterFamily& family);
  void add_gauge(const std::string& name, const std::string& help, const Labels& labels,
                 std::function<double()> read);
  void add_histogram(const std::string& name, const std::string& help, const Labels& labels,
                     const Histogram& histogram);

  // The text exposition format, one family per name with its HELP and TYPE.
  std::string render() const;

 private:
  struct Series {
    std::string labels;  // rendered
    std::function<double()> read;
    const Histogram* histogram = nullptr;
    const CounterFamily* family = nullptr;
  };
  struct Family {
    std::string help;
    std::string type;
    std::vector<Series> series;
  };
  Family& family(const std::string& name, const std::string& help, const std::string& type);

  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, Family>> families_;  // registration order
};

// Escapes a label value for the text format (backslash, quote, newline).
std::string escape_label(const std::string& value);

}  // namespace ledger::metrics
