#include "http/server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <tuple>

#include "net/listener.h"
namespace ledger::http {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using std::chrono::milliseconds;

}  // namespace

struct Server::Session {
  Session(asio::ip::tcp::socket socket, asio::ssl::context* tls_context)
      : stream(std::move(socket)) {
    if (tls_context != nullptr)
      tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(stream), *tls_context);
  }
  // The TCP layer (timeouts, socket) whether or not TLS runs over it.
  beast::tcp_stream& tcp() { return tls ? tls->next_layer() : stream; }
  beast::tcp_stream stream;  // plain HTTP (moved into `tls` for HTTPS)
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  bool busy = false;         // a request is being read, handled or answered (strand-owned)
  bool closing = false;      // stop() asked: close after the current response (strand-owned)
  bool linger = false;       // answered before reading the whole request: drain before closing
  std::uint64_t served = 0;  // requests answered on this connection (strand-owned)
  asio::ip::address source;  // the peer's address (set before the session starts)
};

namespace {
// After answering a request we did not read whole (413, 431, 400), the client may still be
// sending. Closing at once would reset the connection and destroy our answer in its receive
// buffer, so half-close and discard what arrives for a bounded time and size first.
asio::awaitable<void> lingering_close(beast::tcp_stream& stream, std::size_t bytes_max) {
  boost::system::error_code error;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, error);
  std::array<char, 16 * 1024> sink;
  std::size_t drained = 0;
  stream.expires_after(std::chrono::milliseconds(limits::http_linger_ms));
  while (!error && drained < bytes_max) {
    std::size_t n = 0;
    std::tie(error, n) = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
    drained += n;
  }
}
}  // namespace

Status make_tls_context(const std::string& certificate_file, const std::string& key_file,
                        std::shared_ptr<asio::ssl::context>* out) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  boost::system::error_code error;
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1 | asio::ssl::context::no_compression |
                           asio::ssl::context::single_dh_use,
                       error);
  if (!error) context->use_certificate_chain_file(certificate_file, error);
  if (error) {
    return Status::error("cannot load the TLS certificate chain " + certificate_file + ": " +
                         error.message());
  }
  context->use_private_key_file(key_file, asio::ssl::context::pem, error);
  if (error) {
    return Status::error("cannot load the TLS private key " + key_file + ": " + error.message());
  }
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    return Status::error("the TLS private key " + key_file + " does not match the certificate " +
                         certificate_file);
  }
  *out = std::move(context);
  return Status();
}

Server::Server(asio::io_context& io, Handler handler, ServerOptions options)
    : io_(io), handler_(std::move(handler)), options_(options), acceptor_(io) {}

Status Server::listen(const asio::ip::tcp::endpoint& endpoint) {
  return listen_on(acceptor_, endpoint);
}

asio::ip::tcp::endpoint Server::local_endpoint() const { return acceptor_.local_endpoint(); }

namespace {
// The last line of a coroutine of this server: an exception is logged, never lost. (Each
// session catches its own and answers 500 through call_handler.)
void log_escape(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("event=http_coroutine_failed error=\"{}\"", e.what());
  } catch (...) {
    spdlog::error("event=http_coroutine_failed error=unknown");
  }
}
}  // namespace

void Server::start() { asio::co_spawn(acceptor_.get_executor(), accept_loop(), log_escape); }

void Server::stop() {
  stopping_ = true;
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  std::lock_guard lock(sessions_mutex_);
  for (const auto& weak : sessions_) {
    if (auto session = weak.lock()) {
      asio::post(session->tcp().get_executor(), [session] {
        session->closing = true;
        if (!session->busy) session->tcp().socket().close();
      });
    }
  }
}

void Server::forget(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.remove_if([&](const std::weak_ptr<Session>& weak) {
    auto locked = weak.lock();
    return !locked || locked == session;
  });
  if (const auto it = per_source_.find(session->source); it != per_source_.end()) {
    if (--it->second == 0) per_source_.erase(it);
  }
}

