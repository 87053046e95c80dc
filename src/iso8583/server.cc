#include "server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <ctime>
#include <deque>
#include <unordered_map>

#include "ledger/ledger_call.h"
#include "ledger/listener.h"
#include "ledger/pan_hash.h"
#include "transaction_ids.h"

namespace ledger::iso8583 {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;

// Echoes what the network needs to match the answer, with the response MTI (request + 10).
Message reply_to(const Message& request, std::string_view code) {
  Message reply;
  reply.mti = request.mti.size() == 4 ? request.mti : "0000";
  reply.mti[2] = static_cast<char>(reply.mti[2] + 1);
  if (reply.mti[3] == '1') reply.mti[3] = '0';  // the answer to a repeat is a plain answer
  for (int field : {2, 3, 4, 6, 7, 11, 12, 13, 32, 37, 41, 42, 49, 51, 70, 90}) {
    if (request.has(field)) reply.set(field, request.get(field));
  }
  reply.set(39, std::string(code));
  return reply;
}

std::string approval_code(TransferId id) {
  static constexpr char digits[] = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
  std::string code(6, '0');
  std::uint64_t v = id.value.lo ^ id.value.hi;
  for (char& c : code) {
    c = digits[v % 34];
    v /= 34;
  }
  return code;
}

std::string amount12(std::int64_t amount) {
  char text[16];
  std::snprintf(text, sizeof text, "%012lld", static_cast<long long>(amount));
  return text;
}

// DE54 entry: account type, amount type, currency (numeric), C/D, 12 digits.
std::string additional_amount(const char* amount_type, Currency currency, __int128 amount) {
  const bool credit = amount >= 0;
  const auto magnitude = static_cast<std::int64_t>(credit ? amount : -amount);
  char text[32];
  std::snprintf(text, sizeof text, "00%s%03u%c%s", amount_type, currency_info(currency).numeric,
                credit ? 'C' : 'D', amount12(magnitude).c_str());
  return text;
}

std::string_view decline_code(TransferResult result) {
  switch (result) {
    case TransferResult::ok:
    case TransferResult::exists:
      return "00";
    case TransferResult::card_unknown:
      return "14";
    case TransferResult::card_expired:
      return "54";
    case TransferResult::card_not_active:
      return "62";
    case TransferResult::card_channel_not_allowed:
    case TransferResult::card_mcc_blocked:
    case TransferResult::currency_mismatch:
      return "57";
    case TransferResult::card_limit_exceeded:
      return "61";
    case TransferResult::card_count_limit_exceeded:
      return "65";
    case TransferResult::exceeds_available:
      return "51";
    default:
      return "91";
  }
}

bool parse_amount(const Message& m, int field, std::int64_t* out) {
  if (!m.has(field)) return false;
  *out = std::stoll(m.get(field));
  return *out > 0;
}

std::uint16_t today_yymm() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  return static_cast<std::uint16_t>((utc.tm_year % 100) * 100 + utc.tm_mon + 1);
}

