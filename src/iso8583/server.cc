#include "iso8583/server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "iso8583/transaction_ids.h"
#include "ledger/parse.h"
#include "net/listener.h"

namespace ledger::iso8583 {
namespace {

namespace beast = boost::beast;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;
constexpr std::size_t malformed_logged_per_connection_max = 8;

std::uint16_t today_yymm() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  return static_cast<std::uint16_t>((utc.tm_year % 100) * 100 + utc.tm_mon + 1);
}

std::string stan_of(const Message& m) { return m.has(11) ? m.get(11) : "none"; }

// Logs an exception that escaped a session coroutine (each catches its own; this is the
// last line, so that nothing ends silently).
void log_escape(const char* where, std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("event=iso8583_coroutine_failed where={} error=\"{}\"", where, e.what());
  } catch (...) {
    spdlog::error("event=iso8583_coroutine_failed where={} error=unknown", where);
  }
}

}  // namespace

// --- Sessions ----------------------------------------------------------------------------

// One connection: a read loop, a handler coroutine per request in flight, one writer.
// Thread: everything runs on the connection's strand; proven_/evicted_ are read by the accept
// loop too.
class Server::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server& server, asio::ip::tcp::socket socket, asio::ip::address source)
      : server_(server),
        stream_(std::move(socket)),
        idle_(stream_.get_executor()),
        source_(std::move(source)),
        deadline_(stream_.get_executor()) {}

  asio::awaitable<void> run();
  asio::any_io_executor executor() { return stream_.get_executor(); }
  const asio::ip::address& source() const { return source_; }
  bool proven() const { return proven_.load(std::memory_order_relaxed); }
  bool evicted() const { return evicted_.load(std::memory_order_relaxed); }

  // From any thread: stop reading; answer what was received, then close.
  void drain() {
    asio::post(executor(), [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_receive, ignored);
    });
  }
  // From any thread: close now (a stranger evicted to make room).
  void evict() {
    evicted_ = true;
    asio::post(executor(), [self = shared_from_this()] { self->close(); });
  }

 private:
  void on_frame(std::string_view body, Clock::time_point received);
  void on_malformed(const Message& partial, const DecodeError& error, Clock::time_point received);
  // A request and its translation (its answer-to-be) for its whole exchange, and, while the
  // ledger decides, the completion the journal thread calls: one allocation per request, no
  // coroutine, no timer and no wake-up of its own (see handle()).
  struct Work final : Completion {
    Message request;
    Translation translation;
    Clock::time_point received;
    Clock::time_point due;        // received + the deadline
    std::uint64_t answer_by = 0;  // journaled beside an authorization (late_approvals.h)
    bool reversed_at_deadline = false;
    bool answered = false;             // strand only: its answer is queued (or it timed out)
    std::shared_ptr<Work> self;        // held while the ledger has it
    std::shared_ptr<Session> session;  // held while the ledger has it
    CommandResult result;              // written by complete(), read on the strand
    Outcome outcome = Outcome::unavailable;
    void complete(const CommandResult& r, Outcome o) override {  // journal thread
      result = r;
      outcome = o;
      std::shared_ptr<Session> to = std::move(session);
      to->deliver(std::move(self));
    }
  };
  void handle(std::shared_ptr<Work> work, Clock::time_point received);
  void deliver(std::shared_ptr<Work> work);
  void drain_mailbox();
  void on_decided(Work& work);
  void arm_deadline();
  void on_deadline();
  void request_done();
  void pop_answered();
  void send(const Message& reply);
  asio::awaitable<void> write_loop();
  void close() {
    closed_ = true;
    outbox_.clear();
    stream_.close();
    idle_.cancel();
  }

  Server& server_;
  beast::tcp_stream stream_;
  asio::steady_timer idle_;  // cancelled when a request or a write ends (drain waits on it)
  asio::ip::address source_;
  std::atomic<bool> proven_{false};  // sent one complete valid message
  std::atomic<bool> evicted_{false};
  std::deque<std::string> outbox_;
  bool writing_ = false;
  bool closed_ = false;
  std::size_t in_flight_ = 0;
  std::size_t malformed_logged_ = 0;
  // Requests sent to the ledger, oldest first: as every deadline is its receipt plus the same
  // interval, this is also deadline order, so one timer (armed for the oldest) serves them all.
  std::deque<std::shared_ptr<Work>> waiting_;
  asio::steady_timer deadline_;
  bool deadline_armed_ = false;
  // Decisions the journal thread hands over: one post per COMMIT and connection, not one per
  // request (the first into an empty mailbox posts the drain).
  std::mutex mailbox_mutex_;
  std::vector<std::shared_ptr<Work>> mailbox_;
  std::vector<std::shared_ptr<Work>> draining_;
};