asio::awaitable<void> Server::accept_loop() {
  while (!stopping_) {
    auto [error, socket] = co_await acceptor_.async_accept(asio::make_strand(io_), use_tuple);
    if (error) {
      if (error == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      spdlog::warn("event=http_accept_failed error=\"{}\"", error.message());
      asio::steady_timer pause(acceptor_.get_executor(), milliseconds(50));  // e.g. EMFILE
      co_await pause.async_wait(use_tuple);
      continue;
    }
    boost::system::error_code peer_error;
    const auto peer = socket.remote_endpoint(peer_error);
    const char* refusal = peer_error || !source_allowed(socket, options_.allowlist) ? "allowlist"
                          : open_connections_.load() >= options_.connections_max ? "connections_max"
                                                                                 : nullptr;
    if (refusal == nullptr) {
      std::lock_guard lock(sessions_mutex_);
      if (per_source_[peer.address()] >= options_.connections_per_source_max) {
        refusal = "connections_per_source_max";
      }
    }
    if (refusal != nullptr) {
      // Counted always; logged once per thousand, so a flood cannot flood the log too.
      if (refused_connections_++ % 1000 == 0) {
        spdlog::warn("event=http_connection_refused reason={} refused_total={}", refusal,
                     refused_connections_.load());
      }
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    boost::system::error_code nodelay_error;  // answers go out whole: no Nagle delay
    socket.set_option(asio::ip::tcp::no_delay(true), nodelay_error);
    auto session = std::make_shared<Session>(std::move(socket), options_.tls.get());
    session->source = peer.address();
    {
      std::lock_guard lock(sessions_mutex_);
      sessions_.push_back(session);
      ++per_source_[session->source];
    }
    ++open_connections_;
    asio::co_spawn(session->tcp().get_executor(), run_session(session), log_escape);
  }
}

asio::awaitable<void> Server::run_session(std::shared_ptr<Session> session) {
  beast::flat_buffer buffer(options_.header_bytes_max + options_.body_bytes_max);
  try {
    if (session->tls) {
      // The handshake is a read like any other: bounded by the read timeout. A client that
      // speaks plain HTTP (or nothing) to this port fails it and is closed.
      session->tcp().expires_after(milliseconds(options_.read_timeout_ms));
      auto [handshake_error] =
          co_await session->tls->async_handshake(asio::ssl::stream_base::server, use_tuple);
      if (handshake_error) {
        ++tls_failures_;
        spdlog::warn("event=tls_handshake_failed reason=\"{}\"", handshake_error.message());
      } else {
        while (!session->closing && co_await serve_one(*session, *session->tls, buffer)) {
        }
        session->tcp().expires_after(milliseconds(1'000));  // close_notify, bounded
        auto [shutdown_error] = co_await session->tls->async_shutdown(use_tuple);
        (void)shutdown_error;
      }
    } else {
      while (!session->closing && co_await serve_one(*session, session->stream, buffer)) {
      }
      if (session->linger) co_await lingering_close(session->stream, limits::http_linger_bytes_max);
    }
  } catch (const std::exception& error) {
    spdlog::error("event=http_session_failed error=\"{}\"", error.what());
  }
  boost::system::error_code ignored;
  session->tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  session->tcp().socket().close(ignored);
  forget(session);
  --open_connections_;
}

namespace {

// What the server refuses in a request's framing before anything else (RFC 9112): an HTTP/1.1
// request needs exactly one Host; the only transfer coding it accepts is chunked alone; the
// only expectation it meets is 100-continue.
// The absolute form ("GET http://host/path", RFC 9112 section 3.2.2) is accepted as its path
// and query; routes and the audit trail see "/path?query".
void normalize_target(RequestHeader& header) {
  const std::string_view target(header.target().data(), header.target().size());
  std::size_t scheme = 0;
  if (target.size() >= 7 && beast::iequals(target.substr(0, 7), "http://")) scheme = 7;
  if (target.size() >= 8 && beast::iequals(target.substr(0, 8), "https://")) scheme = 8;
  if (scheme == 0) return;
  const std::size_t path = target.find_first_of("/?", scheme);
  std::string origin_form = path == std::string_view::npos ? "/" : std::string(target.substr(path));
  if (origin_form.front() == '?') origin_form.insert(origin_form.begin(), '/');
  header.target(origin_form);
}

std::optional<Response> refuse_framing(const RequestHeader& header) {
  if (header.method() == bhttp::verb::unknown) {  // RFC 9110 section 9.1: 501
    return make_problem(bhttp::status::not_implemented, "method_not_implemented",
                        "ledgerd implements GET, HEAD, POST and PATCH", header.version());
  }
  if (header.version() >= 11 && header.count(bhttp::field::host) != 1) {
    return make_problem(bhttp::status::bad_request, "malformed_http",
                        "an HTTP/1.1 request needs exactly one Host header", header.version());
  }
  if (const auto coding = header.find(bhttp::field::transfer_encoding); coding != header.end()) {
    std::string value(coding->value());
    for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
    if (value != "chunked" || header.count(bhttp::field::transfer_encoding) != 1) {
      return make_problem(bhttp::status::not_implemented, "transfer_coding_not_supported",
                          "only Transfer-Encoding: chunked is supported", header.version());
    }
  }
  if (const auto expect = header.find(bhttp::field::expect); expect != header.end()) {
    if (!beast::iequals(expect->value(), "100-continue")) {
      return make_problem(bhttp::status::expectation_failed, "expectation_failed",
                          "only Expect: 100-continue is supported", header.version());
    }
  }
  return std::nullopt;
}

std::optional<Response> refuse_read_error(const boost::system::error_code& error,
                                          const ServerOptions& options, unsigned version) {
  if (error == bhttp::error::body_limit) {
    return make_problem(bhttp::status::payload_too_large, "body_too_large",
                        "request body exceeds " + std::to_string(options.body_bytes_max) + " bytes",
                        version);
  }
  if (error == bhttp::error::header_limit) {
    return make_problem(
        bhttp::status::request_header_fields_too_large, "header_too_large",
        "request header exceeds " + std::to_string(options.header_bytes_max) + " bytes", version);
  }
  return make_problem(bhttp::status::bad_request, "malformed_http", error.message(), version);
}

bool connection_gone(const boost::system::error_code& error) {
  return error == beast::error::timeout || error == bhttp::error::end_of_stream ||
         error == asio::error::operation_aborted || error == asio::error::eof ||
         error == asio::error::connection_reset;
}

}  // namespace

// Reads, handles and answers one request. Returns false when the connection should close.
// The header is read first and checked (framing, then options_.check_header: a refused key
// is answered before its body is read, also under Expect: 100-continue); then the body.
template <class Stream>
asio::awaitable<bool> Server::serve_one(Session& session, Stream& stream,
                                        beast::flat_buffer& buffer) {
  if (buffer.size() == 0) {  // wait for the first byte of the next request
    // Before the first request a connection gets the read timeout: one that never sends a
    // byte holds its slot 10 s, not the 60 s a client between requests may idle.
    session.tcp().expires_after(
        milliseconds(session.served == 0 ? options_.read_timeout_ms : options_.idle_timeout_ms));
    auto [error, bytes] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
    if (error) co_return false;
    buffer.commit(bytes);
  }
  session.busy = true;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(options_.header_bytes_max));
  parser.body_limit(options_.body_bytes_max);
  session.tcp().expires_after(milliseconds(options_.read_timeout_ms));
  auto [header_error, header_bytes] =
      co_await bhttp::async_read_header(stream, buffer, parser, use_tuple);
  if (header_error && connection_gone(header_error)) co_return false;
  std::optional<Response> refused;
  if (header_error) {
    refused = refuse_read_error(header_error, options_, 11);
  } else {
    normalize_target(parser.get());
    refused = refuse_framing(parser.get());
    if (!refused && options_.check_header) refused = options_.check_header(parser.get());
  }
  if (!refused) {
    if (const auto expect = parser.get().find(bhttp::field::expect);
        expect != parser.get().end() && !parser.is_done()) {
      session.tcp().expires_after(milliseconds(options_.write_timeout_ms));
      static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
      auto [continue_error, n] =
          co_await asio::async_write(stream, asio::buffer(go_on.data(), go_on.size()), use_tuple);
      if (continue_error) co_return false;
      session.tcp().expires_after(milliseconds(options_.read_timeout_ms));
    }
    auto [body_error, body_bytes] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
    if (body_error && connection_gone(body_error)) co_return false;
    if (body_error) refused = refuse_read_error(body_error, options_, parser.get().version());
  }
  // HEAD is answered as GET without the body (the headers, Content-Length included, stay).
  const bool head = !header_error && parser.get().method() == bhttp::verb::head;
  Response response;
  bool keep_alive = false;
  if (refused) {
    session.linger = true;  // the client may still be sending what we did not read
    response = std::move(*refused);
    if (!header_error && options_.observe_refusal) options_.observe_refusal(parser.get(), response);
  } else {
    Request request = parser.release();
    response = co_await call_handler(request);
    keep_alive = request.keep_alive();
  }
  ++session.served;
  response.keep_alive(keep_alive && !session.closing);
  response.prepare_payload();
  session.tcp().expires_after(milliseconds(options_.write_timeout_ms));
  boost::system::error_code write_error;
  if (head) {
    bhttp::response_serializer<bhttp::string_body> serializer{response};
    std::tie(write_error, std::ignore) =
        co_await bhttp::async_write_header(stream, serializer, use_tuple);
  } else {
    std::tie(write_error, std::ignore) = co_await bhttp::async_write(stream, response, use_tuple);
  }
  session.busy = false;
  co_return !write_error && response.keep_alive();
}

asio::awaitable<Response> Server::call_handler(Request& request) {
  try {
    co_return co_await handler_(request);
  } catch (const std::exception& error) {
    spdlog::error("event=http_handler_failed target=\"{}\" error=\"{}\"",
                  std::string(request.target()), error.what());
  }
  co_return make_problem(bhttp::status::internal_server_error, "internal_error",
                         "the server failed to handle this request", request.version());
}

}  // namespace ledger::http
