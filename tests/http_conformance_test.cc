// HTTP/1.1 conformance of the REST listener (RFC 9110, RFC 9112), as a table run against the
// real ledgerd over a real socket: for each request (method, headers, body) the status, whether
// a body follows the header (never after HEAD, exactly Content-Length otherwise), whether the
// connection stays usable (a pipelined request behind it is answered next) or is closed, and
// any header the answer must carry. Then the cases a table cannot hold: Expect: 100-continue,
// connections that never send a byte, and the per-source connection cap.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
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

constexpr const char* account_id = "00000001-0000-4000-8000-000000000001";

struct Answer {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// One HTTP/1.1 response from the front of `bytes`; nullopt if it is not a complete one.
// `head`: the answer to a HEAD request, which has no body whatever its Content-Length says.
std::optional<Answer> take_response(std::string* bytes, bool head) {
  const auto end = bytes->find("\r\n\r\n");
  if (end == std::string::npos || bytes->rfind("HTTP/1.", 0) != 0) return std::nullopt;
  Answer answer;
  answer.status = std::atoi(bytes->substr(9, 3).c_str());
  std::size_t line = bytes->find("\r\n") + 2;
  while (line < end) {
    const auto next = bytes->find("\r\n", line);
    const std::string field = bytes->substr(line, next - line);
    const auto colon = field.find(':');
    std::string name = field.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    answer.headers[name] = field.substr(field.find_first_not_of(' ', colon + 1));
    line = next + 2;
  }
  std::size_t length = 0;
  if (!head && answer.headers.count("content-length"))
    length = std::stoul(answer.headers["content-length"]);
  if (bytes->size() < end + 4 + length) return std::nullopt;
  answer.body = bytes->substr(end + 4, length);
  bytes->erase(0, end + 4 + length);
  return answer;
}

struct Exchange {
  std::string received;
  bool closed = false;  // the server closed the connection (not our timeout)
};

Exchange exchange(int port, const std::string& bytes, std::chrono::milliseconds wait = 3000ms) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  timeval tv{static_cast<time_t>(wait.count() / 1000),
             static_cast<suseconds_t>(wait.count() % 1000 * 1000)};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  asio::write(socket, asio::buffer(bytes));
  Exchange result;
  char chunk[8192];
  for (;;) {
    boost::system::error_code error;
    const std::size_t n = socket.read_some(asio::buffer(chunk), error);
    if (error) {
      result.closed = error == asio::error::eof || error == asio::error::connection_reset;
      break;
    }
    result.received.append(chunk, n);
  }
  return result;
}

enum class After { answered_next, closed };

struct Case {
  std::string name;
  std::string request;  // "{K}": a backoffice key, "{A}": an admin key, "{ACCOUNT}": an account
  int status;
  After after;
  std::string header_name = {};   // a header the answer must carry (lower case) ...
  std::string header_value = {};  // ... with this value ("" : any)
  std::string code = {};          // the problem's "code", when it is a problem
};

std::string request(const std::string& method, const std::string& target,
                    const std::string& headers, const std::string& body = "") {
  std::string text = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers;
  if (!body.empty()) text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return text + "\r\n" + body;
}

std::string fill(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values) {
    for (auto at = text.find(name); at != std::string::npos; at = text.find(name, at))
      text.replace(at, name.size(), value);
  }
  return text;
}

class HttpConformanceTest : public ::testing::Test {
 protected:
  void start(const testing::Env& extra = {}) {
    env_ = {{"LEDGER_DATABASE_URL", testing::create_database("http")},
            {"LEDGER_ACCOUNTS_MAX", "100"},
            {"LEDGER_TRANSFERS_MAX", "1000"},
            {"LEDGER_CARDS_MAX", "100"}};
    for (const auto& [k, v] : extra) env_[k] = v;
    key_ = testing::create_api_key(env_, "backoffice");
    admin_ = testing::create_api_key(env_, "admin");
    ASSERT_TRUE(server_.start(env_)) << server_.output();
    const std::string account = nlohmann::json{
        {"id", account_id},
        {"holder_id", account_id},
        {"currency", "EUR"},
        {"kind", "customer"}}.dump();
    ASSERT_EQ(testing::http_call(server_.http_port(), "POST", "/v1/accounts", account,
                                 {{"Authorization", "Bearer " + key_}})
                  .status,
              201);
  }
  asio::ip::tcp::socket open_from(asio::io_context& io, const char* source) {
    asio::ip::tcp::socket socket(io);
    socket.open(asio::ip::tcp::v4());
    socket.bind({asio::ip::make_address(source), 0});
    socket.connect(
        {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server_.http_port())});
    return socket;
  }
  static bool closed_within(asio::ip::tcp::socket& socket, std::chrono::milliseconds wait) {
    timeval tv{static_cast<time_t>(wait.count() / 1000),
               static_cast<suseconds_t>(wait.count() % 1000 * 1000)};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char byte;
    boost::system::error_code error;
    socket.read_some(asio::buffer(&byte, 1), error);
    return error == asio::error::eof || error == asio::error::connection_reset;
  }

  testing::Env env_;
  std::string key_, admin_;
  testing::ServerProcess server_;
};

