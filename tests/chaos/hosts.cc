#include "chaos/hosts.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace ledger::chaos {
namespace {

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Spawns argv in a process group of its own; stdout to `out_fd` (or the log), stderr too.
pid_t spawn_process(std::vector<std::string> argv, const std::string& log, int out_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (out_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  } else {
    const std::string path = log.empty() ? "/dev/null" : log;
    posix_spawn_file_actions_addopen(&actions, 1, path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  auto args = c_strings(argv);
  pid_t pid = -1;
  if (posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  return pid;
}

int wait_bounded(pid_t pid, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      return 128 + SIGKILL;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

pid_t parent_of(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return -1;
  const auto close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 1));
  std::string state;
  pid_t ppid = -1;
  rest >> state >> ppid;
  return ppid;
}

}  // namespace

int run(const std::vector<std::string>& argv, const std::string& log, int timeout_ms) {
  const pid_t pid = spawn_process(argv, log, -1);
  if (pid < 0) return -1;
  return wait_bounded(pid, timeout_ms);
}

int run_capture(const std::vector<std::string>& argv, std::string* out, int timeout_ms) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  const pid_t pid = spawn_process(argv, "", fds[1]);
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return -1;
  }
  out->clear();
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof buffer)) > 0)
    out->append(buffer, static_cast<std::size_t>(n));
  close(fds[0]);
  return wait_bounded(pid, timeout_ms);
}

std::vector<pid_t> descendants(pid_t root) {
  std::map<pid_t, std::vector<pid_t>> children;
  if (DIR* dir = opendir("/proc")) {
    while (const dirent* entry = readdir(dir)) {
      const pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
      if (pid <= 0) continue;
      children[parent_of(pid)].push_back(pid);
    }
    closedir(dir);
  }
  std::vector<pid_t> found;
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    const pid_t pid = todo.back();
    todo.pop_back();
    for (pid_t child : children[pid]) {
      found.push_back(child);
      todo.push_back(child);
    }
  }
  return found;
}

// --- Network -------------------------------------------------------------------------------

Network::Network(std::string prefix, int subnet) : prefix_(std::move(prefix)), subnet_(subnet) {
  switch_ns_ = prefix_ + "-sw";
  ok_ = run({"ip", "netns", "add", switch_ns_}) == 0 &&
        run({"ip", "-n", switch_ns_, "link", "add", "br0", "type", "bridge"}) == 0 &&
        run({"ip", "-n", switch_ns_, "link", "set", "br0", "up"}) == 0;
}

Network::~Network() {
  for (const auto& [name, host] : hosts_) run({"ip", "netns", "del", host.ns});
  run({"ip", "netns", "del", switch_ns_});
}

const Host& Network::add(const std::string& name) {
  Host host;
  host.name = name;
  host.ns = prefix_ + "-" + name;
  host.address = "10.213." + std::to_string(subnet_) + "." + std::to_string(10 + hosts_.size());
  const std::string port = "p-" + name;  // the switch's side, named after the host
  ok_ = ok_ && run({"ip", "netns", "add", host.ns}) == 0 &&
        run({"ip", "link", "add", "eth0", "netns", host.ns, "type", "veth", "peer", "name", port,
             "netns", switch_ns_}) == 0 &&
        run({"ip", "-n", host.ns, "link", "set", "lo", "up"}) == 0 &&
        run({"ip", "-n", host.ns, "addr", "add", host.address + "/24", "dev", "eth0"}) == 0 &&
        run({"ip", "-n", host.ns, "link", "set", "eth0", "up"}) == 0 &&
        run({"ip", "-n", switch_ns_, "link", "set", port, "master", "br0", "up"}) == 0;
  return hosts_[name] = host;
}

std::vector<std::string> Network::names() const {
  std::vector<std::string> out;
  for (const auto& [name, host] : hosts_) out.push_back(name);
  return out;
}

void Network::drop(const std::string& from, const std::string& to) {
  const Host& target = hosts_.at(to);
  run({"ip", "netns", "exec", target.ns, "iptables", "-w", "-A", "INPUT", "-s",
       hosts_.at(from).address, "-j", "DROP"});
  drops_.emplace_back(from, to);
}

