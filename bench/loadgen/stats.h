// What a run measured: latency from each request's intended send time (open loop), per kind
// and per second, answers by code, throughput over time, and the ids reconciliation checks.
// Header-only so that loadgen_test exercises exactly the code the loadgen runs.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "histogram.h"
#include "ledger/types.h"
#include "schedule.h"
#include "workload.h"

namespace ledger::bench {

using Clock = std::chrono::steady_clock;

struct Stats {
  Histogram latency;
  std::array<Histogram, kinds> by_kind;
  std::array<std::map<std::string, std::uint64_t>, kinds> codes;  // DE39 or HTTP status
  std::array<std::uint64_t, kinds> sent_by_kind{};
  std::uint64_t sent = 0;
  std::uint64_t answered = 0;
  std::uint64_t late = 0;    // answered after the deadline
  std::uint64_t errors = 0;  // connection failures, undecodable answers, unanswered at the end
  std::uint64_t lost = 0;  // in flight on a connection that broke (a failover run): never answered
  Clock::time_point last_answer{};
  std::vector<Histogram> per_second;               // by intended send time
  std::vector<std::uint64_t> answered_per_second;  // by answer time (throughput over time)
  // By intended send time: answers 91 (ISO 8583) or 503 (REST), answers after the deadline,
  // requests lost with a broken connection. Sized with per_second.
  std::vector<std::uint64_t> declined_per_second, late_per_second, lost_per_second;
  // A failover run: when the active was killed, and the first approval the standby gave.
  Clock::time_point killed{};
  Clock::time_point first_approval_after_kill{};
  Clock::time_point start{};
  // Requests intended before this (a search step's warm-up) are answered and checked but not
  // in the latency histograms.
  Clock::time_point measure_from{};
  // CPU seconds each process used over the CPU window (the noon run's hold at the peak), and
  // how many requests were intended in it.
  std::map<std::string, double> cpu_seconds;
  std::map<std::string, double> context_switches;  // per target over the same window
  std::uint64_t cpu_window_requests = 0;
  // Reconciliation (ledgerd): ids the answers say must be in the journal, and 91'd holds.
  std::vector<TransferId> approved, captured, reversed, busy;
  // Approved authorizations, for the day's clearing file (--clearing-dir), less those a
  // completion or reversal followed.
  struct Clearable {
    int card;
    int amount;
    TransferId id;
  };
  std::vector<Clearable> clearable;
  std::vector<TransferId> settled_online;
  std::vector<std::string> transfers_ok;

  void size_series(std::size_t seconds) {
    per_second.resize(seconds);
    declined_per_second.resize(seconds);
    late_per_second.resize(seconds);
    lost_per_second.resize(seconds);
  }
  void lose(Clock::time_point intended) {
    ++lost;
    const auto second =
        static_cast<std::size_t>(std::chrono::duration<double>(intended - start).count());
    if (second < lost_per_second.size()) ++lost_per_second[second];
  }

  void answer(Kind kind, Clock::time_point intended, Clock::time_point now, const std::string& code,
              int deadline_ms) {
    const auto ns = static_cast<std::uint64_t>(open_loop_latency(intended, now).count());
    if (intended >= measure_from) {
      latency.record(ns);
      by_kind[static_cast<std::size_t>(kind)].record(ns);
    }
    const auto second =
        static_cast<std::size_t>(std::chrono::duration<double>(intended - start).count());
    if (second < per_second.size()) per_second[second].record(ns);
    const auto answered_second =
        static_cast<std::size_t>(std::chrono::duration<double>(now - start).count());
    if (!per_second.empty()) {
      if (answered_second >= answered_per_second.size() && answered_second < 100'000)
        answered_per_second.resize(answered_second + 1);
      if (answered_second < answered_per_second.size()) ++answered_per_second[answered_second];
    }
    const bool is_late = ns > static_cast<std::uint64_t>(deadline_ms) * 1'000'000;
    if (is_late) ++late;
    if (second < late_per_second.size()) {
      if (is_late) ++late_per_second[second];
      if (code == "91" || code == "503") ++declined_per_second[second];
    }
    ++codes[static_cast<std::size_t>(kind)][code];
    ++answered;
    last_answer = now;
  }
};

inline double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

inline nlohmann::json summary(const Histogram& h) {
  return {{"count", h.count()},
          {"p50_ms", ms(h.percentile(0.5))},
          {"p90_ms", ms(h.percentile(0.9))},
          {"p99_ms", ms(h.percentile(0.99))},
          {"p999_ms", ms(h.percentile(0.999))},
          {"p9999_ms", ms(h.percentile(0.9999))},
          {"max_ms", ms(h.max())}};
}

}  // namespace ledger::bench
