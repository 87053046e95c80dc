// The card-network listener: ISO 8583 over TCP with 2-byte big-endian length framing. Many
// requests may be in flight on one connection; answers go out as they are ready and the
// network matches them by DE11/DE37. Every authorization is answered within its deadline:
// if the ledger has not made the answer durable by then it is 91, and a hold that commits
// later is voided through the journal. docs/iso8583.md describes the dialect and decisions.
//
// Threads: sessions run on the io_context's threads, one strand per connection.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "codec.h"
#include "ledger/metrics.h"
#include "ledger/sink.h"
#include "ledger/status.h"

namespace ledger::iso8583 {

namespace asio = boost::asio;

struct ServerOptions {
  BitmapEncoding bitmap = BitmapEncoding::binary;
  std::chrono::milliseconds deadline{2'000};        // from receipt to answer
  std::chrono::milliseconds idle_timeout{300'000};  // between frames (networks echo with 0800)
  std::chrono::milliseconds read_timeout{5'000};    // the rest of a frame once it has started
  std::size_t in_flight_max = 256;                  // per connection
  std::size_t connections_max = 64;
  std::vector<asio::ip::address> allowlist;  // empty: any source
  std::string pan_secret;                    // same as the REST API's
  std::string home_country;                  // ISO 3166 numeric (DE19); empty: never abroad
  std::uint32_t hold_days = 7;
  std::uint32_t preauthorization_hold_days = 30;
  std::vector<std::uint16_t> preauthorization_mccs;  // hotels, car rental, ...
  std::vector<std::uint16_t> over_capture_mccs;      // restaurants (tips), fuel, ...
};

// Defaults for the MCC tables (documented in docs/iso8583.md).
std::vector<std::uint16_t> default_preauthorization_mccs();
std::vector<std::uint16_t> default_over_capture_mccs();

struct ServerCounters {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> deadline_misses{0};
  std::atomic<std::uint64_t> late_holds_voided{0};
  std::atomic<std::uint64_t> malformed{0};
  std::atomic<std::uint64_t> refused_connections{0};
  metrics::CounterFamily answers{{"type", "result"}};                        // request MTI, DE39
  metrics::Histogram authorization_latency = metrics::Histogram::latency();  // 0100/0200
  metrics::Histogram other_latency = metrics::Histogram::latency();
};

class Server {
 public:
  Server(asio::io_context& io, CommandSink& sink, ServerOptions options);
  Status listen(const asio::ip::tcp::endpoint& endpoint);
  asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void start();
  void stop();
  std::size_t open_connections() const { return open_connections_.load(); }
  const ServerCounters& counters() const { return counters_; }
  void register_metrics(metrics::Registry& registry);

  // The answer to one decoded request (exposed for tests; runs on a session's strand).
  asio::awaitable<Message> handle(const Message& request,
                                  std::chrono::steady_clock::time_point received);

 private:
  class Session;
  asio::awaitable<void> accept_loop();
  asio::awaitable<Message> authorize(const Message& request,
                                     std::chrono::steady_clock::time_point received);
  asio::awaitable<Message> authorize_forced(const Message& request,
                                            std::chrono::steady_clock::time_point received);
  asio::awaitable<Message> authorize_message(const Message& request,
                                             std::chrono::steady_clock::time_point received,
                                             bool force);
  void count_answer(const Message& request, const Message& reply,
                    std::chrono::steady_clock::time_point received);
  asio::awaitable<Message> reverse(const Message& request,
                                   std::chrono::steady_clock::time_point received);
  asio::awaitable<Message> complete(const Message& request,
                                    std::chrono::steady_clock::time_point received);
  asio::awaitable<Message> advise(const Message& request,
                                  std::chrono::steady_clock::time_point received);

  asio::io_context& io_;
  CommandSink& sink_;
  ServerOptions options_;
  asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> open_connections_{0};
  std::uint64_t instance_ = 0;  // unique per Server in this process (metrics cache key)
  std::mutex sessions_mutex_;
  std::list<std::weak_ptr<Session>> sessions_;
  ServerCounters counters_;
};

// The transfer id of an authorization: from the acquirer (DE32, leading zeros ignored), DE11
// and DE7, so a repeat or retransmission finds the original. DE90 names the same fields.
TransferId authorization_id(std::string_view acquirer, std::string_view stan,
                            std::string_view transmission);

}  // namespace ledger::iso8583
