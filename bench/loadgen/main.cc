// loadgen: the noon peak, open loop, against ledgerd (ISO 8583 in our documented dialect,
// docs/iso8583.md, plus back-office transfers over REST) or against a plain-PostgreSQL
// ledger (--baseline URL). Requests leave at their intended times whatever the server does;
// latency counts from the intended time (no coordinated omission). Prints one JSON document.
//
//   loadgen --iso PORT --http PORT --key KEY [--database URL]    ledgerd
//   loadgen --baseline URL [--pool N]                            plain PostgreSQL
// Profile: --rate R (peak/s) --seconds S (hold) --ramp S (each side) --warmup S
// Mix: --mix auth=70,capture=15,reversal=3,inquiry=7,transfer=5
// Cards: --cards N (Zipf popularity) --provision 0|1
// Connections: --connections C (ISO) --in-flight N (per ISO connection, default 256)
//   --http-connections H (one request in flight each) --deadline-ms D
// Arrivals: --arrivals poisson|uniform (default poisson)
// Search: --search-p99-ms T [--search-seconds S --search-start R --search-max R
//   --search-refine N --search-retries K (a failing step runs again up to K times, default 1,
//   and counts as sustained if any run is: one hiccup cannot decide)]: the highest
//   constant rate held with p99 <= T, nothing past the deadline and everything answered.
// Both: --compare 1 with the ledgerd flags and --baseline URL: the same plan against each in
//   this invocation; one JSON document {ledgerd, postgresql, ratios}; --timeseries is then a
//   prefix (PREFIXledgerd.series, PREFIXbaseline.series).
// Failover: --iso-standby PORT --http-standby PORT (a broken connection moves to the other
//   port, in turn, until one accepts; what was in flight on it is counted lost) and
//   --kill-pid PID --kill-at S (SIGKILL the active S seconds into the run; the report's
//   "failover" names the time to the standby's first approval and what the clients saw).
// Output: --timeseries FILE (per second: count p50 p99 answered, then by intended time
//   declined (91/503), late, lost), --metrics 1 (ledgerd: /metrics
//   before/after, "where_time_goes"), --database URL (ledgerd: reconcile against the journal).
#include <cstdio>

#include "loadgen.h"

using namespace ledger::bench;

int main(int argc, char** argv) {
  Options o;
  if (!parse_options(argc, argv, &o)) return 2;
  int run = 0;
  if (!o.compare) {
    json out;
    if (!run_system(o, &run, o.timeseries, &out)) return 1;
    std::printf("%s\n", out.dump().c_str());
    return out.value("reconciled", true) ? 0 : 3;
  }
  // --compare 1: the same plan against ledgerd, then against the plain-PostgreSQL ledger, in
  // this one invocation; one JSON document with both and the ratios.
  Options ledgerd_options = o;
  ledgerd_options.baseline.clear();
  const std::string prefix = o.timeseries.empty() ? "" : o.timeseries;
  json ledgerd_result;
  json baseline_result;
  if (!run_system(ledgerd_options, &run, prefix.empty() ? "" : prefix + "ledgerd.series",
                  &ledgerd_result) ||
      !run_system(o, &run, prefix.empty() ? "" : prefix + "baseline.series", &baseline_result)) {
    return 1;
  }
  json ratios = json::object();
  const auto ratio = [](double a, double b) { return b > 0 ? json(a / b) : json(nullptr); };
  if (o.search_p99_ms > 0) {
    ratios["max_sustainable_rate"] =
        ratio(ledgerd_result["max_sustainable_per_second"].get<double>(),
              baseline_result["max_sustainable_per_second"].get<double>());
  } else {
    ratios["p99_baseline_over_ledgerd"] =
        ratio(baseline_result["p99_ms"].get<double>(), ledgerd_result["p99_ms"].get<double>());
    ratios["throughput_ledgerd_over_baseline"] =
        ratio(ledgerd_result["throughput_per_second"].get<double>(),
              baseline_result["throughput_per_second"].get<double>());
  }
  const json out{{"ledgerd", ledgerd_result}, {"postgresql", baseline_result}, {"ratios", ratios}};
  std::printf("%s\n", out.dump().c_str());
  const bool reconciled =
      ledgerd_result.value("reconciled", true) && baseline_result.value("reconciled", true);
  return reconciled ? 0 : 3;
}
