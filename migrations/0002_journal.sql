-- The journal written by ledgerd's write-ahead batcher (src/journal/writer.cc). One
-- transaction per group of engine batches; ledgerd answers only after its COMMIT. Recovery
-- rebuilds the engine from `accounts` and `transfers`. Codes are documented in docs/storage.md.

-- Every account change (creation or update) as a full snapshot, append-only.
CREATE TABLE account_events (
  ts bigint PRIMARY KEY,                 -- the engine's logical timestamp (ns), unique
  account_id uuid NOT NULL,
  holder_id uuid NOT NULL,
  currency char(3) NOT NULL,
  kind smallint NOT NULL,
  flags smallint NOT NULL,
  overdraft_limit bigint NOT NULL CHECK (overdraft_limit >= 0),
  overdraft_limit_created bigint NOT NULL,
  reference bigint NOT NULL,             -- uint64 stored as its two's-complement bigint
  status smallint NOT NULL,              -- 0 active, 1 frozen, 2 closed
  created_ts bigint NOT NULL
);

-- The current settings of each account (balances are derived from transfers).
CREATE TABLE accounts (
  id uuid PRIMARY KEY,
  holder_id uuid NOT NULL,
  currency char(3) NOT NULL,
  kind smallint NOT NULL,
  flags smallint NOT NULL,
  overdraft_limit bigint NOT NULL CHECK (overdraft_limit >= 0),
  overdraft_limit_created bigint NOT NULL,
  reference bigint NOT NULL,
  status smallint NOT NULL,
  created_ts bigint NOT NULL,
  updated_ts bigint NOT NULL
);
CREATE INDEX accounts_by_holder ON accounts (holder_id, id);

-- Every transfer with its result, accepted or rejected, append-only. The primary key makes
-- PostgreSQL itself refuse a second row for the same transfer id.
CREATE TABLE transfers (
  id uuid PRIMARY KEY,
  ts bigint NOT NULL,
  debit_account_id uuid NOT NULL,        -- all zeros when the request named none
  credit_account_id uuid NOT NULL,
  pending_id uuid,                       -- post/void: the hold it resolves
  amount bigint NOT NULL,                -- as requested
  amount_effective bigint NOT NULL,      -- what moved (posted or released); 0 if rejected
  currency char(3),                      -- NULL when the request named none
  flags smallint NOT NULL,
  code smallint NOT NULL,
  result smallint NOT NULL,              -- 0 ok; see include/ledger/results.h
  timeout_s bigint NOT NULL,
  reference_a bigint NOT NULL,
  reference_b bigint NOT NULL,
  reference_32 bigint NOT NULL
);
CREATE UNIQUE INDEX transfers_by_ts ON transfers (ts);
-- History by account and time (accepted transfers only).
CREATE INDEX transfers_by_debit_account ON transfers (debit_account_id, ts) WHERE result = 0;
CREATE INDEX transfers_by_credit_account ON transfers (credit_account_id, ts) WHERE result = 0;
