// The run against ledgerd: ISO 8583 connections (authorizations, completions, reversals and
// balance inquiries, many in flight per connection) and back-office transfers over REST.
#include <signal.h>

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <thread>

#include "iso8583/codec.h"
#include "iso8583/transaction_ids.h"
#include "ledger/card_ids.h"
#include "ledger/parse.h"
#include "loadgen.h"

namespace ledger::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// A coroutine of the run ends with its exception logged, never silently.
void log_escape(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loadgen: a connection failed: %s\n", e.what());
  }
}

struct Approval {
  std::string stan, transmission, acquirer;
  TransferId id;
  int amount;
  long long acquirer_number;  // DE32 as a number, for DE90
};

class IsoConnection {
 public:
  IsoConnection(asio::io_context& io, const Options& o, Stats& stats, int run, int connection)
      : socket_(io),
        timer_(io),
        reconnect_timer_(io),
        o_(o),
        stats_(stats),
        run_(run),
        connection_(connection) {
    // DE7, the transmission time (MMDDhhmmss, UTC): with DE32 and DE11 it names the
    // transaction, so runs started at different seconds never repeat an earlier one.
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[16];
    std::strftime(text, sizeof text, "%m%d%H%M%S", &utc);
    transmission_ = text;
  }

  bool connect() {
    boost::system::error_code error;
    socket_.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port())},
                    error);
    if (!error) socket_.set_option(asio::ip::tcp::no_delay(true), error);
    connected_ = !error;
    return !error;
  }

  asio::awaitable<void> send(std::vector<Planned> plan) {
    expected_ = plan.size();
    for (std::size_t i = 0; i < plan.size(); ++i) {
      const Planned& p = plan[i];
      const auto intended =
          stats_.start + std::chrono::nanoseconds(static_cast<std::int64_t>(p.offset * 1e9));
      if (Clock::now() < intended) {  // due already (a burst, or behind): no timer round
        timer_.expires_at(intended);
        co_await timer_.async_wait(use_tuple);
      }
      while (!connected_ && !closed_) {  // a failover: wait for the link to the standby
        timer_.expires_after(std::chrono::milliseconds(1));
        co_await timer_.async_wait(use_tuple);
      }
      while (in_flight_.size() >= o_.in_flight_max) {         // the window is full: wait for room
        timer_.expires_after(std::chrono::microseconds(50));  // (latency still counts from
        co_await timer_.async_wait(use_tuple);                // the intended time)
      }
      char text[48];
      std::snprintf(text, sizeof text, "%06zu", i % 1'000'000);
      const std::string stan = text;
      std::snprintf(text, sizeof text, "%d",
                    1'000'000 + run_ * 10'000 + static_cast<int>(i / 1'000'000) * 64 + connection_);
      const std::string acquirer = text;
      const std::string& transmission = transmission_;
      Pending pending{intended, p.kind, {}, {}, p.amount, {}, {}, {}, p.card};
      ledger::iso8583::Message m;
      m.set(2, pan_for(p.card));
      m.set(7, transmission);
      m.set(11, stan);
      m.set(32, acquirer);
      m.set(49, "978");
      Kind kind = p.kind;
      if ((kind == Kind::capture || kind == Kind::reversal) && approvals_.empty())
        kind = Kind::auth;  // nothing approved yet to follow up: authorize instead
      pending.kind = kind;
      if (kind == Kind::auth || kind == Kind::inquiry) {
        m.mti = "0100";
        m.set(3, kind == Kind::auth ? "000000" : "310000");
        std::snprintf(text, sizeof text, "%012d", kind == Kind::auth ? p.amount : 0);
        m.set(4, text);
        m.set(14, "4012");
        m.set(18, "5411");
        m.set(22, "071");
        pending.id = ledger::iso8583::authorization_id(acquirer, stan, transmission);
      } else {
        const Approval original = approvals_.front();
        approvals_.pop_front();
        stats_.settled_online.push_back(original.id);  // completed or reversed: not presented
        m.set(2, pan_for(p.card));  // the card does not matter to the server: DE90 finds it
        m.mti = kind == Kind::capture ? "0220" : "0400";
        m.set(3, "000000");
        std::snprintf(text, sizeof text, "%012d", original.amount);
        m.set(4, text);
        m.set(18, "5411");
        std::snprintf(text, sizeof text, "0100%s%s%011lld%011d", original.stan.c_str(),
                      original.transmission.c_str(), original.acquirer_number, 0);
        m.set(90, text);
        pending.original = original.id;
      }
      std::string frame;  // the 2-byte length header, then the body, in one buffer
      std::string error;
      if (!ledger::iso8583::encode(m, ledger::iso8583::BitmapEncoding::binary, &frame, &error, 2)) {
        ++stats_.errors;
        --expected_;
        continue;
      }
      pending.stan = stan;
      pending.transmission = transmission;
      pending.acquirer = acquirer;
      in_flight_[static_cast<std::uint32_t>(i % 1'000'000)] = pending;
      ++stats_.sent;
      ++stats_.sent_by_kind[static_cast<std::size_t>(kind)];
      frame[0] = static_cast<char>((frame.size() - 2) >> 8);
      frame[1] = static_cast<char>((frame.size() - 2) & 0xFF);
      outbox_.push_back(std::move(frame));
      if (!writing_) {
        writing_ = true;
        asio::co_spawn(socket_.get_executor(), write_loop(), log_escape);
      }
    }
  }

  // Reads as much as the socket holds and takes every complete frame from it (one recv per
  // burst of answers, as the server reads requests).
  asio::awaitable<void> receive() {
    std::vector<char> buffer(64 * 1024 + 2);  // the largest frame fits
    std::size_t begin = 0, end = 0;
    while (received_ + lost_ < expected_) {
      if (end - begin < 2 ||
          end - begin - 2 <
              ((static_cast<std::size_t>(static_cast<unsigned char>(buffer[begin])) << 8) |
               static_cast<unsigned char>(buffer[begin + 1]))) {
        if (begin > 0) {
          std::memmove(buffer.data(), buffer.data() + begin, end - begin);
          end -= begin;
          begin = 0;
        }
        auto [e, n] = co_await socket_.async_read_some(
            asio::buffer(buffer.data() + end, buffer.size() - end), use_tuple);
        if (e || n == 0) {
          if (o_.iso_port_standby <= 0 || closed_ || !co_await reconnect()) co_return;
          begin = end = 0;
          continue;
        }
        end += n;
        continue;
      }
      const std::size_t length =
          (static_cast<std::size_t>(static_cast<unsigned char>(buffer[begin])) << 8) |
          static_cast<unsigned char>(buffer[begin + 1]);
      const std::string_view body(buffer.data() + begin + 2, length);
      begin += 2 + length;
      const auto now = Clock::now();
      ledger::iso8583::Message m;
      ledger::iso8583::DecodeError error;
      if (!ledger::iso8583::decode(body, ledger::iso8583::BitmapEncoding::binary, &m, &error) ||
          !m.has(11)) {
        ++stats_.errors;
        continue;
      }
      std::uint64_t stan = 0;
      if (!ledger::parse_digits(m.get(11), &stan)) {
        ++stats_.errors;
        continue;
      }
      const auto it = in_flight_.find(static_cast<std::uint32_t>(stan));
      if (it == in_flight_.end()) continue;
      const Pending& p = it->second;
      const std::string code = m.has(39) ? m.get(39) : "??";
      stats_.answer(p.kind, p.intended, now, code, o_.deadline_ms);
      if (p.kind == Kind::auth && code == "00") {
        if (port_index_ != 0 && stats_.killed != Clock::time_point{} &&
            stats_.first_approval_after_kill == Clock::time_point{}) {
          stats_.first_approval_after_kill = now;  // the standby, now active, approves
        }
        std::uint64_t acquirer = 0;
        (void)ledger::parse_digits(p.acquirer, &acquirer);  // digits: we made it
        approvals_.push_back(
            {p.stan, p.transmission, p.acquirer, p.id, p.amount, static_cast<long long>(acquirer)});
        stats_.approved.push_back(p.id);
        stats_.clearable.push_back({p.card, p.amount, p.id});
      } else if (p.kind == Kind::auth && code == "91") {
        stats_.busy.push_back(p.id);
      } else if (p.kind == Kind::capture && code == "00") {
        stats_.captured.push_back(ledger::card_ids::completion(p.original));
      } else if (p.kind == Kind::reversal && code == "00") {
        stats_.reversed.push_back(ledger::card_ids::reversal(p.original, 0));
      }
      in_flight_.erase(it);
      ++received_;
    }
  }

  void close() {
    closed_ = true;
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  struct Pending {
    Clock::time_point intended;
    Kind kind;
    TransferId id;        // auth: the hold's id
    TransferId original;  // capture/reversal: the authorization's id
    int amount;
    std::string stan, transmission, acquirer;
    int card = 0;  // auth: the cardholder (for the clearing file)
  };

  int port() const { return port_index_ == 0 ? o_.iso_port : o_.iso_port_standby; }

  // The link broke (the active was killed): what was in flight on it is lost (never
  // answered, as an acquirer sees it), and the connection is made again: to the first port,
  // then the standby's, in turn, every 10 ms, until one accepts or the run is stopped.
  asio::awaitable<bool> reconnect() {
    connected_ = false;
    boost::system::error_code ignored;
    socket_.close(ignored);
    while (writing_) {  // the write in progress ends with the close; let it clear the outbox
      reconnect_timer_.expires_after(std::chrono::milliseconds(1));
      co_await reconnect_timer_.async_wait(use_tuple);
    }
    for (const auto& [stan, pending] : in_flight_) stats_.lose(pending.intended);
    lost_ += in_flight_.size();
    in_flight_.clear();
    outbox_.clear();
    for (int attempt = 0; !closed_; ++attempt) {
      port_index_ = attempt % 2;  // the active's port first: a live server keeps its clients
      auto [error] = co_await socket_.async_connect(
          {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port())}, use_tuple);
      if (!error) {
        socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
        connected_ = true;
        co_return true;
      }
      socket_.close(ignored);
      reconnect_timer_.expires_after(std::chrono::milliseconds(10));
      co_await reconnect_timer_.async_wait(use_tuple);
    }
    co_return false;
  }

  // Every request queued when a write starts leaves in that one write (writev).
  asio::awaitable<void> write_loop() {
    std::vector<asio::const_buffer> buffers;
    while (!outbox_.empty()) {
      const std::size_t count = std::min<std::size_t>(outbox_.size(), 64);
      buffers.clear();
      for (std::size_t i = 0; i < count; ++i) buffers.push_back(asio::buffer(outbox_[i]));
      auto [error, n] = co_await asio::async_write(socket_, buffers, use_tuple);
      if (error) {
        outbox_.clear();
        break;
      }
      outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<std::ptrdiff_t>(count));
    }
    writing_ = false;
  }

  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  asio::steady_timer reconnect_timer_;
  const Options& o_;
  Stats& stats_;
  int run_;
  int connection_;
  std::map<std::uint32_t, Pending> in_flight_;
  std::deque<Approval> approvals_;  // approved, not yet captured or reversed
  std::deque<std::string> outbox_;
  bool writing_ = false;
  std::size_t expected_ = 0;
  std::size_t received_ = 0;
  std::size_t lost_ = 0;
  int port_index_ = 0;  // 0: --iso, 1: --iso-standby
  bool connected_ = false;
  bool closed_ = false;
  std::string transmission_;
};

