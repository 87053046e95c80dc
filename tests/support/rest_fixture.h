// The REST test fixture: a real ledgerd on a fresh database with admin, backoffice and read
// keys, and helpers to call it. Shared by rest_test.cc and rest_ledger_test.cc.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "support/http_client.h"
#include "support/process.h"
#include "support/test_db.h"

namespace ledger {

using nlohmann::json;

inline std::string uuid(int group, int n) {
  char text[40];
  std::snprintf(text, sizeof text, "%08d-0000-4000-8000-%012d", group, n);
  return text;
}

class RestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::create_database("rest");
    env_ = {{"LEDGER_DATABASE_URL", url_},
            {"LEDGER_ACCOUNTS_MAX", "1000"},
            {"LEDGER_TRANSFERS_MAX", "20000"},
            {"LEDGER_CARDS_MAX", "1000"},
            {"LEDGER_PAN_SECRET", "test-secret-test-secret-test-secret-0123"}};
    admin_ = testing::create_api_key(env_, "admin");
    backoffice_ = testing::create_api_key(env_, "backoffice");
    read_ = testing::create_api_key(env_, "read");
    ASSERT_TRUE(server_.start(env_)) << server_.output();
  }

  testing::HttpReply call(const std::string& method, const std::string& target,
                          const json& body = nullptr, const std::string& key = "") {
    std::map<std::string, std::string> headers{
        {"Authorization", "Bearer " + (key.empty() ? backoffice_ : key)}};
    return testing::http_call(server_.http_port(), method, target,
                              body.is_null() ? "" : body.dump(), headers);
  }
  json ok(const std::string& method, const std::string& target, const json& body = nullptr,
          int expected = 200) {
    const auto reply = call(method, target, body);
    EXPECT_EQ(reply.status, expected) << method << " " << target << " -> " << reply.body;
    return reply.body.empty() ? json() : json::parse(reply.body);
  }
  void account(int n, const std::string& kind = "customer",
               const std::string& holder = uuid(9, 1)) {
    ok("POST", "/v1/accounts",
       {{"id", uuid(1, n)}, {"holder_id", holder}, {"currency", "EUR"}, {"kind", kind}}, 201);
  }
  json transfer(int id, int debit, int credit, std::int64_t amount, bool pending = false) {
    json body{{"id", uuid(2, id)},
              {"debit_account_id", uuid(1, debit)},
              {"credit_account_id", uuid(1, credit)},
              {"amount", amount},
              {"currency", "EUR"}};
    if (pending) body["pending"] = true;
    return body;
  }
  json balances(int n) { return ok("GET", "/v1/accounts/" + uuid(1, n))["balances"]; }

  std::string url_;
  testing::Env env_;
  std::string admin_, backoffice_, read_;
  testing::ServerProcess server_;
};

}  // namespace ledger
