-- Who did what and when: every back-office mutation over the REST API (whatever its outcome)
-- and every API key creation. Append-only; read with GET /v1/audit (admin scope).
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,              -- "key:<api key id>" or "cli:<operating-system user>"
  actor_name text NOT NULL,         -- the key's name, or the operating-system user
  action text NOT NULL,             -- "POST /v1/transfers/{id}/post" (route), "key.create"
  target text NOT NULL,             -- the request path without its query, or the key's id
  status integer NOT NULL,          -- HTTP status of the answer; 0 for the command line
  detail text NOT NULL DEFAULT ''   -- Idempotency-Key, or the new key's name and scope
);
CREATE INDEX audit_log_by_actor ON audit_log (actor, id);
