#include "http_client.h"

#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>

namespace ledger::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

bool connect(asio::ip::tcp::socket& socket, int port, int timeout_ms) {
  boost::system::error_code error;
  socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}, error);
  if (error) return false;
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return true;
}

}  // namespace

HttpReply http_call(int port, const std::string& method, const std::string& target,
                    const std::string& body, const std::map<std::string, std::string>& headers,
                    int timeout_ms) {
  return http_call_to("127.0.0.1", port, method, target, body, headers, timeout_ms);
}

HttpReply http_call_to(const std::string& address, int port, const std::string& method,
                       const std::string& target, const std::string& body,
                       const std::map<std::string, std::string>& headers, int timeout_ms) {
  // Asynchronous operations on a stream with a deadline: the whole exchange ends by
  // `timeout_ms` (Asio's blocking calls ignore SO_RCVTIMEO and would wait for ever on a server
  // that was stopped with SIGSTOP).
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::milliseconds(timeout_ms));
  HttpReply reply;
  boost::system::error_code error;
  const auto wait = [&io] {
    io.run();
    io.restart();
  };
  const auto ip = asio::ip::make_address(address, error);
  if (error) return reply;
  stream.async_connect({ip, static_cast<unsigned short>(port)},
                       [&error](boost::system::error_code e) { error = e; });
  wait();
  if (error) return reply;
  bhttp::request<bhttp::string_body> request{bhttp::string_to_verb(method), target, 11};
  request.set(bhttp::field::host, address);
  if (!body.empty()) request.set(bhttp::field::content_type, "application/json");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  bhttp::async_write(stream, request,
                     [&error](boost::system::error_code e, std::size_t) { error = e; });
  wait();
  if (error) return reply;
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (method == "HEAD") parser.skip(true);
  bhttp::async_read(stream, buffer, parser,
                    [&error](boost::system::error_code e, std::size_t) { error = e; });
  wait();
  if (error) return reply;
  auto response = parser.release();
  reply.status = static_cast<int>(response.result_int());
  reply.body = response.body();
  for (const auto& field : response) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(field.value());
  }
  return reply;
}

std::string raw_exchange(int port, const std::string& bytes, int timeout_ms) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  if (!connect(socket, port, timeout_ms)) return "";
  boost::system::error_code error;
  asio::write(socket, asio::buffer(bytes), error);
  std::string received;
  char chunk[4096];
  for (;;) {
    const std::size_t n = socket.read_some(asio::buffer(chunk), error);
    if (error) break;
    received.append(chunk, n);
  }
  return received;
}

}  // namespace ledger::testing