// Reads into one buffer as much as the socket holds and takes every complete frame from it:
// one recv per burst of requests, not two per request (a length, then a body). A started frame
// must be complete within read_timeout of its first byte; between frames the connection may
// stay quiet for idle_timeout.
asio::awaitable<void> Server::Session::run() {
  const ServerOptions& options = server_.options_;
  constexpr std::size_t buffer_bytes = 16 * 1024;  // grows (once) for a frame above it
  std::vector<unsigned char> buffer(buffer_bytes);
  std::size_t begin = 0;  // first unread byte
  std::size_t end = 0;    // one past the last byte read
  Clock::time_point frame_deadline;
  while (!closed_) {
    while (end - begin >= 2 && !closed_) {
      if (outbox_.size() >= options.outbox_frames_max / 2) {
        // Answers pile up (a burst of frames answered at once, or a peer slow to read): let
        // the writer send them before taking more. It ends by cancelling idle_, or closes the
        // connection at its write timeout.
        idle_.expires_at(Clock::time_point::max());
        co_await idle_.async_wait(use_tuple);
        continue;
      }
      const std::size_t length = (static_cast<std::size_t>(buffer[begin]) << 8) | buffer[begin + 1];
      if (end - begin - 2 < length) {
        if (2 + length > buffer.size()) buffer.resize(2 + length);  // at most 64 KiB + 2
        break;
      }
      // A zero-length frame has nothing to answer; it is delimited all the same. A frame above
      // the limit is still taken whole (the length prefix bounds it) and answered.
      if (length > 0) {
        on_frame(std::string_view(reinterpret_cast<const char*>(buffer.data() + begin + 2), length),
                 Clock::now());
      }
      begin += 2 + length;
      // The next frame's bytes arrived with this one's: its read_timeout starts now.
      if (begin < end) frame_deadline = Clock::now() + options.read_timeout;
    }
    if (closed_) break;
    if (begin == end) {
      begin = end = 0;
    } else if (begin > 0) {  // keep the start of the next frame at the front
      std::memmove(buffer.data(), buffer.data() + begin, end - begin);
      end -= begin;
      begin = 0;
    }
    if (end == 0) {
      stream_.expires_after(options.idle_timeout);
    } else {
      stream_.expires_at(frame_deadline);
    }
    auto [error, n] = co_await stream_.async_read_some(
        asio::buffer(buffer.data() + end, buffer.size() - end), use_tuple);
    if (error || n == 0) break;  // closed, timed out (idle, or stalled inside a frame)
    if (end == 0) frame_deadline = Clock::now() + options.read_timeout;
    end += n;
  }
  // Answer every request already received, then close (bounded: each has a deadline, each
  // write a timeout).
  while (!closed_ && (in_flight_ > 0 || writing_)) {
    idle_.expires_at(Clock::time_point::max());
    co_await idle_.async_wait(use_tuple);
  }
  close();
}

