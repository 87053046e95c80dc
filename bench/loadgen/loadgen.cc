// loadgen: the noon peak, open loop, against ledgerd (ISO 8583 in our documented dialect,
// docs/iso8583.md, plus back-office transfers over REST) or against a plain-PostgreSQL
// ledger (--baseline URL). Requests leave at their intended times whatever the server does;
// latency counts from the intended time (no coordinated omission). Prints one JSON document.
//
//   loadgen --iso PORT --http PORT --key KEY [--database URL]    ledgerd
//   loadgen --baseline URL [--pool N]                            plain PostgreSQL
// Profile: --rate R (peak/s) --seconds S (hold) --ramp S (each side) --warmup S
// Mix: --mix auth=70,capture=15,reversal=3,inquiry=7,transfer=5
// Cards: --cards N (Zipf popularity) --provision 0|1
// Connections: --connections C (ISO) --in-flight N (per ISO connection, default 256)
//   --http-connections H (one request in flight each) --deadline-ms D
// Arrivals: --arrivals poisson|uniform (default poisson)
// Search: --search-p99-ms T [--search-seconds S --search-start R --search-max R
//   --search-refine N]: the highest
//   constant rate held with p99 <= T, nothing past the deadline and everything answered.
// Both: --compare 1 with the ledgerd flags and --baseline URL: the same plan against each in
//   this invocation; one JSON document {ledgerd, postgresql, ratios}; --timeseries is then a
//   prefix (PREFIXledgerd.series, PREFIXbaseline.series).
// Output: --timeseries FILE (per second: count p50 p99 answered), --metrics 1 (ledgerd: /metrics
//   before/after, "where_time_goes"), --database URL (ledgerd: reconcile against the journal).
#include <libpq-fe.h>

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "codec.h"
#include "histogram.h"
#include "schedule.h"
#include "transaction_ids.h"
#include "workload.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Clock = std::chrono::steady_clock;
using ledger::TransferId;
using ledger::bench::Histogram;
using ledger::bench::Kind;
using ledger::bench::kind_names;
using ledger::bench::kinds;
using ledger::bench::Planned;
using nlohmann::json;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct Options {
  int iso_port = 8583;
  int http_port = 8080;
  std::string key;
  double rate = 2000;
  double seconds = 20;
  double ramp = 5;
  double warmup = 0;
  int cards = 1000;
  int connections = 4;
  int http_connections = 8;
  int deadline_ms = 2000;
  bool provision = true;
  bool metrics = false;
  ledger::bench::Mix mix;
  std::string timeseries;
  std::string baseline;  // a PostgreSQL URL: run the plain-PostgreSQL ledger instead
  std::string database;  // ledgerd's database: reconcile after the run
  int pool = 16;         // baseline connections
  double search_p99_ms = 0;
  double search_seconds = 4;
  double search_start = 1000;
  double search_max = 200'000;
  int search_refine = 3;            // bisection steps after the first failing rate
  bool poisson = true;              // arrivals: Poisson, or uniform (--arrivals uniform)
  bool compare = false;             // --compare 1: ledgerd, then the baseline, in this invocation
  std::size_t in_flight_max = 256;  // per ISO connection (the server's window); then wait
};

std::string uuid(unsigned group, unsigned long long n) {
  char text[40];
  std::snprintf(text, sizeof text, "%08x-0000-4000-8000-%012llx", group, n);
  return text;
}
// Distinguishes this loadgen invocation's transfer ids from every earlier one's.
unsigned invocation_nonce() {
  static const unsigned nonce = std::random_device{}() | 0x10000000u;
  return nonce;
}

std::string account_id(int card) { return uuid(1, static_cast<unsigned long long>(card)); }

// Deterministic 16-digit card numbers with a valid Luhn check digit.
std::string pan_for(int n) {
  char body[16];
  std::snprintf(body, sizeof body, "4%014d", 100000000 + n);
  std::string pan(body);
  int sum = 0;
  for (int i = static_cast<int>(pan.size()) - 1, twice = 1; i >= 0; --i, twice = !twice) {
    int d = pan[static_cast<std::size_t>(i)] - '0';
    if (twice && (d *= 2) > 9) d -= 9;
    sum += d;
  }
  return pan + static_cast<char>('0' + (10 - sum % 10) % 10);
}

// One synchronous REST call on a fresh connection (provisioning, reconciliation, metrics).
int rest(int port, const std::string& key, bhttp::verb verb, const std::string& target,
         const json& body, std::string* answer = nullptr) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(30));
  boost::system::error_code error;
  stream.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}, error);
  if (error) return 0;
  bhttp::request<bhttp::string_body> request{verb, target, 11};
  request.set(bhttp::field::host, "127.0.0.1");
  if (!key.empty()) request.set(bhttp::field::authorization, "Bearer " + key);
  if (!body.is_null()) {
    request.set(bhttp::field::content_type, "application/json");
    request.body() = body.dump();
  }
  request.prepare_payload();
  bhttp::write(stream, request, error);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  bhttp::read(stream, buffer, parser, error);
  if (error) return 0;
  if (answer != nullptr) *answer = parser.get().body();
  return static_cast<int>(parser.get().result_int());
}

bool provision(const Options& o) {
  const auto post = [&](const std::string& target, const json& body) {
    return rest(o.http_port, o.key, bhttp::verb::post, target, body) / 100 == 2;
  };
  const auto account = [&](int n, const char* kind) {
    return post("/v1/accounts", {{"id", account_id(n)},
                                 {"holder_id", uuid(9, static_cast<unsigned long long>(n / 10))},
                                 {"currency", "EUR"},
                                 {"kind", kind}});
  };
  if (!account(0, "settlement")) return false;
  json batch = json::array();
  for (int n = 1; n <= o.cards; ++n) {
    if (!account(n, "customer")) return false;
    if (!post("/v1/cards", {{"id", uuid(3, static_cast<unsigned long long>(n))},
                            {"account_id", account_id(n)},
                            {"pan", pan_for(n)},
                            {"expiry", "4012"}})) {
      return false;
    }
    batch.push_back({{"id", uuid(2, static_cast<unsigned long long>(n))},
                     {"debit_account_id", account_id(0)},
                     {"credit_account_id", account_id(n)},
                     {"amount", 100'000'000},
                     {"currency", "EUR"}});
    if (batch.size() == 8000 || n == o.cards) {
      if (!post("/v1/transfers/batch", {{"transfers", batch}})) return false;
      batch = json::array();
    }
  }
  return true;
}

