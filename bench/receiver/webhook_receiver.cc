// webhook_receiver: a local webhook endpoint for the bench (loopback only). Answers every POST
// 204 at once (HTTP/1.1 keep-alive), and for each delivery measures the delivery lag: its
// arrival time minus the event's "timestamp" (the commit's logical time, wall-clock
// nanoseconds). Counts distinct webhook-id values (redeliveries are counted apart). Stops after
// --seconds or on SIGTERM/SIGINT and prints one JSON document.
//
//   webhook_receiver --port-file FILE --seconds S
#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

struct Stats {
  std::vector<double> lag_ms;
  std::unordered_set<std::string> ids;
  std::uint64_t requests = 0;
  std::uint64_t unparsed = 0;
};

// "2026-11-29T12:00:00.123456789Z" -> nanoseconds since the epoch; 0 if it does not parse.
std::int64_t parse_time_ns(const std::string& text) {
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return 0;
  std::int64_t ns = static_cast<std::int64_t>(timegm(&tm)) * 1'000'000'000;
  if (*rest == '.') {
    ++rest;
    std::int64_t scale = 100'000'000;
    while (*rest >= '0' && *rest <= '9') {
      ns += (*rest - '0') * scale;
      scale /= 10;
      ++rest;
    }
  }
  return ns;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

asio::awaitable<void> session(tcp::socket socket, Stats& stats) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    auto [error, n] =
        co_await http::async_read(socket, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (error) co_return;
    const auto& request = parser.get();
    const std::int64_t arrived = now_ns();
    ++stats.requests;
    stats.ids.insert(std::string(request["webhook-id"]));
    const auto body = nlohmann::json::parse(request.body(), nullptr, false);
    const std::int64_t at =
        body.is_object() && body.contains("timestamp") && body["timestamp"].is_string()
            ? parse_time_ns(body["timestamp"].get<std::string>())
            : 0;
    if (at > 0) {
      stats.lag_ms.push_back(static_cast<double>(arrived - at) / 1e6);
    } else {
      ++stats.unparsed;
    }
    http::response<http::empty_body> response{http::status::no_content, request.version()};
    response.keep_alive(request.keep_alive());
    auto [write_error, m] =
        co_await http::async_write(socket, response, asio::as_tuple(asio::use_awaitable));
    if (write_error || !request.keep_alive()) co_return;
  }
}

asio::awaitable<void> listen(tcp::acceptor& acceptor, Stats& stats) {
  for (;;) {
    auto [error, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (error) co_return;
    asio::co_spawn(acceptor.get_executor(), session(std::move(socket), stats),
                   [](std::exception_ptr) {});
  }
}

double percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  std::string port_file;
  int seconds = 600;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--port-file") == 0) port_file = argv[i + 1];
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::max(1, std::atoi(argv[i + 1]));
  }
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  if (!port_file.empty()) std::ofstream(port_file) << acceptor.local_endpoint().port() << "\n";
  Stats stats;
  asio::co_spawn(io, listen(acceptor, stats), [](std::exception_ptr) {});
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&io](auto, int) { io.stop(); });
  asio::steady_timer limit(io, std::chrono::seconds(seconds));
  limit.async_wait([&io](auto) { io.stop(); });
  io.run();
  std::vector<double> lags = stats.lag_ms;
  const double p50 = percentile(lags, 0.50), p99 = percentile(lags, 0.99);
  const double max = lags.empty() ? 0 : *std::max_element(lags.begin(), lags.end());
  const nlohmann::json out{{"requests", stats.requests}, {"distinct_webhook_ids", stats.ids.size()},
                           {"unparsed", stats.unparsed}, {"lag_p50_ms", p50},
                           {"lag_p99_ms", p99},          {"lag_max_ms", max}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
