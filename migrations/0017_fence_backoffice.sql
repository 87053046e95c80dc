-- Back-office writes fenced by the ledger lease too (docs/operations.md, "Leadership and
-- fencing"). The journal's transactions call ledger_fence themselves; the back office writes
-- API keys, webhook subscriptions and deliveries, and spike rules through other connections.
-- A ledgerd that holds the lease sets ledger.epoch on each of its connections, and these
-- triggers check it before every statement that writes: a deposed or paused ledgerd's write
-- fails with SQLSTATE LF001. Connections without the setting (`ledgerd keys create`, `ledgerd
-- migrate`, an operator's psql) are not fenced. The audit log is not fenced: it records what
-- a ledgerd did, and a fenced write fails before anything is done.
CREATE FUNCTION ledger_fence_backoffice() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  held text := current_setting('ledger.epoch', true);
BEGIN
  IF held IS NOT NULL AND held <> '' AND held <> '0' THEN
    PERFORM ledger_fence(held::bigint);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER api_keys_fenced BEFORE INSERT OR UPDATE OR DELETE ON api_keys
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_fence_backoffice();
CREATE TRIGGER webhook_subscriptions_fenced BEFORE INSERT OR UPDATE OR DELETE
  ON webhook_subscriptions FOR EACH STATEMENT EXECUTE FUNCTION ledger_fence_backoffice();
CREATE TRIGGER webhook_deliveries_fenced BEFORE INSERT OR UPDATE OR DELETE ON webhook_deliveries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_fence_backoffice();
CREATE TRIGGER spike_rules_fenced BEFORE INSERT OR UPDATE OR DELETE ON spike_rules
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_fence_backoffice();
