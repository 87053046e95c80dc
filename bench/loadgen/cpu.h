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

// CPU seconds used so far by `pid` ("self" for this process); with `children`, also by its
// children alive now and those it has reaped (PostgreSQL: the postmaster and its backends).
// -1 when the process cannot be read.
inline double cpu_seconds(const std::string& pid, bool children) {
  ProcStat self;
  if (!read_proc_stat(pid, &self)) return -1;
  std::uint64_t ticks = self.utime + self.stime;
  if (children) {
    ticks += self.cutime + self.cstime;
    const int parent = std::atoi(pid.c_str());
    if (DIR* dir = opendir("/proc")) {
      while (const dirent* entry = readdir(dir)) {
        const std::string name = entry->d_name;
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        ProcStat child;
        if (read_proc_stat(name, &child) && child.ppid == parent) {
          ticks += child.utime + child.stime;
        }
      }
      closedir(dir);
    }
  }
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The processes a run measures: name -> pid, and whether its children count.
struct CpuTarget {
  std::string name;
  std::string pid;
  bool children = false;
};

inline std::map<std::string, double> sample_cpu(const std::vector<CpuTarget>& targets) {
  std::map<std::string, double> out;
  for (const CpuTarget& t : targets) out[t.name] = cpu_seconds(t.pid, t.children);
  return out;
}

// Samples the targets at `from` and at `to` on its own thread; `used()` is the CPU seconds
// each used in between (empty when the window did not complete: the run ended first).
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
      for (const auto& [name, seconds] : second) {
        const double before = first.at(name);
        if (seconds >= 0 && before >= 0) used_[name] = seconds - before;
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

 private:
  std::vector<CpuTarget> targets_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::map<std::string, double> used_;
  std::thread thread_;
};

}  // namespace ledger::bench