void Server::Session::on_frame(std::string_view body, Clock::time_point received) {
  // One allocation holds the request and its translation for the whole exchange: a Message is
  // 129 strings (4 KiB), moved through a coroutine and its frames it cost more than decoding.
  auto work = std::make_shared<Work>();
  Message& request = work->request;
  DecodeError error;
  bool decoded = decode(body, server_.options_.bitmap, &request, &error);
  if (decoded && body.size() > frame_bytes_max) {  // read whole, decoded for the echo: refused
    decoded = false;
    error = DecodeError{0, "frame of " + std::to_string(body.size()) + " bytes is above " +
                               std::to_string(frame_bytes_max)};
  }
  if (mti_class(request.mti) == MtiClass::response) {
    ++server_.counters_.responses_dropped;  // a response sent to us: nothing to answer
    return;
  }
  if (!decoded) return on_malformed(request, error, received);
  proven_ = true;
  ++server_.counters_.requests;
  Translation& translation = work->translation;
  translation = translate(request, server_.options_.translate, today_yymm());
  if (translation.purpose == Purpose::none) {
    server_.count_answer(request.mti, translation.reply, received);
    return send(translation.reply);
  }
  if (in_flight_ >= server_.options_.in_flight_max) {
    finish_unavailable(&translation);
    server_.count_answer(request.mti, translation.reply, received);
    return send(translation.reply);
  }
  handle(std::move(work), received);
}

void Server::Session::on_malformed(const Message& partial, const DecodeError& error,
                                   Clock::time_point received) {
  ++server_.counters_.malformed;
  if (malformed_logged_ < malformed_logged_per_connection_max) {
    ++malformed_logged_;
    spdlog::warn("event=iso8583_malformed mti={} stan={} field={} reason=\"{}\"",
                 partial.mti.empty() ? "none" : partial.mti, stan_of(partial), error.field,
                 error.reason);
  }
  const auto reply = malformed_reply(partial);
  if (!reply) return;  // no MTI to answer with
  server_.count_answer(partial.mti, *reply, received);
  send(*reply);
}

// One request for the ledger. It waits in waiting_ (deadline order) until the journal thread
// hands its decision over (deliver) or its deadline passes (on_deadline), whichever comes
// first on this strand; answers go out as they are ready.
void Server::Session::handle(std::shared_ptr<Work> work, Clock::time_point received) {
  Work& w = *work;
  w.received = received;
  w.due = received + server_.options_.deadline;
  server_.prepare(&w.translation, w.due, &w.reversed_at_deadline, &w.answer_by);
  ++in_flight_;
  w.session = shared_from_this();
  w.self = work;
  waiting_.push_back(work);
  if (!server_.sink_.submit_priority(w.translation.command, &w)) {  // busy: 91 now
    w.self.reset();
    w.session.reset();
    w.answered = true;
    finish_unavailable(&w.translation);
    server_.count_answer(w.request.mti, w.translation.reply, received);
    send(w.translation.reply);
    request_done();
    return;
  }
  arm_deadline();
}

// Journal thread (or whichever thread completes): the decision, handed to the strand.
void Server::Session::deliver(std::shared_ptr<Work> work) {
  bool post = false;
  {
    std::lock_guard lock(mailbox_mutex_);
    post = mailbox_.empty();
    mailbox_.push_back(std::move(work));
  }
  if (post) asio::post(executor(), [self = shared_from_this()] { self->drain_mailbox(); });
}

void Server::Session::drain_mailbox() {
  {
    std::lock_guard lock(mailbox_mutex_);
    draining_.swap(mailbox_);
  }
  for (const std::shared_ptr<Work>& work : draining_) on_decided(*work);
  draining_.clear();
  pop_answered();
}

void Server::Session::on_decided(Work& w) {
  if (w.answered) {  // answered 91 at its deadline: the late rule
    server_.late(w.translation, w.reversed_at_deadline, w.answer_by, w.result, w.outcome);
    return;
  }
  w.answered = true;
  const Message* reply = &w.translation.reply;
  std::optional<Message> failed;  // the rare error path only: a Message is 129 strings
  try {
    if (w.outcome == Outcome::durable) {
      finish(w.result, &w.translation);
      if (!w.translation.trouble.empty()) server_.note_trouble(w.translation, w.result);
    } else {
      finish_unavailable(&w.translation);
    }
  } catch (const std::exception& e) {
    ++server_.counters_.internal_errors;
    spdlog::error("event=iso8583_request_failed mti={} stan={} error=\"{}\"", w.request.mti,
                  stan_of(w.request), e.what());
    failed = error_reply(w.request);
    reply = &*failed;
  }
  server_.count_answer(w.request.mti, *reply, w.received);
  send(*reply);
  request_done();
}

