// A local HTTP receiver for webhook tests: accepts on 127.0.0.1, reads one request per
// connection, answers what the test's policy says (status, headers, delay), and records every
// request. Bounded: at most 10,000 requests, bodies of 1 MiB, and it stops with the test.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ledger::testing {

struct ReceivedRequest {
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::chrono::steady_clock::time_point at;
};

struct ReceiverAnswer {
  int status = 200;
  std::map<std::string, std::string> headers;
  std::chrono::milliseconds delay{0};
  std::string body = "ok";
};

class Receiver {
 public:
  using Policy = std::function<ReceiverAnswer(std::size_t index, const ReceivedRequest&)>;

  explicit Receiver(Policy policy = {})
      : policy_(std::move(policy)),
        acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { run(); });
  }
  ~Receiver() {
    stopping_ = true;
    thread_.join();
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  void set_policy(Policy policy) {
    std::lock_guard lock(mutex_);
    policy_ = std::move(policy);
  }
  std::vector<ReceivedRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  // Waits (bounded) until at least n requests arrived.
  std::vector<ReceivedRequest> wait_for(std::size_t n, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      {
        std::lock_guard lock(mutex_);
        if (requests_.size() >= n) return requests_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return requests();
  }

 private:
  void run() {
    namespace http = boost::beast::http;
    acceptor_.non_blocking(true);
    while (!stopping_) {
      boost::asio::ip::tcp::socket socket(io_);
      boost::system::error_code error;
      acceptor_.accept(socket, error);
      if (error) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      socket.non_blocking(false);
      timeval tv{5, 0};
      setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      boost::beast::flat_buffer buffer;
      http::request_parser<http::string_body> parser;
      parser.body_limit(1 << 20);
      http::read(socket, buffer, parser, error);
      if (error) continue;
      ReceivedRequest got;
      got.target = std::string(parser.get().target());
      for (const auto& field : parser.get()) {
        std::string name(field.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        got.headers[name] = std::string(field.value());
      }
      got.body = parser.get().body();
      got.at = std::chrono::steady_clock::now();
      ReceiverAnswer answer;
      {
        std::lock_guard lock(mutex_);
        if (requests_.size() >= 10'000) continue;
        if (policy_) answer = policy_(requests_.size(), got);
        requests_.push_back(got);
      }
      if (answer.delay.count() > 0) std::this_thread::sleep_for(answer.delay);
      http::response<http::string_body> response{static_cast<http::status>(answer.status), 11};
      for (const auto& [name, value] : answer.headers) response.set(name, value);
      response.body() = answer.body;
      response.prepare_payload();
      http::write(socket, response, error);
      socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, error);
    }
  }

  Policy policy_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::mutex mutex_;
  std::vector<ReceivedRequest> requests_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace ledger::testing
