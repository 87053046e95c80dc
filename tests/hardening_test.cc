// Security controls and abuse at the edge, over real sockets against the real ledgerd:
// per-key rate limits (429), source allowlists, connection floods beyond the limit, slow
// clients (slowloris) on both listeners, and secrets never reaching the log.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "support/http_client.h"
#include "support/process.h"
#include "support/test_db.h"

namespace ledger {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class HardeningTest : public ::testing::Test {
 protected:
  void start(const testing::Env& extra) {
    url_ = testing::create_database("hardening");
    env_ = {{"LEDGER_DATABASE_URL", url_},
            {"LEDGER_ACCOUNTS_MAX", "100"},
            {"LEDGER_TRANSFERS_MAX", "1000"},
            {"LEDGER_CARDS_MAX", "100"}};
    for (const auto& [k, v] : extra) env_[k] = v;
    key_ = testing::create_api_key(env_, "backoffice");
    other_key_ = testing::create_api_key(env_, "backoffice");
    admin_ = testing::create_api_key(env_, "admin");
    ASSERT_TRUE(server_.start(env_)) << server_.output();
  }
  int get(const std::string& key, std::map<std::string, std::string>* headers = nullptr) {
    const auto reply = testing::http_call(server_.http_port(), "GET",
                                          "/v1/accounts/00000001-0000-4000-8000-000000000001", "",
                                          {{"Authorization", "Bearer " + key}});
    if (headers != nullptr) *headers = reply.headers;
    return reply.status;
  }
  // Whether the server's log shows `text` within 5 s (log lines are written asynchronously to
  // what the client sees).
  bool log_shows(const std::string& text) {
    for (int i = 0; i < 250; ++i) {
      if (server_.output().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  // Opens a connection and reports whether the server closes it within `wait`.
  static bool closed_by_server(asio::ip::tcp::socket& socket, std::chrono::milliseconds wait) {
    timeval tv{static_cast<time_t>(wait.count() / 1000),
               static_cast<suseconds_t>(wait.count() % 1000 * 1000)};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char byte;
    boost::system::error_code error;
    socket.read_some(asio::buffer(&byte, 1), error);
    return error == asio::error::eof || error == asio::error::connection_reset;
  }

  std::string url_;
  testing::Env env_;
  std::string key_, other_key_, admin_;
  testing::ServerProcess server_;
};

TEST_F(HardeningTest, PerKeyRateLimitAnswers429WithRetryAfter) {
  start({{"LEDGER_RATE_LIMIT_PER_KEY", "2"}, {"LEDGER_RATE_BURST_PER_KEY", "5"}});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(get(key_), 404) << i;  // unknown account: allowed
  std::map<std::string, std::string> headers;
  EXPECT_EQ(get(key_, &headers), 429);
  ASSERT_TRUE(headers.count("retry-after"));
  EXPECT_GE(std::stoi(headers["retry-after"]), 1);
  EXPECT_EQ(get(other_key_), 404);     // another key is not affected
  std::this_thread::sleep_for(600ms);  // 2/s: a token is back after 500 ms
  EXPECT_EQ(get(key_), 404);
}

TEST_F(HardeningTest, AllowlistsCloseOtherSourcesOnBothListeners) {
  start({{"LEDGER_HTTP_ALLOWLIST", "127.0.0.2"}, {"LEDGER_ISO8583_ALLOWLIST", "127.0.0.2"}});
  EXPECT_EQ(testing::http_call(server_.http_port(), "GET", "/health").status, 0);
  asio::io_context io;
  asio::ip::tcp::socket iso(io);
  iso.connect(
      {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server_.iso_port())});
  EXPECT_TRUE(closed_by_server(iso, 2000ms));
  // From an allowed source (127.0.0.2 is loopback too) both listeners serve.
  asio::ip::tcp::socket allowed(io);
  allowed.open(asio::ip::tcp::v4());
  allowed.bind({asio::ip::make_address("127.0.0.2"), 0});
  allowed.connect(
      {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server_.http_port())});
  asio::write(allowed, asio::buffer(std::string("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")));
  char buffer[12] = {};
  asio::read(allowed, asio::buffer(buffer));
  EXPECT_EQ(std::string(buffer, 12), "HTTP/1.1 200");
  EXPECT_TRUE(log_shows("reason=allowlist"));
}

TEST_F(HardeningTest, ConnectionFloodsBeyondTheLimitAreClosed) {
  start({{"LEDGER_HTTP_CONNECTIONS_MAX", "4"}, {"LEDGER_ISO8583_CONNECTIONS_MAX", "4"}});
  asio::io_context io;
  // The same request on each listener proves a connection was accepted: it is answered.
  const std::string http_ping = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  // 0800 echo: MTI, binary bitmap with DE7, DE11 and DE70 (secondary bitmap).
  const std::string iso_body = std::string("0800") +
                               std::string("\x82\x20\x00\x00\x00\x00\x00\x00", 8) +
                               std::string("\x04\x00\x00\x00\x00\x00\x00\x00", 8) +
                               "1123120000"
                               "000001"
                               "301";
  const std::string iso_ping =
      std::string{static_cast<char>(iso_body.size() >> 8), static_cast<char>(iso_body.size())} +
      iso_body;
  for (const int port : {server_.http_port(), server_.iso_port()}) {
    const std::string& ping = port == server_.http_port() ? http_ping : iso_ping;
    std::vector<std::unique_ptr<asio::ip::tcp::socket>> held;
    for (int i = 0; i < 4; ++i) {
      held.push_back(std::make_unique<asio::ip::tcp::socket>(io));
      held.back()->connect(
          {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
      asio::write(*held.back(), asio::buffer(ping));
      char answer[4];
      asio::read(*held.back(), asio::buffer(answer));  // answered: accepted and counted
    }
    for (int i = 0; i < 20; ++i) {  // the flood: every one beyond the limit is closed
      asio::ip::tcp::socket extra(io);
      extra.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
      EXPECT_TRUE(closed_by_server(extra, 2000ms)) << port << " " << i;
    }
    held.clear();  // the held ones close: room again (the server notices their EOF)
  }
  // Room again once the server has seen the held ones go (bounded wait, no fixed sleep).
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    status = testing::http_call(server_.http_port(), "GET", "/health", "", {}, 2000).status;
    if (status != 200) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(status, 200);
}

// A client that sends a request header one byte at a time never finishes it: the read
// timeout (10 s for a whole REST request) closes the connection; the server keeps serving.
TEST_F(HardeningTest, SlowlorisOnRestIsCutOffByTheReadTimeout) {
  start({});
  asio::io_context io;
  asio::ip::tcp::socket slow(io);
  slow.connect(
      {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server_.http_port())});
  const std::string header = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
  const auto started = Clock::now();
  bool cut = false;
  boost::system::error_code error;
  for (std::size_t i = 0; Clock::now() - started < 20s; ++i) {
    asio::write(slow, asio::buffer(i < header.size() ? header.substr(i, 1) : std::string("a")),
                error);
    if (error) {
      cut = true;
      break;
    }
    EXPECT_EQ(testing::http_call(server_.http_port(), "GET", "/health", "", {}, 2000).status, 200);
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_TRUE(cut || closed_by_server(slow, 100ms));
  EXPECT_LT(Clock::now() - started, 15s);
}

TEST_F(HardeningTest, SlowlorisOnIso8583IsCutOffByTheReadTimeout) {
  start({{"LEDGER_ISO8583_READ_TIMEOUT_MS", "1000"}});
  asio::io_context io;
  asio::ip::tcp::socket slow(io);
  slow.connect(
      {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server_.iso_port())});
  const auto started = Clock::now();
  const std::string frame_start(
      "\x00\x40"
      "0800",
      6);  // 64 bytes announced
  boost::system::error_code error;
  bool cut = false;
  for (std::size_t i = 0; i < frame_start.size() + 40 && !cut; ++i) {
    asio::write(slow, asio::buffer(i < frame_start.size() ? frame_start.substr(i, 1) : "0", 1),
                error);
    cut = static_cast<bool>(error);
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(cut || closed_by_server(slow, 100ms));
  EXPECT_LT(Clock::now() - started, 5s);
}

// Every back-office mutation (whatever its outcome) and every key creation is in the audit
// trail: who (the key's id and name), what (method and route, path, status) and when; only
// admin keys can read it.
TEST_F(HardeningTest, AuditTrailRecordsMutationsAndKeyCreation) {
  start({});
  const std::string account = R"({"id":"00000001-0000-4000-8000-000000000001",)"
                              R"("holder_id":"00000009-0000-4000-8000-000000000001",)"
                              R"("currency":"EUR","kind":"customer"})";
  const std::map<std::string, std::string> auth{{"Authorization", "Bearer " + key_},
                                                {"Idempotency-Key", "req-1"}};
  EXPECT_EQ(testing::http_call(server_.http_port(), "POST", "/v1/accounts", account, auth).status,
            201);
  EXPECT_EQ(testing::http_call(server_.http_port(), "POST", "/v1/accounts", "{}", auth).status,
            400);
  EXPECT_EQ(get(key_), 200);  // a read: not audited
  const std::map<std::string, std::string> admin{{"Authorization", "Bearer " + admin_}};
  nlohmann::json page;
  for (int i = 0; i < 50; ++i) {  // written within about a second
    const auto reply =
        testing::http_call(server_.http_port(), "GET", "/v1/audit?limit=10", "", admin);
    ASSERT_EQ(reply.status, 200) << reply.body;
    page = nlohmann::json::parse(reply.body);
    if (page["entries"].size() >= 5) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(page["entries"].size(), 5u) << page.dump();  // 2 requests + 3 keys created
  const auto& newest = page["entries"][0];
  EXPECT_EQ(newest["action"], "POST /v1/accounts");
  EXPECT_EQ(newest["status"], 400);
  EXPECT_EQ(newest["actor"].get<std::string>().rfind("key:", 0), 0u);
  EXPECT_EQ(newest["actor_name"], "test backoffice");
  EXPECT_EQ(newest["detail"], "idempotency_key=req-1");
  EXPECT_EQ(page["entries"][1]["status"], 201);
  EXPECT_EQ(page["entries"][1]["target"], "/v1/accounts");
  EXPECT_EQ(page["entries"][4]["action"], "key.create");
  EXPECT_EQ(page["entries"][4]["actor"].get<std::string>().rfind("cli:", 0), 0u);
  EXPECT_NE(page["entries"][4]["detail"].get<std::string>().find("scope=backoffice"),
            std::string::npos);
  EXPECT_TRUE(page["entries"][0]["at"].get<std::string>().ends_with("Z"));
  // Pages by cursor; readable by admin keys only.
  const auto first = testing::http_call(server_.http_port(), "GET", "/v1/audit?limit=2", "", admin);
  const auto cursor = nlohmann::json::parse(first.body)["next_cursor"].get<std::string>();
  const auto second =
      nlohmann::json::parse(testing::http_call(server_.http_port(), "GET",
                                               "/v1/audit?limit=2&cursor=" + cursor, "", admin)
                                .body);
  EXPECT_EQ(second["entries"][0]["id"], page["entries"][2]["id"]);
  EXPECT_EQ(testing::http_call(server_.http_port(), "GET", "/v1/audit", "",
                               {{"Authorization", "Bearer " + key_}})
                .status,
            403);
  EXPECT_EQ(testing::http_call(server_.http_port(), "GET", "/v1/audit?cursor=x", "", admin).status,
            400);
}

// An auditor asks "who created account X, and who changed it?": the rows of a creation and of a
// later change name the account (resource and resource_id), and ?resource_id= finds them.
TEST_F(HardeningTest, AuditRowsNameTheResourceTheyCreatedOrChanged) {
  start({});
  const std::string id = "00000001-0000-4000-8000-0000000000a1";
  const std::string account = R"({"id":")" + id +
                              R"(","holder_id":"00000009-0000-4000-8000-000000000001",)"
                              R"("currency":"EUR","kind":"customer"})";
  const std::map<std::string, std::string> auth{{"Authorization", "Bearer " + key_}};
  ASSERT_EQ(testing::http_call(server_.http_port(), "POST", "/v1/accounts", account, auth).status,
            201);
  ASSERT_EQ(testing::http_call(server_.http_port(), "PATCH", "/v1/accounts/" + id,
                               R"({"overdraft_limit":100})", auth)
                .status,
            200);
  const std::map<std::string, std::string> admin{{"Authorization", "Bearer " + admin_}};
  nlohmann::json page;
  for (int i = 0; i < 50; ++i) {  // written within about a second
    const auto reply =
        testing::http_call(server_.http_port(), "GET", "/v1/audit?resource_id=" + id, "", admin);
    ASSERT_EQ(reply.status, 200) << reply.body;
    page = nlohmann::json::parse(reply.body);
    if (page["entries"].size() >= 2) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(page["entries"].size(), 2u) << page.dump();
  const auto& created = page["entries"][1];
  EXPECT_EQ(created["action"], "POST /v1/accounts");
  EXPECT_EQ(created["status"], 201);
  EXPECT_EQ(created["resource"], "/v1/accounts/" + id);
  EXPECT_EQ(created["resource_id"], id);
  EXPECT_EQ(created["actor_name"], "test backoffice");
  EXPECT_EQ(page["entries"][0]["action"], "PATCH /v1/accounts/{id}");
  EXPECT_EQ(page["entries"][0]["resource"], "/v1/accounts/" + id);
  // A key created over the API is named by its id, never by its secret.
  const auto made = testing::http_call(server_.http_port(), "POST", "/v1/keys",
                                       R"({"name":"ops","scope":"read"})", admin);
  ASSERT_EQ(made.status, 201) << made.body;
  const auto key = nlohmann::json::parse(made.body);
  const std::string key_id = key["id"];
  for (int i = 0; i < 50; ++i) {
    page = nlohmann::json::parse(
        testing::http_call(server_.http_port(), "GET", "/v1/audit?resource_id=" + key_id, "", admin)
            .body);
    if (page["entries"].size() >= 2) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(page["entries"].size(), 2u) << page.dump();  // key.create and POST /v1/keys
  EXPECT_EQ(page.dump().find(key["key"].get<std::string>()), std::string::npos);
  EXPECT_EQ(
      testing::http_call(server_.http_port(), "GET", "/v1/audit?resource_id=", "", admin).status,
      400);
}

// A throwaway self-signed certificate for 127.0.0.1 (openssl from Debian), in a temp dir.
struct Certificate {
  std::string dir, cert, key;
  Certificate() {
    char path[] = "/tmp/ledgerd-tls-XXXXXX";
    dir = mkdtemp(path);
    cert = dir + "/cert.pem";
    key = dir + "/key.pem";
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext "
        "subjectAltName=IP:127.0.0.1 -keyout " +
        key + " -out " + cert + " >/dev/null 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << "openssl (Debian package openssl) failed";
  }
  ~Certificate() { std::filesystem::remove_all(dir); }
};

// HTTPS: a client that verifies the certificate completes the handshake and is served; plain
// HTTP on the same port gets no HTTP answer (the connection is closed) and is counted.
TEST_F(HardeningTest, TlsHandshakeSucceedsAndPlainHttpIsRejected) {
  Certificate certificate;
  start({{"LEDGER_TLS_CERT", certificate.cert}, {"LEDGER_TLS_KEY", certificate.key}});
  asio::io_context io;
  asio::ssl::context context(asio::ssl::context::tls_client);
  context.load_verify_file(certificate.cert);
  context.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<asio::ip::tcp::socket> tls(io, context);
  tls.set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
  tls.next_layer().connect(
      {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server_.http_port())});
  boost::system::error_code error;
  tls.handshake(asio::ssl::stream_base::client, error);
  ASSERT_FALSE(error) << error.message();
  asio::write(tls, asio::buffer(std::string("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                            "Connection: close\r\n\r\n")));
  std::string reply;
  char buffer[1024];
  for (;;) {
    const std::size_t n = tls.read_some(asio::buffer(buffer), error);
    reply.append(buffer, n);
    if (error) break;
  }
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_NE(reply.find("\"status\":\"ok\""), std::string::npos);

  // Plain HTTP to the TLS port: no answer, the connection is closed.
  EXPECT_EQ(testing::http_call(server_.http_port(), "GET", "/health", "", {}, 3000).status, 0);
  // A client that does not trust the certificate fails its own verification.
  asio::ssl::context untrusting(asio::ssl::context::tls_client);
  untrusting.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<asio::ip::tcp::socket> doubtful(io, untrusting);
  doubtful.next_layer().connect(
      {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server_.http_port())});
  doubtful.handshake(asio::ssl::stream_base::client, error);
  EXPECT_TRUE(error);
  EXPECT_TRUE(log_shows("event=tls_handshake_failed"));
  EXPECT_TRUE(log_shows("tls=on"));
}

TEST_F(HardeningTest, TlsSettingsAreCheckedAtStart) {
  Certificate certificate;
  Certificate other;
  url_ = testing::create_database("hardening");
  testing::Env env{{"LEDGER_DATABASE_URL", url_},
                   {"LEDGER_ACCOUNTS_MAX", "100"},
                   {"LEDGER_TRANSFERS_MAX", "1000"},
                   {"LEDGER_CARDS_MAX", "100"}};
  env["LEDGER_TLS_CERT"] = certificate.cert;
  auto result = testing::run_ledgerd({"serve"}, env, 20'000);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--tls-cert and --tls-key go together"), std::string::npos);
  env["LEDGER_TLS_KEY"] = other.key;  // not this certificate's key
  result = testing::run_ledgerd({"serve"}, env, 20'000);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("mismatch"), std::string::npos) << result.err;
  env["LEDGER_TLS_KEY"] = certificate.dir + "/missing.pem";
  result = testing::run_ledgerd({"serve"}, env, 20'000);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("cannot load the TLS private key"), std::string::npos) << result.err;
}

TEST_F(HardeningTest, KeysAndSecretsNeverReachTheLog) {
  start({{"LEDGER_PAN_SECRET", "a-secret-that-must-not-be-logged-0123456789"},
         {"LEDGER_LOG_LEVEL", "trace"}});
  get(key_);
  get("ldg_0000000000000000000000000000000000000000000000000000000000000000");
  // First prove that the log is captured (the start-up lines, at the most talkative level, are
  // in it), or the checks below would pass on an empty string.
  ASSERT_TRUE(log_shows("event=listening interface=http"));
  ASSERT_TRUE(log_shows("event=starting"));
  const std::string log = server_.output();
  ASSERT_GT(log.size(), 200u);
  EXPECT_EQ(log.find(key_), std::string::npos);
  EXPECT_EQ(log.find(key_.substr(4, 20)), std::string::npos);
  EXPECT_EQ(log.find("a-secret-that-must-not-be-logged"), std::string::npos);
}

}  // namespace
}  // namespace ledger
