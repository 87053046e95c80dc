-- Spending spike rules (POST /v1/spike-rules) and the spikes found (the event spending.spike).
-- Rules are configuration, written by the REST API; the spike watcher reads them. A spike is
-- journaled through the engine (like every event), in the transaction of its batch.
CREATE TABLE spike_rules (
  id uuid PRIMARY KEY,
  scope smallint NOT NULL,               -- 0 card, 1 account, 2 holder
  scope_id uuid,                         -- NULL: every card / account / holder
  direction smallint NOT NULL,           -- 0 out (spending), 1 in (sales)
  window_s integer NOT NULL CHECK (window_s > 0),
  amount_at_least bigint NOT NULL CHECK (amount_at_least >= 0),
  currency integer NOT NULL,             -- ISO 4217 numeric
  times_usual_x100 integer NOT NULL,     -- the factor in hundredths; 0: not asked
  cooldown_s integer NOT NULL CHECK (cooldown_s >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

CREATE TABLE spike_events (
  ts bigint PRIMARY KEY,                 -- logical time given by the engine
  rule_id uuid NOT NULL,
  scope smallint NOT NULL,
  key_id uuid NOT NULL,                  -- the card, account or holder
  account_id uuid NOT NULL,              -- the account of the transfer that completed it
  direction smallint NOT NULL,
  window_s integer NOT NULL,
  window_start bigint NOT NULL,
  window_sum bigint NOT NULL,
  transfers integer NOT NULL,
  amount_at_least bigint NOT NULL,
  times_usual_x100 integer NOT NULL,
  usual numeric(40, 0),                  -- NULL when the rule does not compare with usual
  currency integer NOT NULL
);
CREATE INDEX spike_events_by_rule_key ON spike_events (rule_id, key_id, ts);