// --- Results -------------------------------------------------------------------------------

struct Stats {
  Histogram latency;
  std::array<Histogram, kinds> by_kind;
  std::array<std::map<std::string, std::uint64_t>, kinds> codes;  // DE39 or HTTP status
  std::array<std::uint64_t, kinds> sent_by_kind{};
  std::uint64_t sent = 0;
  std::uint64_t answered = 0;
  std::uint64_t late = 0;    // answered after the deadline
  std::uint64_t errors = 0;  // connection failures, undecodable answers, unanswered at the end
  Clock::time_point last_answer{};
  std::vector<Histogram> per_second;               // by intended send time
  std::vector<std::uint64_t> answered_per_second;  // by answer time (throughput over time)
  Clock::time_point start{};
  // Reconciliation (ledgerd): ids the answers say must be in the journal, and 91'd holds.
  std::vector<TransferId> approved, captured, reversed, busy;
  std::vector<std::string> transfers_ok;

  void answer(Kind kind, Clock::time_point intended, Clock::time_point now, const std::string& code,
              int deadline_ms) {
    const auto ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - intended).count());
    latency.record(ns);
    by_kind[static_cast<std::size_t>(kind)].record(ns);
    const auto second =
        static_cast<std::size_t>(std::chrono::duration<double>(intended - start).count());
    if (second < per_second.size()) per_second[second].record(ns);
    const auto answered_second =
        static_cast<std::size_t>(std::chrono::duration<double>(now - start).count());
    if (!per_second.empty()) {
      if (answered_second >= answered_per_second.size() && answered_second < 100'000)
        answered_per_second.resize(answered_second + 1);
      if (answered_second < answered_per_second.size()) ++answered_per_second[answered_second];
    }
    if (ns > static_cast<std::uint64_t>(deadline_ms) * 1'000'000) ++late;
    ++codes[static_cast<std::size_t>(kind)][code];
    ++answered;
    last_answer = now;
  }
};

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

json summary(const Histogram& h) {
  return {{"count", h.count()},
          {"p50_ms", ms(h.percentile(0.5))},
          {"p90_ms", ms(h.percentile(0.9))},
          {"p99_ms", ms(h.percentile(0.99))},
          {"p999_ms", ms(h.percentile(0.999))},
          {"p9999_ms", ms(h.percentile(0.9999))},
          {"max_ms", ms(h.max())}};
}

// --- ledgerd: ISO 8583 connections ---------------------------------------------------------

struct Approval {
  std::string stan, transmission, acquirer;
  TransferId id;
  int amount;
};

class IsoConnection {
 public:
  IsoConnection(asio::io_context& io, const Options& o, Stats& stats, int run, int connection)
      : socket_(io), timer_(io), o_(o), stats_(stats), run_(run), connection_(connection) {
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
    socket_.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(o_.iso_port)},
                    error);
    if (!error) socket_.set_option(asio::ip::tcp::no_delay(true), error);
    return !error;
  }

  asio::awaitable<void> send(std::vector<Planned> plan) {
    expected_ = plan.size();
    for (std::size_t i = 0; i < plan.size(); ++i) {
      const Planned& p = plan[i];
      const auto intended =
          stats_.start + std::chrono::nanoseconds(static_cast<std::int64_t>(p.offset * 1e9));
      timer_.expires_at(intended);
      co_await timer_.async_wait(use_tuple);
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
      Pending pending{intended, p.kind, {}, {}, p.amount, {}, {}, {}};
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
        m.set(2, pan_for(p.card));  // the card does not matter to the server: DE90 finds it
        m.mti = kind == Kind::capture ? "0220" : "0400";
        m.set(3, "000000");
        std::snprintf(text, sizeof text, "%012d", original.amount);
        m.set(4, text);
        m.set(18, "5411");
        std::snprintf(text, sizeof text, "0100%s%s%011lld%011d", original.stan.c_str(),
                      original.transmission.c_str(), std::stoll(original.acquirer), 0);
        m.set(90, text);
        pending.original = original.id;
      }
      std::string body;
      std::string error;
      if (!ledger::iso8583::encode(m, ledger::iso8583::BitmapEncoding::binary, &body, &error)) {
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
      std::string frame{static_cast<char>(body.size() >> 8), static_cast<char>(body.size() & 0xFF)};
      frame += body;
      outbox_.push_back(std::move(frame));
      if (!writing_) {
        writing_ = true;
        asio::co_spawn(socket_.get_executor(), write_loop(), asio::detached);
      }
    }
  }

  asio::awaitable<void> receive() {
    std::string body;
    while (received_ < expected_) {
      unsigned char header[2];
      auto [e1, n1] = co_await asio::async_read(socket_, asio::buffer(header), use_tuple);
      if (e1) co_return;
      body.resize((static_cast<std::size_t>(header[0]) << 8) | header[1]);
      auto [e2, n2] = co_await asio::async_read(socket_, asio::buffer(body), use_tuple);
      if (e2) co_return;
      const auto now = Clock::now();
      ledger::iso8583::Message m;
      ledger::iso8583::DecodeError error;
      if (!ledger::iso8583::decode(body, ledger::iso8583::BitmapEncoding::binary, &m, &error) ||
          !m.has(11)) {
        ++stats_.errors;
        continue;
      }
      const auto it = in_flight_.find(static_cast<std::uint32_t>(std::stoul(m.get(11))));
      if (it == in_flight_.end()) continue;
      const Pending& p = it->second;
      const std::string code = m.has(39) ? m.get(39) : "??";
      stats_.answer(p.kind, p.intended, now, code, o_.deadline_ms);
      if (p.kind == Kind::auth && code == "00") {
        approvals_.push_back({p.stan, p.transmission, p.acquirer, p.id, p.amount});
        stats_.approved.push_back(p.id);
      } else if (p.kind == Kind::auth && code == "91") {
        stats_.busy.push_back(p.id);
      } else if (p.kind == Kind::capture && code == "00") {
        stats_.captured.push_back(ledger::iso8583::completion_id(p.original));
      } else if (p.kind == Kind::reversal && code == "00") {
        stats_.reversed.push_back(ledger::iso8583::reversal_id(p.original));
      }
      in_flight_.erase(it);
      ++received_;
    }
  }

  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }
  std::size_t unanswered() const { return in_flight_.size(); }

 private:
  struct Pending {
    Clock::time_point intended;
    Kind kind;
    TransferId id;        // auth: the hold's id
    TransferId original;  // capture/reversal: the authorization's id
    int amount;
    std::string stan, transmission, acquirer;
  };

  asio::awaitable<void> write_loop() {
    while (!outbox_.empty()) {
      auto [error, n] =
          co_await asio::async_write(socket_, asio::buffer(outbox_.front()), use_tuple);
      outbox_.pop_front();
      if (error) {
        outbox_.clear();
        break;
      }
    }
    writing_ = false;
  }

  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
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
  std::string transmission_;
};

