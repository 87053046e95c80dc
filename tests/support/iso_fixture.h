// The ISO 8583 test fixture: a real ledgerd on a fresh database with a funded account and a
// card, a blocking ISO 8583 client, and REST helpers. Shared by iso8583_test.cc and
// iso8583_robustness_test.cc.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "iso8583/codec.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/test_db.h"

namespace ledger::iso_testing {

using iso8583::Message;
using nlohmann::json;
namespace asio = boost::asio;
using namespace std::chrono_literals;

inline const std::string secret = "iso-test-secret-iso-test-secret-0123";
inline const std::string pan = "4000056655665556";
inline const std::string other_pan = "5555555555554444";

inline std::string uuid(int group, int n) {
  char text[40];
  std::snprintf(text, sizeof text, "%08d-0000-4000-8000-%012d", group, n);
  return text;
}

class IsoClient {
 public:
  explicit IsoClient(int port) : socket_(io_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    timeval tv{10, 0};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  static std::string frame(const Message& m) {
    std::string body;
    std::string error;
    EXPECT_TRUE(iso8583::encode(m, iso8583::BitmapEncoding::binary, &body, &error)) << error;
    std::string out;
    out.push_back(static_cast<char>(body.size() >> 8));
    out.push_back(static_cast<char>(body.size() & 0xFF));
    return out + body;
  }
  void send_raw(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }
  void send(const Message& m) { send_raw(frame(m)); }
  // Next answer, or an empty MTI if the connection closed or timed out.
  Message receive() {
    Message m;
    unsigned char header[2];
    boost::system::error_code error;
    asio::read(socket_, asio::buffer(header), error);
    if (error) return m;
    std::string body((static_cast<std::size_t>(header[0]) << 8) | header[1], '\0');
    asio::read(socket_, asio::buffer(body), error);
    if (error) return m;
    iso8583::DecodeError decode_error;
    EXPECT_TRUE(iso8583::decode(body, iso8583::BitmapEncoding::binary, &m, &decode_error))
        << decode_error.reason;
    return m;
  }
  Message call(const Message& m) {
    send(m);
    return receive();
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
};

class IsoTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(const testing::Env& extra) {
    url_ = testing::create_database("iso");
    env_ = {{"LEDGER_DATABASE_URL", url_},
            {"LEDGER_ACCOUNTS_MAX", "100"},
            {"LEDGER_TRANSFERS_MAX", "20000"},
            {"LEDGER_CARDS_MAX", "100"},
            {"LEDGER_PAN_SECRET", secret},
            {"LEDGER_HOME_COUNTRY", "276"},
            {"LEDGER_ISO8583_READ_TIMEOUT_MS", "300"}};
    for (const auto& [k, v] : extra) env_[k] = v;
    key_ = testing::create_api_key(env_, "backoffice");
    ASSERT_TRUE(server_.start(env_)) << server_.output();
    ASSERT_GT(server_.iso_port(), 0);
    rest("POST", "/v1/accounts",
         {{"id", uuid(1, 1)},
          {"holder_id", uuid(9, 1)},
          {"currency", "EUR"},
          {"kind", "settlement"}});
    rest(
        "POST", "/v1/accounts",
        {{"id", uuid(1, 2)}, {"holder_id", uuid(9, 1)}, {"currency", "EUR"}, {"kind", "customer"}});
    rest("POST", "/v1/transfers",
         {{"id", uuid(2, 1)},
          {"debit_account_id", uuid(1, 1)},
          {"credit_account_id", uuid(1, 2)},
          {"amount", 10000},
          {"currency", "EUR"}});
    rest("POST", "/v1/cards",
         {{"id", uuid(3, 1)},
          {"account_id", uuid(1, 2)},
          {"pan", pan},
          {"expiry", "4012"},
          {"controls",
           {{"per_authorization_limit", 5000},
            {"daily_count_limit", 1000},
            {"abroad", false},
            {"blocked_mccs", {"7995"}}}}});
  }

  json rest(const std::string& method, const std::string& target, const json& body = nullptr) {
    const auto reply =
        testing::http_call(server_.http_port(), method, target, body.is_null() ? "" : body.dump(),
                           {{"Authorization", "Bearer " + key_}});
    EXPECT_LT(reply.status, 300) << method << " " << target << " " << reply.body;
    return reply.body.empty() ? json() : json::parse(reply.body);
  }
  json balances() { return rest("GET", "/v1/accounts/" + uuid(1, 2))["balances"]; }
  // An admin key for the test clock (LEDGER_CLOCK=manual), once ledgerd has read it: a bounded
  // poll of the condition, at most 10 s.
  std::string clock_key() {
    const std::string admin = testing::create_api_key(env_, "admin");
    for (int i = 0; i < 100 && testing::http_call(server_.http_port(), "GET", "/v1/test-clock", "",
                                                  {{"Authorization", "Bearer " + admin}})
                                       .status == 401;
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return admin;
  }

  static Message auth(int stan, std::int64_t amount, const std::string& card = pan) {
    Message m;
    m.mti = "0100";
    m.set(2, card);
    m.set(3, "000000");
    char text[16];
    std::snprintf(text, sizeof text, "%012lld", static_cast<long long>(amount));
    m.set(4, text);
    m.set(7, "1123120000");
    std::snprintf(text, sizeof text, "%06d", stan);
    m.set(11, text);
    m.set(14, "4012");
    m.set(18, "5411");
    m.set(19, "276");
    m.set(22, "051");
    m.set(32, "00012345");
    std::snprintf(text, sizeof text, "RRN%09d", stan);
    m.set(37, text);
    m.set(41, "TERM0001");
    m.set(49, "978");
    return m;
  }

  std::string url_;
  testing::Env env_;
  std::string key_;
  testing::ServerProcess server_;
};

}  // namespace ledger::iso_testing