TEST_F(HttpConformanceTest, EachRequestGetsItsStatusAndFraming) {
  start();
  const std::string auth = "Authorization: Bearer {K}\r\n";
  const std::string json = "Content-Type: application/json\r\n";
  const std::string new_account =
      R"({"holder_id":"00000009-0000-4000-8000-000000000001","currency":"EUR","kind":"customer"})";
  const std::string statement_csv = "/v1/accounts/{ACCOUNT}/statement?format=csv";
  const std::vector<Case> cases = {
      // HEAD: the GET's status and headers, Content-Length included, and never a body.
      {"HEAD /health", request("HEAD", "/health", ""), 200, After::answered_next, "content-length",
       "15"},
      {"HEAD of an account", request("HEAD", "/v1/accounts/{ACCOUNT}", auth), 200,
       After::answered_next},
      {"HEAD of a CSV statement", request("HEAD", statement_csv, auth), 200, After::answered_next,
       "cache-control", "no-store"},
      {"HEAD of an unknown route", request("HEAD", "/nowhere", ""), 404, After::answered_next},
      {"HEAD of /metrics", request("HEAD", "/metrics", ""), 200, After::answered_next},
      // Host: exactly one in HTTP/1.1 (RFC 9112 section 3.2).
      {"HTTP/1.1 without Host", "GET /health HTTP/1.1\r\n\r\n", 400, After::closed, "", "",
       "malformed_http"},
      {"HTTP/1.1 with two Host", "GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
       After::closed, "", "", "malformed_http"},
      {"HTTP/1.0 without Host", "GET /health HTTP/1.0\r\n\r\n", 200, After::closed},
      // Transfer codings: chunked alone, or 501 (RFC 9112 section 6.1); never both framings.
      {"Transfer-Encoding: gzip, chunked",
       request("POST", "/v1/accounts", auth + json + "Transfer-Encoding: gzip, chunked\r\n") +
           "0\r\n\r\n",
       501, After::closed, "", "", "transfer_coding_not_supported"},
      {"Transfer-Encoding: chunked, chunked",
       request("POST", "/v1/accounts", auth + json + "Transfer-Encoding: chunked, chunked\r\n") +
           "0\r\n\r\n",
       501, After::closed},
      {"Transfer-Encoding: identity",
       request("POST", "/v1/accounts", auth + json + "Transfer-Encoding: identity\r\n",
               new_account),
       501, After::closed},
      {"Transfer-Encoding twice",
       request("POST", "/v1/accounts",
               auth + json + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n") +
           "0\r\n\r\n",
       400, After::closed},  // two framing fields: malformed before any coding is looked at
      {"Content-Length with Transfer-Encoding",
       request("POST", "/v1/accounts",
               auth + json + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n") +
           "0\r\n\r\n",
       400, After::closed},
      {"two different Content-Length",
       request("POST", "/v1/accounts", auth + json + "Content-Length: 2\r\nContent-Length: 3\r\n") +
           "{}",
       400, After::closed},
      {"negative Content-Length", request("POST", "/v1/accounts", "Content-Length: -1\r\n"), 400,
       After::closed},
      {"chunked body",
       request("POST", "/v1/accounts", auth + json + "Transfer-Encoding: chunked\r\n") +
           [&] {
             char size[16];
             std::snprintf(size, sizeof size, "%zx", new_account.size());
             return std::string(size) + "\r\n" + new_account + "\r\n0\r\n\r\n";
           }(),
       201, After::answered_next},
      {"body over the limit",
       request("POST", "/v1/accounts", auth + json + "Content-Length: 99999999\r\n"), 413,
       After::closed, "", "", "body_too_large"},
      {"header over the limit",
       request("GET", "/health", "X-Big: " + std::string(20'000, 'a') + "\r\n"), 431,
       After::closed},
      // Expect: only 100-continue (RFC 9110 section 10.1.1).
      {"Expect: something else",
       request("POST", "/v1/accounts", auth + json + "Expect: 200-ok\r\n", new_account), 417,
       After::closed, "", "", "expectation_failed"},
      // Methods: unknown ones 501, known but not allowed 405 with Allow (RFC 9110 15.5.6).
      {"unknown method", request("BREW", "/health", ""), 501, After::closed, "", "",
       "method_not_implemented"},
      {"PUT on /health", request("PUT", "/health", "", "{}"), 405, After::answered_next, "allow",
       "GET, HEAD"},
      {"DELETE on an account", request("DELETE", "/v1/accounts/{ACCOUNT}", auth), 405,
       After::answered_next, "allow"},
      // Authorization schemes are case-insensitive, spaces after the scheme are allowed.
      {"lower-case bearer",
       request("GET", "/v1/accounts/{ACCOUNT}", "Authorization: bearer {K}\r\n"), 200,
       After::answered_next},
      {"BEARER and spaces",
       request("GET", "/v1/accounts/{ACCOUNT}", "Authorization: BEARER   {K}\r\n"), 200,
       After::answered_next},
      {"Basic scheme",
       request("GET", "/v1/accounts/{ACCOUNT}", "Authorization: Basic dXNlcjpw\r\n"), 401,
       After::closed, "www-authenticate", "Bearer realm=\"ledgerd\""},
      {"no key on a write", request("POST", "/v1/accounts", json, new_account), 401, After::closed,
       "www-authenticate"},
      // JSON: a key twice in one object is refused, not "last one wins".
      {"duplicate JSON key",
       request("POST", "/v1/accounts", auth + json,
               R"({"holder_id":"00000009-0000-4000-8000-000000000001","currency":"EUR",)"
               R"("currency":"USD","kind":"customer"})"),
       400, After::answered_next, "", "", "duplicate_field"},
      {"JSON that is not JSON", request("POST", "/v1/accounts", auth + json, "{\"a\":"), 400,
       After::answered_next, "", "", "malformed_json"},
      // Answers with account data are never cached.
      {"CSV statement", request("GET", statement_csv, auth), 200, After::answered_next,
       "cache-control", "no-store"},
      {"JSON account", request("GET", "/v1/accounts/{ACCOUNT}", auth), 200, After::answered_next,
       "cache-control", "no-store"},
      // The absolute form is accepted (RFC 9112 section 3.2.2).
      {"absolute-form target", request("GET", "http://127.0.0.1/health", ""), 200,
       After::answered_next},
      // Query values: 400 naming the parameter.
      {"query value not UTF-8",
       request("GET", "/v1/audit?actor=%ff", "Authorization: Bearer {A}\r\n"), 400,
       After::answered_next, "", "", "invalid_query"},
      {"query value with NUL",
       request("GET", "/v1/audit?actor=%00", "Authorization: Bearer {A}\r\n"), 400,
       After::answered_next, "", "", "invalid_query"},
  };
  const std::map<std::string, std::string> values{
      {"{K}", key_}, {"{A}", admin_}, {"{ACCOUNT}", account_id}};
  const std::string next = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto started = Clock::now();
    Exchange result = exchange(server_.http_port(), fill(c.request, values) + next);
    EXPECT_TRUE(result.closed) << "the server neither answered the next request nor closed";
    EXPECT_LT(Clock::now() - started, 2500ms);
    const bool head = c.request.rfind("HEAD ", 0) == 0;
    const auto answer = take_response(&result.received, head);
    ASSERT_TRUE(answer.has_value()) << result.received;
    EXPECT_EQ(answer->status, c.status) << answer->body;
    if (head) {
      EXPECT_TRUE(answer->body.empty());
    }
    if (!c.header_name.empty()) {
      ASSERT_TRUE(answer->headers.count(c.header_name)) << c.header_name;
      if (!c.header_value.empty()) {
        EXPECT_EQ(answer->headers.at(c.header_name), c.header_value);
      }
    }
    if (!c.code.empty()) {
      ASSERT_TRUE(answer->headers.count("content-type"));
      EXPECT_EQ(answer->headers.at("content-type"), "application/problem+json");
      EXPECT_EQ(nlohmann::json::parse(answer->body, nullptr, false).value("code", ""), c.code);
    }
    if (c.after == After::answered_next) {
      // Framing held: the pipelined request's answer starts exactly where this one ended.
      const auto second = take_response(&result.received, false);
      ASSERT_TRUE(second.has_value()) << "no answer to the next request: " << result.received;
      EXPECT_EQ(second->status, 200);
      EXPECT_EQ(second->body, "{\"status\":\"ok\"}");
    }
    EXPECT_EQ(result.received, "") << "bytes after the last answer";
  }
}

// A client that sends Expect: 100-continue is told at once when its request will be refused
// (without waiting for the body), and told to go on only when it will not.
TEST_F(HttpConformanceTest, ExpectContinueIsAnsweredBeforeTheBody) {
  start();
  const auto headers = [](const std::string& key) {
    return "POST /v1/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + key +
           "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
           "Content-Length: 4000000\r\n\r\n";
  };
  for (const std::string& bad : {std::string("ldg_not_a_key"), admin_.substr(0, 20)}) {
    const auto started = Clock::now();
    Exchange refused = exchange(server_.http_port(), headers(bad), 2000ms);
    EXPECT_LT(Clock::now() - started, 1500ms);
    EXPECT_EQ(refused.received.find("100 Continue"), std::string::npos);
    const auto answer = take_response(&refused.received, false);
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->status, 401);
  }
  // A good key: 100 Continue, then the body, then the answer.
  asio::io_context io;
  asio::ip::tcp::socket socket = open_from(io, "127.0.0.1");
  const std::string body =
      R"({"holder_id":"00000009-0000-4000-8000-000000000001","currency":"EUR","kind":"customer"})";
  std::string head = headers(key_);
  head.replace(head.find("4000000"), 7, std::to_string(body.size()));
  asio::write(socket, asio::buffer(head));
  std::string received(25, '\0');
  asio::read(socket, asio::buffer(received));
  EXPECT_EQ(received, "HTTP/1.1 100 Continue\r\n\r\n");
  asio::write(socket, asio::buffer(body));
  char status[12];
  asio::read(socket, asio::buffer(status));
  EXPECT_EQ(std::string(status, 12), "HTTP/1.1 201");
}

// A connection that never sends a byte holds its slot for the request read timeout (10 s),
// not for the keep-alive idle timeout (60 s).
TEST_F(HttpConformanceTest, AConnectionThatNeverSpeaksIsClosedAfterTheReadTimeout) {
  start();
  asio::io_context io;
  asio::ip::tcp::socket silent = open_from(io, "127.0.0.1");
  const auto started = Clock::now();
  EXPECT_TRUE(closed_within(silent, 20s));
  const auto held = Clock::now() - started;
  EXPECT_GE(held, 9s);
  EXPECT_LT(held, 15s);
}

// One source cannot take every connection slot: beyond the per-source cap (default 256) its
// new connections are closed at accept and counted, while another source, /ready and /metrics
// included, is served.
TEST_F(HttpConformanceTest, OneSourceCannotTakeEveryConnectionSlot) {
  start();
  asio::io_context io;
  std::vector<std::unique_ptr<asio::ip::tcp::socket>> held;
  const std::string ping = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  for (int i = 0; i < 256; ++i) {
    held.push_back(std::make_unique<asio::ip::tcp::socket>(open_from(io, "127.0.0.1")));
    asio::write(*held.back(), asio::buffer(ping));
    char answer[12];
    asio::read(*held.back(), asio::buffer(answer));  // accepted and counted
  }
  for (int i = 0; i < 50; ++i) {
    asio::ip::tcp::socket extra = open_from(io, "127.0.0.1");
    EXPECT_TRUE(closed_within(extra, 2000ms)) << i;
  }
  asio::ip::tcp::socket other = open_from(io, "127.0.0.2");
  asio::write(other, asio::buffer(std::string(
                         "GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                         "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")));
  std::string received;
  boost::system::error_code error;
  char chunk[8192];
  for (std::size_t n; (n = other.read_some(asio::buffer(chunk), error)) > 0 && !error;)
    received.append(chunk, n);
  auto ready = take_response(&received, false);
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->status, 200);
  auto metrics = take_response(&received, false);
  ASSERT_TRUE(metrics.has_value());
  EXPECT_NE(metrics->body.find("ledgerd_connections_refused_total{interface=\"http\"} 50"),
            std::string::npos);
  // Refusals are counted, and logged once per thousand, not once each.
  const std::string log = server_.output();
  std::size_t lines = 0;
  for (auto at = log.find("event=http_connection_refused"); at != std::string::npos;
       at = log.find("event=http_connection_refused", at + 1))
    ++lines;
  EXPECT_LE(lines, 1u);
}

}  // namespace
}  // namespace ledger
