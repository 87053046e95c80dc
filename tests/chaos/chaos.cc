// ledger_chaos: the fault-injection harness (docs/chaos.md), in the spirit of Jepsen and
// TigerBeetle's VOPR. Test hosts in network namespaces of its own (a PostgreSQL node, ledgerd A
// and B, the clients); clients drive REST transfers, holds, balance monitors and ISO 8583
// authorizations and record every request and answer; a nemesis, on a schedule drawn from the
// seed, partitions hosts (both ways and one way), pauses processes (SIGSTOP at any instant:
// inside a COPY, a COMMIT), kills them (kill -9), skews a ledgerd's clock (libfaketime) and
// crashes PostgreSQL. After the faults heal, the checker reads PostgreSQL and the survivor.
//
//   ledger_chaos --seed N --rounds N [--history FILE] [--work DIR]
//
// Exit status: 0 all checks passed; 1 a check failed (the violations are printed); 2 the test
// hosts could not be set up; 77 not root (network namespaces need it).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "chaos/hosts.h"
#include "chaos/workload.h"
#include "support/http_client.h"
#include "support/test_db.h"

#ifndef LEDGERD_BINARY
#error "LEDGERD_BINARY: the ledgerd the harness runs"
#endif

namespace ledger::chaos {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

std::atomic<bool> interrupted{false};

struct Options {
  std::uint64_t seed = 0;
  int rounds = 10;
  int pg_nodes = 1;  // 1: one PostgreSQL; 3: Patroni, strict synchronous, three etcd members
  std::string history;
  std::string work;
  std::string ledgerd = LEDGERD_BINARY;
  std::string pg_bin = "/usr/lib/postgresql/15/bin";
  std::string faketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
};

bool parse(int argc, char** argv, Options* o) {
  o->seed = std::random_device{}();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--seed") {
      o->seed = std::strtoull(value.c_str(), nullptr, 10);
    } else if (flag == "--rounds") {
      o->rounds = std::clamp(std::atoi(value.c_str()), 1, 100'000);
    } else if (flag == "--pg-nodes") {
      o->pg_nodes = value == "3" ? 3 : 1;
    } else if (flag == "--history") {
      o->history = value;
    } else if (flag == "--work") {
      o->work = value;
    } else if (flag == "--ledgerd") {
      o->ledgerd = value;
    } else if (flag == "--pg-bin") {
      o->pg_bin = value;
    } else {
      std::fprintf(stderr, "ledger_chaos: unknown flag %s\n", flag.c_str());
      return false;
    }
  }
  if (argc % 2 == 0) return false;
  return true;
}

void say(const char* format, auto... args) {
  std::printf(format, args...);
  std::printf("\n");
  std::fflush(stdout);
}