// Back-office transfers over REST, one keep-alive connection per slice of the schedule. A
// request whose time comes while the previous is still out waits for the connection; its
// latency still counts from its intended time.
asio::awaitable<void> rest_transfers(asio::io_context& io, const Options& o, Stats& stats,
                                     std::vector<Planned> plan, int run, int connection) {
  beast::tcp_stream stream(io);
  auto [connect_error] = co_await stream.async_connect(
      asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"),
                              static_cast<unsigned short>(o.http_port)},
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
    ++stats.sent_by_kind[static_cast<std::size_t>(Kind::transfer)];
    if (connect_error) {
      ++stats.errors;
      continue;
    }
    const std::string id = uuid(invocation_nonce() + static_cast<unsigned>(run),
                                (static_cast<unsigned long long>(connection) << 32) | n++);
    bhttp::request<bhttp::string_body> request{bhttp::verb::post, "/v1/transfers", 11};
    request.set(bhttp::field::host, "127.0.0.1");
    request.set(bhttp::field::authorization, "Bearer " + o.key);
    request.set(bhttp::field::content_type, "application/json");
    request.body() = json{
        {"id", id},
        {"debit_account_id", account_id(p.card)},
        {"credit_account_id", account_id(p.other_card)},
        {"amount", p.amount},
        {"currency",
         "EUR"}}.dump();
    request.prepare_payload();
    stream.expires_after(std::chrono::seconds(30));
    auto [write_error, written] = co_await bhttp::async_write(stream, request, use_tuple);
    bhttp::response<bhttp::string_body> response;
    if (!write_error) {
      auto [read_error, read] = co_await bhttp::async_read(stream, buffer, response, use_tuple);
      write_error = read_error;
    }
    if (write_error) {
      ++stats.errors;
      connect_error = write_error;  // the rest of this slice fails fast
      continue;
    }
    const std::string status = std::to_string(response.result_int());
    stats.answer(Kind::transfer, intended, Clock::now(), status, o.deadline_ms);
    if (status == "201") stats.transfers_ok.push_back(id);
  }
}

// One run against ledgerd: the plan split round-robin over the connections.
Stats run_ledgerd(const Options& o, const std::vector<Planned>& plan, double seconds, int run,
                  bool series) {
  Stats stats;
  if (series) stats.per_second.resize(static_cast<std::size_t>(seconds) + 1);
  asio::io_context io;
  std::vector<std::vector<Planned>> iso(static_cast<std::size_t>(o.connections));
  std::vector<std::vector<Planned>> http(static_cast<std::size_t>(o.http_connections));
  std::size_t i = 0;
  std::size_t j = 0;
  for (const Planned& p : plan) {
    if (p.kind == Kind::transfer)
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
  for (int c = 0; c < o.connections; ++c) {
    if (iso[static_cast<std::size_t>(c)].empty()) continue;
    asio::co_spawn(io,
                   connections[static_cast<std::size_t>(c)]->send(iso[static_cast<std::size_t>(c)]),
                   asio::detached);
    asio::co_spawn(io, connections[static_cast<std::size_t>(c)]->receive(), asio::detached);
  }
  for (int c = 0; c < o.http_connections; ++c) {
    if (http[static_cast<std::size_t>(c)].empty()) continue;
    asio::co_spawn(io, rest_transfers(io, o, stats, http[static_cast<std::size_t>(c)], run, c),
                   asio::detached);
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
          if (stats.answered + stats.errors >= plan.size()) io.stop();
        });
      }
    }
  });
  io.run();
  watcher.join();
  if (stats.answered + stats.errors < stats.sent) stats.errors += stats.sent - stats.answered;
  return stats;
}

// --- The plain-PostgreSQL ledger ---------------------------------------------------------
// What a team without ledgerd would build: a balance row per account with a held amount, a
// table of holds and a table of postings; per request one transaction on a pooled connection.