// One timer per connection, for the oldest request still waiting. An answered request's
// deadline needs no timer of its own: the one armed fires at most once per deadline and finds
// it gone; the requests behind the oldest are due later.
void Server::Session::arm_deadline() {
  pop_answered();
  if (deadline_armed_ || waiting_.empty()) return;
  deadline_armed_ = true;
  deadline_.expires_at(waiting_.front()->due);
  deadline_.async_wait([self = shared_from_this()](boost::system::error_code) {
    self->deadline_armed_ = false;
    self->on_deadline();
  });
}

void Server::Session::on_deadline() {
  const Clock::time_point now = Clock::now();
  while (!waiting_.empty() && (waiting_.front()->answered || waiting_.front()->due <= now)) {
    const std::shared_ptr<Work> work = std::move(waiting_.front());
    waiting_.pop_front();
    Work& w = *work;
    if (w.answered) continue;
    // Not durable by its deadline: 91, and the late rule when its decision comes (on_decided).
    w.answered = true;
    server_.time_out(&w.translation, w.reversed_at_deadline, w.answer_by);
    server_.count_answer(w.request.mti, w.translation.reply, w.received);
    send(w.translation.reply);
    request_done();
  }
  arm_deadline();
}

void Server::Session::pop_answered() {
  while (!waiting_.empty() && waiting_.front()->answered) waiting_.pop_front();
}

void Server::Session::request_done() {
  --in_flight_;
  idle_.cancel();
}

void Server::Session::send(const Message& reply) {
  if (closed_) return;
  std::string frame;
  std::string error;
  if (!encode(reply, server_.options_.bitmap, &frame, &error, /*prefix=*/2)) {
    ++server_.counters_.internal_errors;
    spdlog::error("event=iso8583_encode_failed mti={} stan={} error=\"{}\"", reply.mti,
                  stan_of(reply), error);
    return;
  }
  if (outbox_.size() >= server_.options_.outbox_frames_max) {
    ++server_.counters_.stalled_writers;
    spdlog::warn("event=iso8583_connection_closed reason=not_reading outbox_frames={}",
                 outbox_.size());
    return close();
  }
  const std::size_t body_size = frame.size() - 2;
  frame[0] = static_cast<char>(body_size >> 8);
  frame[1] = static_cast<char>(body_size & 0xFF);
  outbox_.push_back(std::move(frame));
  // One writer at a time: marked before it starts, or answers completed together (one group
  // commit, several requests of this connection) would each start another writer.
  if (writing_) return;
  writing_ = true;
  asio::co_spawn(
      executor(), [self = shared_from_this()] { return self->write_loop(); },
      [](std::exception_ptr escaped) { log_escape("writer", escaped); });
}

asio::awaitable<void> Server::Session::write_loop() {
  // Every answer queued when a write starts leaves in that one write (writev): the answers of
  // one group commit cost one system call per connection, not one each. Frames queued while it
  // is in flight go in the next. (A deque's push_back keeps its elements where they are.)
  constexpr std::size_t frames_per_write = 64;
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(frames_per_write);
  while (!outbox_.empty() && !closed_) {
    const std::size_t count = std::min(outbox_.size(), frames_per_write);
    buffers.clear();
    for (std::size_t i = 0; i < count; ++i) buffers.push_back(asio::buffer(outbox_[i]));
    stream_.expires_after(server_.options_.write_timeout);
    auto [error, n] = co_await asio::async_write(stream_, buffers, use_tuple);
    if (error) {
      if (error == beast::error::timeout) {
        ++server_.counters_.stalled_writers;
        spdlog::warn("event=iso8583_connection_closed reason=write_timeout");
      }
      close();
      break;
    }
    if (closed_) break;  // closed while the write was in flight: close() emptied the outbox
    outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<std::ptrdiff_t>(count));
  }
  writing_ = false;
  idle_.cancel();
}

