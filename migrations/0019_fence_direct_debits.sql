-- Fencing complete (docs/operations.md, "Leadership and fencing"): the direct-debit tables
-- ledgerd writes outside the journal (a collection's references, mandate rules, account IBANs)
-- are checked against the ledger lease like the rest of the back office (migration 0017), so a
-- deposed or paused ledgerd cannot write them either. tests/lease_test.cc lists every table
-- and fails on one that is written and neither journaled, fenced nor named as unfenced.
CREATE TRIGGER direct_debits_fenced BEFORE INSERT OR UPDATE OR DELETE ON direct_debits
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_fence_backoffice();
CREATE TRIGGER direct_debit_rules_fenced BEFORE INSERT OR UPDATE OR DELETE ON direct_debit_rules
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_fence_backoffice();
CREATE TRIGGER account_ibans_fenced BEFORE INSERT OR UPDATE OR DELETE ON account_ibans
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_fence_backoffice();
