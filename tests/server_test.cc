// ledgerd serve over real sockets: /health, /ready, HTTP edge limits, graceful shutdown.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/http_client.h"
#include "support/process.h"
#include "support/test_db.h"

namespace ledger {
namespace {

using testing::http_call;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::create_database("server");
    ASSERT_TRUE(server_.start({{"LEDGER_DATABASE_URL", url_}})) << server_.output();
    ASSERT_GT(server_.http_port(), 0) << server_.output();
  }
  std::string url_;
  testing::ServerProcess server_;
};

TEST_F(ServerTest, HealthAndReadyAnswerOverARealSocket) {
  auto health = http_call(server_.http_port(), "GET", "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(nlohmann::json::parse(health.body)["status"], "ok");
  EXPECT_EQ(health.headers["content-type"], "application/json");
  const auto ready = http_call(server_.http_port(), "GET", "/ready");
  EXPECT_EQ(ready.status, 200) << ready.body;
  const auto body = nlohmann::json::parse(ready.body);
  EXPECT_TRUE(body["ready"].get<bool>());
  EXPECT_TRUE(body["migrations_applied"].get<bool>());
  EXPECT_TRUE(body["database_reachable"].get<bool>());
}

TEST_F(ServerTest, UnknownRouteIsAProblemDocument) {
  auto reply = http_call(server_.http_port(), "GET", "/nope");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.headers["content-type"], "application/problem+json");
  const auto body = nlohmann::json::parse(reply.body);
  EXPECT_EQ(body["status"], 404);
  EXPECT_EQ(body["code"], "route_not_found");
}

TEST_F(ServerTest, WrongMethodOnHealthIs405) {
  auto reply = http_call(server_.http_port(), "POST", "/health", "{}");
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(reply.headers["allow"], "GET, HEAD");
}

TEST_F(ServerTest, OversizedBodyIs413) {
  const std::string body(5 * 1024 * 1024, 'x');
  const auto reply = http_call(server_.http_port(), "POST", "/health", body);
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(nlohmann::json::parse(reply.body)["code"], "body_too_large");
}

TEST_F(ServerTest, OversizedHeaderIs431) {
  const auto reply = http_call(server_.http_port(), "GET", "/health", "",
                               {{"X-Padding", std::string(20 * 1024, 'a')}});
  EXPECT_EQ(reply.status, 431);
}

TEST_F(ServerTest, GarbageRequestIs400) {
  const std::string reply = testing::raw_exchange(server_.http_port(), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_NE(reply.find("400 Bad Request"), std::string::npos) << reply;
}

TEST_F(ServerTest, KeepAliveServesPipelinedRequestsInOrder) {
  const std::string two =
      "GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: "
      "close\r\n\r\n";
  const std::string reply = testing::raw_exchange(server_.http_port(), two);
  const auto first = reply.find("200 OK");
  const auto second = reply.find("404 Not Found");
  ASSERT_NE(first, std::string::npos) << reply;
  ASSERT_NE(second, std::string::npos) << reply;
  EXPECT_LT(first, second);
}

TEST_F(ServerTest, ReadyTurns503WhenTheDatabaseGoesAway) {
  testing::exec_sql(testing::admin_url(),
                    "DROP DATABASE " + url_.substr(url_.rfind('/') + 1) + " WITH (FORCE)");
  int status = 0;
  for (int attempt = 0; attempt < 100 && status != 503; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = http_call(server_.http_port(), "GET", "/ready").status;
  }
  EXPECT_EQ(status, 503);
  EXPECT_EQ(http_call(server_.http_port(), "GET", "/health").status, 200);
}

TEST_F(ServerTest, SigtermStopsCleanly) {
  EXPECT_EQ(server_.stop(SIGTERM), 0) << server_.output();
  EXPECT_NE(server_.output().find("event=stopped"), std::string::npos);
}

TEST_F(ServerTest, SigintStopsCleanly) { EXPECT_EQ(server_.stop(SIGINT), 0) << server_.output(); }

}  // namespace
}  // namespace ledger