// --- Server ------------------------------------------------------------------------------

Server::Server(asio::io_context& io, CommandSink& sink, ServerOptions options)
    : io_(io), sink_(sink), options_(std::move(options)), acceptor_(io) {
  static std::atomic<std::uint64_t> instances{0};
  instance_ = ++instances;  // never reused, unlike an address
}

Status Server::listen(const asio::ip::tcp::endpoint& endpoint) {
  return listen_on(acceptor_, endpoint);
}

void Server::start() {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(),
                 [](std::exception_ptr escaped) { log_escape("accept", escaped); });
}

void Server::stop() {
  stopping_ = true;
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  std::lock_guard lock(sessions_mutex_);
  for (const auto& session : sessions_) session->drain();
}

bool Server::admit(const asio::ip::address& source) {
  std::lock_guard lock(sessions_mutex_);
  std::size_t open = 0;
  std::size_t from_source = 0;
  std::shared_ptr<Session> oldest_stranger;         // of any source
  std::shared_ptr<Session> oldest_source_stranger;  // of this source
  for (const auto& session : sessions_) {           // oldest first
    if (session->evicted()) continue;
    ++open;
    const bool same = session->source() == source;
    from_source += same ? 1 : 0;
    if (session->proven()) continue;
    if (!oldest_stranger) oldest_stranger = session;
    if (same && !oldest_source_stranger) oldest_source_stranger = session;
  }
  std::shared_ptr<Session> victim;
  if (from_source >= options_.connections_per_source_max) {
    victim = oldest_source_stranger;
  } else if (open >= options_.connections_max) {
    victim = oldest_stranger;
  } else {
    return true;
  }
  if (!victim) return false;
  ++counters_.evicted_connections;
  victim->evict();
  return true;
}

void Server::forget(const Session* session) {
  std::lock_guard lock(sessions_mutex_);
  sessions_.remove_if([session](const std::shared_ptr<Session>& s) { return s.get() == session; });
}

asio::awaitable<void> Server::accept_loop() {
  std::uint64_t refused_logged = 0;
  while (!stopping_) {
    auto [error, socket] = co_await acceptor_.async_accept(asio::make_strand(io_), use_tuple);
    if (error) {
      if (!acceptor_.is_open()) co_return;
      asio::steady_timer pause(acceptor_.get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(use_tuple);  // e.g. out of file descriptors
      continue;
    }
    boost::system::error_code peer_error;
    const auto peer = socket.remote_endpoint(peer_error);
    const bool allowed = !peer_error && source_allowed(socket, options_.allowlist);
    if (!allowed || !admit(peer.address())) {
      ++counters_.refused_connections;
      if (refused_logged++ % 1000 == 0) {  // one line per thousand refusals, not one each
        spdlog::warn("event=iso8583_connection_refused reason={} refused_total={}",
                     allowed ? "connections_max" : "allowlist",
                     counters_.refused_connections.load());
      }
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    // Answers are small frames written as soon as they are ready: without TCP_NODELAY, Nagle
    // holds one back until the network acknowledges the previous one (delayed ACK), which at
    // low rates adds the gap between requests to every answer.
    boost::system::error_code nodelay_error;
    socket.set_option(asio::ip::tcp::no_delay(true), nodelay_error);
    std::shared_ptr<Session> session;
    {
      std::lock_guard lock(sessions_mutex_);
      session = std::make_shared<Session>(*this, std::move(socket), peer.address());
      sessions_.push_back(session);
    }
    ++open_connections_;
    asio::co_spawn(
        session->executor(),
        [this, session]() -> asio::awaitable<void> {
          try {
            co_await session->run();
          } catch (const std::exception& e) {
            spdlog::error("event=iso8583_session_failed error=\"{}\"", e.what());
          }
          forget(session.get());
          --open_connections_;
        },
        [](std::exception_ptr escaped) { log_escape("session", escaped); });
  }
}

// Before a request goes to the ledger: its deadline, and for an authorization the deadline
// on PostgreSQL's clock (our steady clock plus the lease's reading of the difference),
// journaled beside it: if it commits after this and the process dies before the late rule's
// reversal commits, whoever holds the lease next finds it (late_approvals.h).
void Server::prepare(Translation* translation, Clock::time_point due, bool* reversed_at_deadline,
                     std::uint64_t* answer_by) {
  const Purpose purpose = translation->purpose;
  Authorization& a = translation->command.body.authorization;
  if (translation->command.kind == CommandKind::authorize) {
    const std::int64_t anchor_ms =
        options_.pg_clock_anchor_ms != nullptr ? options_.pg_clock_anchor_ms->load() : 0;
    if (anchor_ms != 0) {
      a.answer_by_ns = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(due.time_since_epoch()).count() +
          anchor_ms * 1'000'000);
    } else {
      const auto left = std::max(due - Clock::now(), Clock::duration::zero());
      a.answer_by_ns = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(
              (std::chrono::system_clock::now() + left).time_since_epoch())
              .count());
    }
  }
  // Plain authorizations are reversed at the deadline (time_out). An incremental authorization
  // or an advice that commits after we answered 91 is reversed when it commits (late): its
  // reversal needs the slot the engine chose (the ledger retries it until it is durable).
  *reversed_at_deadline = purpose == Purpose::authorize &&
                          translation->command.kind == CommandKind::authorize && !a.incremental &&
                          !a.force;
  *answer_by = a.answer_by_ns;
}

