// loadgen: open-loop card authorizations over ISO 8583 against ledgerd (our dialect, see
// docs/iso8583.md). Provisions accounts and cards through the REST API, then sends 0100s on a
// fixed schedule over several connections, matches answers by DE11, and records latency from
// each request's intended send time. Prints one JSON document on stdout.
//   loadgen --iso PORT --http PORT --key KEY [--rate R] [--seconds S] [--ramp S] [--cards N]
//           [--connections C] [--deadline-ms D] [--timeseries FILE] [--provision 0|1]
#include <libpq-fe.h>

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
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

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using Clock = std::chrono::steady_clock;
using ledger::bench::Histogram;
using nlohmann::json;

struct Options {
  int iso_port = 8583;
  int http_port = 8080;
  std::string key;
  double rate = 2000;
  double seconds = 20;
  double ramp = 5;
  int cards = 1000;
  int connections = 4;
  int deadline_ms = 2000;
  bool provision = true;
  std::string timeseries;
  std::string baseline;  // a PostgreSQL URL: run the plain-PostgreSQL ledger instead
  int pool = 8;          // baseline connections
};

std::string uuid(int group, int n) {
  char text[40];
  std::snprintf(text, sizeof text, "%08x-0000-4000-8000-%012x", group, n);
  return text;
}

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

int rest(int port, const std::string& key, const std::string& target, const json& body) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  boost::system::error_code error;
  socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}, error);
  if (error) return 0;
  bhttp::request<bhttp::string_body> request{bhttp::verb::post, target, 11};
  request.set(bhttp::field::host, "127.0.0.1");
  request.set(bhttp::field::authorization, "Bearer " + key);
  request.set(bhttp::field::content_type, "application/json");
  request.body() = body.dump();
  request.prepare_payload();
  bhttp::write(socket, request, error);
  boost::beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> response;
  bhttp::read(socket, buffer, response, error);
  return error ? 0 : static_cast<int>(response.result_int());
}

bool provision(const Options& o) {
  const auto account = [&](int n, const char* kind) {
    return rest(
        o.http_port, o.key, "/v1/accounts",
        {{"id", uuid(1, n)}, {"holder_id", uuid(9, n / 10)}, {"currency", "EUR"}, {"kind", kind}});
  };
  if (account(0, "settlement") / 100 != 2) return false;
  json batch = json::array();
  for (int n = 1; n <= o.cards; ++n) {
    if (account(n, "customer") / 100 != 2) return false;
    if (rest(o.http_port, o.key, "/v1/cards",
             {{"id", uuid(3, n)},
              {"account_id", uuid(1, n)},
              {"pan", pan_for(n)},
              {"expiry", "4012"}}) /
            100 !=
        2) {
      return false;
    }
    batch.push_back({{"id", uuid(2, n)},
                     {"debit_account_id", uuid(1, 0)},
                     {"credit_account_id", uuid(1, n)},
                     {"amount", 100'000'000},
                     {"currency", "EUR"}});
    if (batch.size() == 8000 || n == o.cards) {
      if (rest(o.http_port, o.key, "/v1/transfers/batch", {{"transfers", batch}}) / 100 != 2)
        return false;
      batch = json::array();
    }
  }
  return true;
}

struct Stats {
  Histogram latency;
  std::map<std::string, std::uint64_t> codes;
  std::uint64_t sent = 0;
  std::uint64_t answered = 0;
  std::uint64_t late = 0;  // answered after the deadline
  Clock::time_point last_answer{};
  std::vector<Histogram> per_second;
};