// Back-office transfers over REST, one keep-alive connection per slice of the schedule. A
// request whose time comes while the previous is still out waits for the connection; its
// latency still counts from its intended time.
asio::awaitable<void> rest_transfers(asio::io_context& io, const Options& o, Stats& stats,
                                     std::vector<Planned> plan, int run, int connection) {
  beast::tcp_stream stream(io);
  int port_index = 0;  // 0: --http, 1: --http-standby
  const auto port = [&] { return port_index == 0 ? o.http_port : o.http_port_standby; };
  auto [connect_error] =
      co_await stream.async_connect(asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"),
                                                            static_cast<unsigned short>(port())},
                                    use_tuple);
  asio::steady_timer timer(io);
  beast::flat_buffer buffer;
  std::uint64_t n = 0;
  for (const Planned& p : plan) {
    const auto intended =
        stats.start + std::chrono::nanoseconds(static_cast<std::int64_t>(p.offset * 1e9));
    timer.expires_at(intended);
    co_await timer.async_wait(use_tuple);
    ++stats.sent;
    ++stats.sent_by_kind[static_cast<std::size_t>(p.kind)];
    // A failover run: a broken connection is made again to the first port, then the
    // standby's, in turn, every 10 ms (a standby answers 503 until it has taken over).
    for (int attempt = 0; connect_error && o.http_port_standby > 0; ++attempt) {
      stream.close();
      port_index = attempt % 2;
      auto [error] = co_await stream.async_connect(
          asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"),
                                  static_cast<unsigned short>(port())},
          use_tuple);
      connect_error = error;
      if (!connect_error) break;
      timer.expires_after(std::chrono::milliseconds(10));
      co_await timer.async_wait(use_tuple);
    }
    if (connect_error) {
      ++stats.errors;
      continue;
    }
    const std::string id = uuid(invocation_nonce() + static_cast<unsigned>(run),
                                (static_cast<unsigned long long>(connection) << 32) | n++);
    const bool instant = p.kind == Kind::instant;
    bhttp::request<bhttp::string_body> request{
        bhttp::verb::post, instant ? "/v1/credit-transfers/instant-payments" : "/v1/transfers", 11};
    request.set(bhttp::field::host, "127.0.0.1");
    request.set(bhttp::field::authorization, "Bearer " + o.key);
    request.set(bhttp::field::content_type, instant ? "application/xml" : "application/json");
    if (instant) {
      std::string reference = id;
      reference.erase(std::remove(reference.begin(), reference.end(), '-'), reference.end());
      request.body() = instant_payment(p.card, p.amount, reference.substr(reference.size() - 30));
    } else {
      request.body() = json{
          {"id", id},
          {"debit_account_id", account_id(p.card)},
          {"credit_account_id", account_id(p.other_card)},
          {"amount", p.amount},
          {"currency",
           "EUR"}}.dump();
    }
    request.prepare_payload();
    stream.expires_after(std::chrono::seconds(30));
    auto [write_error, written] = co_await bhttp::async_write(stream, request, use_tuple);
    bhttp::response<bhttp::string_body> response;
    if (!write_error) {
      auto [read_error, read] = co_await bhttp::async_read(stream, buffer, response, use_tuple);
      write_error = read_error;
    }
    if (write_error) {
      connect_error = write_error;  // the rest of this slice fails fast, or reconnects
      buffer.clear();
      if (o.http_port_standby > 0) {
        stats.lose(intended);
      } else {
        ++stats.errors;
      }
      continue;
    }
    std::string status = std::to_string(response.result_int());
    if (instant && status == "200") {
      // The pacs.002's transaction status: ACCP, or RJCT with its reason.
      const std::string& body = response.body();
      const auto at = body.find("<TxSts>");
      status = at == std::string::npos ? "no_status" : body.substr(at + 7, 4);
      if (status == "RJCT") {
        const auto reason = body.find("<Cd>", at);
        if (reason != std::string::npos) status += " " + body.substr(reason + 4, 4);
      }
    }
    stats.answer(p.kind, intended, Clock::now(), status, o.deadline_ms);
    if (!instant && status == "201") stats.transfers_ok.push_back(id);
    if (status == "503" && o.http_port_standby > 0) {
      // A standby (or a ledgerd stepping down): ask again which one serves, first port first.
      connect_error = boost::asio::error::try_again;
      buffer.clear();
    }
  }
}

}  // namespace

