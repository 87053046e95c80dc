-- One row naming this ledger database, so an operator can tell which database a ledgerd
-- is attached to (ledgerd logs instance_id at start).
CREATE TABLE ledger_instance (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  instance_id uuid NOT NULL DEFAULT gen_random_uuid(),
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO ledger_instance DEFAULT VALUES;
