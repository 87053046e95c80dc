-- Leadership of the ledger (docs/operations.md, "Leadership and fencing"). One row: the
-- ledgerd that holds the lease is the only one that may journal. Taking the lease raises the
-- epoch; renewing it moves expires_at; both use PostgreSQL's clock, so the ledgerd machines'
-- clocks do not matter.
CREATE TABLE ledger_lease (
  id smallint PRIMARY KEY CHECK (id = 1),
  epoch bigint NOT NULL,                  -- raised by every takeover; 0: never taken
  holder text NOT NULL,                   -- host:pid of the ledgerd that holds it
  acquired_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL         -- the holder renews well before this
);
INSERT INTO ledger_lease (id, epoch, holder, acquired_at, expires_at)
VALUES (1, 0, '', now(), '-infinity');

-- Every journal transaction calls this first, with the epoch its ledgerd took. It keeps the
-- lease row locked (FOR SHARE) until that transaction ends, so a takeover (an UPDATE of the
-- row) waits for a journal transaction in flight, and any later one of the old holder finds
-- the new epoch and fails with SQLSTATE LF001: a deposed or paused ledgerd never commits again.
CREATE FUNCTION ledger_fence(held bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM ledger_lease WHERE id = 1 AND epoch = held FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the ledger lease was taken over (this ledgerd held epoch %)', held
      USING ERRCODE = 'LF001';
  END IF;
END
$$;
