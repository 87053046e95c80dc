// The pipeline's engine snapshots (pipeline.h; docs/durability.md, "Snapshots").
//
// Taking one: between batches, when every batch the engine applied is committed (the state is
// exactly the journal up to committed_seq_), the engine thread forks. The child has a frozen
// copy of the engine (copy-on-write) and writes it to a file while the engine goes on; the
// engine pauses only for the fork itself. The snapshot thread waits for the child, then
// publishes the file in PostgreSQL (engine_snapshots) in a transaction fenced by the lease.
//
// Restoring one: the newest published snapshot whose file checks (header, every chunk's
// checksum, the engine layout, the state hash) is read on several threads while another
// connection reads the tail (everything after the snapshot's logical time) from PostgreSQL;
// then the tail is applied. Anything that does not check is logged and skipped: the next
// snapshot, or in the end the whole journal.
#include <dirent.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <thread>

#include "pipeline/pipeline.h"

namespace ledger::pipeline {
namespace {

bool plain_file_name(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && name != "." && name != "..";
}

// One of this ledger's snapshot files (another ledger's, sharing the directory, has another
// prefix and is never touched).
bool is_own_snapshot_file(const std::string& name, const std::string& prefix) {
  const auto ends_with = [&name](const char* suffix) {
    const std::size_t n = std::strlen(suffix);
    return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
  };
  return name.rfind(prefix, 0) == 0 && (ends_with(".ledgersnap") || ends_with(".ledgersnap.tmp"));
}

}  // namespace

Status Pipeline::load_from_snapshot(engine::Engine* engine, LoadStats* stats, std::size_t* tail) {
  std::vector<snapshot_sql::Row> rows;
  if (Status s = store_->snapshots(&rows); !s.ok()) return s;
  if (rows.empty()) return Status::error("no snapshot published yet");
  if (ledger_.ledger_id.empty()) return Status::error("this ledger's identity is unknown");
  std::string last_reason;
  for (const snapshot_sql::Row& row : rows) {
    const auto reject = [&](const std::string& reason) {
      counters_.snapshots_rejected.fetch_add(1);
      spdlog::warn("event=snapshot_rejected file=\"{}\" events_seq={} reason=\"{}\"", row.file,
                   row.events_seq, reason);
      last_reason = reason;
    };
    if (!plain_file_name(row.file)) {
      reject("the file name is not a plain name in the snapshot directory");
      continue;
    }
    if (row.layout != engine->snapshot_layout()) {
      reject("written for another engine layout or capacity (LEDGER_*_MAX or ledgerd version)");
      continue;
    }
    const std::string path = options_.snapshot_dir + "/" + row.file;
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
      reject("the file is not in " + options_.snapshot_dir);
      continue;
    }
    SnapshotInfo expected;
    expected.ledger = ledger_;
    expected.id = row.id;
    expected.events_seq = row.events_seq;
    expected.last_ts = row.last_ts;
    expected.epoch = row.epoch;
    expected.layout = row.layout;
    expected.state_hash = row.state_hash;
    expected.checksum = row.checksum;
    expected.bytes = row.bytes;
    // Parallel: the tail comes from PostgreSQL while the file is read.
    std::vector<JournalRecord> records;
    Status tail_status;
    std::thread tail_reader([&] {
      tail_status = store_->load([&records](const JournalRecord& r) { records.push_back(r); },
                                 stats, row.last_ts);
    });
    Status restored = restore_snapshot_file(path, expected, engine, options_.load_threads);
    tail_reader.join();
    if (!restored.ok()) {
      reject(restored.message());
      continue;
    }
    if (!tail_status.ok()) {
      engine->clear();
      return tail_status;
    }
    for (const JournalRecord& r : records) {
      if (engine_full(*engine)) {
        engine->clear();
        return Status::error("the journal outgrew this ledgerd's capacity after the snapshot");
      }
      engine->replay(r);
    }
    if (Status s = check_balanced(*engine); !s.ok()) {
      engine->clear();
      return s;
    }
    *tail = records.size();
    snapshot_seq_ = row.events_seq;
    counters_.snapshot_seq = row.events_seq;
    return Status();
  }
  return Status::error("no usable snapshot (last: " + last_reason + ")");
}

void Pipeline::maybe_snapshot() {
  next_snapshot_at_ = Clock::now() + std::chrono::milliseconds(options_.snapshot_interval_ms);
  {
    std::lock_guard lock(snapshot_mutex_);
    if (snapshot_stop_) return;
    if (snapshot_job_) {  // one child at a time: look again in a second
      next_snapshot_at_ = Clock::now() + std::chrono::seconds(1);
      return;
    }
  }
  {
    // The state must be exactly the journal: every applied batch committed. The engine stops
    // publishing, so the journal thread catches up within one COMMIT.
    std::unique_lock lock(ring_mutex_);
    if (!ring_cv_.wait_for(lock, std::chrono::milliseconds(500),
                           [this] { return published_ == released_ || stop_requested_; }) ||
        stop_requested_) {
      next_snapshot_at_ = Clock::now() + std::chrono::seconds(1);
      return;
    }
  }
  if (state() != PipelineState::running) return;
  const std::uint64_t seq = committed_seq_.load(std::memory_order_relaxed);
  if (seq == snapshot_seq_ || seq == 0) return;  // nothing new since the last one
  if (ledger_.ledger_id.empty()) return;         // event=snapshot_identity_unknown at load
  SnapshotInfo info;
  info.ledger = ledger_;
  info.id = std::random_device{}() * 0x100000000ULL ^ std::random_device{}();
  info.events_seq = seq;
  info.last_ts = engine_.last_timestamp();
  info.epoch = fence_epoch_;
  info.layout = engine_.snapshot_layout();
  engine_.snapshot(&snapshot_regions_, &snapshot_encoded_);
  const std::string path = options_.snapshot_dir + "/" + snapshot_file_name(ledger_, seq, info.id);
  const auto started = Clock::now();
  const pid_t pid = fork();
  if (pid == 0) snapshot_child(path, info);
  const double fork_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  counters_.snapshot_fork_seconds = fork_seconds;
  if (pid < 0) {
    counters_.snapshots_failed.fetch_add(1);
    spdlog::warn("event=snapshot_failed step=fork error=\"{}\"", std::strerror(errno));
    return;
  }
  snapshot_seq_ = seq;
  {
    std::lock_guard lock(snapshot_mutex_);
    snapshot_job_ = SnapshotJob{pid, info, path, started};
  }
  snapshot_cv_.notify_all();
}