// The deadline passed before the ledger's answer was durable: 91.
void Server::time_out(Translation* translation, bool reversed_at_deadline,
                      std::uint64_t answer_by) {
  ++counters_.deadline_misses;
  if (reversed_at_deadline) {
    // Told 91: whatever this message decides when it is applied must hold nothing. Queued
    // now, behind it and ahead of any repeat the network sends once it has the 91 (which
    // then decides anew instead of confirming a hold about to be released); one reversal
    // per deadline, so a later deadline's also reverses what a repeat decided meanwhile.
    sink_.reverse_late(translation->command.body.authorization.id, answer_by);
    ++counters_.late_holds_voided;
  }
  finish_unavailable(translation);
}

// The decision of a request answered 91 at its deadline: what it placed durably is reversed
// (unless the deadline already queued the reversal).
void Server::late(const Translation& translation, bool reversed_at_deadline,
                  std::uint64_t answer_by, const CommandResult& result, Outcome outcome) {
  if (outcome != Outcome::durable || reversed_at_deadline) return;
  const auto transfer = late_transfer(translation.purpose, result);
  if (!transfer) return;
  sink_.reverse_late(*transfer, answer_by);
  ++counters_.late_holds_voided;
  spdlog::warn("event=iso8583_late_authorization_reversed transfer={}", to_string(*transfer));
}

// The network decided and we could not follow (an advice or completion we could not
// record, a completion beyond the over-capture tolerance): acknowledged as the network
// expects, and logged and counted for the card operations team.
void Server::note_trouble(const Translation& translation, const CommandResult& result) {
  const Authorization& a = translation.command.body.authorization;
  const bool refused = translation.trouble == "completion_beyond_tolerance";
  ++(refused ? counters_.completions_refused : counters_.decisions_unrecorded);
  spdlog::warn(
      "event=iso8583_{} mti={} stan={} amount={} currency={} mcc={} result={} "
      "held_transfer={}",
      translation.trouble, translation.reply.mti, stan_of(translation.reply), a.amount,
      currency_info(a.currency).numeric, a.mcc, to_string(result.transfer_result()),
      to_string(result.value.transfer.id));
}

