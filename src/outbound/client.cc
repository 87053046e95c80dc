#include "outbound/client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "ledger/parse.h"

namespace ledger::outbound {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t answer_bytes_max = 64 * 1024;
constexpr auto token = asio::as_tuple(asio::use_awaitable);

std::int64_t retry_after(std::string_view value) {
  std::uint64_t seconds = 0;
  if (value.size() > 9 || !parse_digits(value, &seconds)) {
    return -1;  // an HTTP-date or garbage: the schedule decides
  }
  return static_cast<std::int64_t>(seconds);
}

template <typename Stream>
asio::awaitable<HttpAttempt> exchange(Stream& stream, beast::tcp_stream& deadline_stream,
                                      const Url& url, const Headers& headers, std::string body,
                                      std::chrono::steady_clock::time_point deadline) {
  HttpAttempt attempt;
  bhttp::request<bhttp::string_body> request{bhttp::verb::post, url.target, 11};
  request.set(bhttp::field::host, url.hint().substr(url.https ? 8 : 7));
  request.set(bhttp::field::user_agent, "ledgerd-webhooks/1");
  request.set(bhttp::field::content_type, "application/json");
  request.set(bhttp::field::connection, "close");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = std::move(body);
  request.prepare_payload();
  deadline_stream.expires_at(deadline);
  auto [write_error, written] = co_await bhttp::async_write(stream, request, token);
  (void)written;
  if (write_error) {
    attempt.error = "write: " + write_error.message();
    co_return attempt;
  }
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(answer_bytes_max);
  parser.header_limit(16 * 1024);
  deadline_stream.expires_at(deadline);
  auto [read_error, read] = co_await bhttp::async_read(stream, buffer, parser, token);
  (void)read;
  if (parser.is_header_done()) {
    attempt.status = static_cast<int>(parser.get().result_int());
    attempt.retry_after_s = retry_after(parser.get()[bhttp::field::retry_after]);
    if (read_error == bhttp::error::body_limit) read_error = {};  // the status is what counts
  }
  if (read_error && attempt.status == 0) attempt.error = "read: " + read_error.message();
  co_return attempt;
}

}  // namespace

asio::awaitable<HttpAttempt> post(const Url& url, const Headers& headers, std::string body,
                                  const Allowlist& allowlist, asio::ssl::context& tls,
                                  std::chrono::milliseconds timeout) {
  HttpAttempt attempt;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto executor = co_await asio::this_coro::executor;
  // Shared with the guard's handler, which may run after this coroutine has moved on (the
  // timer fired just as the resolve completed).
  auto resolver = std::make_shared<tcp::resolver>(executor);
  asio::steady_timer guard(executor);
  // The resolver has no deadline of its own: a timer cancels it.
  guard.expires_at(deadline);
  guard.async_wait([resolver](boost::system::error_code error) {
    if (!error) resolver->cancel();
  });
  auto [resolve_error, endpoints] =
      co_await resolver->async_resolve(url.host, std::to_string(url.port), token);
  guard.cancel();
  if (resolve_error) {
    attempt.error = "resolve: " + resolve_error.message();
    co_return attempt;
  }
  const bool host_allowed = allowlist.permits_host(url.host);
  for (const auto& entry : endpoints) {
    const auto address = entry.endpoint().address();
    if (is_private(address) && !host_allowed && !allowlist.permits(address)) {
      attempt.error = "the host resolves to a private address (" + address.to_string() +
                      "); permit it with LEDGER_WEBHOOK_ALLOWLIST";
      co_return attempt;
    }
  }
  if (url.https) {
    beast::ssl_stream<beast::tcp_stream> stream(executor, tls);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
      attempt.error = "tls: cannot set the server name";
      co_return attempt;
    }
    stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
    beast::get_lowest_layer(stream).expires_at(deadline);
    auto [connect_error, connected] =
        co_await beast::get_lowest_layer(stream).async_connect(endpoints, token);
    (void)connected;
    if (connect_error) {
      attempt.error = "connect: " + connect_error.message();
      co_return attempt;
    }
    auto [handshake_error] = co_await stream.async_handshake(asio::ssl::stream_base::client, token);
    if (handshake_error) {
      attempt.error = "tls: " + handshake_error.message();
      co_return attempt;
    }
    attempt = co_await exchange(stream, beast::get_lowest_layer(stream), url, headers,
                                std::move(body), deadline);
    beast::get_lowest_layer(stream).close();
    co_return attempt;
  }
  beast::tcp_stream stream(executor);
  stream.expires_at(deadline);
  auto [connect_error, connected] = co_await stream.async_connect(endpoints, token);
  (void)connected;
  if (connect_error) {
    attempt.error = "connect: " + connect_error.message();
    co_return attempt;
  }
  attempt = co_await exchange(stream, stream, url, headers, std::move(body), deadline);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return attempt;
}

}  // namespace ledger::outbound