class Connection {
 public:
  Connection(asio::io_context& io, int port, Stats& stats, const Options& o,
             Clock::time_point start)
      : socket_(io), timer_(io), stats_(stats), options_(o), start_(start) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    socket_.set_option(asio::ip::tcp::no_delay(true));
  }

  // Sends the given requests (offsets in seconds from the start) at their intended times.
  asio::awaitable<void> send(std::vector<double> offsets, std::vector<int> cards, int connection) {
    std::mt19937 rng(static_cast<unsigned>(connection));
    for (std::size_t i = 0; i < offsets.size(); ++i) {
      const auto intended =
          start_ + std::chrono::nanoseconds(static_cast<std::int64_t>(offsets[i] * 1e9));
      timer_.expires_at(intended);
      co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      const std::uint32_t stan = static_cast<std::uint32_t>(i % 1'000'000);
      intended_[stan] = intended;
      ledger::iso8583::Message m;
      m.mti = "0100";
      m.set(2, pan_for(cards[i]));
      m.set(3, "000000");
      char text[32];
      std::snprintf(text, sizeof text, "%012u", 100 + static_cast<unsigned>(rng() % 5000));
      m.set(4, text);
      std::snprintf(text, sizeof text, "%010d", 1123000000 + connection);
      m.set(7, text);
      std::snprintf(text, sizeof text, "%06u", stan);
      m.set(11, text);
      m.set(14, "4012");
      m.set(18, "5411");
      m.set(22, "071");
      std::snprintf(text, sizeof text, "%06d",
                    100000 + static_cast<int>(i / 1'000'000) * 64 + connection);
      m.set(32, text);
      m.set(49, "978");
      std::string body;
      std::string error;
      ledger::iso8583::encode(m, ledger::iso8583::BitmapEncoding::binary, &body, &error);
      std::string frame{static_cast<char>(body.size() >> 8), static_cast<char>(body.size() & 0xFF)};
      frame += body;
      ++stats_.sent;
      auto [write_error, n] = co_await asio::async_write(socket_, asio::buffer(frame),
                                                         asio::as_tuple(asio::use_awaitable));
      if (write_error) co_return;
    }
  }

  asio::awaitable<void> receive(std::uint64_t expected) {
    std::string body;
    while (received_ < expected) {
      unsigned char header[2];
      auto [e1, n1] = co_await asio::async_read(socket_, asio::buffer(header),
                                                asio::as_tuple(asio::use_awaitable));
      if (e1) co_return;
      body.resize((static_cast<std::size_t>(header[0]) << 8) | header[1]);
      auto [e2, n2] = co_await asio::async_read(socket_, asio::buffer(body),
                                                asio::as_tuple(asio::use_awaitable));
      if (e2) co_return;
      const auto now = Clock::now();
      ledger::iso8583::Message m;
      ledger::iso8583::DecodeError error;
      if (!ledger::iso8583::decode(body, ledger::iso8583::BitmapEncoding::binary, &m, &error) ||
          !m.has(11))
        continue;
      const auto it = intended_.find(static_cast<std::uint32_t>(std::stoul(m.get(11))));
      if (it == intended_.end()) continue;
      const auto latency =
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - it->second).count();
      stats_.latency.record(static_cast<std::uint64_t>(latency));
      const auto second =
          static_cast<std::size_t>(std::chrono::duration<double>(it->second - start_).count());
      if (second < stats_.per_second.size())
        stats_.per_second[second].record(static_cast<std::uint64_t>(latency));
      if (latency > options_.deadline_ms * 1'000'000LL) ++stats_.late;
      ++stats_.codes[m.has(39) ? m.get(39) : "??"];
      ++stats_.answered;
      stats_.last_answer = now;
      intended_.erase(it);
      ++received_;
    }
  }

 private:
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  Stats& stats_;
  const Options& options_;
  Clock::time_point start_;
  std::map<std::uint32_t, Clock::time_point> intended_;
  std::uint64_t received_ = 0;
};

// The plain-PostgreSQL ledger a team without ledgerd would build: per authorization, on a
// pooled connection, BEGIN; UPDATE the balance with an available check; INSERT the hold;
// COMMIT. Requests leave on the same schedule; latency counts from the intended time.
struct BaselineRequest {
  Clock::time_point intended;
  int account;
  int amount;
};