void Server::count_answer(std::string_view mti, const Message& reply, Clock::time_point received) {
  const std::string& code = reply.has(39) ? reply.get(39) : std::string();
  std::uint64_t mti_number = 0;
  std::uint64_t code_number = 0;
  // The hot path finds its counter in a per-thread table keyed by MTI and DE39 digits (no
  // allocation, no lock after the first answer of each kind on this thread).
  if (mti.size() == 4 && parse_digits(mti, &mti_number) && code.size() == 2 &&
      parse_digits(code, &code_number)) {
    thread_local std::uint64_t owner = 0;
    thread_local std::unordered_map<std::uint32_t, metrics::Counter*> cache;
    if (owner != instance_) {  // another server on this thread (tests): its own counters
      cache.clear();
      owner = instance_;
    }
    const auto key = static_cast<std::uint32_t>(mti_number * 100 + code_number);
    auto [it, inserted] = cache.try_emplace(key, nullptr);
    if (inserted) it->second = &counters_.answers.with({std::string(mti), code});
    it->second->add();
  } else {
    counters_.answers.with({"invalid", code.empty() ? "none" : "invalid"}).add();
  }
  const auto ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - received).count());
  const bool authorization = mti == "0100" || mti == "0101" || mti == "0200" || mti == "0201";
  (authorization ? counters_.authorization_latency : counters_.other_latency).observe(ns);
}

void Server::register_metrics(metrics::Registry& registry) {
  const auto counter = [&](const char* name, const char* help,
                           const std::atomic<std::uint64_t>& value) {
    registry.add_counter(name, help, {}, [&value] { return static_cast<double>(value.load()); });
  };
  registry.add_counter_family("ledgerd_iso8583_answers_total",
                              "ISO 8583 answers by request MTI and DE39 response code.",
                              counters_.answers);
  registry.add_histogram("ledgerd_iso8583_answer_duration_seconds",
                         "From a request's last byte read to its answer queued for writing.",
                         {{"type", "authorization"}}, counters_.authorization_latency);
  registry.add_histogram("ledgerd_iso8583_answer_duration_seconds",
                         "From a request's last byte read to its answer queued for writing.",
                         {{"type", "other"}}, counters_.other_latency);
  counter("ledgerd_iso8583_deadline_misses_total",
          "Requests answered 91 because the ledger was not durable by the deadline.",
          counters_.deadline_misses);
  counter("ledgerd_iso8583_late_holds_voided_total",
          "Authorizations answered 91 at the deadline (and incremental ones or advices that "
          "committed after their 91) whose reversal was queued through the journal: it releases "
          "whatever the authorization holds when it is applied, or gives back its posting.",
          counters_.late_holds_voided);
  counter("ledgerd_iso8583_decisions_unrecorded_total",
          "Advices and completions acknowledged but not recorded (no such card, or not the "
          "account's currency): logged with event=iso8583_advice_not_recorded or "
          "iso8583_completion_not_recorded.",
          counters_.decisions_unrecorded);
  counter("ledgerd_iso8583_completions_refused_total",
          "Completions above the over-capture tolerance of their MCC group, answered 13.",
          counters_.completions_refused);
  counter("ledgerd_iso8583_malformed_total",
          "ISO 8583 frames that did not decode (answered 30 when their MTI was readable).",
          counters_.malformed);
  counter("ledgerd_iso8583_responses_dropped_total",
          "Response-class messages (e.g. 0110) sent to ledgerd: dropped, never answered.",
          counters_.responses_dropped);
  counter("ledgerd_iso8583_internal_errors_total",
          "Requests answered 96 because something failed inside ledgerd (logged with MTI and "
          "STAN).",
          counters_.internal_errors);
  counter("ledgerd_iso8583_connections_evicted_total",
          "Connections closed at a connection limit to make room: the oldest that had not yet "
          "sent a complete valid message.",
          counters_.evicted_connections);
  counter("ledgerd_iso8583_stalled_peers_total",
          "Connections closed because the peer did not read its answers in time.",
          counters_.stalled_writers);
  registry.add_counter(
      "ledgerd_connections_refused_total",
      "Connections closed at accept (allowlist or connection limit).", {{"interface", "iso8583"}},
      [this] { return static_cast<double>(counters_.refused_connections.load()); });
  registry.add_gauge("ledgerd_open_connections", "Open client connections.",
                     {{"interface", "iso8583"}},
                     [this] { return static_cast<double>(open_connections()); });
}

}  // namespace ledger::iso8583
