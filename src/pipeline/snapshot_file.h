// Engine snapshot files (docs/durability.md, "Snapshots"): the engine's state as written by
// Engine::snapshot, in one file with a checksummed header.
//
//   [0, 4096)  header: magic, format, id, events_seq, last_ts, epoch, layout, state_hash, the
//              ledger it belongs to (PostgreSQL's system identifier and the database's
//              ledger_instance id), the sections (region id, offset, bytes, checksum), XXH64 of the
//              header last
//   sections   at 4096-aligned offsets: each engine region as raw bytes, then the encoded part
//              (region id 0). A section's checksum is XXH64 over the XXH64s of its 32 MiB
//              chunks, so that reading can check chunks on several threads at once.
//
// write_snapshot_file runs in the forked child that takes the snapshot: no logging, no locks.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "ledger/status.h"

namespace ledger::pipeline {

// Which ledger a snapshot belongs to: the PostgreSQL cluster (pg_control_system()'s system
// identifier; 0 when this role may not read it) and the database (ledger_instance.instance_id).
// Two ledgers sharing a snapshot directory neither load nor delete each other's files.
struct LedgerIdentity {
  std::uint64_t system_identifier = 0;
  std::string ledger_id;  // a UUID in text; empty: unknown (no snapshot is written or loaded)
  bool operator==(const LedgerIdentity&) const = default;
};

struct SnapshotInfo {
  LedgerIdentity ledger;
  std::uint64_t id = 0;          // random; the database's row names it
  std::uint64_t events_seq = 0;  // the state holds every journal event up to this one
  std::uint64_t last_ts = 0;     // and every record up to this logical time
  std::int64_t epoch = 0;        // the lease epoch of the ledgerd that took it (0: no lease)
  std::uint64_t layout = 0;      // Engine::snapshot_layout() of that ledgerd
  std::uint64_t state_hash = 0;  // Engine::state_hash() of the state written
  std::uint64_t checksum = 0;    // XXH64 of the header (which holds every section's checksum)
  std::uint64_t bytes = 0;       // the file's size
};

// The file name of a snapshot in its directory, and the prefix of every one of that ledger's.
std::string snapshot_file_name(const LedgerIdentity& ledger, std::uint64_t events_seq,
                               std::uint64_t id);
std::string snapshot_file_prefix(const LedgerIdentity& ledger);

// Writes `path`.tmp, fsyncs it, renames it to `path` and fsyncs the directory. Fills
// info->state_hash, checksum and bytes. Returns 0, or the errno of the step that failed.
int write_snapshot_file(const std::string& path, const engine::Engine& engine,
                        const std::vector<engine::Engine::SnapshotRegion>& regions,
                        const std::string& encoded, SnapshotInfo* info);

// Reads and checks a snapshot's header (magic, format, checksum).
Status read_snapshot_header(const std::string& path, SnapshotInfo* info);

// Restores `engine` from the file, on `threads` threads, if and only if everything checks:
// the header is `expected` (ledger, id, checksum, events_seq, last_ts), the layout is this
// engine's, every section fits and matches its checksum, and the restored state hashes to the
// header's state hash. On any failure the engine is cleared and the error says which check failed.
Status restore_snapshot_file(const std::string& path, const SnapshotInfo& expected,
                             engine::Engine* engine, unsigned threads);

}  // namespace ledger::pipeline
