#include "keys.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "logging.h"
#include "pg.h"
#include "serve.h"

namespace ledger::app {

int run_keys_create(const Config& config) {
  const auto scope = http::parse_scope(config.key_scope);
  if (!scope) {
    print_error("--scopes must be admin, backoffice or read");
    return exit_usage;
  }
  if (config.key_name.empty() || config.key_name.size() > 200) {
    print_error("--name must be 1 to 200 characters");
    return exit_usage;
  }
  pg::Conn conn;
  if (int code = prepare_database(config, &conn); code != exit_ok) return code;
  const std::string key = http::generate_key();
  std::vector<std::string> params = {config.key_name, std::string(http::scope_name(*scope)),
                                     http::sha256_hex(key), http::key_prefix(key)};
  // The key and its audit entry in one statement (one transaction): who created which key.
  const char* user = std::getenv("USER");
  params.push_back(user != nullptr && *user != '\0' ? user : "uid " + std::to_string(getuid()));
  std::string sql =
      "WITH k AS (INSERT INTO api_keys (name, scope, key_hash, prefix, expires_at) VALUES ($1, "
      "$2, $3, $4, ";
  if (config.key_expires_days > 0) {
    sql += "now() + make_interval(days => $6::int))";
    params.push_back(std::to_string(config.key_expires_days));
  } else {
    sql += "NULL)";
  }
  sql +=
      " RETURNING id, name, scope, prefix), a AS (INSERT INTO audit_log (actor, actor_name, "
      "action, target, status, detail) SELECT 'cli:' || $5, $5, 'key.create', k.id::text, 0, "
      "'name=' || k.name || ' scope=' || k.scope || ' prefix=' || k.prefix FROM k) SELECT id "
      "FROM k";
  pg::Result row;
  if (Status s = pg::exec_params(conn.get(), sql, params, &row); !s.ok()) {
    print_error("cannot store the key: " + s.message());
    return exit_failure;
  }
  spdlog::info("event=api_key_created id={} name=\"{}\" scope={} prefix={}",
               PQgetvalue(row.get(), 0, 0), config.key_name, http::scope_name(*scope),
               http::key_prefix(key));
  std::printf("%s\n", key.c_str());  // shown once; only its hash is stored
  std::fflush(stdout);
  return exit_ok;
}

Status KeyRefresher::refresh() {
  pg::Conn conn;
  if (Status s = pg::connect(url_, &conn); !s.ok()) return s;
  pg::Result rows;
  if (Status s = pg::exec_params(conn.get(),
                                 "SELECT key_hash, id, name, prefix, scope, "
                                 "coalesce(extract(epoch FROM expires_at)::bigint, 0) FROM "
                                 "api_keys WHERE revoked_at IS NULL",
                                 {}, &rows);
      !s.ok()) {
    return s;
  }
  auto snapshot = std::make_shared<http::KeySnapshot>();
  for (int r = 0; r < PQntuples(rows.get()); ++r) {
    http::ApiKey key;
    key.id = PQgetvalue(rows.get(), r, 1);
    key.name = PQgetvalue(rows.get(), r, 2);
    key.prefix = PQgetvalue(rows.get(), r, 3);
    key.scope = http::parse_scope(PQgetvalue(rows.get(), r, 4)).value_or(http::Scope::read);
    const long long expires = std::atoll(PQgetvalue(rows.get(), r, 5));
    if (expires > 0)
      key.expires_at = std::chrono::system_clock::from_time_t(static_cast<std::time_t>(expires));
    (*snapshot)[PQgetvalue(rows.get(), r, 0)] = std::move(key);
  }
  ring_.publish(std::move(snapshot));
  return Status();
}

Status KeyRefresher::start() {
  if (Status s = refresh(); !s.ok()) return s;
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(interval_ms_),
                           [this] { return stopping_; })) {
      lock.unlock();
      if (Status s = refresh(); !s.ok()) {
        spdlog::warn("event=api_keys_refresh_failed error=\"{}\"", s.message());
      }
      lock.lock();
    }
  });
  return Status();
}

void KeyRefresher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace ledger::app
