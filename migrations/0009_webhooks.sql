-- Webhook and Slack subscriptions to the event feed, and their deliveries (docs/events.md).
-- Destination URLs and signing secrets are credentials: stored sealed (AES-256-GCM under
-- LEDGER_WEBHOOK_KEY: 12-byte nonce, ciphertext, 16-byte tag), never in clear.
CREATE TABLE webhook_subscriptions (
  id uuid PRIMARY KEY,
  kind smallint NOT NULL,                  -- 0 webhook, 1 slack
  url_sealed bytea NOT NULL,
  url_hint text NOT NULL,                  -- scheme and host only, for display
  secret_sealed bytea NOT NULL,            -- "whsec_..." (Standard Webhooks)
  previous_secret_sealed bytea,            -- after a rotation, still signing until:
  previous_secret_until timestamptz,
  event_types integer NOT NULL,            -- bit (1 << type); 0: every type
  filter jsonb NOT NULL,
  status smallint NOT NULL DEFAULT 0,      -- 0 active, 1 disabled
  disabled_reason text,
  after_seq bigint NOT NULL,               -- events up to this seq have been matched
  replay_from bigint,                      -- POST .../replay: events still to match again,
  replay_to bigint,                        --   from..to (NULL: no replay under way)
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz                   -- deleted subscriptions keep their deliveries
);

-- One row per (subscription, matching event): the dispatcher's persisted progress. A row is
-- written before its first attempt, so a crash between COMMIT and delivery delivers later.
CREATE TABLE webhook_deliveries (
  subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id),
  seq bigint NOT NULL,
  status smallint NOT NULL DEFAULT 0,      -- 0 pending, 1 delivered, 2 failed (gave up), 3 dropped
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_attempt_at timestamptz,
  last_status integer,                     -- HTTP status of the last attempt (NULL: none)
  last_error text,
  delivered_at timestamptz,
  PRIMARY KEY (subscription_id, seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 0;