bool contains(const std::vector<std::uint16_t>& list, std::uint16_t value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

std::vector<std::uint16_t> default_preauthorization_mccs() {
  return {3501, 3502, 3503, 3504, 3505, 3506, 3507, 3508, 3509, 3510, 7011, 3351, 3352,
          3353, 3354, 3355, 3357, 3359, 3360, 3361, 3366, 3368, 3370, 3374, 3376, 3380,
          3381, 3385, 3386, 3387, 3389, 3390, 3391, 3393, 3394, 3395, 3396, 3398, 3400,
          3405, 3409, 3412, 3414, 3420, 3421, 3423, 3425, 3427, 3428, 3429, 3430, 3431,
          3432, 3433, 3434, 3435, 3436, 3437, 3438, 3439, 7512, 7513, 7519, 4411};
}

std::vector<std::uint16_t> default_over_capture_mccs() {
  return {5812, 5813, 5814, 5541, 5542, 4121, 7230};
}

// --- Sessions ----------------------------------------------------------------------------

class Server::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server& server, asio::ip::tcp::socket socket)
      : server_(server), socket_(std::move(socket)), timer_(socket_.get_executor()) {}

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    std::string body;
    for (;;) {
      unsigned char header[2];
      if (!co_await read_exactly(header, 2, server_.options_.idle_timeout)) break;
      const std::size_t length = (static_cast<std::size_t>(header[0]) << 8) | header[1];
      if (length == 0 || length > frame_bytes_max) {
        spdlog::warn("event=iso8583_frame_refused length={} reason=size", length);
        break;  // no way to find the next frame: close
      }
      body.resize(length);
      if (!co_await read_exactly(reinterpret_cast<unsigned char*>(body.data()), length,
                                 server_.options_.read_timeout)) {
        break;
      }
      const auto received = Clock::now();
      Message request;
      DecodeError error;
      if (!decode(body, server_.options_.bitmap, &request, &error)) {
        ++server_.counters_.malformed;
        spdlog::warn("event=iso8583_malformed field={} reason=\"{}\"", error.field, error.reason);
        if (request.mti.empty() || !request.has(11)) break;  // cannot be answered: close
        Message reply = reply_to(request, "30");
        server_.count_answer(request, reply, received);
        send(reply);
        continue;
      }
      ++server_.counters_.requests;
      if (in_flight_ >= server_.options_.in_flight_max) {
        Message reply = reply_to(request, "91");
        server_.count_answer(request, reply, received);
        send(reply);
        continue;
      }
      ++in_flight_;
      asio::co_spawn(
          socket_.get_executor(),
          [self, request = std::move(request), received]() -> asio::awaitable<void> {
            Message reply = co_await self->server_.handle(request, received);
            --self->in_flight_;
            self->server_.count_answer(request, reply, received);
            self->send(reply);
          },
          asio::detached);
    }
    closing_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  asio::any_io_executor executor() { return socket_.get_executor(); }

  void close() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->socket_.close(ignored);
    });
  }

 private:
  asio::awaitable<bool> read_exactly(unsigned char* data, std::size_t size,
                                     std::chrono::milliseconds timeout) {
    timer_.expires_after(timeout);
    timer_.async_wait([this](const boost::system::error_code& e) {
      if (!e) {
        boost::system::error_code ignored;
        socket_.cancel(ignored);  // a read that stalls ends the connection
      }
    });
    auto [error, n] = co_await asio::async_read(socket_, asio::buffer(data, size), use_tuple);
    timer_.cancel();
    co_return !error && n == size;
  }

  void send(const Message& reply) {
    std::string body;
    std::string error;
    if (!encode(reply, server_.options_.bitmap, &body, &error)) {
      spdlog::error("event=iso8583_encode_failed mti={} error=\"{}\"", reply.mti, error);
      return;
    }
    std::string frame;
    frame.push_back(static_cast<char>(body.size() >> 8));
    frame.push_back(static_cast<char>(body.size() & 0xFF));
    frame += body;
    outbox_.push_back(std::move(frame));
    // One writer at a time: mark it before it starts, or answers completed together (one
    // group commit, several requests of this connection) would each start another writer.
    if (!writing_ && !closing_) {
      writing_ = true;
      asio::co_spawn(socket_.get_executor(), write_loop(shared_from_this()), asio::detached);
    }
  }

  static asio::awaitable<void> write_loop(std::shared_ptr<Session> self) {
    while (!self->outbox_.empty()) {
      auto [error, n] =
          co_await asio::async_write(self->socket_, asio::buffer(self->outbox_.front()), use_tuple);
      self->outbox_.pop_front();
      if (error) {
        self->outbox_.clear();
        break;
      }
    }
    self->writing_ = false;
  }

  Server& server_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  std::deque<std::string> outbox_;
  bool writing_ = false;
  bool closing_ = false;
  std::size_t in_flight_ = 0;
};

