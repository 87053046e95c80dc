// The fault harness's test hosts (docs/chaos.md): network namespaces of its own on veth pairs
// to a bridge in a switch namespace of its own, addresses 10.213.N.0/24 with no route
// anywhere else (nothing leaves the machine), and the processes that run in them: started in
// their own process group, signalled (pause, resume, kill -9) and restarted.
//
// Threads: Network and Process are used from the harness's main thread (the nemesis) and a
// Process's supervisor; each Process guards its own state.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ledger::chaos {

// Runs argv (PATH looked up), output appended to `log` ("" : /dev/null); returns the exit
// status (-1: could not start, 128+N: killed by signal N). Bounded by timeout_ms (then killed).
int run(const std::vector<std::string>& argv, const std::string& log = "", int timeout_ms = 60'000);
// As run(), and what it printed on stdout.
int run_capture(const std::vector<std::string>& argv, std::string* out, int timeout_ms = 60'000);

struct Host {
  std::string name;     // "a", "b", "pg1", "client", ...
  std::string ns;       // its network namespace
  std::string address;  // its IPv4 address on the test network
};

class Network {
 public:
  // subnet: the third octet of 10.213.x.0/24; prefix: of the namespaces' names.
  Network(std::string prefix, int subnet);
  ~Network();  // removes every namespace (and with them the veths and filters)
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  bool ok() const { return ok_; }
  const Host& add(const std::string& name);  // a new host; ok() false if it failed
  const Host& host(const std::string& name) const { return hosts_.at(name); }
  std::vector<std::string> names() const;

  // Packets from `from` to `to` are dropped (at `to`'s input): a one-way partition. Both ways:
  // call it twice. heal() removes every drop.
  void drop(const std::string& from, const std::string& to);
  void heal();
  std::string describe_drops() const;

 private:
  std::string prefix_;
  int subnet_;
  bool ok_ = true;
  std::string switch_ns_;
  std::map<std::string, Host> hosts_;
  std::vector<std::pair<std::string, std::string>> drops_;
};

// A process in a host's namespace, in its own process group. A supervisor thread restarts it
// when it exits by itself (a deposed ledgerd's exit 3, a crash), as systemd would, unless it
// was killed by the nemesis (then revive() starts it) or stop() was called.
class Process {
 public:
  using Clock = std::chrono::steady_clock;
  // argv runs as `ip netns exec NS env ENV... argv`; output appended to `log`.
  Process(std::string name, const Host& host, std::vector<std::string> argv,
          std::map<std::string, std::string> env, std::string log, bool restart_on_exit);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  bool start();
  void pause();      // SIGSTOP to it and every descendant (PostgreSQL's backends too)
  void resume();     // SIGCONT
  void kill_hard();  // SIGKILL to it and every descendant; stays down until revive()
  bool revive();     // after kill_hard(): start again
  void stop(int signal_number = 15, int timeout_ms = 20'000);  // for good
  bool running() const;
  bool paused() const { return paused_; }
  pid_t pid() const;
  const std::string& name() const { return name_; }
  int restarts() const { return restarts_; }

 private:
  bool spawn();
  void supervise();
  void signal_tree(int signal_number) const;

  std::string name_;
  Host host_;
  std::vector<std::string> argv_;
  std::map<std::string, std::string> env_;
  std::string log_;
  bool restart_on_exit_;
  mutable std::mutex mutex_;
  pid_t pid_ = -1;
  bool down_ = false;  // killed by the nemesis or stopped: not restarted
  bool stopping_ = false;
  std::atomic<bool> paused_{false};
  std::atomic<int> restarts_{0};
  std::thread supervisor_;
};

// Every descendant of pid (children first found by /proc's parent links).
std::vector<pid_t> descendants(pid_t pid);

}  // namespace ledger::chaos
