// DatabaseProbe: a background thread that checks every interval that PostgreSQL answers
// (SELECT 1 on its own connection, reconnecting as needed) and publishes the outcome.
// Thread: owns one thread; start/stop from the main thread; reachable() from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace ledger {

class DatabaseProbe {
 public:
  using Listener = std::function<void(bool reachable)>;
  DatabaseProbe(std::string url, std::uint32_t interval_ms, Listener listener);
  ~DatabaseProbe();
  DatabaseProbe(const DatabaseProbe&) = delete;
  DatabaseProbe& operator=(const DatabaseProbe&) = delete;

  void start();
  void stop();

 private:
  void run();

  std::string url_;
  std::uint32_t interval_ms_;
  Listener listener_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace ledger
