-- Engine snapshots (docs/durability.md, "Snapshots"). Each row names a snapshot file that
-- ledgerd wrote beside it (LEDGER_SNAPSHOT_DIR) and publishes only after the file is complete
-- and synced, in a transaction fenced by the ledger lease (ledger_fence), so a deposed ledgerd
-- never publishes one. A row is written after every journal event up to events_seq was
-- committed: a database restored from a backup, or a replica promoted without the latest
-- commits, lacks the row whenever it lacks any of those events, so a stale snapshot file is
-- never trusted. Restart restores the newest row whose file checks, then loads only the tail.
CREATE TABLE engine_snapshots (
  id bigint PRIMARY KEY,           -- random; also in the file's header
  events_seq bigint NOT NULL,      -- the state holds every event up to this seq
  last_ts bigint NOT NULL,         -- and every journal record up to this logical time
  epoch bigint NOT NULL,           -- the lease epoch of the ledgerd that took it
  layout bigint NOT NULL,          -- the engine layout and capacities it was written for
  state_hash bigint NOT NULL,
  checksum bigint NOT NULL,        -- XXH64 of the file's header (which checksums every section)
  bytes bigint NOT NULL,
  file text NOT NULL,              -- the file's name in the snapshot directory
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX engine_snapshots_by_seq ON engine_snapshots (events_seq DESC);