Server::Server(asio::io_context& io, CommandSink& sink, ServerOptions options)
    : io_(io), sink_(sink), options_(std::move(options)), acceptor_(io) {
  static std::atomic<std::uint64_t> instances{0};
  instance_ = ++instances;  // never reused, unlike an address
}

Status Server::listen(const asio::ip::tcp::endpoint& endpoint) {
  return listen_on(acceptor_, endpoint);
}

void Server::start() { asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached); }

void Server::stop() {
  stopping_ = true;
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  std::lock_guard lock(sessions_mutex_);
  for (auto& weak : sessions_) {
    if (auto session = weak.lock()) session->close();
  }
}

asio::awaitable<void> Server::accept_loop() {
  while (!stopping_) {
    auto [error, socket] = co_await acceptor_.async_accept(asio::make_strand(io_), use_tuple);
    if (error) {
      if (!acceptor_.is_open()) co_return;
      continue;
    }
    const bool allowed = source_allowed(socket, options_.allowlist);
    if (!allowed || open_connections_ >= options_.connections_max) {
      spdlog::warn("event=iso8583_connection_refused reason={}",
                   allowed ? "connections_max" : "allowlist");
      ++counters_.refused_connections;
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    // Answers are small frames written as soon as they are ready: without TCP_NODELAY, Nagle
    // holds one back until the network acknowledges the previous one (delayed ACK), which at
    // low rates adds the gap between requests to every answer.
    boost::system::error_code nodelay_error;
    socket.set_option(asio::ip::tcp::no_delay(true), nodelay_error);
    auto session = std::make_shared<Session>(*this, std::move(socket));
    {
      std::lock_guard lock(sessions_mutex_);
      sessions_.remove_if([](const std::weak_ptr<Session>& w) { return w.expired(); });
      sessions_.push_back(session);
    }
    ++open_connections_;
    asio::co_spawn(
        acceptor_.get_executor(),
        [this, session]() -> asio::awaitable<void> {
          // The session's reads, handlers and writer all run on its socket's strand.
          co_await asio::co_spawn(session->executor(), session->run(), asio::use_awaitable);
          --open_connections_;
        },
        asio::detached);
  }
}

void Server::count_answer(const Message& request, const Message& reply,
                          Clock::time_point received) {
  const std::string& mti = request.mti;
  const std::string code = reply.has(39) ? reply.get(39) : "none";
  const auto digits = [](const std::string& text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const bool known = mti.size() == 4 && digits(mti);
  // The hot path finds its counter in a per-thread table keyed by MTI and DE39 digits (no
  // allocation, no lock after the first answer of each kind on this thread).
  if (known && code.size() == 2 && digits(code)) {
    thread_local std::uint64_t owner = 0;
    thread_local std::unordered_map<std::uint32_t, metrics::Counter*> cache;
    if (owner != instance_) {  // another server on this thread (tests): its own counters
      cache.clear();
      owner = instance_;
    }
    const auto key = static_cast<std::uint32_t>(std::stoul(mti) * 100 + std::stoul(code));
    auto [it, inserted] = cache.try_emplace(key, nullptr);
    if (inserted) it->second = &counters_.answers.with({mti, code});
    it->second->add();
  } else {
    counters_.answers.with({known ? mti : "invalid", code}).add();
  }
  const auto ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - received).count());
  const bool authorization = mti == "0100" || mti == "0101" || mti == "0200" || mti == "0201";
  (authorization ? counters_.authorization_latency : counters_.other_latency).observe(ns);
}

