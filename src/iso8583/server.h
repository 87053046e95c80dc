// The card-network listener: ISO 8583 over TCP with 2-byte big-endian length framing. Many
// requests may be in flight on one connection; answers go out as they are ready and the
// network matches them by DE11/DE37. Every request is answered within its deadline: if the
// ledger has not made the answer durable by then it is 91, and a hold that commits later is
// voided through the journal. What a message means is decided by translate.h (pure) and the
// engine; a session only reads, calls and writes. docs/iso8583.md describes the dialect.
//
// A connection is never closed for one bad message: a frame that can be delimited gets an
// answer (30 for a malformed field, 96 if something failed inside ledgerd). It is closed when
// its peer stalls inside a frame or stops reading answers (deadlines on every read and
// write, a bounded outbox), stays idle past idle_timeout, or is evicted: at a connection
// limit, a new connection closes the oldest connection (of the same source, at the per-source
// limit) that has not yet sent one complete valid message.
//
// Threads: sessions run on the io_context's threads, one strand per connection; the session
// registry is shared under a mutex by the accept loop and stop().
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "iso8583/codec.h"
#include "iso8583/translate.h"
#include "ledger/limits.h"
#include "ledger/metrics.h"
#include "ledger/sink.h"
#include "ledger/status.h"

namespace ledger::iso8583 {

namespace asio = boost::asio;

struct ServerOptions {
  BitmapEncoding bitmap = BitmapEncoding::binary;
  std::chrono::milliseconds deadline{limits::auth_deadline_ms};  // from receipt to answer
  // Between frames (networks echo with 0800 every minute or so).
  std::chrono::milliseconds idle_timeout{limits::iso8583_idle_timeout_ms};
  // The rest of a frame once its first byte arrived.
  std::chrono::milliseconds read_timeout{limits::iso8583_read_timeout_ms};
  // One answer written; a peer that does not read within it is closed.
  std::chrono::milliseconds write_timeout{limits::iso8583_write_timeout_ms};
  std::size_t in_flight_max = limits::iso8583_in_flight_max;          // per connection
  std::size_t outbox_frames_max = limits::iso8583_outbox_frames_max;  // per connection
  std::size_t connections_max = limits::iso8583_connections_max;
  std::size_t connections_per_source_max = limits::iso8583_connections_per_source_max;
  std::vector<asio::ip::address> allowlist;  // empty: any source
  TranslateOptions translate;
  // PostgreSQL's clock minus our steady clock (ms; the lease keeper's last reading; null or 0:
  // none, the wall clock is used): an authorization's answer_by_ns is journaled on
  // PostgreSQL's clock, read off our steady clock, so that a later lease holder compares it
  // with commit timestamps within milliseconds, and a step of our wall clock cannot move it.
  const std::atomic<std::int64_t>* pg_clock_anchor_ms = nullptr;
};

struct ServerCounters {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> deadline_misses{0};
  std::atomic<std::uint64_t> late_holds_voided{0};  // late authorizations reversed
  std::atomic<std::uint64_t> decisions_unrecorded{0};
  std::atomic<std::uint64_t> completions_refused{0};
  std::atomic<std::uint64_t> malformed{0};
  std::atomic<std::uint64_t> responses_dropped{0};  // response-class MTIs sent to us
  std::atomic<std::uint64_t> internal_errors{0};    // answered 96
  std::atomic<std::uint64_t> refused_connections{0};
  std::atomic<std::uint64_t> evicted_connections{0};
  std::atomic<std::uint64_t> stalled_writers{0};       // closed: not reading their answers
  metrics::CounterFamily answers{{"type", "result"}};  // request MTI, DE39
  metrics::Histogram authorization_latency = metrics::Histogram::latency();  // 0100/0200
  metrics::Histogram other_latency = metrics::Histogram::latency();
};

class Server {
 public:
  Server(asio::io_context& io, CommandSink& sink, ServerOptions options);
  Status listen(const asio::ip::tcp::endpoint& endpoint);
  asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void start();
  // Stops accepting and reading; every request already received is still answered, then each
  // connection closes. open_connections() reaches 0 when all have.
  void stop();
  std::size_t open_connections() const { return open_connections_.load(); }
  const ServerCounters& counters() const { return counters_; }
  void register_metrics(metrics::Registry& registry);

 private:
  class Session;
  asio::awaitable<void> accept_loop();
  // Makes room for a connection from `source`: evicts the oldest connection that has not
  // proven itself if a limit is reached. false: no room (the new one is refused).
  bool admit(const asio::ip::address& source);
  void forget(const Session* session);
  // The request path (server.cc, Session::handle): deadline and answer_by before the ledger,
  // 91 at the deadline, the late rule for a decision that comes after it.
  void prepare(Translation* translation, std::chrono::steady_clock::time_point due,
               bool* reversed_at_deadline, std::uint64_t* answer_by);
  void time_out(Translation* translation, bool reversed_at_deadline, std::uint64_t answer_by);
  void late(const Translation& translation, bool reversed_at_deadline, std::uint64_t answer_by,
            const CommandResult& result, Outcome outcome);
  void note_trouble(const Translation& translation, const CommandResult& result);
  void count_answer(std::string_view request_mti, const Message& reply,
                    std::chrono::steady_clock::time_point received);

  asio::io_context& io_;
  CommandSink& sink_;
  ServerOptions options_;
  asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> open_connections_{0};
  std::uint64_t instance_ = 0;  // unique per Server in this process (metrics cache key)
  std::mutex sessions_mutex_;   // guards sessions_
  std::list<std::shared_ptr<Session>> sessions_;  // oldest first
  ServerCounters counters_;
};

}  // namespace ledger::iso8583
