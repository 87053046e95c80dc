-- Balance monitors (POST /v1/balance-monitors): every change of a monitor as the engine
-- journaled it, in the transaction of the batch that made it: its creation, each crossing of
-- its threshold (the events balance_monitor.triggered / .resolved) and its deletion. The
-- latest row of a monitor is its state; recovery reads those rows after the transfers.
CREATE TABLE monitor_events (
  ts bigint PRIMARY KEY,                 -- logical time of the change
  monitor_id uuid NOT NULL,
  account_id uuid NOT NULL,
  field smallint NOT NULL,               -- 0 available, 1 posted, 2 pending
  op smallint NOT NULL,                  -- 0 <, 1 <=, 2 >, 3 >=
  threshold bigint NOT NULL,             -- minor units
  currency integer NOT NULL,             -- ISO 4217 numeric code of the account's currency
  value numeric(40, 0) NOT NULL,         -- the balance when the change was made
  change smallint NOT NULL,              -- 0 created, 1 triggered, 2 resolved, 3 deleted
  triggered boolean NOT NULL,
  deleted boolean NOT NULL,
  created_ts bigint NOT NULL
);
CREATE INDEX monitor_events_by_monitor ON monitor_events (monitor_id, ts);
CREATE INDEX monitor_events_by_account ON monitor_events (account_id, ts);
