// Runs the real ledgerd binary as a child process: one-shot commands with captured output,
// or a server whose bound ports are read from its "event=listening" log lines.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "test_db.h"  // migrations_dir()

namespace ledger::testing {

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  bool timed_out = false;
  std::string out;
  std::string err;
};

using Env = std::map<std::string, std::string>;

// Runs ledgerd with args and extra environment (LEDGER_* from the parent are removed first).
RunResult run_ledgerd(const std::vector<std::string>& args, const Env& env, int timeout_ms);

class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts `ledgerd serve` with ports 0 unless env says otherwise; waits until it listens.
  // Returns false (with output()) if it exits or does not listen within timeout_ms.
  bool start(const Env& env, int timeout_ms = 20'000);
  // The two halves of start(): spawn without waiting (a standby waits for the ledger lease
  // before it listens), then wait until it serves.
  void launch(const Env& env);
  bool wait_serving(int timeout_ms);
  // Sends a signal without waiting (SIGSTOP, SIGCONT).
  void signal(int signal_number) const;
  int http_port() const { return http_port_; }
  int iso_port() const { return iso_port_; }
  // Sends `signal_number` and waits for exit; returns the exit code (-signal if killed).
  int stop(int signal_number, int timeout_ms = 15'000);
  bool running() const { return pid_ > 0; }
  // Everything the server has printed so far (stdout and stderr).
  std::string output() const;

 private:
  pid_t pid_ = -1;
  int http_port_ = 0;
  int iso_port_ = 0;
  std::string log_path_;
};

// Runs `ledgerd keys create` against env's database and returns the printed key.
std::string create_api_key(const Env& env, const std::string& scope);

std::string ledgerd_path();

}  // namespace ledger::testing