// One run against ledgerd: the plan split round-robin over the connections.
Stats run_ledgerd(const Options& o, const std::vector<Planned>& plan, double seconds, int run,
                  bool series) {
  Stats stats;
  if (series) stats.size_series(static_cast<std::size_t>(seconds) + 1);
  asio::io_context io;
  std::vector<std::vector<Planned>> iso(static_cast<std::size_t>(o.connections));
  std::vector<std::vector<Planned>> http(static_cast<std::size_t>(o.http_connections));
  std::size_t i = 0;
  std::size_t j = 0;
  for (const Planned& p : plan) {
    if (p.kind == Kind::transfer || p.kind == Kind::instant)
      http[j++ % http.size()].push_back(p);
    else
      iso[i++ % iso.size()].push_back(p);
  }
  std::vector<std::unique_ptr<IsoConnection>> connections;
  for (int c = 0; c < o.connections; ++c) {
    auto& conn = connections.emplace_back(std::make_unique<IsoConnection>(io, o, stats, run, c));
    if (!conn->connect()) {
      std::fprintf(stderr, "loadgen: cannot connect to the ISO 8583 port %d\n", o.iso_port);
      stats.errors += iso[static_cast<std::size_t>(c)].size();
      continue;
    }
  }
  stats.start = Clock::now() + std::chrono::milliseconds(200);
  auto cpu_window = start_cpu_window(o, plan, &stats);
  for (int c = 0; c < o.connections; ++c) {
    if (iso[static_cast<std::size_t>(c)].empty()) continue;
    asio::co_spawn(io,
                   connections[static_cast<std::size_t>(c)]->send(iso[static_cast<std::size_t>(c)]),
                   log_escape);
    asio::co_spawn(io, connections[static_cast<std::size_t>(c)]->receive(), log_escape);
  }
  for (int c = 0; c < o.http_connections; ++c) {
    if (http[static_cast<std::size_t>(c)].empty()) continue;
    asio::co_spawn(io, rest_transfers(io, o, stats, http[static_cast<std::size_t>(c)], run, c),
                   log_escape);
  }
  // A failover run: SIGKILL the active at its time.
  asio::steady_timer kill_timer(io, stats.start + std::chrono::duration_cast<Clock::duration>(
                                                      std::chrono::duration<double>(o.kill_at)));
  if (o.kill_pid > 0) {
    kill_timer.async_wait([&](const boost::system::error_code& error) {
      if (error) return;
      stats.killed = Clock::now();
      ::kill(static_cast<pid_t>(o.kill_pid), SIGKILL);
    });
  }
  // Bounded: the profile plus the deadline plus a margin, then whatever is left is unanswered.
  asio::steady_timer stop(
      io, stats.start + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(seconds + o.deadline_ms / 1000.0 + 5)));
  stop.async_wait([&](const boost::system::error_code&) {
    for (auto& conn : connections) conn->close();
    io.stop();
  });
  std::thread watcher([&] {  // stop early once everything is answered
    while (!io.stopped()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (Clock::now() > stats.start + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(seconds))) {
        asio::post(io, [&] {
          if (stats.answered + stats.errors + stats.lost >= plan.size()) io.stop();
        });
      }
    }
  });
  io.run();
  watcher.join();
  finish_cpu_window(std::move(cpu_window), &stats);
  if (stats.answered + stats.errors + stats.lost < stats.sent)
    stats.errors += stats.sent - stats.answered - stats.lost;
  return stats;
}

}  // namespace ledger::bench