bool baseline_setup(const Options& o) {
  PGconn* conn = PQconnectdb(o.baseline.c_str());
  if (PQstatus(conn) != CONNECTION_OK) return false;
  const std::string sql =
      "DROP TABLE IF EXISTS bl_holds, bl_accounts;"
      "CREATE TABLE bl_accounts (id integer PRIMARY KEY, balance bigint NOT NULL, held bigint NOT "
      "NULL);"
      "CREATE TABLE bl_holds (id bigserial PRIMARY KEY, account integer NOT NULL REFERENCES "
      "bl_accounts, "
      "amount bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now());"
      "INSERT INTO bl_accounts SELECT n, 100000000, 0 FROM generate_series(1, " +
      std::to_string(o.cards) + ") n;";
  PGresult* r = PQexec(conn, sql.c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  PQfinish(conn);
  return ok;
}

void baseline_run(const Options& o, const std::vector<double>& offsets,
                  const std::vector<int>& cards, Stats* stats, Clock::time_point start) {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<BaselineRequest> queue;
  bool done = false;
  std::vector<std::thread> workers;
  for (int w = 0; w < o.pool; ++w) {
    workers.emplace_back([&] {
      PGconn* conn = PQconnectdb(o.baseline.c_str());
      for (;;) {
        BaselineRequest request;
        {
          std::unique_lock lock(mutex);
          ready.wait(lock, [&] { return done || !queue.empty(); });
          if (queue.empty()) break;
          request = queue.front();
          queue.pop_front();
        }
        const std::string account = std::to_string(request.account);
        const std::string amount = std::to_string(request.amount);
        const char* params[] = {account.c_str(), amount.c_str()};
        PQclear(PQexec(conn, "BEGIN"));
        PGresult* update =
            PQexecParams(conn,
                         "UPDATE bl_accounts SET held = held + $2::bigint WHERE id = $1::int "
                         "AND balance - held >= $2::bigint",
                         2, nullptr, params, nullptr, nullptr, 0);
        const bool approved = std::string(PQcmdTuples(update)) == "1";
        PQclear(update);
        if (approved) {
          PQclear(PQexecParams(
              conn, "INSERT INTO bl_holds (account, amount) VALUES ($1::int, $2::bigint)", 2,
              nullptr, params, nullptr, nullptr, 0));
        }
        PGresult* commit = PQexec(conn, "COMMIT");
        const bool committed = PQresultStatus(commit) == PGRES_COMMAND_OK;
        PQclear(commit);
        const auto latency =
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - request.intended)
                .count();
        std::lock_guard lock(mutex);
        stats->latency.record(static_cast<std::uint64_t>(latency));
        const auto second = static_cast<std::size_t>(
            std::chrono::duration<double>(request.intended - start).count());
        if (second < stats->per_second.size())
          stats->per_second[second].record(static_cast<std::uint64_t>(latency));
        if (latency > o.deadline_ms * 1'000'000LL) ++stats->late;
        ++stats->codes[!committed ? "96" : approved ? "00" : "51"];
        ++stats->answered;
        stats->last_answer = Clock::now();
      }
      PQfinish(conn);
    });
  }
  std::mt19937 rng(3);
  for (std::size_t i = 0; i < offsets.size(); ++i) {  // the dispatcher keeps the schedule
    const auto intended =
        start + std::chrono::nanoseconds(static_cast<std::int64_t>(offsets[i] * 1e9));
    std::this_thread::sleep_until(intended);
    {
      std::lock_guard lock(mutex);
      queue.push_back({intended, cards[i], 100 + static_cast<int>(rng() % 5000)});
      ++stats->sent;
    }
    ready.notify_one();
  }
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  ready.notify_all();
  for (auto& worker : workers) worker.join();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--iso")
      o.iso_port = std::stoi(value);
    else if (flag == "--http")
      o.http_port = std::stoi(value);
    else if (flag == "--key")
      o.key = value;
    else if (flag == "--rate")
      o.rate = std::stod(value);
    else if (flag == "--seconds")
      o.seconds = std::stod(value);
    else if (flag == "--ramp")
      o.ramp = std::stod(value);
    else if (flag == "--cards")
      o.cards = std::stoi(value);
    else if (flag == "--connections")
      o.connections = std::stoi(value);
    else if (flag == "--deadline-ms")
      o.deadline_ms = std::stoi(value);
    else if (flag == "--provision")
      o.provision = value == "1";
    else if (flag == "--timeseries")
      o.timeseries = value;
    else if (flag == "--baseline")
      o.baseline = value;
    else if (flag == "--pool")
      o.pool = std::stoi(value);
    else {
      std::fprintf(stderr, "loadgen: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (!o.baseline.empty() && !baseline_setup(o)) {
    std::fprintf(stderr, "loadgen: cannot prepare the baseline database\n");
    return 1;
  }
  if (o.baseline.empty() && o.provision && !provision(o)) {
    std::fprintf(stderr, "loadgen: provisioning through the REST API failed\n");
    return 1;
  }
  // Profile: ramp up to the peak, hold it, ramp down (bounded in count and time).
  ledger::bench::Schedule schedule(
      {{o.ramp, o.rate / 10, o.rate}, {o.seconds, o.rate, o.rate}, {o.ramp, o.rate, o.rate / 10}},
      true, 7);
  std::vector<std::vector<double>> offsets(static_cast<std::size_t>(o.connections));
  std::vector<std::vector<int>> cards(static_cast<std::size_t>(o.connections));
  std::mt19937_64 rng(11);
  std::vector<double> cdf(static_cast<std::size_t>(o.cards));  // Zipf(1) card popularity
  double sum = 0;
  for (int n = 0; n < o.cards; ++n) cdf[static_cast<std::size_t>(n)] = (sum += 1.0 / (n + 1));
  std::size_t i = 0;
  for (double t = schedule.next(); t >= 0 && i < 50'000'000; t = schedule.next(), ++i) {
    const double u = std::uniform_real_distribution<double>(0, sum)(rng);
    const int card =
        1 + static_cast<int>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
    offsets[i % offsets.size()].push_back(t);
    cards[i % cards.size()].push_back(std::min(card, o.cards));
  }
  Stats stats;
  stats.per_second.resize(static_cast<std::size_t>(schedule.total_seconds()) + 1);
  auto start = Clock::now() + std::chrono::milliseconds(200);
  if (!o.baseline.empty()) {
    std::vector<double> all_offsets;
    std::vector<int> all_cards;
    for (std::size_t k = 0; k < i; ++k) {  // back to one global order
      all_offsets.push_back(offsets[k % offsets.size()][k / offsets.size()]);
      all_cards.push_back(cards[k % cards.size()][k / cards.size()]);
    }
    baseline_run(o, all_offsets, all_cards, &stats, start);
  }
  asio::io_context io;
  if (o.baseline.empty()) start = Clock::now() + std::chrono::milliseconds(200);
  std::vector<std::unique_ptr<Connection>> connections;
  for (int c = 0; c < o.connections && o.baseline.empty(); ++c) {
    auto& conn =
        connections.emplace_back(std::make_unique<Connection>(io, o.iso_port, stats, o, start));
    const auto n = offsets[static_cast<std::size_t>(c)].size();
    asio::co_spawn(
        io, conn->send(offsets[static_cast<std::size_t>(c)], cards[static_cast<std::size_t>(c)], c),
        asio::detached);
    asio::co_spawn(io, conn->receive(n), asio::detached);
  }
  asio::steady_timer stop(
      io, start + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(schedule.total_seconds() + 10)));
  stop.async_wait([&io](const boost::system::error_code&) { io.stop(); });
  if (o.baseline.empty()) io.run();
  // Throughput over the time it really took: from the start to the last answer.
  const double elapsed = std::max(schedule.total_seconds(),
                                  std::chrono::duration<double>(stats.last_answer - start).count());
  json codes = json::object();
  for (const auto& [code, n] : stats.codes) codes[code] = n;
  const auto ms = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e6; };
  json report{{"system", o.baseline.empty() ? "ledgerd" : "postgresql"},
              {"offered_peak_per_second", o.rate},
              {"sent", stats.sent},
              {"answered", stats.answered},
              {"unanswered", stats.sent - stats.answered},
              {"throughput_per_second", static_cast<double>(stats.answered) / elapsed},
              {"seconds_to_last_answer", elapsed},
              {"p50_ms", ms(stats.latency.percentile(0.5))},
              {"p90_ms", ms(stats.latency.percentile(0.9))},
              {"p99_ms", ms(stats.latency.percentile(0.99))},
              {"p999_ms", ms(stats.latency.percentile(0.999))},
              {"p9999_ms", ms(stats.latency.percentile(0.9999))},
              {"max_ms", ms(stats.latency.max())},
              {"late_answers", stats.late},
              {"codes", codes}};
  std::printf("%s\n", report.dump().c_str());
  if (!o.timeseries.empty()) {
    std::ofstream out(o.timeseries);
    for (std::size_t s = 0; s < stats.per_second.size(); ++s) {
      const Histogram& h = stats.per_second[s];
      out << s << " " << h.count() << " " << ms(h.percentile(0.5)) << " " << ms(h.percentile(0.99))
          << "\n";
    }
  }
  return 0;
}
