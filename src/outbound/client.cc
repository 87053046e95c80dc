#include "outbound/client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <tuple>

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
                                      const Url& url, const Headers& headers,
                                      const std::string& body,
                                      std::chrono::steady_clock::time_point deadline, bool last) {
  HttpAttempt attempt;
  bhttp::request<bhttp::string_body> request{bhttp::verb::post, url.target, 11};
  request.set(bhttp::field::host, url.hint().substr(url.https ? 8 : 7));
  request.set(bhttp::field::user_agent, "ledgerd-webhooks/1");
  request.set(bhttp::field::content_type, "application/json");
  if (last) request.set(bhttp::field::connection, "close");  // else HTTP/1.1 keep-alive
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
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
    attempt.keep_alive = !last && !read_error && parser.is_done() && parser.get().keep_alive();
    attempt.status = static_cast<int>(parser.get().result_int());
    attempt.retry_after_s = retry_after(parser.get()[bhttp::field::retry_after]);
    if (read_error == bhttp::error::body_limit) read_error = {};  // the status is what counts
    if (parser.is_done()) attempt.body = std::move(parser.get().body());
  }
  if (read_error && attempt.status == 0) attempt.error = "read: " + read_error.message();
  co_return attempt;
}

}  // namespace

namespace {

// The URL's host resolved within `timeout` (the resolver has no deadline of its own: a timer
// cancels it; the resolver is shared with the timer's handler, which may run after this
// coroutine has moved on).
asio::awaitable<std::tuple<boost::system::error_code, tcp::resolver::results_type>> resolve(
    const Url& url, std::chrono::milliseconds timeout) {
  auto executor = co_await asio::this_coro::executor;
  auto resolver = std::make_shared<tcp::resolver>(executor);
  asio::steady_timer guard(executor);
  guard.expires_at(std::chrono::steady_clock::now() + timeout);
  guard.async_wait([resolver](boost::system::error_code error) {
    if (!error) resolver->cancel();
  });
  auto result = co_await resolver->async_resolve(url.host, std::to_string(url.port), token);
  guard.cancel();
  co_return result;
}

}  // namespace

asio::awaitable<bool> resolves_inward(const Url& url, const Allowlist& allowlist,
                                      std::chrono::milliseconds timeout) {
  if (allowlist.permits_host(url.host) || address_literal(url.host)) co_return false;
  auto [error, endpoints] = co_await resolve(url, timeout);
  if (error) co_return false;
  for (const auto& entry : endpoints) {
    const auto address = entry.endpoint().address();
    if (is_private(address) && !allowlist.permits(address)) co_return true;
  }
  co_return false;
}

asio::awaitable<std::vector<HttpAttempt>> post_all(const Url& url,
                                                   std::vector<OutgoingRequest> requests,
                                                   const Allowlist& allowlist,
                                                   asio::ssl::context& tls,
                                                   std::chrono::milliseconds timeout) {
  std::vector<HttpAttempt> attempts;
  if (requests.empty()) co_return attempts;
  HttpAttempt failed;
  auto executor = co_await asio::this_coro::executor;
  auto [resolve_error, endpoints] = co_await resolve(url, timeout);
  if (resolve_error) {
    failed.error = "resolve: " + resolve_error.message();
    attempts.push_back(failed);
    co_return attempts;
  }
  const bool host_allowed = allowlist.permits_host(url.host);
  for (const auto& entry : endpoints) {
    const auto address = entry.endpoint().address();
    if (is_private(address) && !host_allowed && !allowlist.permits(address)) {
      // Which address is not said: the delivery log is readable over the API, and naming it
      // would map the internal network for whoever picks the host name.
      failed.error =
          "the host resolves to a private, loopback or reserved address; permit it with "
          "LEDGER_WEBHOOK_ALLOWLIST";
      attempts.push_back(failed);
      co_return attempts;
    }
  }
  // One connection for the requests in order (HTTP/1.1 keep-alive); a new one when the
  // destination closed it. Each request has its own deadline; the first that is not answered
  // 2xx ends the sequence (the rest stay pending and are retried later, in order).
  std::size_t next = 0;
  while (next < requests.size()) {
    bool reconnect = false;
    if (url.https) {
      beast::ssl_stream<beast::tcp_stream> stream(executor, tls);
      if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
        failed.error = "tls: cannot set the server name";
        attempts.push_back(failed);
        co_return attempts;
      }
      stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
      beast::get_lowest_layer(stream).expires_after(timeout);
      auto [connect_error, connected] =
          co_await beast::get_lowest_layer(stream).async_connect(endpoints, token);
      (void)connected;
      if (connect_error) {
        failed.error = "connect: " + connect_error.message();
        attempts.push_back(failed);
        co_return attempts;
      }
      auto [handshake_error] =
          co_await stream.async_handshake(asio::ssl::stream_base::client, token);
      if (handshake_error) {
        failed.error = "tls: " + handshake_error.message();
        attempts.push_back(failed);
        co_return attempts;
      }
      for (bool reused = false; next < requests.size() && !reconnect; reused = true) {
        const bool last = next + 1 == requests.size();
        const Headers headers = requests[next].headers_at_send ? requests[next].headers_at_send()
                                                               : requests[next].headers;
        HttpAttempt a = co_await exchange(stream, beast::get_lowest_layer(stream), url, headers,
                                          requests[next].body,
                                          std::chrono::steady_clock::now() + timeout, last);
        if (a.status == 0 && reused) break;  // the destination closed the idle connection
        ++next;
        const bool ok = a.status >= 200 && a.status < 300;
        reconnect = !a.keep_alive;
        attempts.push_back(std::move(a));
        if (!ok) co_return attempts;
      }
      beast::get_lowest_layer(stream).close();
      continue;
    }
    beast::tcp_stream stream(executor);
    stream.expires_after(timeout);
    auto [connect_error, connected] = co_await stream.async_connect(endpoints, token);
    (void)connected;
    if (connect_error) {
      failed.error = "connect: " + connect_error.message();
      attempts.push_back(failed);
      co_return attempts;
    }
    for (bool reused = false; next < requests.size() && !reconnect; reused = true) {
      const bool last = next + 1 == requests.size();
      const Headers headers = requests[next].headers_at_send ? requests[next].headers_at_send()
                                                             : requests[next].headers;
      HttpAttempt a = co_await exchange(stream, stream, url, headers, requests[next].body,
                                        std::chrono::steady_clock::now() + timeout, last);
      if (a.status == 0 && reused) break;  // the destination closed the idle connection
      ++next;
      const bool ok = a.status >= 200 && a.status < 300;
      reconnect = !a.keep_alive;
      attempts.push_back(std::move(a));
      if (!ok) co_return attempts;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
  co_return attempts;
}

asio::awaitable<HttpAttempt> post(const Url& url, const Headers& headers, std::string body,
                                  const Allowlist& allowlist, asio::ssl::context& tls,
                                  std::chrono::milliseconds timeout) {
  std::vector<OutgoingRequest> one;
  one.push_back(OutgoingRequest{headers, std::move(body), {}});
  auto attempts = co_await post_all(url, std::move(one), allowlist, tls, timeout);
  co_return attempts.empty() ? HttpAttempt{} : std::move(attempts.front());
}

}  // namespace ledger::outbound
