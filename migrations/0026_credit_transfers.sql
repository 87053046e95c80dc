-- SEPA credit transfers, out and in, regular (SCT) and instant (SCT Inst)
-- (docs/credit-transfers.md). The money is in the journal: each step is one engine transfer
-- (codes credit_transfer, credit_transfer_instant, credit_transfer_reject,
-- credit_transfer_return, credit_transfer_in) carrying the credit transfer's id in its
-- references. This table keeps what the clearing system and the customer said about it: the
-- parties, the remittance, the references of the messages it travelled in, its status and the
-- reason of a refusal, rejection or return, the payee check and a recall.
CREATE TABLE credit_transfers (
  id uuid PRIMARY KEY,
  direction text NOT NULL CHECK (direction IN ('out', 'in')),
  instant boolean NOT NULL,
  account_id uuid,                          -- NULL: an incoming one for an unknown IBAN
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL,
  creditor_name text NOT NULL,
  creditor_iban text NOT NULL,
  creditor_bic text NOT NULL DEFAULT '',
  debtor_name text NOT NULL DEFAULT '',
  debtor_iban text NOT NULL DEFAULT '',
  debtor_bic text NOT NULL DEFAULT '',
  remittance text NOT NULL DEFAULT '',
  end_to_end_id text NOT NULL,
  transaction_id text NOT NULL DEFAULT '',
  -- What makes it the same transfer again: out, the account and the end-to-end id (a client's
  -- retry with another id is a duplicate); in, the instructing bank and its transaction id.
  dedup_key text NOT NULL,
  execution_date date NOT NULL,
  status text NOT NULL,
  reason text NOT NULL DEFAULT '',
  payee_check text NOT NULL DEFAULT '',
  payee_matched_name text NOT NULL DEFAULT '',
  message_id text NOT NULL DEFAULT '',      -- the pacs.008 it left or arrived in
  request_digest text NOT NULL DEFAULT '',  -- the fields a retry under the same id must repeat
  recall_status text NOT NULL DEFAULT '',
  recall_id text NOT NULL DEFAULT '',
  recall_reason text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX credit_transfers_dedup ON credit_transfers (direction, dedup_key);
CREATE INDEX credit_transfers_by_account ON credit_transfers (account_id, created_at, id);
CREATE INDEX credit_transfers_to_file ON credit_transfers (status, execution_date)
  WHERE status IN ('accepted', 'return_due', 'recall_refused_due', 'recall_returned_due');

-- The files ledgerd cut for the clearing house (pacs.008 out, with pacs.004 returns and camt.029
-- answers beside it) and the files it imported (pacs.002, pacs.004, pacs.008, camt.056), each
-- once by MsgId: importing a file twice changes nothing.
CREATE TABLE credit_transfer_files (
  message_id text NOT NULL,
  kind text NOT NULL,                       -- 'pacs.008', 'pacs.004', 'camt.029' out; 'in:<message>'
  day date NOT NULL,
  item_count integer NOT NULL,
  document text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, message_id)
);
CREATE INDEX credit_transfer_files_by_day ON credit_transfer_files (day, created_at);

-- Fenced like the back office (migration 0017) for changes and files. A new row is not fenced:
-- the lease's shared row lock is the costliest part of an incoming instant payment (about a
-- fifth of PostgreSQL's time, and its latency tail), and a row a deposed ledgerd inserts cannot
-- move money or answer anyone: every step after it is an engine transfer, journaled under the
-- lease, and the new active finds the row by its id or key and completes it.
CREATE TRIGGER credit_transfers_fenced BEFORE UPDATE OR DELETE ON credit_transfers
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_fence_backoffice();
CREATE TRIGGER credit_transfer_files_fenced BEFORE INSERT OR UPDATE OR DELETE
  ON credit_transfer_files FOR EACH STATEMENT EXECUTE FUNCTION ledger_fence_backoffice();
