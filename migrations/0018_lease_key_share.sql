-- No stalled holder can block a takeover, and renewals never wait behind the journal
-- (docs/operations.md, "Leadership and fencing"; docs/durability.md, "Stalls and takeovers").
--
-- The epoch becomes a key column (a unique index), so that the two kinds of UPDATE of the
-- lease row take different row locks: a takeover changes the epoch and takes FOR UPDATE, which
-- waits for every transaction that passed the fence; a renewal or a release changes only
-- expires_at and takes FOR NO KEY UPDATE, which does not conflict with the fence's FOR KEY
-- SHARE. Before this, the fence held the row FOR SHARE, and a renewal queued behind every
-- journal transaction in flight: an fsync or replica stall longer than the lease deposed a
-- healthy active.
CREATE UNIQUE INDEX ledger_lease_epoch ON ledger_lease (epoch);

-- The fence now also bounds how long its transaction may then wait for its client: a ledgerd
-- stopped (SIGSTOP, a frozen VM) or cut off between two statements of a fenced transaction
-- would otherwise keep the row locked and block the takeover for as long as it stays stopped.
-- PostgreSQL ends such a session itself after ledger.fence_idle_ms (which each ledgerd sets on
-- its connections; 1000 when unset). That timer runs only while the session waits for its
-- client's next statement, and it is not acted on inside a COMMIT's wait for the synchronous
-- replica (a cancel or pg_terminate_backend there leaves a commit on the primary that the
-- replica may not have). The journal fences last, after its COPYs, so it never waits for its
-- client while holding the row.
CREATE OR REPLACE FUNCTION ledger_fence(held bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  idle text := coalesce(nullif(current_setting('ledger.fence_idle_ms', true), ''), '1000');
BEGIN
  PERFORM 1 FROM ledger_lease WHERE id = 1 AND epoch = held FOR KEY SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the ledger lease was taken over (this ledgerd held epoch %)', held
      USING ERRCODE = 'LF001';
  END IF;
  PERFORM set_config('idle_in_transaction_session_timeout', idle, true);
END
$$;