bool baseline_setup(const Options& o) {
  PGconn* conn = PQconnectdb(o.baseline.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    PQfinish(conn);
    return false;
  }
  const std::string sql =
      "DROP TABLE IF EXISTS bl_postings, bl_holds, bl_accounts;"
      "CREATE TABLE bl_accounts (id integer PRIMARY KEY, balance bigint NOT NULL, held bigint "
      "NOT NULL);"
      "CREATE TABLE bl_holds (id bigserial PRIMARY KEY, account integer NOT NULL REFERENCES "
      "bl_accounts, amount bigint NOT NULL, state text NOT NULL DEFAULT 'held', created_at "
      "timestamptz NOT NULL DEFAULT now());"
      "CREATE TABLE bl_postings (id bigserial PRIMARY KEY, account integer NOT NULL REFERENCES "
      "bl_accounts, amount bigint NOT NULL, kind text NOT NULL, created_at timestamptz NOT NULL "
      "DEFAULT now());"
      "CREATE INDEX ON bl_postings (account);"
      "INSERT INTO bl_accounts VALUES (0, 0, 0);"
      "INSERT INTO bl_accounts SELECT n, 100000000, 0 FROM generate_series(1, " +
      std::to_string(o.cards) + ") n;";
  PGresult* r = PQexec(conn, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  PQfinish(conn);
  return ok;
}

struct BaselineHold {
  std::string id;
  int amount;
};

class Baseline {
 public:
  Baseline(const Options& o, Stats& stats) : o_(o), stats_(stats) {}

  void run(const std::vector<Planned>& plan) {
    std::vector<std::thread> workers;
    for (int w = 0; w < o_.pool; ++w) workers.emplace_back([this] { work(); });
    for (const Planned& p : plan) {  // the dispatcher keeps the schedule
      const auto intended =
          stats_.start + std::chrono::nanoseconds(static_cast<std::int64_t>(p.offset * 1e9));
      std::this_thread::sleep_until(intended);
      {
        std::lock_guard lock(mutex_);
        queue_.push_back({intended, p});
        ++stats_.sent;
      }
      ready_.notify_one();
    }
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    ready_.notify_all();
    for (auto& worker : workers) worker.join();
  }

 private:
  struct Job {
    Clock::time_point intended;
    Planned p;
  };

  // Runs the statements of one request; returns the code to report ("00", "51", "96", ...).
  std::string execute(PGconn* conn, Kind* kind, const Planned& p) {
    const auto exec = [&](const char* sql, std::vector<std::string> params) {
      std::vector<const char*> values;
      for (const auto& v : params) values.push_back(v.c_str());
      return PQexecParams(conn, sql, static_cast<int>(values.size()), nullptr, values.data(),
                          nullptr, nullptr, 0);
    };
    const auto ok = [](PGresult* r) {
      const bool good =
          PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
      return good;
    };
    const std::string account = std::to_string(p.card);
    BaselineHold hold;
    if (*kind == Kind::capture || *kind == Kind::reversal) {
      std::lock_guard lock(mutex_);
      if (holds_.empty()) {
        *kind = Kind::auth;
      } else {
        hold = holds_.front();
        holds_.pop_front();
      }
    }
    if (*kind == Kind::inquiry) {
      PGresult* r = exec("SELECT balance, held FROM bl_accounts WHERE id = $1::int", {account});
      const bool good = ok(r) && PQntuples(r) == 1;
      PQclear(r);
      return good ? "00" : "96";
    }
    PQclear(PQexec(conn, "BEGIN"));
    std::string code = "00";
    bool failed = false;
    const auto step = [&](PGresult* r) {
      failed = failed || !ok(r);
      return r;
    };
    if (*kind == Kind::auth) {
      const std::string amount = std::to_string(p.amount);
      PGresult* u = step(exec(
          "UPDATE bl_accounts SET held = held + $2::bigint WHERE id = $1::int AND balance - held "
          ">= $2::bigint",
          {account, amount}));
      const bool approved = !failed && std::string(PQcmdTuples(u)) == "1";
      PQclear(u);
      if (approved) {
        PGresult* i = step(
            exec("INSERT INTO bl_holds (account, amount) VALUES ($1::int, $2::bigint) RETURNING id",
                 {account, amount}));
        if (!failed) hold = {PQgetvalue(i, 0, 0), p.amount};
        PQclear(i);
      } else {
        code = "51";
      }
    } else if (*kind == Kind::capture || *kind == Kind::reversal) {
      const bool capture = *kind == Kind::capture;
      PGresult* h = step(
          exec(capture ? "UPDATE bl_holds SET state = 'captured' WHERE id = $1::bigint AND state "
                         "= 'held' RETURNING account, amount"
                       : "UPDATE bl_holds SET state = 'reversed' WHERE id = $1::bigint AND state "
                         "= 'held' RETURNING account, amount",
               {hold.id}));
      if (!failed && PQntuples(h) == 1) {
        const std::string held_account = PQgetvalue(h, 0, 0);
        const std::string amount = PQgetvalue(h, 0, 1);
        if (capture) {
          PQclear(
              step(exec("UPDATE bl_accounts SET balance = balance - $2::bigint, held = held - "
                        "$2::bigint WHERE id = $1::int",
                        {held_account, amount})));
          PQclear(step(exec("UPDATE bl_accounts SET balance = balance + $1::bigint WHERE id = 0",
                            {amount})));
          PQclear(
              step(exec("INSERT INTO bl_postings (account, amount, kind) VALUES ($1::int, "
                        "-$2::bigint, 'capture'), (0, $2::bigint, 'capture')",
                        {held_account, amount})));
        } else {
          PQclear(step(exec("UPDATE bl_accounts SET held = held - $2::bigint WHERE id = $1::int",
                            {held_account, amount})));
        }
      }
      PQclear(h);
    } else {  // transfer: lock both rows in id order (no deadlocks), check the debit's balance
      const std::string debit = account;
      const std::string credit = std::to_string(p.other_card);
      const std::string amount = std::to_string(p.amount);
      const bool debit_first = p.card < p.other_card;
      bool moved = true;
      for (int k = 0; k < 2 && !failed && moved; ++k) {
        const bool is_debit = (k == 0) == debit_first;
        PGresult* u =
            step(exec(is_debit ? "UPDATE bl_accounts SET balance = balance - $2::bigint "
                                 "WHERE id = $1::int AND balance - held >= $2::bigint"
                               : "UPDATE bl_accounts SET balance = balance + $2::bigint "
                                 "WHERE id = $1::int",
                      is_debit ? std::vector{debit, amount} : std::vector{credit, amount}));
        moved = !failed && std::string(PQcmdTuples(u)) == "1";
        PQclear(u);
      }
      if (!failed && moved) {
        PQclear(
            step(exec("INSERT INTO bl_postings (account, amount, kind) VALUES ($1::int, "
                      "-$3::bigint, 'transfer'), ($2::int, $3::bigint, 'transfer')",
                      {debit, credit, amount})));
      } else if (!failed) {
        code = "422";
      }
    }
    if (failed || code == "422") {
      PQclear(PQexec(conn, "ROLLBACK"));
      return failed ? "96" : code;
    }
    PGresult* commit = PQexec(conn, "COMMIT");
    const bool committed = PQresultStatus(commit) == PGRES_COMMAND_OK;
    PQclear(commit);
    if (!committed) return "96";
    if (*kind == Kind::auth && code == "00") {
      std::lock_guard lock(mutex_);
      holds_.push_back(hold);
    }
    return *kind == Kind::transfer ? "201" : code;
  }

  void work() {
    PGconn* conn = PQconnectdb(o_.baseline.c_str());
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return done_ || !queue_.empty(); });
        if (queue_.empty()) break;
        job = queue_.front();
        queue_.pop_front();
      }
      Kind kind = job.p.kind;
      const std::string code = PQstatus(conn) == CONNECTION_OK ? execute(conn, &kind, job.p) : "96";
      std::lock_guard lock(mutex_);
      ++stats_.sent_by_kind[static_cast<std::size_t>(kind)];
      stats_.answer(kind, job.intended, Clock::now(), code, o_.deadline_ms);
    }
    PQfinish(conn);
  }

  const Options& o_;
  Stats& stats_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> queue_;
  std::deque<BaselineHold> holds_;  // approved holds not yet captured or reversed
  bool done_ = false;
};

