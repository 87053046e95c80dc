// A log-linear latency histogram (in the manner of HdrHistogram): values in nanoseconds are
// bucketed by their highest set bit and the next 5 bits, so every bucket is within 1/32
// (about 3%) of its values. Fixed storage, no allocation per record; mergeable.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace ledger::bench {

class Histogram {
 public:
  static constexpr int sub_bits = 5;
  static constexpr int sub_buckets = 1 << sub_bits;
  static constexpr int buckets = (64 - sub_bits) * sub_buckets + sub_buckets;

  void record(std::uint64_t value) {
    ++counts_[static_cast<std::size_t>(index(value))];
    ++total_;
    if (value > max_) max_ = value;
  }
  void merge(const Histogram& other) {
    for (int i = 0; i < buckets; ++i)
      counts_[static_cast<std::size_t>(i)] += other.counts_[static_cast<std::size_t>(i)];
    total_ += other.total_;
    if (other.max_ > max_) max_ = other.max_;
  }
  std::uint64_t count() const { return total_; }
  std::uint64_t max() const { return max_; }

  // The smallest recorded bucket value at or above the given quantile (0..1), as the bucket's
  // upper bound (never below the true value, at most 1/32 above it).
  std::uint64_t percentile(double quantile) const {
    if (total_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(quantile * static_cast<double>(total_));
    if (rank >= total_) rank = total_ - 1;
    std::uint64_t seen = 0;
    for (int i = 0; i < buckets; ++i) {
      seen += counts_[static_cast<std::size_t>(i)];
      if (seen > rank) {
        const std::uint64_t upper = upper_bound(i);
        return upper < max_ ? upper : max_;
      }
    }
    return max_;
  }

  static int index(std::uint64_t value) {
    if (value < static_cast<std::uint64_t>(sub_buckets)) return static_cast<int>(value);
    const int msb = 63 - std::countl_zero(value);
    const int shift = msb - sub_bits;
    const auto sub = static_cast<int>((value >> shift) & (sub_buckets - 1));
    return (shift + 1) * sub_buckets + sub;
  }
  static std::uint64_t upper_bound(int i) {
    if (i < sub_buckets) return static_cast<std::uint64_t>(i);
    const int shift = i / sub_buckets - 1;
    const auto sub = static_cast<std::uint64_t>(i % sub_buckets);
    return (((std::uint64_t{1} << sub_bits) | sub) << shift) + ((std::uint64_t{1} << shift) - 1);
  }

 private:
  std::array<std::uint64_t, buckets> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace ledger::bench