void Server::register_metrics(metrics::Registry& registry) {
  registry.add_counter_family("ledgerd_iso8583_answers_total",
                              "ISO 8583 answers by request MTI and DE39 response code.",
                              counters_.answers);
  registry.add_histogram("ledgerd_iso8583_answer_duration_seconds",
                         "From a request's last byte read to its answer queued for writing.",
                         {{"type", "authorization"}}, counters_.authorization_latency);
  registry.add_histogram("ledgerd_iso8583_answer_duration_seconds",
                         "From a request's last byte read to its answer queued for writing.",
                         {{"type", "other"}}, counters_.other_latency);
  registry.add_counter("ledgerd_iso8583_deadline_misses_total",
                       "Requests answered 91 because the ledger was not durable by the deadline.",
                       {},
                       [this] { return static_cast<double>(counters_.deadline_misses.load()); });
  registry.add_counter(
      "ledgerd_iso8583_late_holds_voided_total",
      "Holds that committed after their 91 answer and were voided through the journal.", {},
      [this] { return static_cast<double>(counters_.late_holds_voided.load()); });
  registry.add_counter("ledgerd_iso8583_malformed_total", "ISO 8583 frames that did not decode.",
                       {}, [this] { return static_cast<double>(counters_.malformed.load()); });
  registry.add_counter(
      "ledgerd_connections_refused_total",
      "Connections closed at accept (allowlist or connection limit).", {{"interface", "iso8583"}},
      [this] { return static_cast<double>(counters_.refused_connections.load()); });
  registry.add_gauge("ledgerd_open_connections", "Open client connections.",
                     {{"interface", "iso8583"}},
                     [this] { return static_cast<double>(open_connections()); });
}

// --- Messages ----------------------------------------------------------------------------

asio::awaitable<Message> Server::handle(const Message& request, Clock::time_point received) {
  const std::string_view mti = request.mti;
  if (mti == "0800" || mti == "0801") {
    Message reply = reply_to(request, "00");
    co_return reply;
  }
  if (!request.has(11)) co_return reply_to(request, "30");
  if (mti == "0100" || mti == "0101" || mti == "0200" || mti == "0201")
    co_return co_await authorize(request, received);
  if (mti == "0120" || mti == "0121") co_return co_await advise(request, received);
  if (mti == "0220" || mti == "0221") co_return co_await complete(request, received);
  if (mti == "0400" || mti == "0401" || mti == "0420" || mti == "0421")
    co_return co_await reverse(request, received);
  co_return reply_to(request, "30");  // an MTI this issuer does not handle
}

asio::awaitable<Message> Server::authorize(const Message& request, Clock::time_point received) {
  co_return co_await authorize_message(request, received, false);
}

asio::awaitable<Message> Server::authorize_forced(const Message& request,
                                                  Clock::time_point received) {
  co_return co_await authorize_message(request, received, true);
}

