-- The balances an event's accounts had right after its change, as the engine saw them (on the
-- account's normal side): a for the debit account (or the account a direct debit concerns), b
-- for the credit account. NULL for events without money, for events journaled before this
-- migration, and for a balance beyond 64 bits. The feed shows them as data.balances_after.
ALTER TABLE events ADD COLUMN a_posted_after bigint;
ALTER TABLE events ADD COLUMN a_available_after bigint;
ALTER TABLE events ADD COLUMN b_posted_after bigint;
ALTER TABLE events ADD COLUMN b_available_after bigint;
