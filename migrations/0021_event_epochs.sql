-- The lease epoch of the ledgerd that committed each event (0: written without a lease). The
-- fault harness (tests/chaos, docs/chaos.md) checks from it that no deposed holder committed
-- after its successor's first commit: epochs never decrease along seq, and every commit of an
-- epoch precedes (by PostgreSQL's commit timestamp) every commit of a later one.
ALTER TABLE events ADD COLUMN epoch bigint NOT NULL DEFAULT 0;