asio::awaitable<Message> Server::authorize_message(const Message& request,
                                                   Clock::time_point received, bool force) {
  for (int field : {2, 3, 4, 7, 49}) {
    if (!request.has(field)) co_return reply_to(request, "30");
  }
  const std::string processing = request.get(3).substr(0, 2);
  Authorization a;
  if (processing == "00") {
    a.kind = AuthorizationKind::purchase;
  } else if (processing == "01") {
    a.kind = AuthorizationKind::cash;
  } else if (processing == "20") {
    a.kind = AuthorizationKind::refund;
  } else if (processing == "31") {
    a.kind = AuthorizationKind::balance_inquiry;
  } else {
    co_return reply_to(request, "12");  // invalid transaction
  }
  if (options_.pan_secret.empty()) co_return reply_to(request, "91");
  const bool billing = request.has(6) && request.has(51);
  const auto currency = currency_from_numeric(static_cast<std::uint16_t>(
      std::stoi(request.get(billing ? 51 : 49).find_first_not_of("0123456789") == std::string::npos
                    ? request.get(billing ? 51 : 49)
                    : "0")));
  if (!currency) co_return reply_to(request, "30");
  if (!parse_amount(request, billing ? 6 : 4, &a.amount) &&
      a.kind != AuthorizationKind::balance_inquiry) {
    co_return reply_to(request, "13");  // invalid amount
  }
  a.id = authorization_id(request.has(32) ? request.get(32) : "", request.get(11), request.get(7));
  pan_hash(options_.pan_secret, request.get(2), a.pan_hash);
  a.currency = *currency;
  a.mcc = request.has(18) ? static_cast<std::uint16_t>(std::stoi(request.get(18))) : 0;
  a.expiry_yymm = request.has(14) ? static_cast<std::uint16_t>(std::stoi(request.get(14))) : 0;
  a.today_yymm = today_yymm();
  const std::string entry = request.has(22) ? request.get(22).substr(0, 2) : "";
  if (request.has(25) && request.get(25) == "59") a.channels |= channel_online;
  if (entry == "01" || entry == "81" || entry == "10") a.channels |= channel_online;
  if (entry == "07" || entry == "91") a.channels |= channel_contactless;
  if (a.kind == AuthorizationKind::cash || a.mcc == 6011) a.channels |= channel_atm;
  if (!options_.home_country.empty() && request.has(19) &&
      request.get(19) != options_.home_country) {
    a.channels |= channel_abroad;
  }
  a.partial_allowed = request.has(48) && request.get(48).find("PARTIAL=Y") != std::string::npos;
  a.post_now = request.mti[1] == '2';
  a.force = force;
  a.hold_timeout_s =
      (contains(options_.preauthorization_mccs, a.mcc) ? options_.preauthorization_hold_days
                                                       : options_.hold_days) *
      86'400;
  Command command;
  command.kind = CommandKind::authorize;
  command.body.authorization = a;
  CommandSink& sink = sink_;
  ServerCounters& counters = counters_;
  // If the hold commits after we answered 91, release it with a journaled void (the ledger
  // retries it across database failures until it is durable).
  auto late = [&sink, &counters, id = a.id](const CommandResult& result, Outcome outcome) {
    if (outcome != Outcome::durable || result.transfer_result() != TransferResult::ok ||
        (result.value.transfer.flags & flag_pending) == 0) {
      return;
    }
    sink.void_late_hold(id, late_void_id(id));
    ++counters.late_holds_voided;
    spdlog::warn("event=iso8583_late_hold_voided transfer={}", to_string(id));
  };
  CallResult call = co_await call_ledger_until(sink_, command, received + options_.deadline, late);
  if (call.status != CallStatus::durable) {
    if (call.status == CallStatus::timeout) ++counters_.deadline_misses;
    co_return reply_to(request, "91");
  }
  TransferResult result = call.result.transfer_result();
  if (force && result != TransferResult::ok && result != TransferResult::exists &&
      a.kind != AuthorizationKind::balance_inquiry) {
    // We had declined this one; the network approved it: record its decision as a new hold.
    command.body.authorization.id = advice_id(a.id);
    call = co_await call_ledger_until(sink_, command, received + options_.deadline, nullptr);
    if (call.status != CallStatus::durable) co_return reply_to(request, "91");
    result = call.result.transfer_result();
  }
  Message reply = reply_to(request, decline_code(result));
  if (a.kind == AuthorizationKind::balance_inquiry) {
    if (result != TransferResult::ok) co_return reply;
    const Account& acc = call.result.value.account;
    const __int128 ledger = static_cast<__int128>(acc.credits_posted) - acc.debits_posted;
    const __int128 available = ledger - acc.debits_pending + acc.overdraft_limit;
    reply.set(54, additional_amount("01", acc.currency, ledger) +
                      additional_amount("02", acc.currency, available));
    co_return reply;
  }
  if (result == TransferResult::ok || result == TransferResult::exists) {
    const Transfer& t = call.result.value.transfer;
    reply.set(38, approval_code(t.id));
    if (t.amount_effective < t.amount) {  // partial approval
      reply.set(39, "10");
      reply.set(billing ? 6 : 4, amount12(t.amount_effective));
      reply.set(54, additional_amount("57", *currency, t.amount));
    }
  }
  co_return reply;
}

