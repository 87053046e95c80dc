-- API keys for the REST API. Only the SHA-256 of a key is stored; the key itself is shown
-- once by `ledgerd keys create`. Scopes nest: admin > backoffice > read.
CREATE TABLE api_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  scope text NOT NULL CHECK (scope IN ('admin', 'backoffice', 'read')),
  key_hash text NOT NULL UNIQUE,
  prefix text NOT NULL,  -- "ldg_" and the first 8 hex digits, to recognise a key in listings
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz
);
