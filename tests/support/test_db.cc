#include "test_db.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace ledger::testing {
namespace {

using Conn = std::unique_ptr<PGconn, decltype(&PQfinish)>;

Conn connect_or_throw(const std::string& url) {
  Conn conn(PQconnectdb(url.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error("cannot connect to test database: " +
                             std::string(PQerrorMessage(conn.get())));
  }
  return conn;
}

std::string option(PQconninfoOption* options, const char* keyword, const char* fallback) {
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (std::string(o->keyword) == keyword && o->val != nullptr) return o->val;
  }
  return fallback;
}

}  // namespace

std::string admin_url() {
  const char* url = std::getenv("LEDGER_TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0') {
    throw std::runtime_error(
        "LEDGER_TEST_DATABASE_URL is not set: run the tests through ./scripts/test, which starts "
        "a throwaway PostgreSQL");
  }
  return url;
}

namespace {

// CREATE DATABASE <name> [TEMPLATE <template>], and a URL to it.
std::string make_database(const std::string& prefix, const std::string& template_name) {
  static std::atomic<int> counter{0};
  const std::string name =
      "ledger_" + prefix + "_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
  exec_sql(admin_url(), "DROP DATABASE IF EXISTS " + name);
  exec_sql(admin_url(),
           "CREATE DATABASE " + name + (template_name.empty() ? "" : " TEMPLATE " + template_name));
  PQconninfoOption* options = PQconninfoParse(admin_url().c_str(), nullptr);
  if (options == nullptr) throw std::runtime_error("malformed LEDGER_TEST_DATABASE_URL");
  const std::string url = "postgresql://" + option(options, "user", "postgres") + "@" +
                          option(options, "host", "127.0.0.1") + ":" +
                          option(options, "port", "5432") + "/" + name;
  PQconninfoFree(options);
  return url;
}

}  // namespace

std::string create_database(const std::string& prefix) {
  const char* template_name = std::getenv("LEDGER_TEST_TEMPLATE_DATABASE");
  if (template_name == nullptr || *template_name == '\0') return make_database(prefix, "");
  const std::string url = make_database(prefix, template_name);
  // Each ledger is an instance of its own (snapshots and logs name it), as after a migration.
  exec_sql(url, "UPDATE ledger_instance SET instance_id = gen_random_uuid()");
  return url;
}

std::string migrations_dir() { return LEDGER_MIGRATIONS_SOURCE_DIR; }

std::string create_empty_database(const std::string& prefix) { return make_database(prefix, ""); }

void exec_sql(const std::string& url, const std::string& sql) {
  Conn conn = connect_or_throw(url);
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn.get(), sql.c_str()), &PQclear);
  const auto status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error("SQL failed: " + sql + ": " + PQerrorMessage(conn.get()));
  }
}

std::string query_value(const std::string& url, const std::string& sql) {
  Conn conn = connect_or_throw(url);
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn.get(), sql.c_str()), &PQclear);
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    throw std::runtime_error("query failed: " + sql + ": " + PQerrorMessage(conn.get()));
  }
  if (PQntuples(result.get()) == 0) return "";
  return PQgetvalue(result.get(), 0, 0);
}

}  // namespace ledger::testing

namespace ledger::testing {

std::vector<std::vector<std::string>> query_rows(const std::string& url, const std::string& sql) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(url.c_str()), &PQfinish);
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn.get(), sql.c_str()), &PQclear);
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    throw std::runtime_error("query failed: " + sql + ": " + PQerrorMessage(conn.get()));
  }
  std::vector<std::vector<std::string>> rows;
  for (int r = 0; r < PQntuples(result.get()); ++r) {
    auto& row = rows.emplace_back();
    for (int c = 0; c < PQnfields(result.get()); ++c)
      row.emplace_back(PQgetvalue(result.get(), r, c));
  }
  return rows;
}

}  // namespace ledger::testing