// The forked child: one thread (this one), a frozen copy of the engine. It writes the file at
// a low priority and exits; it never logs (the parent's logger may be mid-write) and dies with
// the parent.
void Pipeline::snapshot_child(const std::string& path, SnapshotInfo info) {
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
  (void)setpriority(PRIO_PROCESS, 0, 10);
  const int error = write_snapshot_file(path, engine_, snapshot_regions_, snapshot_encoded_, &info);
  if (error != 0) (void)unlink((path + ".tmp").c_str());
  _exit(error == 0 ? 0 : (error & 0x7f) | 0x80);
}

void Pipeline::snapshot_loop() {
  for (;;) {
    SnapshotJob job;
    {
      std::unique_lock lock(snapshot_mutex_);
      snapshot_cv_.wait(lock, [this] { return snapshot_job_.has_value() || snapshot_stop_; });
      if (!snapshot_job_) return;
      job = *snapshot_job_;
    }
    int status = 0;
    while (waitpid(job.pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string failure;
    SnapshotInfo written;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      failure =
          WIFSIGNALED(status)
              ? "the writer was killed (signal " + std::to_string(WTERMSIG(status)) + ")"
              : "the writer failed: " + std::string(std::strerror(WEXITSTATUS(status) & 0x7f));
    } else if (Status s = read_snapshot_header(job.path, &written); !s.ok()) {
      failure = s.message();
    } else if (written.id != job.info.id || written.events_seq != job.info.events_seq) {
      failure = "the file written is not the snapshot taken";
    }
    std::vector<std::string> dropped;
    if (failure.empty()) {
      snapshot_sql::Row row;
      row.id = written.id;
      row.events_seq = written.events_seq;
      row.last_ts = written.last_ts;
      row.epoch = written.epoch;
      row.layout = written.layout;
      row.state_hash = written.state_hash;
      row.checksum = written.checksum;
      row.bytes = written.bytes;
      row.file = job.path.substr(job.path.rfind('/') + 1);
      if (Status s = store_->publish_snapshot(row, written.epoch, options_.snapshot_keep, &dropped);
          !s.ok()) {
        failure = "cannot publish it: " + s.message();
      }
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - job.started).count();
    if (failure.empty()) {
      counters_.snapshots_written.fetch_add(1);
      counters_.snapshot_seq = written.events_seq;
      counters_.snapshot_write_seconds = seconds;
      counters_.snapshot_unix_time = static_cast<std::int64_t>(time(nullptr));
      spdlog::info(
          "event=snapshot_written file=\"{}\" events_seq={} bytes={} fork_ms={:.1f} "
          "seconds={:.3f}",
          job.path, written.events_seq, written.bytes,
          counters_.snapshot_fork_seconds.load() * 1'000, seconds);
      std::vector<snapshot_sql::Row> kept;
      if (store_->snapshots(&kept).ok()) {
        std::vector<std::string> names;
        for (const snapshot_sql::Row& r : kept) names.push_back(r.file);
        remove_stale_snapshot_files(names);
      }
    } else {
      counters_.snapshots_failed.fetch_add(1);
      (void)unlink(job.path.c_str());
      (void)unlink((job.path + ".tmp").c_str());
      spdlog::warn("event=snapshot_failed file=\"{}\" seconds={:.3f} error=\"{}\"", job.path,
                   seconds, failure);
    }
    std::lock_guard lock(snapshot_mutex_);
    snapshot_job_.reset();  // only now: the clean-up above must not meet the next writer's file
  }
}

// This ledger's snapshot files in the directory that its database no longer lists (older
// ones, ones never published, a killed writer's .tmp). Only this ledgerd, the lease holder,
// writes them; another ledger's files (another prefix) are left alone.
void Pipeline::remove_stale_snapshot_files(const std::vector<std::string>& keep) {
  if (ledger_.ledger_id.empty()) return;
  const std::string prefix = snapshot_file_prefix(ledger_);
  DIR* dir = opendir(options_.snapshot_dir.c_str());
  if (dir == nullptr) return;
  std::vector<std::string> stale;
  while (const dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (!is_own_snapshot_file(name, prefix)) continue;
    bool listed = false;
    for (const std::string& k : keep) listed = listed || k == name;
    if (!listed) stale.push_back(name);
  }
  closedir(dir);
  for (const std::string& name : stale) {
    if (unlink((options_.snapshot_dir + "/" + name).c_str()) == 0) {
      spdlog::info("event=snapshot_removed file=\"{}\"", name);
    }
  }
}

}  // namespace ledger::pipeline
