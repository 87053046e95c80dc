// Test databases on the PostgreSQL cluster started by scripts/test. The cluster's admin URL
// comes from LEDGER_TEST_DATABASE_URL; a test that needs PostgreSQL fails loudly without it.
#pragma once

#include <string>
#include <vector>

namespace ledger::testing {

std::string admin_url();
// Creates a new database with a unique name, migrated to the latest schema, and returns a URL
// to it. When scripts/test has prepared a migrated template (LEDGER_TEST_TEMPLATE_DATABASE),
// the database is a copy of it with an instance id of its own, so a test does not run every
// migration again; without one the database is empty and ledgerd migrates it on start.
std::string create_database(const std::string& prefix = "t");
// Creates a new empty database (no migration applied): for tests of the migrations themselves.
std::string create_empty_database(const std::string& prefix = "t");
// Runs SQL on `url` and returns the first column of the first row ("" if none).
std::string query_value(const std::string& url, const std::string& sql);
void exec_sql(const std::string& url, const std::string& sql);
// Every row of a query, as text.
std::vector<std::vector<std::string>> query_rows(const std::string& url, const std::string& sql);
// The project's migrations folder (migrations/ in the source tree).
std::string migrations_dir();

}  // namespace ledger::testing