namespace {

// The original authorization a reversal or completion refers to: DE90 (original MTI, DE11,
// DE7, acquirer) when present, else the message's own DE32/DE11/DE7.
TransferId original_id(const Message& m) {
  if (m.has(90)) {
    const std::string& o = m.get(90);
    return authorization_id(o.substr(20, 11), o.substr(4, 6), o.substr(10, 10));
  }
  return authorization_id(m.has(32) ? m.get(32) : "", m.get(11), m.get(7));
}

Command resolution(TransferId id, TransferId pending, std::uint16_t flags, std::int64_t amount,
                   TransferCode code) {
  Command c;
  c.kind = CommandKind::create_transfer;
  c.body.transfer = Transfer{};
  c.body.transfer.id = id;
  c.body.transfer.pending_id = pending;
  c.body.transfer.flags = flags;
  c.body.transfer.amount = amount;
  c.body.transfer.code = code;
  return c;
}

bool hold_already_resolved(TransferResult r) {
  return r == TransferResult::pending_not_found || r == TransferResult::pending_already_voided ||
         r == TransferResult::pending_already_posted || r == TransferResult::pending_expired ||
         r == TransferResult::pending_is_not_pending;
}

}  // namespace

// 0400/0420: release the original hold, all of it or (DE95: the replacement amount the
// transaction really came to) the part above the replacement. If the original was already
// captured, the reversed amount goes back to the cardholder as a forced posting. Unknown or
// already reversed: acknowledged and logged.
asio::awaitable<Message> Server::reverse(const Message& request, Clock::time_point received) {
  if (!request.has(7)) co_return reply_to(request, "30");
  const TransferId original = original_id(request);
  const auto deadline = received + options_.deadline;
  Command lookup;
  lookup.kind = CommandKind::lookup_transfer;
  lookup.body.transfer_id = original;
  const CallResult found = co_await call_ledger_until(sink_, lookup, deadline, nullptr);
  if (found.status != CallStatus::durable) co_return reply_to(request, "91");
  const Transfer& hold = found.result.value.transfer;
  if (found.result.code != 0 || hold.result != TransferResult::ok ||
      (hold.flags & flag_pending) == 0 ||
      (hold.pending_state != PendingState::open && hold.pending_state != PendingState::posted)) {
    spdlog::info("event=iso8583_reversal_acknowledged original={} reason=unknown_or_resolved",
                 to_string(original));
    co_return reply_to(request, "00");
  }
  const std::int64_t replacement = request.has(95) ? std::stoll(request.get(95).substr(0, 12)) : 0;
  Command command;
  if (hold.pending_state == PendingState::open) {
    const std::int64_t release =
        replacement > 0 ? hold.amount_effective - replacement : 0;  // 0: all
    if (replacement > 0 && release <= 0)
      co_return reply_to(request, "00");  // nothing above it held
    command = resolution(reversal_id(original), original, flag_void_pending, release,
                         TransferCode::card_reversal);
  } else {  // captured already: give the reversed amount back
    std::int64_t original_amount = 0;
    const bool billing = request.has(6) && request.has(51);
    if (!parse_amount(request, billing ? 6 : 4, &original_amount)) original_amount = hold.amount;
    const std::int64_t refund = original_amount - replacement;
    if (refund <= 0) co_return reply_to(request, "00");
    command.kind = CommandKind::create_transfer;
    command.body.transfer = Transfer{};
    Transfer& t = command.body.transfer;
    t.id = reversal_id(original);
    t.debit_account_id = hold.credit_account_id;
    t.credit_account_id = hold.debit_account_id;
    t.amount = refund;
    t.currency = hold.currency;
    t.code = TransferCode::card_reversal;
    t.flags = flag_force;
    t.reference_a = hold.reference_a;
    t.reference_b = hold.reference_b;
  }
  const CallResult call = co_await call_ledger_until(sink_, command, deadline, nullptr);
  if (call.status != CallStatus::durable) co_return reply_to(request, "91");
  const TransferResult r = call.result.transfer_result();
  const bool done = r == TransferResult::ok || r == TransferResult::exists ||
                    hold_already_resolved(r) ||
                    (r >= TransferResult::exists_with_different_flags &&
                     r <= TransferResult::exists_with_different_reference_32);  // a retransmission
  if (r != TransferResult::ok) {
    spdlog::info("event=iso8583_reversal_acknowledged original={} result={}", to_string(original),
                 to_string(r));
  }
  co_return reply_to(request, done ? "00" : "91");
}

