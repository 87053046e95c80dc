-- The rest of what a pacs.003 says about a collection, echoed in the pacs.002 and pacs.004
-- ledgerd writes (OrgnlTxId, and OrgnlTxRef's Dbtr, DbtrAgt, CdtrAgt and CdtrAcct), and a
-- mandate amendment when the collection carried one. NULL: not given (a JSON collection).
ALTER TABLE direct_debits ADD COLUMN transaction_id text;
ALTER TABLE direct_debits ADD COLUMN debtor_name text;
ALTER TABLE direct_debits ADD COLUMN debtor_agent_bic text;
ALTER TABLE direct_debits ADD COLUMN creditor_agent_bic text;
ALTER TABLE direct_debits ADD COLUMN creditor_iban text;

-- The files ledgerd wrote for the clearing system (GET /v1/direct-debits/returns|rejects): each
-- has a MsgId of its own and holds the changes no earlier file held, so fetching a day twice
-- never sends a return or a reject twice under two MsgIds.
CREATE TABLE direct_debit_files (
  message_id text PRIMARY KEY,
  kind smallint NOT NULL,                -- 0 pacs.004 returns, 1 pacs.002 rejects
  day date NOT NULL,                     -- the UTC day of the changes it holds
  created_at timestamptz NOT NULL DEFAULT now(),
  document text NOT NULL
);
CREATE INDEX direct_debit_files_by_day ON direct_debit_files (kind, day, created_at);
CREATE TABLE direct_debit_file_items (
  change_ts bigint NOT NULL,             -- direct_debit_events.ts of the change it reports
  kind smallint NOT NULL,
  message_id text NOT NULL REFERENCES direct_debit_files (message_id),
  PRIMARY KEY (change_ts, kind)
);

-- direct_debit_rules.kind 3: a blocked mandate of one creditor (creditor_id and
-- mandate_reference), beside 1, a mandate reference blocked whoever the creditor.

-- The payer's limits (Regulation (EU) 260/2012 art. 5(3)(d)): kind 4, a creditor allowed to
-- collect (a whitelist: with any, only those); kind 5, a limit for one creditor (creditor_id)
-- or for all (creditor_id ''): an amount per collection and a number per calendar month.
ALTER TABLE direct_debit_rules ADD COLUMN max_amount bigint NOT NULL DEFAULT 0;
ALTER TABLE direct_debit_rules ADD COLUMN max_per_month integer NOT NULL DEFAULT 0;
-- kind 6: the account holder has died (every collection refused MD07).

-- Fenced like the rest of the back office (migrations 0017, 0019): a deposed or paused ledgerd
-- cannot file a day's returns or rejects.
CREATE TRIGGER direct_debit_files_fenced BEFORE INSERT OR UPDATE OR DELETE ON direct_debit_files
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_fence_backoffice();
CREATE TRIGGER direct_debit_file_items_fenced BEFORE INSERT OR UPDATE OR DELETE
  ON direct_debit_file_items FOR EACH STATEMENT EXECUTE FUNCTION ledger_fence_backoffice();
