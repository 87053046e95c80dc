// Open-loop schedule: request i leaves at a fixed intended time, uniform or Poisson, whatever
// the server does; its latency is measured from that intended time, so a server that falls
// behind is charged for the queueing it causes (no coordinated omission).
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>

namespace ledger::bench {

// A profile segment: `seconds` long, rate moving linearly from `from_rate` to `to_rate`.
struct Segment {
  double seconds;
  double from_rate;
  double to_rate;
};

class Schedule {
 public:
  Schedule(std::vector<Segment> segments, bool poisson, std::uint64_t seed)
      : segments_(std::move(segments)), poisson_(poisson), rng_(seed) {}

  // Seconds from the start at which the next request is due; negative when the profile ends.
  double next() {
    while (segment_ < segments_.size()) {
      const Segment& s = segments_[segment_];
      const double progress = s.seconds > 0 ? std::min(1.0, local_ / s.seconds) : 1.0;
      const double rate = s.from_rate + (s.to_rate - s.from_rate) * progress;
      if (rate <= 0) {  // a pause: skip to the segment's end
        advance(s.seconds - local_);
        continue;
      }
      const double gap = poisson_ ? std::exponential_distribution<double>(rate)(rng_) : 1.0 / rate;
      if (local_ + gap > s.seconds) {
        advance(s.seconds - local_);
        continue;
      }
      local_ += gap;
      return offset_ + local_;
    }
    return -1;
  }

  double total_seconds() const {
    double total = 0;
    for (const Segment& s : segments_) total += s.seconds;
    return total;
  }

 private:
  void advance(double rest) {
    (void)rest;
    offset_ += segments_[segment_].seconds;
    local_ = 0;
    ++segment_;
  }

  std::vector<Segment> segments_;
  bool poisson_;
  std::mt19937_64 rng_;
  std::size_t segment_ = 0;
  double offset_ = 0;
  double local_ = 0;
};

// Latency charged to a request: from when it was meant to leave, not when it did.
inline std::chrono::nanoseconds open_loop_latency(std::chrono::steady_clock::time_point intended,
                                                  std::chrono::steady_clock::time_point answered) {
  return answered - intended;
}

}  // namespace ledger::bench
