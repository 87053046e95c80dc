// Test databases on the PostgreSQL cluster started by scripts/test. The cluster's admin URL
// comes from LEDGER_TEST_DATABASE_URL; a test that needs PostgreSQL fails loudly without it.
#pragma once

#include <string>
#include <vector>

namespace ledger::testing {

std::string admin_url();
// Creates a new empty database with a unique name and returns a URL to it.
std::string create_database(const std::string& prefix = "t");
// Runs SQL on `url` and returns the first column of the first row ("" if none).
std::string query_value(const std::string& url, const std::string& sql);
void exec_sql(const std::string& url, const std::string& sql);
// Every row of a query, as text.
std::vector<std::vector<std::string>> query_rows(const std::string& url, const std::string& sql);

}  // namespace ledger::testing