// 0220: post the hold, fully or partly, above it only for MCCs that allow it (tips, fuel); a
// completion without a prior authorization is a forced financial posting.
asio::awaitable<Message> Server::complete(const Message& request, Clock::time_point received) {
  std::int64_t amount = 0;
  const bool billing = request.has(6) && request.has(51);
  if (!request.has(7) || !parse_amount(request, billing ? 6 : 4, &amount))
    co_return reply_to(request, "30");
  const TransferId original = original_id(request);
  const std::uint16_t mcc =
      request.has(18) ? static_cast<std::uint16_t>(std::stoi(request.get(18))) : 0;
  const bool over = contains(options_.over_capture_mccs, mcc);
  Command post =
      resolution(completion_id(original), original,
                 static_cast<std::uint16_t>(flag_post_pending |
                                            (over ? flag_allow_over_capture | flag_force : 0)),
                 amount, TransferCode::card_capture);
  CallResult call = co_await call_ledger_until(sink_, post, received + options_.deadline, nullptr);
  if (call.status != CallStatus::durable) co_return reply_to(request, "91");
  TransferResult r = call.result.transfer_result();
  if (r == TransferResult::amount_exceeds_pending) {  // this MCC may not post above the hold
    spdlog::warn("event=iso8583_completion_capped original={} asked={}", to_string(original),
                 amount);
    post.body.transfer.id = completion_id(post.body.transfer.id);
    post.body.transfer.amount = 0;  // the whole hold
    call = co_await call_ledger_until(sink_, post, received + options_.deadline, nullptr);
    if (call.status != CallStatus::durable) co_return reply_to(request, "91");
    r = call.result.transfer_result();
  }
  if (r == TransferResult::pending_not_found) {  // no authorization: post it as it happened
    Message as_financial = request;
    as_financial.mti = "0200";
    as_financial.set(3, "000000");
    Message reply = co_await authorize_forced(as_financial, received);
    reply.mti = "0230";
    co_return reply;
  }
  co_return reply_to(
      request, r == TransferResult::ok || r == TransferResult::exists || hold_already_resolved(r)
                   ? "00"
                   : "91");
}

// 0120: the network answered in our place. Its approval is recorded (forced past limits; a
// new hold if we had declined); its decline releases a hold we had placed.
asio::awaitable<Message> Server::advise(const Message& request, Clock::time_point received) {
  if (!request.has(7)) co_return reply_to(request, "30");
  const bool network_approved = !request.has(39) || request.get(39) == "00";
  const TransferId original =
      authorization_id(request.has(32) ? request.get(32) : "", request.get(11), request.get(7));
  if (!network_approved) {
    const Command release = resolution(reversal_id(original), original, flag_void_pending, 0,
                                       TransferCode::card_reversal);
    const CallResult call =
        co_await call_ledger_until(sink_, release, received + options_.deadline, nullptr);
    if (call.status != CallStatus::durable) co_return reply_to(request, "91");
    co_return reply_to(request, "00");
  }
  Message as_request = request;
  as_request.mti = "0100";
  as_request.clear(39);
  Message reply = co_await authorize_forced(as_request, received);
  reply.mti = "0130";
  co_return reply;
}

}  // namespace ledger::iso8583