#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace ledger::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> child_environment(const Env& extra) {
  std::vector<std::string> entries;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "LEDGER_", 7) == 0) continue;
    // A variable the test sets replaces the inherited one (getenv would find the first).
    const char* equals = std::strchr(*e, '=');
    if (equals != nullptr &&
        extra.count(std::string(*e, static_cast<std::size_t>(equals - *e))) != 0) {
      continue;
    }
    entries.emplace_back(*e);
  }
  for (const auto& [name, value] : extra) entries.push_back(name + "=" + value);
  return entries;
}

// fork + exec ledgerd with stdout/stderr on the given descriptors.
pid_t spawn(const std::vector<std::string>& args, const Env& env, int out_fd, int err_fd) {
  std::vector<std::string> argv_storage = {ledgerd_path()};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  const std::vector<std::string> env_storage = child_environment(env);
  std::vector<char*> argv;
  for (auto& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& entry : const_cast<std::vector<std::string>&>(env_storage))
    envp.push_back(entry.data());
  envp.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    const int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, STDIN_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid, int timeout_ms, bool* timed_out) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() > deadline) {
      *timed_out = true;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return -WTERMSIG(status);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string ledgerd_path() { return LEDGERD_BINARY; }

RunResult run_ledgerd(const std::vector<std::string>& args, const Env& env, int timeout_ms) {
  int out_pipe[2];
  int err_pipe[2];
  if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0) return {};
  const pid_t pid = spawn(args, env, out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  RunResult result;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  int open_fds = 2;
  while (open_fds > 0 && Clock::now() < deadline) {
    if (poll(fds, 2, 50) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
      char buffer[4096];
      const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      (i == 0 ? result.out : result.err).append(buffer, static_cast<std::size_t>(n));
    }
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }
  const auto left_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  result.exit_code =
      wait_exit(pid, static_cast<int>(std::max<long>(left_ms.count(), 1)), &result.timed_out);
  return result;
}

std::string create_api_key(const Env& env, const std::string& scope) {
  Env full = env;
  full["LEDGER_MIGRATIONS_DIR"] = migrations_dir();
  const RunResult result =
      run_ledgerd({"keys", "create", "--scopes", scope, "--name", "test " + scope}, full, 30'000);
  std::string key = result.out;
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  if (result.exit_code != 0 || key.rfind("ldg_", 0) != 0) {
    throw std::runtime_error("ledgerd keys create failed: " + result.err);
  }
  return key;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) stop(SIGKILL);
}

bool ServerProcess::start(const Env& env, int timeout_ms) {
  launch(env);
  return wait_serving(timeout_ms);
}

void ServerProcess::signal(int signal_number) const {
  if (pid_ > 0) kill(pid_, signal_number);
}

void ServerProcess::launch(const Env& env) {
  static std::atomic<int> counter{0};
  log_path_ =
      "/tmp/ledgerd-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + ".log";
  Env full = {{"LEDGER_HTTP_LISTEN", "127.0.0.1:0"},
              {"LEDGER_ISO8583_LISTEN", "127.0.0.1:0"},
              {"LEDGER_MIGRATIONS_DIR", migrations_dir()}};
  for (const auto& [name, value] : env) full[name] = value;
  const int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_ = spawn({"serve"}, full, fd, fd);
  close(fd);
}

bool ServerProcess::wait_serving(int timeout_ms) {
  if (pid_ <= 0) return false;
  const std::regex http_re("event=listening interface=http address=\\S+:(\\d+)");
  const std::regex iso_re("event=listening interface=iso8583 address=\\S+:(\\d+)");
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    const std::string text = output();
    std::smatch match;
    if (std::regex_search(text, match, http_re)) http_port_ = std::stoi(match[1]);
    if (std::regex_search(text, match, iso_re)) iso_port_ = std::stoi(match[1]);
    if (text.find("event=serving") != std::string::npos) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string ServerProcess::output() const { return read_file(log_path_); }

int ServerProcess::stop(int signal_number, int timeout_ms) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal_number);
  bool timed_out = false;
  const int code = wait_exit(pid_, timeout_ms, &timed_out);
  pid_ = -1;
  return code;
}

}  // namespace ledger::testing
