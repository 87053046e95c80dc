// HTTP/1.1 server on Boost.Beast: one coroutine per connection on its own strand, a timeout
// on every read and write, header and body limits, a connection cap, graceful stop.
// Requests of one connection are handled in order (pipelined requests queue in the buffer).
//
// Threads: constructed on the main thread; accept loop and sessions run on the io_context's
// threads; stop() may be called from any thread.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http/message.h"
#include "ledger/limits.h"
#include "ledger/status.h"

namespace ledger::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// Produces the answer to one request. May suspend (e.g. until a journal batch commits).
using Handler = std::function<asio::awaitable<Response>(Request&)>;
// Called once a request's header is read, before its body: an answer to send instead of
// reading the body (a refused key, say), or nullopt to go on.
using HeaderCheck = std::function<std::optional<Response>(const RequestHeader&)>;
// Called when the server answered a request itself (an answer from HeaderCheck, a body over
// the limit, a framing it refuses), so that the refusal can be recorded.
using RefusalObserver = std::function<void(const RequestHeader&, const Response&)>;

struct ServerOptions {
  std::uint32_t connections_max = limits::http_connections_max_default;
  std::uint32_t connections_per_source_max = limits::http_connections_per_source_max_default;
  std::uint32_t read_timeout_ms = limits::http_read_timeout_ms;
  std::uint32_t idle_timeout_ms = limits::http_idle_timeout_ms;
  std::uint32_t write_timeout_ms = limits::http_write_timeout_ms;
  std::size_t header_bytes_max = limits::http_header_bytes_max;
  std::size_t body_bytes_max = limits::http_body_bytes_max;
  std::vector<asio::ip::address> allowlist;  // empty: any source
  // TLS (HTTPS) when set: every connection must complete a TLS handshake within the read
  // timeout; anything else (plain HTTP included) is closed.
  std::shared_ptr<asio::ssl::context> tls;
  HeaderCheck check_header;         // optional
  RefusalObserver observe_refusal;  // optional
};

// A TLS 1.2+ server context from PEM files (certificate chain, private key). The error names
// the file and OpenSSL's reason.
Status make_tls_context(const std::string& certificate_file, const std::string& key_file,
                        std::shared_ptr<asio::ssl::context>* out);

class Server {
 public:
  Server(asio::io_context& io, Handler handler, ServerOptions options = {});
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; the error names the endpoint and the reason ("Address already in use").
  Status listen(const asio::ip::tcp::endpoint& endpoint);
  asio::ip::tcp::endpoint local_endpoint() const;
  void start();
  // Stops accepting; idle connections close now, busy ones after their current response.
  void stop();
  std::size_t open_connections() const { return open_connections_.load(); }
  std::uint64_t refused_connections() const { return refused_connections_.load(); }
  std::uint64_t tls_handshake_failures() const { return tls_failures_.load(); }

 private:
  struct Session;
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> run_session(std::shared_ptr<Session> session);
  template <class Stream>
  asio::awaitable<bool> serve_one(Session& session, Stream& stream, beast::flat_buffer& buffer);
  asio::awaitable<Response> call_handler(Request& request);
  void forget(const std::shared_ptr<Session>& session);

  asio::io_context& io_;
  Handler handler_;
  ServerOptions options_;
  asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> open_connections_{0};
  std::atomic<std::uint64_t> refused_connections_{0};
  std::atomic<std::uint64_t> tls_failures_{0};
  std::mutex sessions_mutex_;  // guards sessions_ and per_source_ (accept, stop, sessions)
  std::list<std::weak_ptr<Session>> sessions_;
  std::map<asio::ip::address, std::size_t> per_source_;  // open connections by peer address
};

}  // namespace ledger::http
