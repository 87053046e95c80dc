-- Payment cards. The PAN is never stored: only its keyed hash (HMAC-SHA256 with the secret in
-- LEDGER_PAN_SECRET), its BIN and its last four digits. card_events is append-only (every
-- creation or change as a full snapshot); cards holds the current state.
CREATE TABLE card_events (
  ts bigint PRIMARY KEY,
  card_id uuid NOT NULL,
  account_id uuid NOT NULL,
  pan_hash bytea NOT NULL CHECK (length(pan_hash) = 32),
  bin text NOT NULL,
  last4 text NOT NULL,
  expiry_yymm smallint NOT NULL,
  status smallint NOT NULL,              -- 0 active, 1 frozen, 2 blocked
  per_authorization_limit bigint NOT NULL,
  daily_limit bigint NOT NULL,
  monthly_limit bigint NOT NULL,
  daily_count_limit bigint NOT NULL,
  channels smallint NOT NULL,            -- bits: 1 online, 2 atm, 4 contactless, 8 abroad
  blocked_mccs text NOT NULL,            -- comma-separated merchant category codes
  created_ts bigint NOT NULL
);

CREATE TABLE cards (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL,
  pan_hash bytea NOT NULL UNIQUE,
  bin text NOT NULL,
  last4 text NOT NULL,
  expiry_yymm smallint NOT NULL,
  status smallint NOT NULL,
  per_authorization_limit bigint NOT NULL,
  daily_limit bigint NOT NULL,
  monthly_limit bigint NOT NULL,
  daily_count_limit bigint NOT NULL,
  channels smallint NOT NULL,
  blocked_mccs text NOT NULL,
  created_ts bigint NOT NULL,
  updated_ts bigint NOT NULL
);
CREATE INDEX cards_by_account ON cards (account_id);
