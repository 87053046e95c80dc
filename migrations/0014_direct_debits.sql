-- Incoming SEPA direct debits (POST /v1/direct-debits, docs/direct_debits.md).
--
-- direct_debits: what the clearing system sent, written by the REST edge when the collection
-- arrives, before the engine decides it. The first collection with a (creditor, end-to-end
-- id, due date) owns that key; a later one with the same key is kept as a duplicate (refused
-- AM05) outside the unique index.
CREATE TABLE direct_debits (
  id uuid PRIMARY KEY,
  creditor_id text NOT NULL,
  end_to_end_id text NOT NULL,
  due_date date NOT NULL,
  mandate_reference text NOT NULL,
  mandate_signed date,
  creditor_name text NOT NULL,
  scheme smallint NOT NULL,              -- 0 core, 1 b2b
  sequence_type smallint NOT NULL,       -- 0 FRST, 1 RCUR, 2 OOFF, 3 FNAL
  amount bigint NOT NULL,                -- EUR minor units
  debtor_iban text,
  account_id uuid,
  message_id text,                       -- the pacs.003 group header's MsgId, when imported
  duplicate boolean NOT NULL DEFAULT false,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX direct_debits_key ON direct_debits (creditor_id, end_to_end_id, due_date)
  WHERE NOT duplicate;
CREATE INDEX direct_debits_by_account ON direct_debits (account_id, received_at);

-- direct_debit_events: every change the engine made to a collection, journaled in the
-- transaction of the batch that made it (beside its postings in transfers). The latest row of
-- a collection is its state; recovery reads those rows after the transfers.
CREATE TABLE direct_debit_events (
  ts bigint PRIMARY KEY,                 -- logical time of the change
  direct_debit_id uuid NOT NULL,
  account_id uuid,                       -- NULL: unknown debtor (refused AC01)
  amount bigint NOT NULL,
  currency integer NOT NULL,
  due_day integer NOT NULL,              -- days since 1970-01-01
  settle_at bigint NOT NULL,             -- ns since the epoch
  wait_window bigint NOT NULL,           -- ns
  latest_deadline bigint NOT NULL,       -- ns
  wait_deadline bigint NOT NULL,         -- ns; 0 until it waits
  paid_at bigint NOT NULL,               -- ns; 0 until paid
  missing bigint NOT NULL,               -- minor units the balance lacked (at risk, waiting)
  scheme smallint NOT NULL,
  sequence_type smallint NOT NULL,
  status smallint NOT NULL,              -- 0 received, 1 refused, 2 waiting_for_funds, 3 paid,
                                         -- 4 returned, 5 refunded
  change smallint NOT NULL,              -- the event: received, refused, at_risk, ...
  reason smallint NOT NULL,              -- include/ledger/sepa.h Reason (0: none)
  at_risk_checked boolean NOT NULL,
  late boolean NOT NULL,
  created_ts bigint NOT NULL
);
CREATE INDEX direct_debit_events_by_debit ON direct_debit_events (direct_debit_id, ts);
CREATE INDEX direct_debit_events_by_account ON direct_debit_events (account_id, created_ts);

-- A customer's mandate rules (GET/PUT /v1/accounts/{id}/direct-debit-rules): blocked creditors
-- and mandates (core collections refused MS02), registered b2b mandates (others refused MD01).
CREATE TABLE direct_debit_rules (
  account_id uuid NOT NULL,
  kind smallint NOT NULL,                -- 0 blocked creditor, 1 blocked mandate, 2 b2b mandate
  creditor_id text NOT NULL DEFAULT '',
  mandate_reference text NOT NULL DEFAULT '',
  PRIMARY KEY (account_id, kind, creditor_id, mandate_reference)
);

-- IBANs of accounts (ISO 13616), given at creation or generated from the configured bank code.
CREATE TABLE account_ibans (
  iban text PRIMARY KEY,
  account_id uuid NOT NULL UNIQUE
);