Stats run_baseline(const Options& o, const std::vector<Planned>& plan, double seconds,
                   bool series) {
  Stats stats;
  if (series) stats.per_second.resize(static_cast<std::size_t>(seconds) + 1);
  stats.start = Clock::now() + std::chrono::milliseconds(200);
  Baseline(o, stats).run(plan);
  return stats;
}

// --- Reconciliation ------------------------------------------------------------------------

struct Check {
  std::string name;
  bool ok;
  std::string detail;
};

std::int64_t sql_count(PGconn* conn, const std::string& sql, const std::vector<std::string>& ids) {
  std::string array = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) array += (i ? "," : "") + ids[i];
  array += "}";
  const char* params[] = {array.c_str()};
  PGresult* r = PQexecParams(conn, sql.c_str(), 1, nullptr, params, nullptr, nullptr, 0);
  const std::int64_t n =
      PQresultStatus(r) == PGRES_TUPLES_OK ? std::stoll(PQgetvalue(r, 0, 0)) : -1;
  if (n < 0) std::fprintf(stderr, "loadgen: %s", PQerrorMessage(conn));
  PQclear(r);
  return n;
}

std::vector<std::string> texts(const std::vector<TransferId>& ids) {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (const TransferId& id : ids) out.push_back(ledger::to_string(id));
  return out;
}

// ledgerd: every acknowledged effect is in the journal exactly once (ids are primary keys), no
// 91'd hold survives, and ledgerd's balances equal the sums of the journal's postings.
std::vector<Check> reconcile_ledgerd(const Options& o, const Stats& s) {
  std::vector<Check> checks;
  PGconn* conn = PQconnectdb(o.database.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    checks.push_back({"database", false, PQerrorMessage(conn)});
    PQfinish(conn);
    return checks;
  }
  const auto expect = [&](const std::string& name, const std::vector<std::string>& ids,
                          const std::string& sql, std::int64_t want) {
    const std::int64_t got = sql_count(conn, sql, ids);
    checks.push_back(
        {name, got == want, std::to_string(got) + " of " + std::to_string(want) + " found"});
  };
  expect("approved authorizations are open holds in the journal", texts(s.approved),
         "SELECT count(*) FROM transfers WHERE id = ANY($1::uuid[]) AND result = 0 AND flags & 2 "
         "<> 0",
         static_cast<std::int64_t>(s.approved.size()));
  expect("approved captures are postings in the journal", texts(s.captured),
         "SELECT count(*) FROM transfers WHERE id = ANY($1::uuid[]) AND result = 0 AND flags & 4 "
         "<> 0",
         static_cast<std::int64_t>(s.captured.size()));
  expect("acknowledged reversals are voids in the journal", texts(s.reversed),
         "SELECT count(*) FROM transfers WHERE id = ANY($1::uuid[]) AND result = 0 AND flags & 8 "
         "<> 0",
         static_cast<std::int64_t>(s.reversed.size()));
  expect("created (201) transfers are in the journal", s.transfers_ok,
         "SELECT count(*) FROM transfers WHERE id = ANY($1::uuid[]) AND result = 0",
         static_cast<std::int64_t>(s.transfers_ok.size()));
  std::vector<std::string> late_voids;
  for (const TransferId& id : s.busy) late_voids.push_back(ledger::to_string(id));
  expect("every hold answered 91 that committed was voided (deadline rule)", late_voids,
         "SELECT count(*) FROM transfers h WHERE h.id = ANY($1::uuid[]) AND h.result = 0 AND NOT "
         "EXISTS (SELECT 1 FROM transfers v WHERE v.pending_id = h.id AND v.result = 0 AND "
         "v.flags & 8 <> 0)",
         0);
  // Posted balances from the journal (posts and voids name no accounts: take the hold's).
  PGresult* r = PQexec(
      conn,
      "WITH t AS (SELECT CASE WHEN t.pending_id IS NULL THEN t.debit_account_id ELSE "
      "p.debit_account_id END AS dr, CASE WHEN t.pending_id IS NULL THEN t.credit_account_id "
      "ELSE p.credit_account_id END AS cr, t.amount_effective AS amount FROM transfers t LEFT "
      "JOIN transfers p ON p.id = t.pending_id WHERE t.result = 0 AND t.flags & (2 | 8) = 0), "
      "d AS (SELECT dr AS id, sum(amount) AS s FROM t GROUP BY dr), "
      "c AS (SELECT cr AS id, sum(amount) AS s FROM t GROUP BY cr) "
      "SELECT a.id, COALESCE(d.s, 0), COALESCE(c.s, 0) FROM accounts a "
      "LEFT JOIN d ON d.id = a.id LEFT JOIN c ON c.id = a.id");
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> journal;
  if (PQresultStatus(r) == PGRES_TUPLES_OK) {
    for (int row = 0; row < PQntuples(r); ++row)
      journal[PQgetvalue(r, row, 0)] = {std::stoll(PQgetvalue(r, row, 1)),
                                        std::stoll(PQgetvalue(r, row, 2))};
  } else {
    checks.push_back({"journal sums", false, PQerrorMessage(conn)});
  }
  PQclear(r);
  PQfinish(conn);
  std::int64_t mismatched = 0;
  std::int64_t debits = 0, credits = 0, debits_pending = 0, credits_pending = 0;
  for (const auto& [id, want] : journal) {  // every account, the networks' settlement included
    std::string body;
    if (rest(o.http_port, o.key, bhttp::verb::get, "/v1/accounts/" + id, nullptr, &body) != 200) {
      ++mismatched;
      continue;
    }
    const json b = json::parse(body)["balances"];
    if (b["debits_posted"].get<std::int64_t>() != want.first ||
        b["credits_posted"].get<std::int64_t>() != want.second) {
      ++mismatched;
    }
    debits += b["debits_posted"].get<std::int64_t>();
    credits += b["credits_posted"].get<std::int64_t>();
    debits_pending += b["debits_pending"].get<std::int64_t>();
    credits_pending += b["credits_pending"].get<std::int64_t>();
  }
  checks.push_back(
      {"each account's posted balance equals its postings in the journal", mismatched == 0,
       std::to_string(mismatched) + " of " + std::to_string(journal.size()) + " accounts differ"});
  checks.push_back({"debits equal credits (posted and pending)",
                    debits == credits && debits_pending == credits_pending,
                    "posted " + std::to_string(debits) + " / " + std::to_string(credits) +
                        ", pending " + std::to_string(debits_pending) + " / " +
                        std::to_string(credits_pending)});
  return checks;
}