void Network::heal() {
  if (drops_.empty()) return;
  for (const auto& [name, host] : hosts_) {
    run({"ip", "netns", "exec", host.ns, "iptables", "-w", "-F", "INPUT"});
  }
  drops_.clear();
}

std::string Network::describe_drops() const {
  std::string out;
  for (const auto& [from, to] : drops_) out += (out.empty() ? "" : ",") + from + ">" + to;
  return out;
}

// --- Process -------------------------------------------------------------------------------

Process::Process(std::string name, const Host& host, std::vector<std::string> argv,
                 std::map<std::string, std::string> env, std::string log, bool restart_on_exit)
    : name_(std::move(name)),
      host_(host),
      argv_(std::move(argv)),
      env_(std::move(env)),
      log_(std::move(log)),
      restart_on_exit_(restart_on_exit) {}

Process::~Process() { stop(SIGKILL, 5'000); }

bool Process::spawn() {
  std::vector<std::string> argv{"ip", "netns", "exec", host_.ns, "env"};
  for (const auto& [key, value] : env_) argv.push_back(key + "=" + value);
  argv.insert(argv.end(), argv_.begin(), argv_.end());
  pid_ = spawn_process(argv, log_, -1);
  return pid_ > 0;
}

bool Process::start() {
  {
    std::lock_guard lock(mutex_);
    if (!spawn()) return false;
  }
  supervisor_ = std::thread([this] { supervise(); });
  return true;
}

void Process::supervise() {
  for (;;) {
    pid_t pid;
    {
      std::lock_guard lock(mutex_);
      pid = pid_;
      if (stopping_) return;
    }
    if (pid <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    bool restart = false;
    {
      std::lock_guard lock(mutex_);
      if (pid_ == pid) pid_ = -1;
      if (stopping_) return;
      restart = restart_on_exit_ && !down_;
    }
    if (!restart) continue;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // as a service manager would
    std::lock_guard lock(mutex_);
    if (!stopping_ && !down_ && pid_ <= 0 && spawn()) ++restarts_;
  }
}

void Process::signal_tree(int signal_number) const {
  if (pid_ <= 0) return;
  // The process first (a stopped parent forks no more), then everything below it.
  kill(pid_, signal_number);
  for (pid_t child : descendants(pid_)) kill(child, signal_number);
}

void Process::pause() {
  std::lock_guard lock(mutex_);
  signal_tree(SIGSTOP);
  paused_ = true;
}

void Process::resume() {
  std::lock_guard lock(mutex_);
  // Children first, so that nothing resumed waits on a parent still stopped.
  if (pid_ > 0) {
    for (pid_t child : descendants(pid_)) kill(child, SIGCONT);
    kill(pid_, SIGCONT);
  }
  paused_ = false;
}

void Process::kill_hard() {
  std::lock_guard lock(mutex_);
  down_ = true;
  signal_tree(SIGKILL);
  paused_ = false;
}

bool Process::revive() {
  std::lock_guard lock(mutex_);
  down_ = false;
  if (pid_ > 0) return true;  // the supervisor has not reaped it yet: it will not restart it
  return spawn();
}

void Process::stop(int signal_number, int timeout_ms) {
  pid_t pid;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    down_ = true;
    pid = pid_;
    if (pid > 0) {
      for (pid_t child : descendants(pid)) kill(child, SIGCONT);
      kill(pid, SIGCONT);
      kill(pid, signal_number);
    }
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (pid > 0 && kill(pid, 0) == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (pid > 0 && kill(pid, 0) == 0) {
    std::lock_guard lock(mutex_);
    signal_tree(SIGKILL);
  }
  if (supervisor_.joinable()) supervisor_.join();
}

bool Process::running() const {
  std::lock_guard lock(mutex_);
  return pid_ > 0;
}

pid_t Process::pid() const {
  std::lock_guard lock(mutex_);
  return pid_;
}

}  // namespace ledger::chaos
