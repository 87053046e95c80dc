// The spike watcher: evaluates the spike rules (/v1/spike-rules) on its own thread and
// PostgreSQL connection, reading committed events in seq order, never on the engine, journal
// or network threads, so a backlog never slows an authorization. A spike it finds goes back
// through the engine as a record_spike command, so its spending.spike event takes its place in
// the gap-free feed and exists only once committed.
//
// At start it re-reads the events of the longest window (at most
// limits::spike_rebuild_events_max) and the spikes already journaled, so a restart neither
// forgets a window nor repeats a spike inside its cooldown.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "ledger/metrics.h"
#include "ledger/sink.h"

namespace ledger {

class SpikeWatcher {
 public:
  SpikeWatcher(std::string database_url, CommandSink& sink);
  ~SpikeWatcher();
  SpikeWatcher(const SpikeWatcher&) = delete;
  SpikeWatcher& operator=(const SpikeWatcher&) = delete;

  void start();
  void stop();
  void register_metrics(metrics::Registry& registry);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ledger
