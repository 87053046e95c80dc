#include "journal/api_keys.h"

namespace ledger {
namespace {

constexpr const char* record_columns =
    "id::text, name, scope, prefix, to_char(created_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), coalesce(to_char(expires_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), coalesce(to_char(revoked_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')";

ApiKeyRecord record_at(const PGresult* rows, int r) {
  const auto v = [&](int c) { return std::string(PQgetvalue(rows, r, c)); };
  return ApiKeyRecord{v(0), v(1), v(2), v(3), v(4), v(5), v(6)};
}

}  // namespace

Status store_api_key(PGconn* conn, const NewApiKey& key, ApiKeyRecord* out) {
  const std::string sql =
      std::string(
          "WITH k AS (INSERT INTO api_keys (name, scope, key_hash, prefix, expires_at) "
          "VALUES ($1, $2, $3, $4, CASE WHEN $5::int > 0 THEN now() + make_interval(days "
          "=> $5::int) END) RETURNING *), a AS (INSERT INTO audit_log (actor, actor_name, "
          "action, target, status, detail, resource, resource_id) SELECT $6, $7, "
          "'key.create', k.id::text, 0, 'name=' || k.name || ' scope=' || k.scope || "
          "' prefix=' || k.prefix, '/v1/keys/' || k.id::text, k.id::text FROM k) "
          "SELECT ") +
      record_columns + " FROM k";
  pg::Result rows;
  if (Status s = pg::exec_params(conn, sql,
                                 {key.name, key.scope, key.key_hash, key.prefix,
                                  std::to_string(key.expires_in_days), key.actor, key.actor_name},
                                 &rows);
      !s.ok()) {
    return s;
  }
  if (PQntuples(rows.get()) != 1) return Status::error("the key was not stored");
  *out = record_at(rows.get(), 0);
  return Status();
}

Status list_api_keys(PGconn* conn, std::vector<ApiKeyRecord>* out) {
  pg::Result rows;
  if (Status s = pg::exec_params(
          conn, std::string("SELECT ") + record_columns + " FROM api_keys ORDER BY created_at, id",
          {}, &rows);
      !s.ok()) {
    return s;
  }
  for (int r = 0; r < PQntuples(rows.get()); ++r) out->push_back(record_at(rows.get(), r));
  return Status();
}

Status revoke_api_key(PGconn* conn, const std::string& id, const std::string& actor,
                      const std::string& actor_name, std::optional<ApiKeyRecord>* out) {
  const std::string sql =
      std::string(
          "WITH k AS (UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
          "WHERE id = $1::uuid RETURNING *), a AS (INSERT INTO audit_log (actor, "
          "actor_name, action, target, status, detail, resource, resource_id) SELECT $2, $3, "
          "'key.revoke', k.id::text, 0, 'name=' || k.name || ' prefix=' || k.prefix, "
          "'/v1/keys/' || k.id::text, k.id::text FROM k) SELECT ") +
      record_columns + " FROM k";
  pg::Result rows;
  if (Status s = pg::exec_params(conn, sql, {id, actor, actor_name}, &rows); !s.ok()) return s;
  *out = PQntuples(rows.get()) == 1 ? std::optional(record_at(rows.get(), 0)) : std::nullopt;
  return Status();
}

}  // namespace ledger