std::vector<Check> reconcile_baseline(const Options& o, const Stats& s) {
  std::vector<Check> checks;
  PGconn* conn = PQconnectdb(o.baseline.c_str());
  const auto scalar = [&](const char* sql) -> std::int64_t {
    PGresult* r = PQexec(conn, sql);
    const std::int64_t n =
        PQresultStatus(r) == PGRES_TUPLES_OK ? std::stoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
  };
  const auto codes = s.codes[static_cast<std::size_t>(Kind::auth)];
  const std::int64_t approved = codes.count("00") ? static_cast<std::int64_t>(codes.at("00")) : 0;
  const std::int64_t holds = scalar("SELECT count(*) FROM bl_holds");
  checks.push_back(
      {"approved authorizations are holds exactly once", holds == approved,
       std::to_string(holds) + " holds for " + std::to_string(approved) + " approvals"});
  const std::int64_t off = scalar(
      "SELECT count(*) FROM bl_accounts a WHERE balance <> (CASE WHEN id = 0 THEN 0 ELSE "
      "100000000 END) + COALESCE((SELECT sum(amount) FROM bl_postings p WHERE p.account = a.id), "
      "0) OR held <> COALESCE((SELECT sum(amount) FROM bl_holds h WHERE h.account = a.id AND "
      "state = 'held'), 0)");
  checks.push_back({"each balance equals its postings and each held amount its open holds",
                    off == 0, std::to_string(off) + " accounts differ"});
  const std::int64_t sum = scalar("SELECT COALESCE(sum(amount), 0) FROM bl_postings");
  checks.push_back({"debits equal credits", sum == 0, "postings sum to " + std::to_string(sum)});
  PQfinish(conn);
  return checks;
}

// --- Where the time goes (ledgerd's /metrics before and after) ------------------------------

struct Scrape {
  std::map<std::string, double> values;  // series (name{labels}) -> value
};

Scrape scrape(const Options& o) {
  Scrape s;
  std::string body;
  if (rest(o.http_port, "", bhttp::verb::get, "/metrics", nullptr, &body) != 200) return s;
  std::size_t start = 0;
  while (start < body.size()) {
    auto end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    const std::string line = body.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    try {
      s.values[line.substr(0, space)] = std::stod(line.substr(space + 1));
    } catch (...) {
    }
  }
  return s;
}

// Mean and the bucket bound holding the 99th percentile of a histogram's growth between scrapes.
json stage(const Scrape& before, const Scrape& after, const std::string& name,
           const std::string& labels) {
  const auto delta = [&](const std::string& series) {
    const auto a = after.values.find(series);
    const auto b = before.values.find(series);
    return (a == after.values.end() ? 0 : a->second) - (b == before.values.end() ? 0 : b->second);
  };
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  const double count = delta(name + "_count" + braces);
  const double sum = delta(name + "_sum" + braces);
  json out{{"count", count}, {"mean_ms", count > 0 ? sum / count * 1e3 : 0.0}};
  std::vector<std::pair<double, double>> buckets;  // le, cumulative
  const std::string prefix = name + "_bucket{" + (labels.empty() ? "" : labels + ",") + "le=\"";
  for (const auto& [series, value] : after.values) {
    if (series.rfind(prefix, 0) != 0) continue;
    const std::string le = series.substr(prefix.size(), series.size() - prefix.size() - 2);
    buckets.push_back({le == "+Inf" ? INFINITY : std::stod(le), delta(series)});
  }
  std::sort(buckets.begin(), buckets.end());
  for (const auto& [le, cumulative] : buckets) {
    if (count > 0 && cumulative >= 0.99 * count) {
      out["p99_at_most_ms"] = std::isinf(le) ? -1.0 : le * 1e3;
      break;
    }
  }
  return out;
}

json where_time_goes(const Scrape& before, const Scrape& after) {
  return {{"iso8583_answer", stage(before, after, "ledgerd_iso8583_answer_duration_seconds",
                                   "type=\"authorization\"")},
          {"queue_wait",
           stage(before, after, "ledgerd_stage_duration_seconds", "stage=\"queue_wait\"")},
          {"engine_apply_per_batch",
           stage(before, after, "ledgerd_stage_duration_seconds", "stage=\"engine_apply\"")},
          {"durable_wait_per_batch",
           stage(before, after, "ledgerd_stage_duration_seconds", "stage=\"durable_wait\"")},
          {"journal_commit",
           stage(before, after, "ledgerd_stage_duration_seconds", "stage=\"journal_commit\"")},
          {"batch_commands", stage(before, after, "ledgerd_engine_batch_commands", "")}};
}

