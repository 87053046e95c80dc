// The noon-peak load generator's parts (see main.cc for what it does and its flags): options,
// REST helpers and provisioning, the run against ledgerd (ISO 8583 connections and REST
// transfers), the plain-PostgreSQL baseline, reconciliation and reports.
#pragma once

#include <boost/beast/http/verb.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cpu.h"
#include "stats.h"
#include "workload.h"

namespace ledger::bench {

using nlohmann::json;

struct Options {
  int iso_port = 8583;
  int http_port = 8080;
  // Failover run: the standby ledgerd's ports (its ISO 8583 port opens when it takes over).
  // A connection that breaks reconnects to the other port of its kind, in turn, until one
  // answers; what was in flight on it is counted lost. --kill-pid/--kill-at: SIGKILL that
  // process (the active) that many seconds after the run starts.
  int iso_port_standby = 0;
  int http_port_standby = 0;
  long long kill_pid = 0;
  double kill_at = 0;
  std::string key;
  double rate = 2000;
  double seconds = 20;
  double ramp = 5;
  double warmup = 0;
  int cards = 1000;
  int connections = 4;
  int http_connections = 8;
  int deadline_ms = 2000;
  bool provision = true;
  bool metrics = false;
  ledger::bench::Mix mix;
  std::string timeseries;
  std::string baseline;  // a PostgreSQL URL: run the plain-PostgreSQL ledger instead
  std::string database;  // ledgerd's database: reconcile after the run
  // --clearing-dir DIR: after the run, the scheme's clearing files of its approved
  // authorizations (one first presentment each, 15,000 per file) in DIR.
  std::string clearing_dir;
  int pool = 16;  // baseline connections
  double search_p99_ms = 0;
  double search_seconds = 4;       // measured seconds per step, at least (see search_samples)
  double search_warmup = 2;        // unmeasured seconds at the step's rate before it
  double search_samples = 10'000;  // answers per step the p99 rests on, at least
  double search_step_max = 60;     // measured seconds per step, at most
  double search_start = 1000;
  double search_max = 200'000;
  int search_refine = 3;            // bisection steps after the first failing rate
  int search_retries = 1;           // a failing step is run again this many times before it counts
  bool poisson = true;              // arrivals: Poisson, or uniform (--arrivals uniform)
  bool compare = false;             // --compare 1: ledgerd, then the baseline, in this invocation
  std::size_t in_flight_max = 256;  // per ISO connection (the server's window); then wait
  // Not flags: set per run. Seconds from a run's start before which requests are not measured;
  // the CPU window (seconds from the start; none when cpu_to <= cpu_from).
  double measure_after = 0;
  double cpu_from = 0;
  double cpu_to = 0;
  std::string ledgerd_pid;   // --cpu-ledgerd PID: CPU per request of ledgerd
  std::string postgres_pid;  // --cpu-postgres PID (the postmaster): with its backends
};

// The processes whose CPU a run measures (this loadgen always, and the pids given).
std::vector<CpuTarget> cpu_targets(const Options& o);
// Starts the run's CPU window (none unless o.cpu_to > o.cpu_from) and sets what the plan
// intends in it; `finish_cpu_window` stores the figures in the stats.
std::unique_ptr<CpuWindow> start_cpu_window(const Options& o, const std::vector<Planned>& plan,
                                            Stats* stats);
void finish_cpu_window(std::unique_ptr<CpuWindow> window, Stats* stats);

// Parses the command line (checked: a malformed number is an error naming the flag).
bool parse_options(int argc, char** argv, Options* o);

std::string uuid(unsigned group, unsigned long long n);
// Distinguishes this loadgen invocation's transfer ids from every earlier one's.
unsigned invocation_nonce();
std::string account_id(int card);
// Deterministic 16-digit card numbers with a valid Luhn check digit.
std::string pan_for(int n);
// The IBAN of card n's account (DE, bank code 12030000, the card number as account number):
// incoming instant payments name it.
std::string iban_for(int card);
// The pacs.008 of one incoming instant payment of `amount` minor units to card's account.
std::string instant_payment(int card, int amount, const std::string& reference);
// One synchronous REST call on a fresh connection (provisioning, reconciliation, metrics).
int rest(int port, const std::string& key, boost::beast::http::verb verb, const std::string& target,
         const json& body, std::string* answer = nullptr);
// Accounts, cards and funding for o.cards cardholders, through the REST API.
bool provision(const Options& o);

// One run of a plan against ledgerd, or against the plain-PostgreSQL baseline.
Stats run_ledgerd(const Options& o, const std::vector<Planned>& plan, double seconds, int run,
                  bool series);
bool baseline_setup(const Options& o);
Stats run_baseline(const Options& o, const std::vector<Planned>& plan, double seconds, bool series);

struct Check {
  std::string name;
  bool ok;
  std::string detail;
};
std::vector<Check> reconcile_ledgerd(const Options& o, const Stats& s);
// The day's clearing files of a run's approved authorizations (--clearing-dir): how many files
// and records were written.
json write_clearing_files(const Options& o, const Stats& s);
std::vector<Check> reconcile_baseline(const Options& o, const Stats& s);

// Prepares one system and runs what was asked: the noon profile or the sustainable-rate search.
bool run_system(const Options& o, int* run, const std::string& series_file, json* out);

}  // namespace ledger::bench
