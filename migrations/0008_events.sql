-- The event feed (GET /v1/events, webhook and Slack delivery): one row per journal record, in
-- commit order. `seq` is gap-free and strictly increasing: the journal writer assigns it in the
-- transaction that writes the record, so an event exists if and only if its change committed.
-- The record itself is found by `ts` in transfers, account_events or card_events (by `type`).
CREATE TABLE events (
  seq bigint PRIMARY KEY CHECK (seq > 0),
  ts bigint NOT NULL,
  type smallint NOT NULL,          -- include/ledger/events.h (docs/events.md)
  account_a uuid NOT NULL,         -- the account concerned (transfers: the debit account)
  account_b uuid                   -- transfers: the credit account
);

-- Records journaled before this migration become events too, in timestamp order (the order
-- they committed in). Types as event_type_of() gives them.
INSERT INTO events (seq, ts, type, account_a, account_b)
SELECT row_number() OVER (ORDER BY ts), ts, type, account_a, account_b FROM (
  SELECT ts, CASE WHEN ts = created_ts THEN 11 ELSE 12 END AS type, account_id AS account_a,
         NULL::uuid AS account_b
    FROM account_events
  UNION ALL
  SELECT ts, CASE WHEN ts = created_ts THEN 13 ELSE 14 END, account_id, NULL::uuid FROM card_events
  UNION ALL
  SELECT ts,
         CASE
           WHEN code IN (1, 3, 5) THEN CASE WHEN result = 0 THEN 7 ELSE 8 END
           WHEN code = 2 THEN 9
           WHEN code = 4 THEN 10
           WHEN result <> 0 THEN 6
           WHEN flags & 2 <> 0 THEN 2
           WHEN flags & 4 <> 0 THEN 3
           WHEN flags & 8 <> 0 THEN CASE WHEN code = 9 THEN 5 ELSE 4 END
           ELSE 1
         END,
         debit_account_id, credit_account_id
    FROM transfers
) AS records;
