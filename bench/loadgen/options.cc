// The loadgen's command line.
#include <cstdio>
#include <string>

#include "ledger/parse.h"
#include "loadgen.h"

namespace ledger::bench {

bool parse_options(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "loadgen: %s needs a value\n", flag.c_str());
      return false;
    }
    const std::string value = argv[i + 1];
    const auto number = [&](auto* out) {
      if (ledger::parse_number(value, out)) return true;
      std::fprintf(stderr, "loadgen: %s: \"%s\" is not a number\n", flag.c_str(), value.c_str());
      return false;
    };
    bool ok = true;
    if (flag == "--iso") {
      ok = number(&o->iso_port);
    } else if (flag == "--http") {
      ok = number(&o->http_port);
    } else if (flag == "--iso-standby") {
      ok = number(&o->iso_port_standby);
    } else if (flag == "--http-standby") {
      ok = number(&o->http_port_standby);
    } else if (flag == "--kill-pid" && value.find_first_not_of("0123456789") == std::string::npos &&
               !value.empty()) {
      ok = number(&o->kill_pid);
    } else if (flag == "--kill-at") {
      ok = number(&o->kill_at);
    } else if (flag == "--key") {
      o->key = value;
    } else if (flag == "--rate") {
      ok = number(&o->rate);
    } else if (flag == "--seconds") {
      ok = number(&o->seconds);
    } else if (flag == "--ramp") {
      ok = number(&o->ramp);
    } else if (flag == "--warmup") {
      ok = number(&o->warmup);
    } else if (flag == "--cards") {
      ok = number(&o->cards);
    } else if (flag == "--connections") {
      ok = number(&o->connections);
    } else if (flag == "--http-connections") {
      ok = number(&o->http_connections);
    } else if (flag == "--deadline-ms") {
      ok = number(&o->deadline_ms);
    } else if (flag == "--provision") {
      o->provision = value == "1";
    } else if (flag == "--metrics") {
      o->metrics = value == "1";
    } else if (flag == "--timeseries") {
      o->timeseries = value;
    } else if (flag == "--baseline") {
      o->baseline = value;
    } else if (flag == "--database") {
      o->database = value;
    } else if (flag == "--clearing-dir") {
      o->clearing_dir = value;
    } else if (flag == "--pool") {
      ok = number(&o->pool);
    } else if (flag == "--search-p99-ms") {
      ok = number(&o->search_p99_ms);
    } else if (flag == "--search-seconds") {
      ok = number(&o->search_seconds);
    } else if (flag == "--search-start") {
      ok = number(&o->search_start);
    } else if (flag == "--search-max") {
      ok = number(&o->search_max);
    } else if (flag == "--search-refine") {
      ok = number(&o->search_refine);
    } else if (flag == "--search-retries") {
      ok = number(&o->search_retries) && o->search_retries >= 0 && o->search_retries <= 5;
    } else if (flag == "--search-warmup") {
      ok = number(&o->search_warmup);
    } else if (flag == "--search-samples") {
      ok = number(&o->search_samples);
    } else if (flag == "--search-step-max") {
      ok = number(&o->search_step_max);
    } else if (flag == "--cpu-ledgerd" &&
               value.find_first_not_of("0123456789") == std::string::npos && !value.empty()) {
      o->ledgerd_pid = value;
    } else if (flag == "--cpu-postgres" &&
               value.find_first_not_of("0123456789") == std::string::npos && !value.empty()) {
      o->postgres_pid = value;
    } else if (flag == "--compare") {
      o->compare = value == "1";
    } else if (flag == "--in-flight") {
      ok = number(&o->in_flight_max);
    } else if (flag == "--arrivals" && (value == "poisson" || value == "uniform")) {
      o->poisson = value == "poisson";
    } else if (flag == "--mix") {
      std::string error;
      ok = o->mix.parse(value, &error);
      if (!ok) std::fprintf(stderr, "loadgen: %s\n", error.c_str());
    } else {
      std::fprintf(stderr, "loadgen: unknown flag %s\n", flag.c_str());
      ok = false;
    }
    if (!ok) return false;
  }
  if (o->rate <= 0 || o->seconds <= 0 || o->ramp < 0 || o->warmup < 0 || o->cards < 2 ||
      o->connections < 1 || o->connections > 64 || o->http_connections < 1 || o->pool < 1 ||
      o->rate * (o->seconds + o->ramp + o->warmup) > 50'000'000 || o->search_seconds <= 0 ||
      o->search_warmup < 0 || o->search_samples < 0 || o->search_step_max < o->search_seconds ||
      o->search_start <= 0 || o->in_flight_max < 1 || (o->compare && o->baseline.empty()) ||
      (o->kill_pid > 0 && (o->kill_at <= 0 || o->iso_port_standby <= 0 ||
                           o->http_port_standby <= 0 || o->compare || o->search_p99_ms > 0))) {
    std::fprintf(stderr,
                 "loadgen: out of range: need rate > 0, seconds > 0, cards >= 2, 1..64 "
                 "connections, at most 50M requests; --kill-pid needs --kill-at, --iso-standby "
                 "and --http-standby, in a noon run without --compare\n");
    return false;
  }
  return true;
}

}  // namespace ledger::bench
