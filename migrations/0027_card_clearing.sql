-- Card clearing files, the scheme's settlement and disputes (docs/card-clearing.md). The money
-- is in the journal: each clearing record is one engine command whose postings carry the
-- card's id (codes card_clearing, card_force_post, card_clearing_refund,
-- card_clearing_reversal), and each step of a dispute one engine transfer carrying the
-- dispute's id (codes dispute_*). These tables keep what the files and the cardholder said.

-- Files imported from the scheme (direction 'in') and cut for it (direction 'out', the
-- chargebacks), each once by its file id: importing a file twice changes nothing.
CREATE TABLE card_clearing_files (
  direction text NOT NULL CHECK (direction IN ('in', 'out')),
  file_id text NOT NULL,
  processing_date date,
  status text NOT NULL,                   -- in: importing, imported; out: cut
  record_count integer NOT NULL DEFAULT 0,
  report jsonb NOT NULL DEFAULT '{}',     -- in: the import's answer with its reconciliation
  document bytea,                         -- out: the file as cut
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (direction, file_id)
);
CREATE INDEX card_clearing_files_by_date ON card_clearing_files (created_at);

-- Every record of an imported file: what it said (never the card number: the card's id), what
-- ledgerd made of it (the authorization it matched, the posting, or why it was set aside).
CREATE TABLE card_clearing_records (
  file_id text NOT NULL,
  record_index integer NOT NULL,
  kind text NOT NULL,
  function_code integer NOT NULL,
  status text NOT NULL,                   -- posted, set_aside, repeat
  reason text NOT NULL DEFAULT '',
  transfer_id uuid,                       -- the posting (the record's id)
  authorization_id uuid,                  -- the authorization it cleared
  card_id uuid,
  account_id uuid,
  match text NOT NULL DEFAULT '',         -- life_cycle, approval_code, none
  outcome text NOT NULL DEFAULT '',
  acquirer_reference text NOT NULL DEFAULT '',
  approval_code text NOT NULL DEFAULT '',
  life_cycle text NOT NULL DEFAULT '',
  amount bigint NOT NULL DEFAULT 0,       -- DE4 in DE49
  currency text NOT NULL DEFAULT '',
  billing_amount bigint NOT NULL DEFAULT 0,
  billing_currency text NOT NULL DEFAULT '',
  billing_rate text NOT NULL DEFAULT '',
  reconciliation_amount bigint NOT NULL DEFAULT 0,
  reconciliation_currency text NOT NULL DEFAULT '',
  posted_amount bigint NOT NULL DEFAULT 0,
  authorized_amount bigint NOT NULL DEFAULT 0,
  credit boolean NOT NULL DEFAULT false,
  scheme text NOT NULL DEFAULT '',
  mcc text NOT NULL DEFAULT '',
  merchant_name text NOT NULL DEFAULT '',
  merchant_city text NOT NULL DEFAULT '',
  merchant_country text NOT NULL DEFAULT '',
  transaction_time text NOT NULL DEFAULT '',
  processing_date text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (file_id, record_index)
);
CREATE INDEX card_clearing_records_by_authorization ON card_clearing_records (authorization_id);
CREATE INDEX card_clearing_records_by_transfer ON card_clearing_records (transfer_id);
CREATE INDEX card_clearing_records_by_reference ON card_clearing_records (acquirer_reference);
CREATE INDEX card_clearing_records_by_card ON card_clearing_records (card_id, created_at);

-- Disputes: a cardholder's claim on a cleared card transaction, charged back to the acquirer.
CREATE TABLE disputes (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL,
  card_id uuid,
  transfer_id uuid NOT NULL,              -- the disputed posting (a clearing record's)
  authorization_id uuid,
  acquirer_reference text NOT NULL,
  reason text NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL,
  provisional_credit boolean NOT NULL,
  status text NOT NULL,                   -- opened, charged_back, won, lost, expired
  chargeback_deadline timestamptz NOT NULL,
  representment_deadline timestamptz,
  representment_amount bigint NOT NULL DEFAULT 0,
  chargeback_file text NOT NULL DEFAULT '',
  request_digest text NOT NULL DEFAULT '',
  history jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX disputes_one_open_per_posting ON disputes (transfer_id)
  WHERE status IN ('opened', 'charged_back');
CREATE INDEX disputes_by_account ON disputes (account_id, created_at);
CREATE INDEX disputes_by_reference ON disputes (acquirer_reference);

CREATE TRIGGER card_clearing_files_fenced BEFORE INSERT OR UPDATE OR DELETE
  ON card_clearing_files FOR EACH STATEMENT EXECUTE FUNCTION ledger_fence_backoffice();
CREATE TRIGGER card_clearing_records_fenced BEFORE INSERT OR UPDATE OR DELETE
  ON card_clearing_records FOR EACH STATEMENT EXECUTE FUNCTION ledger_fence_backoffice();
CREATE TRIGGER disputes_fenced BEFORE INSERT OR UPDATE OR DELETE
  ON disputes FOR EACH STATEMENT EXECUTE FUNCTION ledger_fence_backoffice();

-- Event types past 31 (card.cleared and after): a subscription's set of types is a 64-bit mask.
-- Stored as a signed 32-bit integer until now, a set with bit 31 (credit_transfer.received) was
-- negative: it keeps its bits.
ALTER TABLE webhook_subscriptions ALTER COLUMN event_types TYPE bigint
  USING (CASE WHEN event_types < 0 THEN event_types::bigint + 4294967296 ELSE event_types END);