// --- Reports -------------------------------------------------------------------------------

json report(const Options& o, const Stats& s, double seconds) {
  const double elapsed =
      std::max(seconds, std::chrono::duration<double>(s.last_answer - s.start).count());
  json by_kind = json::object();
  for (std::size_t k = 0; k < kinds; ++k) {
    if (s.sent_by_kind[k] == 0) continue;
    json codes = json::object();
    for (const auto& [code, n] : s.codes[k]) codes[code] = n;
    json entry = summary(s.by_kind[k]);
    entry["sent"] = s.sent_by_kind[k];
    entry["codes"] = codes;
    by_kind[kind_names[k]] = entry;
  }
  json out = summary(s.latency);
  out.update({{"system", o.baseline.empty() ? "ledgerd" : "postgresql"},
              {"offered_peak_per_second", o.rate},
              {"sent", s.sent},
              {"answered", s.answered},
              {"errors", s.errors},
              {"throughput_per_second", static_cast<double>(s.answered) / elapsed},
              {"seconds_to_last_answer", elapsed},
              {"late_answers", s.late},
              {"by_kind", by_kind}});
  return out;
}

// Sustained: everything answered, none refused (91/96/503) or past the deadline, p99 under the
// target. A server that falls behind fails the p99 (latency counts from the intended time).
bool sustained(const Stats& s, double p99_ms) {
  std::uint64_t busy = 0;
  for (const auto& codes : s.codes)
    for (const auto& [code, n] : codes)
      if (code == "91" || code == "96" || code == "503") busy += n;
  return s.errors == 0 && s.answered == s.sent && s.late == 0 && busy == 0 &&
         ms(s.latency.percentile(0.99)) <= p99_ms;
}

// Doubles the rate until a step fails, then bisects: the highest constant rate sustained.
json search(const Options& o, int* run) {
  json steps = json::array();
  double good = 0;
  double bad = 0;
  const auto attempt = [&](double rate) {
    ledger::bench::Schedule schedule({{o.search_seconds, rate, rate}}, o.poisson,
                                     static_cast<std::uint64_t>(rate));
    const auto plan = ledger::bench::plan_workload(schedule, o.mix, o.cards, 17, 50'000'000);
    const Stats s = o.baseline.empty() ? run_ledgerd(o, plan, o.search_seconds, ++*run, false)
                                       : run_baseline(o, plan, o.search_seconds, false);
    const bool ok = sustained(s, o.search_p99_ms);
    json step = report(o, s, o.search_seconds);
    step["offered_per_second"] = rate;
    step["sustained"] = ok;
    steps.push_back(step);
    std::fprintf(stderr, "loadgen: search %.0f/s: p99 %.2f ms, %s\n", rate,
                 ms(s.latency.percentile(0.99)), ok ? "sustained" : "not sustained");
    return ok;
  };
  for (double rate = o.search_start; rate <= o.search_max; rate *= 2) {
    if (!attempt(rate)) {
      bad = rate;
      break;
    }
    good = rate;
  }
  for (int i = 0; i < o.search_refine && bad > 0 && bad - good > good * 0.1; ++i) {
    const double mid = good > 0 ? (good + bad) / 2 : bad / 2;
    if (attempt(mid))
      good = mid;
    else
      bad = mid;
  }
  return {{"p99_target_ms", o.search_p99_ms},
          {"step_seconds", o.search_seconds},
          {"max_sustainable_per_second", good},
          {"first_failing_per_second", bad},
          {"steps", steps}};
}

bool parse(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "loadgen: %s needs a value\n", flag.c_str());
      return false;
    }
    const std::string value = argv[i + 1];
    try {
      if (flag == "--iso")
        o->iso_port = std::stoi(value);
      else if (flag == "--http")
        o->http_port = std::stoi(value);
      else if (flag == "--key")
        o->key = value;
      else if (flag == "--rate")
        o->rate = std::stod(value);
      else if (flag == "--seconds")
        o->seconds = std::stod(value);
      else if (flag == "--ramp")
        o->ramp = std::stod(value);
      else if (flag == "--warmup")
        o->warmup = std::stod(value);
      else if (flag == "--cards")
        o->cards = std::stoi(value);
      else if (flag == "--connections")
        o->connections = std::stoi(value);
      else if (flag == "--http-connections")
        o->http_connections = std::stoi(value);
      else if (flag == "--deadline-ms")
        o->deadline_ms = std::stoi(value);
      else if (flag == "--provision")
        o->provision = value == "1";
      else if (flag == "--metrics")
        o->metrics = value == "1";
      else if (flag == "--timeseries")
        o->timeseries = value;
      else if (flag == "--baseline")
        o->baseline = value;
      else if (flag == "--database")
        o->database = value;
      else if (flag == "--pool")
        o->pool = std::stoi(value);
      else if (flag == "--search-p99-ms")
        o->search_p99_ms = std::stod(value);
      else if (flag == "--search-seconds")
        o->search_seconds = std::stod(value);
      else if (flag == "--search-start")
        o->search_start = std::stod(value);
      else if (flag == "--search-max")
        o->search_max = std::stod(value);
      else if (flag == "--search-refine")
        o->search_refine = std::stoi(value);
      else if (flag == "--compare")
        o->compare = value == "1";
      else if (flag == "--in-flight")
        o->in_flight_max = static_cast<std::size_t>(std::stoul(value));
      else if (flag == "--arrivals" && (value == "poisson" || value == "uniform"))
        o->poisson = value == "poisson";
      else if (flag == "--mix") {
        std::string error;
        if (!o->mix.parse(value, &error)) {
          std::fprintf(stderr, "loadgen: %s\n", error.c_str());
          return false;
        }
      } else {
        std::fprintf(stderr, "loadgen: unknown flag %s\n", flag.c_str());
        return false;
      }
    } catch (const std::exception&) {
      std::fprintf(stderr, "loadgen: %s: \"%s\" is not a number\n", flag.c_str(), value.c_str());
      return false;
    }
  }
  if (o->rate <= 0 || o->seconds <= 0 || o->ramp < 0 || o->warmup < 0 || o->cards < 2 ||
      o->connections < 1 || o->connections > 64 || o->http_connections < 1 || o->pool < 1 ||
      o->rate * (o->seconds + o->ramp + o->warmup) > 50'000'000 || o->search_seconds <= 0 ||
      o->search_start <= 0 || o->in_flight_max < 1 || (o->compare && o->baseline.empty())) {
    std::fprintf(stderr,
                 "loadgen: out of range: need rate > 0, seconds > 0, cards >= 2, 1..64 "
                 "connections, at most 50M requests\n");
    return false;
  }
  return true;
}

