-- When the network's answer to an authorization was due (the edge's wall clock, ns since the
-- epoch; 0: no deadline), beside its card message. With PostgreSQL's commit timestamps
-- (track_commit_timestamp = on) whoever holds the ledger lease finds approvals that committed
-- after their answer was due (the network was told 91) and reverses them, from the journal
-- alone (src/journal/late_approvals.h, docs/durability.md "Late approvals").
ALTER TABLE card_messages ADD COLUMN answer_by bigint NOT NULL DEFAULT 0;
