// CPU time per process from /proc, for the bench's "CPU per request" figures: user + system
// time of a process (and, for PostgreSQL, of every child of its postmaster, plus the children
// it has reaped), sampled at the start and the end of a window. Header-only so that
// loadgen_test exercises exactly the parsing the loadgen runs.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ledger/parse.h"

namespace ledger::bench {

// The fields of a /proc/<pid>/stat line the bench needs. The command name (field 2) is in
// parentheses and may hold spaces and parentheses: fields are counted after the last ')'.
struct ProcStat {
  int ppid = 0;
  std::uint64_t utime = 0, stime = 0, cutime = 0, cstime = 0;  // clock ticks
};

inline bool parse_proc_stat(std::string_view line, ProcStat* out) {
  const std::size_t close = line.rfind(')');
  if (close == std::string_view::npos) return false;
  std::istringstream in{std::string(line.substr(close + 1))};
  std::string field;
  std::vector<std::string> fields;  // fields[0] is field 3 (state)
  while (in >> field && fields.size() < 15) fields.push_back(field);
  if (fields.size() < 15) return false;
  std::uint64_t ppid = 0;
  if (!parse_digits(fields[1], &ppid) || !parse_digits(fields[11], &out->utime) ||
      !parse_digits(fields[12], &out->stime) || !parse_digits(fields[13], &out->cutime) ||
      !parse_digits(fields[14], &out->cstime)) {
    return false;
  }
  out->ppid = static_cast<int>(ppid);
  return true;
}

inline bool read_proc_stat(const std::string& pid, ProcStat* out) {
  std::ifstream file("/proc/" + pid + "/stat");
  std::string line;
  return std::getline(file, line) && parse_proc_stat(line, out);
}

// The context switches (voluntary and not) in a /proc/<pid>/task/<tid>/status text.
inline bool parse_context_switches(std::string_view status, std::uint64_t* out) {
  std::uint64_t sum = 0;
  int found = 0;
  for (const std::string_view key : {"voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"}) {
    std::size_t at = status.find(key);
    // "voluntary_..." is also the tail of "nonvoluntary_...": take a match at a line start.
    while (at != std::string_view::npos && at > 0 && status[at - 1] != '\n') {
      at = status.find(key, at + 1);
    }
    if (at == std::string_view::npos) continue;
    std::size_t from = status.find_first_not_of(" \t", at + key.size());
    if (from == std::string_view::npos) return false;
    const std::size_t to = status.find('\n', from);
    std::uint64_t value = 0;
    if (!parse_digits(status.substr(from, to == std::string_view::npos ? to : to - from), &value)) {
      return false;
    }
    sum += value;
    ++found;
  }
  if (found != 2) return false;
  *out = sum;
  return true;
}

// The processes whose parent is `parent` (PostgreSQL: the postmaster's backends).
inline std::vector<std::string> children_of(const std::string& parent) {
  std::vector<std::string> out;
  std::uint64_t parent_pid = 0;
  if (!parse_digits(parent, &parent_pid)) return out;
  if (DIR* dir = opendir("/proc")) {
    while (const dirent* entry = readdir(dir)) {
      const std::string name = entry->d_name;
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      ProcStat child;
      if (read_proc_stat(name, &child) && static_cast<std::uint64_t>(child.ppid) == parent_pid) {
        out.push_back(name);
      }
    }
    closedir(dir);
  }
  return out;
}

// CPU seconds used so far by `pid` ("self" for this process); with `children`, also by its
// children alive now and those it has reaped (PostgreSQL: the postmaster and its backends).
// -1 when the process cannot be read.
inline double cpu_seconds(const std::string& pid, bool children) {
  ProcStat self;
  if (!read_proc_stat(pid, &self)) return -1;
  std::uint64_t ticks = self.utime + self.stime;
  if (children) {
    ticks += self.cutime + self.cstime;
    for (const std::string& child : children_of(pid)) {
      ProcStat stat;
      if (read_proc_stat(child, &stat)) ticks += stat.utime + stat.stime;
    }
  }
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Context switches so far of every thread of `pid`; with `children`, also of its children
// alive now (those reaped are not counted). -1 when the process cannot be read.
inline double context_switches(const std::string& pid, bool children) {
  const auto of_process = [](const std::string& process, std::uint64_t* total) {
    const std::string tasks = "/proc/" + process + "/task";
    DIR* dir = opendir(tasks.c_str());
    if (dir == nullptr) return false;
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
      std::ifstream file(tasks + "/" + entry->d_name + "/status");
      const std::string text((std::istreambuf_iterator<char>(file)),
                             std::istreambuf_iterator<char>());
      std::uint64_t n = 0;
      if (parse_context_switches(text, &n)) *total += n;
    }
    closedir(dir);
    return true;
  };
  std::uint64_t total = 0;
  if (!of_process(pid, &total)) return -1;
  if (children) {
    for (const std::string& child : children_of(pid)) (void)of_process(child, &total);
  }
  return static_cast<double>(total);
}

// The processes a run measures: name -> pid, and whether its children count.
struct CpuTarget {
  std::string name;
  std::string pid;
  bool children = false;
};

struct CpuSample {
  std::map<std::string, double> seconds;   // CPU seconds per target
  std::map<std::string, double> switches;  // context switches per target
};

inline CpuSample sample_cpu(const std::vector<CpuTarget>& targets) {
  CpuSample out;
  for (const CpuTarget& t : targets) {
    out.seconds[t.name] = cpu_seconds(t.pid, t.children);
    out.switches[t.name] = context_switches(t.pid, t.children);
  }
  return out;
}

// Samples the targets at `from` and at `to` on its own thread; `used()` is the CPU seconds
// each used in between and `switches()` its context switches (empty when the window did not
// complete: the run ended first).
class CpuWindow {
 public:
  using Clock = std::chrono::steady_clock;
  CpuWindow(std::vector<CpuTarget> targets, Clock::time_point from, Clock::time_point to)
      : targets_(std::move(targets)) {
    if (targets_.empty() || to <= from) return;
    thread_ = std::thread([this, from, to] {
      std::unique_lock lock(mutex_);
      if (wake_.wait_until(lock, from, [this] { return stop_; })) return;
      const auto first = sample_cpu(targets_);
      if (wake_.wait_until(lock, to, [this] { return stop_; })) return;
      const auto second = sample_cpu(targets_);
      for (const auto& [name, seconds] : second.seconds) {
        const double before = first.seconds.at(name);
        if (seconds >= 0 && before >= 0) used_[name] = seconds - before;
      }
      for (const auto& [name, count] : second.switches) {
        const double before = first.switches.at(name);
        if (count >= 0 && before >= 0) switches_[name] = count - before;
      }
    });
  }
  ~CpuWindow() { finish(); }
  CpuWindow(const CpuWindow&) = delete;
  CpuWindow& operator=(const CpuWindow&) = delete;
  // Waits for the second sample if the window is still open (bounded by `to`).
  void finish() {
    if (thread_.joinable()) thread_.join();
  }
  void cancel() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    finish();
  }
  const std::map<std::string, double>& used() const { return used_; }
  // Context switches of each target in the window (threads; PostgreSQL's live backends).
  const std::map<std::string, double>& switches() const { return switches_; }

 private:
  std::vector<CpuTarget> targets_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::map<std::string, double> used_;
  std::map<std::string, double> switches_;
  std::thread thread_;
};

}  // namespace ledger::bench
