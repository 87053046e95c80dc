-- Which resource a back-office write created or changed, so that "who created account X?" is
-- one query: resource is the resource's path ("/v1/accounts/<id>"), resource_id its id. Empty
-- when the request named none (a refused creation, a test-clock move). Never a PAN or a secret:
-- both come from the path or the answer's "id" only.
ALTER TABLE audit_log ADD COLUMN resource text NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN resource_id text NOT NULL DEFAULT '';
CREATE INDEX audit_log_by_resource_id ON audit_log (resource_id, id) WHERE resource_id <> '';
-- The key commands write their rows in SQL: name the key there too.
UPDATE audit_log SET resource = '/v1/keys/' || target, resource_id = target
  WHERE action IN ('key.create', 'key.revoke');
