// API keys: `ledgerd keys create`, and the background refresher that keeps the HTTP layer's
// KeyRing in step with the api_keys table (new keys usable, revoked ones refused, within
// about a second).
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "app/config.h"
#include "http/auth.h"
#include "ledger/status.h"

namespace ledger::app {

int run_keys_create(const Config& config);

// Thread: owns one thread; start/stop from the main thread.
class KeyRefresher {
 public:
  KeyRefresher(std::string database_url, http::KeyRing& ring, std::uint32_t interval_ms)
      : url_(std::move(database_url)), ring_(ring), interval_ms_(interval_ms) {}
  ~KeyRefresher() { stop(); }
  // Loads once synchronously (so keys work from the first request), then refreshes.
  Status start();
  void stop();

 private:
  Status refresh();
  std::string url_;
  http::KeyRing& ring_;
  std::uint32_t interval_ms_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ledger::app