// One system's noon run: prepare, run the profile, report, reconcile, write its series.
json noon_run(const Options& o, int* run, const std::string& series_file) {
  // The noon profile: warm-up at a tenth of the peak, ramp up, hold, ramp down.
  ledger::bench::Schedule schedule({{o.warmup, o.rate / 10, o.rate / 10},
                                    {o.ramp, o.rate / 10, o.rate},
                                    {o.seconds, o.rate, o.rate},
                                    {o.ramp, o.rate, o.rate / 10}},
                                   o.poisson, 7);
  const double seconds = schedule.total_seconds();
  const auto plan = ledger::bench::plan_workload(schedule, o.mix, o.cards, 11, 50'000'000);
  const Scrape before = o.baseline.empty() && o.metrics ? scrape(o) : Scrape{};
  const Stats stats = o.baseline.empty() ? run_ledgerd(o, plan, seconds, ++*run, true)
                                         : run_baseline(o, plan, seconds, true);
  json out = report(o, stats, seconds);
  if (o.baseline.empty() && o.metrics) out["where_time_goes"] = where_time_goes(before, scrape(o));
  std::vector<Check> checks;
  if (!o.baseline.empty()) {
    checks = reconcile_baseline(o, stats);
  } else if (!o.database.empty()) {
    checks = reconcile_ledgerd(o, stats);
  }
  bool reconciled = true;
  json reconciliation = json::array();
  for (const Check& c : checks) {
    reconciled = reconciled && c.ok;
    reconciliation.push_back({{"check", c.name}, {"ok", c.ok}, {"detail", c.detail}});
    if (!c.ok)
      std::fprintf(stderr, "loadgen: RECONCILIATION FAILED (%s): %s: %s\n",
                   o.baseline.empty() ? "ledgerd" : "postgresql", c.name.c_str(), c.detail.c_str());
  }
  out["reconciliation"] = reconciliation;
  out["reconciled"] = reconciled;
  if (!series_file.empty()) {
    std::ofstream series(series_file);
    // seconds, requests sent, p50 and p99 (by intended send time), answers (by answer time)
    const std::size_t rows = std::max(stats.per_second.size(), stats.answered_per_second.size());
    const Histogram empty;
    for (std::size_t s = 0; s < rows; ++s) {
      const Histogram& h = s < stats.per_second.size() ? stats.per_second[s] : empty;
      const std::uint64_t answered =
          s < stats.answered_per_second.size() ? stats.answered_per_second[s] : 0;
      series << s << " " << h.count() << " ";
      if (h.count() == 0) {
        series << "NaN NaN";  // gnuplot: no point
      } else {
        series << ms(h.percentile(0.5)) << " " << ms(h.percentile(0.99));
      }
      series << " " << answered << "\n";
    }
  }
  return out;
}

// Prepares one system (creates the baseline's tables, or provisions ledgerd's cards) and
// runs what was asked: the noon profile or the sustainable-rate search.
bool run_system(const Options& o, int* run, const std::string& series_file, json* out) {
  if (!o.baseline.empty() && !baseline_setup(o)) {
    std::fprintf(stderr, "loadgen: cannot prepare the baseline database\n");
    return false;
  }
  if (o.baseline.empty() && o.provision && !provision(o)) {
    std::fprintf(stderr, "loadgen: provisioning through the REST API failed\n");
    return false;
  }
  if (o.search_p99_ms > 0) {
    *out = search(o, run);
    (*out)["system"] = o.baseline.empty() ? "ledgerd" : "postgresql";
  } else {
    *out = noon_run(o, run, series_file);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, &o)) return 2;
  int run = 0;
  if (!o.compare) {
    json out;
    if (!run_system(o, &run, o.timeseries, &out)) return 1;
    std::printf("%s\n", out.dump().c_str());
    return out.value("reconciled", true) ? 0 : 3;
  }
  // --compare 1: the same plan against ledgerd, then against the plain-PostgreSQL ledger, in
  // this one invocation; one JSON document with both and the ratios.
  Options ledgerd_options = o;
  ledgerd_options.baseline.clear();
  const std::string prefix = o.timeseries.empty() ? "" : o.timeseries;
  json ledgerd_result;
  json baseline_result;
  if (!run_system(ledgerd_options, &run, prefix.empty() ? "" : prefix + "ledgerd.series",
                  &ledgerd_result) ||
      !run_system(o, &run, prefix.empty() ? "" : prefix + "baseline.series", &baseline_result)) {
    return 1;
  }
  json ratios = json::object();
  const auto ratio = [](double a, double b) { return b > 0 ? json(a / b) : json(nullptr); };
  if (o.search_p99_ms > 0) {
    ratios["max_sustainable_rate"] =
        ratio(ledgerd_result["max_sustainable_per_second"].get<double>(),
              baseline_result["max_sustainable_per_second"].get<double>());
  } else {
    ratios["p99_baseline_over_ledgerd"] =
        ratio(baseline_result["p99_ms"].get<double>(), ledgerd_result["p99_ms"].get<double>());
    ratios["throughput_ledgerd_over_baseline"] =
        ratio(ledgerd_result["throughput_per_second"].get<double>(),
              baseline_result["throughput_per_second"].get<double>());
  }
  const json out{{"ledgerd", ledgerd_result}, {"postgresql", baseline_result}, {"ratios", ratios}};
  std::printf("%s\n", out.dump().c_str());
  const bool reconciled =
      ledgerd_result.value("reconciled", true) && baseline_result.value("reconciled", true);
  return reconciled ? 0 : 3;
}
