#include "app/keys.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "app/logging.h"
#include "app/serve.h"
#include "journal/api_keys.h"
#include "journal/pg.h"
#include "ledger/thread_name.h"

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
  NewApiKey stored;
  stored.name = config.key_name;
  stored.scope = std::string(http::scope_name(*scope));
  stored.expires_in_days = config.key_expires_days;
  stored.key_hash = http::sha256_hex(key);
  stored.prefix = http::key_prefix(key);
  // Who created which key, in the same transaction as the key.
  const char* user = std::getenv("USER");
  stored.actor_name = user != nullptr && *user != '\0' ? user : "uid " + std::to_string(getuid());
  stored.actor = "cli:" + stored.actor_name;
  ApiKeyRecord record;
  if (Status s = store_api_key(conn.get(), stored, &record); !s.ok()) {
    print_error("cannot store the key: " + s.message());
    return exit_failure;
  }
  spdlog::info("event=api_key_created id={} name=\"{}\" scope={} prefix={}", record.id,
               config.key_name, record.scope, record.prefix);
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
    std::int64_t expires = 0;
    if (!pg::number(rows.get(), r, 5, &expires))
      return Status::error("api_keys holds an expiry that is not a number");
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
    name_this_thread("ledgerd-keys");
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