// This thread (and every thread it starts later) into the host's network namespace.
bool enter(const Host& host) {
  const int fd = open(("/run/netns/" + host.ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = setns(fd, CLONE_NEWNET) == 0;
  close(fd);
  return ok;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

class Harness {
 public:
  explicit Harness(Options o)
      : o_(std::move(o)),
        net_("lc" + std::to_string(getpid() % 100'000), static_cast<int>(getpid() % 200) + 20),
        rng_(o_.seed),
        history_(o_.history) {}

  int run_all() {
    if (!net_.ok()) return setup_failed("the switch namespace");
    for (const char* name : {"client", "pg1", "a", "b"}) net_.add(name);
    if (o_.pg_nodes == 3) {
      net_.add("pg2");
      net_.add("pg3");
    }
    if (!net_.ok()) return setup_failed("the test hosts");
    if (!enter(net_.host("client"))) return setup_failed("entering the client host");
    if (!(o_.pg_nodes == 3 ? start_cluster() : start_postgres())) return setup_failed("PostgreSQL");
    if (!prepare_ledger()) return setup_failed("migrations and the API key");
    for (const char* name : {"a", "b"}) start_ledgerd(name);
    workload_ = std::make_unique<Workload>(
        std::vector<Endpoint>{{"a", net_.host("a").address}, {"b", net_.host("b").address}},
        api_key_, database_url_, history_);
    if (!workload_->create_ledger(60'000)) return setup_failed("creating the ledger");
    workload_->start();
    say("chaos: seed=%llu rounds=%d pg-nodes=%d history=%s",
        static_cast<unsigned long long>(o_.seed), o_.rounds, o_.pg_nodes, o_.history.c_str());
    for (int round = 1; round <= o_.rounds && !interrupted; ++round) nemesis_round(round);
    heal_all("end");
    const std::string active = workload_->wait_active(60'000);
    std::this_thread::sleep_for(std::chrono::seconds(2));  // clients finish on the healed set
    workload_->stop();
    return verify(active.empty() ? workload_->wait_active(30'000) : active);
  }

  ~Harness() {
    workload_.reset();
    for (auto& [name, p] : ledgerd_) p->stop(SIGKILL, 5'000);
    for (Machine& m : machines_) {
      for (auto it = m.processes.rbegin(); it != m.processes.rend(); ++it) (*it)->stop(SIGTERM);
    }
  }

 private:
  int setup_failed(const char* what) {
    say("chaos: setup failed: %s (logs in %s)", what, o_.work.c_str());
    return 2;
  }

  bool start_postgres() {
    const std::string data = o_.work + "/pg1";
    fs::create_directories(data);
    chaos::run({"chown", "-R", "postgres:postgres", o_.work});
    chaos::run({"chmod", "700", data});
    if (chaos::run(as_postgres({o_.pg_bin + "/initdb", "-D", data, "-A", "trust", "-U", "postgres",
                                "--no-sync"}),
                   o_.work + "/initdb.log") != 0)
      return false;
    std::ofstream(data + "/pg_hba.conf", std::ios::app) << "host all all 10.213.0.0/16 trust\n";
    const Host& host = net_.host("pg1");
    machines_.push_back(Machine{"pg1", {}});
    auto& postgres = machines_.back().processes.emplace_back(std::make_unique<Process>(
        "pg1", host,
        as_postgres({o_.pg_bin + "/postgres", "-D", data, "-c", "listen_addresses=" + host.address,
                     "-c", "port=5432", "-c", "unix_socket_directories=" + o_.work, "-c",
                     "max_connections=200", "-c", "track_commit_timestamp=on", "-c", "fsync=on"}),
        std::map<std::string, std::string>{}, o_.work + "/pg1.log", false));
    if (!postgres->start()) return false;
    admin_url_ = "postgresql://postgres@" + host.address + ":5432/postgres?connect_timeout=2";
    database_url_ = "postgresql://postgres@" + host.address + ":5432/ledger?connect_timeout=2";
    return create_database();
  }

  std::vector<std::string> as_postgres(std::vector<std::string> argv) const {
    std::vector<std::string> full{"setpriv", "--reuid=postgres", "--regid=postgres",
                                  "--init-groups"};
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
  }

  // Three machines pg1..pg3, each with an etcd member and a PostgreSQL node under Patroni
  // (strict synchronous mode, as scripts/ha): the loss of any one keeps every acknowledged
  // commit; two lost stop writes.
  bool start_cluster() {
    chaos::run({"chown", "-R", "postgres:postgres", o_.work});
    std::string cluster, endpoints, hosts;
    for (int i = 1; i <= 3; ++i) {
      const Host& h = net_.host("pg" + std::to_string(i));
      cluster += std::string(i > 1 ? "," : "") + "e" + std::to_string(i) + "=http://" + h.address +
                 ":2380";
      endpoints += std::string(i > 1 ? "," : "") + "http://" + h.address + ":2379";
      hosts += std::string(i > 1 ? "," : "") + h.address + ":2379";
    }
    for (int i = 1; i <= 3; ++i) {
      const std::string name = "pg" + std::to_string(i);
      const Host& h = net_.host(name);
      machines_.push_back(Machine{name, {}});
      machines_.back().processes.push_back(std::make_unique<Process>(
          "etcd" + std::to_string(i), h,
          std::vector<std::string>{"etcd", "--name", "e" + std::to_string(i), "--data-dir",
                                   o_.work + "/etcd" + std::to_string(i), "--listen-client-urls",
                                   "http://" + h.address + ":2379", "--advertise-client-urls",
                                   "http://" + h.address + ":2379", "--listen-peer-urls",
                                   "http://" + h.address + ":2380", "--initial-advertise-peer-urls",
                                   "http://" + h.address + ":2380", "--initial-cluster", cluster,
                                   "--initial-cluster-state", "new"},
          std::map<std::string, std::string>{}, o_.work + "/etcd" + std::to_string(i) + ".log",
          false));
      if (!machines_.back().processes.back()->start()) return false;
      fs::create_directories(o_.work + "/" + name + "-socket");  // one per node: same port
      std::ofstream(o_.work + "/" + name + ".yml") << patroni_config(name, h, hosts);
    }
    chaos::run({"chown", "-R", "postgres:postgres", o_.work});
    const auto etcd_deadline = Clock::now() + std::chrono::seconds(60);
    while (chaos::run({"etcdctl", "--endpoints", endpoints, "--dial-timeout=1s",
                       "--command-timeout=1s", "endpoint", "health"}) != 0) {
      if (Clock::now() > etcd_deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    const auto start_patroni = [this](int i) {
      const std::string name = "pg" + std::to_string(i);
      auto& p = machines_[static_cast<std::size_t>(i - 1)].processes.emplace_back(
          std::make_unique<Process>("patroni" + std::to_string(i), net_.host(name),
                                    as_postgres({"patroni", o_.work + "/" + name + ".yml"}),
                                    std::map<std::string, std::string>{},
                                    o_.work + "/" + name + ".log", false));
      return p->start();
    };
    const auto answers = [this](int i, const char* path) {
      return testing::http_call_to(net_.host("pg" + std::to_string(i)).address, 8008, "GET", path,
                                   "", {}, 1'000)
                 .status == 200;
    };
    if (!start_patroni(1)) return false;
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    while (!answers(1, "/primary")) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (!start_patroni(2) || !start_patroni(3)) return false;
    while (!answers(2, "/sync") && !answers(3, "/sync")) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::string nodes;
    for (int i = 1; i <= 3; ++i) {
      nodes +=
          std::string(i > 1 ? "," : "") + net_.host("pg" + std::to_string(i)).address + ":5432";
    }
    admin_url_ = "postgresql://postgres@" + nodes +
                 "/postgres?target_session_attrs=read-write&connect_timeout=2";
    database_url_ = "postgresql://postgres@" + nodes +
                    "/ledger?target_session_attrs=read-write&connect_timeout=2";
    return create_database();
  }

  std::string patroni_config(const std::string& name, const Host& h,
                             const std::string& etcd_hosts) const {
    return "scope: chaos\nname: " + name + "\nrestapi:\n  listen: " + h.address +
           ":8008\n  connect_address: " + h.address + ":8008\netcd3:\n  hosts: " + etcd_hosts +
           "\nbootstrap:\n  dcs:\n    ttl: 10\n    loop_wait: 2\n    retry_timeout: 4\n"
           "    maximum_lag_on_failover: 0\n    synchronous_mode: true\n"
           "    synchronous_mode_strict: true\n    postgresql:\n      use_pg_rewind: true\n"
           "      parameters:\n        max_connections: 200\n        wal_level: replica\n"
           "        hot_standby: \"on\"\n        max_wal_senders: 5\n"
           "        max_replication_slots: 5\n        wal_log_hints: \"on\"\n"
           "        track_commit_timestamp: \"on\"\n  initdb:\n    - encoding: UTF8\n"
           "    - locale: C.UTF-8\n    - auth: trust\n  pg_hba:\n    - local all all trust\n"
           "    - host all all 10.213.0.0/16 trust\n    - host replication all 10.213.0.0/16 "
           "trust\npostgresql:\n  listen: " +
           h.address + ":5432\n  connect_address: " + h.address + ":5432\n  data_dir: " + o_.work +
           "/" + name + "\n  bin_dir: " + o_.pg_bin + "\n  pgpass: " + o_.work + "/" + name +
           ".pgpass\n  authentication:\n"
           "    superuser:\n      username: postgres\n    replication:\n      username: "
           "postgres\n  parameters:\n    unix_socket_directories: " +
           o_.work + "/" + name + "-socket\ntags:\n  nofailover: false\n  noloadbalance: false\n";
  }

  bool create_database() {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < deadline) {
      try {
        if (testing::query_value(admin_url_, "SELECT 1") == "1") {
          testing::exec_sql(admin_url_, "CREATE DATABASE ledger");
          return testing::query_value(database_url_, "SELECT 1") == "1";
        }
      } catch (const std::exception&) {
        // not up yet
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  std::map<std::string, std::string> ledgerd_env(const std::string& name,
                                                 const std::string& faketime_file) const {
    const Host& host = net_.host(name == "fresh" ? "a" : name);
    std::map<std::string, std::string> env{
        {"LEDGER_DATABASE_URL", database_url_},
        {"LEDGER_HTTP_LISTEN", host.address + ":8080"},
        {"LEDGER_ISO8583_LISTEN", host.address + ":8583"},
        {"LEDGER_LEASE_MS", "1000"},
        {"LEDGER_ACCOUNTS_MAX", "1000"},
        {"LEDGER_TRANSFERS_MAX", "2000000"},
        {"LEDGER_CARDS_MAX", "100"},
        {"LEDGER_PAN_SECRET", "chaos-harness-secret-0123456789abcdef"},
        {"LEDGER_HOME_COUNTRY", "276"},
        {"LEDGER_MIGRATIONS_DIR", testing::migrations_dir()}};
    if (!faketime_file.empty()) {
      env["LD_PRELOAD"] = o_.faketime;
      env["FAKETIME_TIMESTAMP_FILE"] = faketime_file;
      env["FAKETIME_CACHE_DURATION"] = "1";
      env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1";
      env["LEDGER_SNAPSHOT_DIR"] = o_.work + "/snapshots-" + name;
      env["LEDGER_SNAPSHOT_INTERVAL_S"] = "5";
    }
    return env;
  }

  bool prepare_ledger() {
    auto env = ledgerd_env("a", "");
    std::vector<std::string> argv{"env"};
    for (const auto& [k, v] : env) argv.push_back(k + "=" + v);
    argv.push_back(o_.ledgerd);
    std::vector<std::string> migrate = argv;
    migrate.push_back("migrate");
    if (chaos::run(migrate, o_.work + "/migrate.log") != 0) return false;
    std::vector<std::string> keys = argv;
    for (const char* a : {"keys", "create", "--scopes", "backoffice", "--name", "chaos"})
      keys.push_back(a);
    std::string out;
    if (run_capture(keys, &out) != 0) return false;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    api_key_ = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
    return !api_key_.empty();
  }

  void start_ledgerd(const std::string& name) {
    const std::string clock = o_.work + "/" + name + ".faketime";
    write_file(clock, "+0");
    clock_files_[name] = clock;
    ledgerd_[name] = std::make_unique<Process>(
        name, net_.host(name), std::vector<std::string>{o_.ledgerd, "serve"},
        ledgerd_env(name, clock), o_.work + "/" + name + ".log", true);
    ledgerd_[name]->start();
  }

  // --- The nemesis -------------------------------------------------------------------------

  int between(int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng_); }
  std::string pick(const std::vector<std::string>& from) {
    return from[static_cast<std::size_t>(between(0, static_cast<int>(from.size()) - 1))];
  }

  void fault(const std::string& what) {
    history_.record({{"nemesis", what}});
    say("chaos: %s", what.c_str());
  }

  void nemesis_round(int round) {
    const int faults = between(1, 3) == 3 ? 2 : 1;  // a third of the rounds overlap two faults
    std::vector<std::function<void()>> heals;
    for (int f = 0; f < faults; ++f) {
      const std::string ledger = pick({"a", "b"});
      switch (between(0, o_.pg_nodes == 3 ? 8 : 7)) {
        case 0: {  // both ways, between any two hosts
          std::string x = pick(net_.names());
          std::string y = pick(net_.names());
          if (x == y) y = x == "pg1" ? "a" : "pg1";
          net_.drop(x, y);
          net_.drop(y, x);
          fault("round " + std::to_string(round) + ": partition " + x + " <-> " + y);
          heals.push_back([this] { net_.heal(); });
          break;
        }
        case 1: {  // one way
          std::string x = pick(net_.names());
          std::string y = pick(net_.names());
          if (x == y) y = x == "pg1" ? ledger : "pg1";
          net_.drop(x, y);
          fault("round " + std::to_string(round) + ": partition " + x + " -> " + y + " only");
          heals.push_back([this] { net_.heal(); });
          break;
        }
        case 2:
        case 3: {  // a paused ledgerd: at any instant, inside a COPY or a COMMIT too
          Process& p = *ledgerd_[ledger];
          if (p.paused()) break;
          p.pause();
          fault("round " + std::to_string(round) + ": pause " + ledger);
          heals.push_back([&p] { p.resume(); });
          break;
        }
        case 4: {  // kill -9; back after the round (a supervisor restarts a deposed one itself)
          Process& p = *ledgerd_[ledger];
          p.kill_hard();
          fault("round " + std::to_string(round) + ": kill -9 " + ledger);
          heals.push_back([&p] { p.revive(); });
          break;
        }
        case 5: {  // a clock off by 1 to 3 s either way
          const int seconds = between(1, 3) * (between(0, 1) ? 1 : -1);
          write_file(clock_files_[ledger], (seconds > 0 ? "+" : "") + std::to_string(seconds));
          fault("round " + std::to_string(round) + ": clock of " + ledger + " " +
                std::to_string(seconds) + " s");
          heals.push_back([this, ledger] { write_file(clock_files_[ledger], "+0"); });
          break;
        }
        case 6: {  // a PostgreSQL machine paused (a stalled disk, a frozen VM)
          Machine& m = machines_[static_cast<std::size_t>(between(0, o_.pg_nodes - 1))];
          if (m.paused() || !m.running()) break;
          m.pause();
          fault("round " + std::to_string(round) + ": pause " + m.host);
          heals.push_back([&m] { m.resume(); });
          break;
        }
        case 7: {  // a PostgreSQL machine lost (kill -9 of every process of it), back at the
                   // heal: crash recovery, or a rejoin as a replica (pg_rewind)
          Machine& m = machines_[static_cast<std::size_t>(between(0, o_.pg_nodes - 1))];
          if (!m.running()) break;
          m.kill_hard();
          fault("round " + std::to_string(round) + ": kill -9 " + m.host);
          heals.push_back([&m] { m.revive(); });
          break;
        }
        case 8: {  // a Patroni switchover to another node
          const int from = between(1, 3);
          const int to = from % 3 + 1;
          const std::string name = "pg" + std::to_string(from);
          chaos::run(as_postgres({"patronictl", "-c", o_.work + "/" + name + ".yml", "switchover",
                                  "--candidate", "pg" + std::to_string(to), "--force"}),
                     o_.work + "/patronictl.log", 30'000);
          fault("round " + std::to_string(round) + ": switchover to pg" + std::to_string(to));
          break;
        }
      }
    }
    sleep_ms(between(300, 3'000));
    for (auto& heal : heals) heal();
    history_.record({{"nemesis", "heal"}, {"round", round}});
    sleep_ms(between(500, 2'500));
  }

  void sleep_ms(int ms) {
    const auto until = Clock::now() + std::chrono::milliseconds(ms);
    while (Clock::now() < until && !interrupted) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  void heal_all(const char* why) {
    net_.heal();
    for (auto& [name, clock] : clock_files_) write_file(clock, "+0");
    for (Machine& m : machines_) {
      if (m.paused()) m.resume();
      if (!m.running()) m.revive();
    }
    for (auto& [name, p] : ledgerd_) {
      if (p->paused()) p->resume();
      if (!p->running()) p->revive();
    }
    history_.record({{"nemesis", std::string("heal all: ") + why}});
  }

  // --- The checks --------------------------------------------------------------------------

  int verify(const std::string& active) {
    std::vector<std::string> problems;
    if (active.empty()) {
      problems.push_back("no ledgerd serves 60 s after the faults healed");
    } else {
      try {
        problems = workload_->check(active);
      } catch (const std::exception& e) {
        problems.push_back(std::string("the checker could not read PostgreSQL: ") + e.what());
      }
      // Balances equal the journal: the survivor's, followed across every takeover, against a
      // fresh ledgerd's full load of PostgreSQL.
      const auto survivor = workload_->balances(active);
      for (auto& [name, p] : ledgerd_) p->stop(SIGTERM, 20'000);
      Process fresh("fresh", net_.host("a"), {o_.ledgerd, "serve"}, ledgerd_env("fresh", ""),
                    o_.work + "/fresh.log", false);
      fresh.start();
      if (workload_->wait_active(60'000) != "a") {
        problems.push_back("a fresh ledgerd did not load the journal");
      } else if (const auto loaded = workload_->balances("a"); loaded != survivor) {
        problems.push_back("the survivor's balances differ from a full load: " + survivor.dump() +
                           " vs " + loaded.dump());
      }
      fresh.stop(SIGTERM, 20'000);
    }
    int restarts = 0;
    for (auto& [name, p] : ledgerd_) restarts += p->restarts();
    say("chaos: %s; ledgerd restarted by their supervisors %d times", workload_->summary().c_str(),
        restarts);
    for (const std::string& p : problems) say("chaos: VIOLATION %s", p.c_str());
    history_.record({{"result", problems.empty() ? "ok" : "violations"}, {"problems", problems}});
    say("chaos: %s (seed=%llu rounds=%d; replay: scripts/chaos --seed %llu --rounds %d)",
        problems.empty() ? "ok" : "FAILED", static_cast<unsigned long long>(o_.seed), o_.rounds,
        static_cast<unsigned long long>(o_.seed), o_.rounds);
    return problems.empty() ? 0 : 1;
  }

  Options o_;
  Network net_;
  std::mt19937_64 rng_;
  History history_;
  // A PostgreSQL machine: its processes (PostgreSQL; or etcd and Patroni, whose PostgreSQL is
  // Patroni's child), paused, killed and revived together.
  struct Machine {
    std::string host;
    std::vector<std::unique_ptr<Process>> processes;
    bool paused() const { return !processes.empty() && processes.back()->paused(); }
    bool running() const {
      for (const auto& p : processes) {
        if (!p->running()) return false;
      }
      return true;
    }
    void pause() {
      for (auto& p : processes) p->pause();
    }
    void resume() {
      for (auto& p : processes) p->resume();
    }
    void kill_hard() {
      for (auto& p : processes) p->kill_hard();
    }
    void revive() {
      for (auto& p : processes) {
        if (!p->running()) p->revive();
      }
    }
  };
  std::vector<Machine> machines_;
  std::map<std::string, std::unique_ptr<Process>> ledgerd_;
  std::map<std::string, std::string> clock_files_;
  std::unique_ptr<Workload> workload_;
  std::string admin_url_;
  std::string database_url_;
  std::string api_key_;
};

}  // namespace
}  // namespace ledger::chaos

int main(int argc, char** argv) {
  using namespace ledger::chaos;
  Options o;
  if (!parse(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: ledger_chaos [--seed N] [--rounds N] [--pg-nodes 1|3] [--history FILE] "
                 "[--work DIR]\n");
    return 2;
  }
  if (geteuid() != 0) {
    std::printf("chaos: skipped: network namespaces and PostgreSQL as its own user need root\n");
    return 77;
  }
  const bool own_work = o.work.empty();  // removed after a run that passed
  if (own_work) o.work = "/tmp/ledgerd-chaos-" + std::to_string(getpid());
  std::filesystem::create_directories(o.work);
  if (o.history.empty()) o.history = o.work + "/history.jsonl";
  struct sigaction action {};
  action.sa_handler = [](int) { interrupted = true; };
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
  int status;
  {
    Harness harness(o);
    status = harness.run_all();
  }
  if (status == 0 && own_work) {  // the bulk (PostgreSQL's data, snapshots); logs stay
    std::error_code ignored;
    for (const auto& entry : std::filesystem::directory_iterator(o.work, ignored)) {
      if (entry.is_directory()) std::filesystem::remove_all(entry.path(), ignored);
    }
  }
  std::printf("chaos: logs of every host in %s\n", o.work.c_str());
  return status;
}
