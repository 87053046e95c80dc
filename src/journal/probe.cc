#include "journal/probe.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "journal/pg.h"
#include "ledger/thread_name.h"

namespace ledger {

DatabaseProbe::DatabaseProbe(std::string url, std::uint32_t interval_ms, Listener listener)
    : url_(std::move(url)), interval_ms_(interval_ms), listener_(std::move(listener)) {}

DatabaseProbe::~DatabaseProbe() { stop(); }

void DatabaseProbe::start() {
  thread_ = std::thread([this] {
    name_this_thread("ledgerd-probe");
    run();
  });
}

void DatabaseProbe::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DatabaseProbe::run() {
  pg::Conn conn;
  bool last = true;
  for (;;) {
    bool reachable = false;
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
      conn.reset();
      Status status = pg::connect(url_, &conn);
      if (!status.ok() && last)
        spdlog::warn("event=database_unreachable error=\"{}\"", status.message());
    }
    if (conn) reachable = pg::exec(conn.get(), "SELECT 1").ok();
    if (!reachable) conn.reset();
    if (reachable != last) spdlog::info("event=database_probe reachable={}", reachable);
    last = reachable;
    listener_(reachable);
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, std::chrono::milliseconds(interval_ms_),
                       [this] { return stopping_; })) {
      return;
    }
  }
}

}  // namespace ledger
