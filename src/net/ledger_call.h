// call_ledger: submits one command from a session coroutine (REST or ISO 8583) and suspends
// until its durable answer is posted back to the session's executor, or a timeout passes (the
// outcome is then unknown to the client, and a retry with the same id is safe). Asio-based:
// included by the network edges only, never by core or the engine.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "ledger/sink.h"
#include "ledger/status.h"

namespace ledger {

struct CallResult {
  CallStatus status = CallStatus::unavailable;
  CommandResult result;
};

namespace detail {
// Lives until complete() has run, even if the waiting coroutine gave up (timeout).
class PendingCall final : public Completion {
 public:
  explicit PendingCall(boost::asio::any_io_executor executor) : timer_(std::move(executor)) {}

  void complete(const CommandResult& result, Outcome outcome) override {
    std::shared_ptr<PendingCall> keep = std::move(self_);
    boost::asio::post(timer_.get_executor(), [keep, result, outcome] {
      keep->result_ = result;
      keep->outcome_ = outcome;
      keep->done_ = true;
      keep->timer_.cancel();
      if (keep->abandoned_ && keep->late_) keep->late_(result, outcome);
    });
  }

  std::shared_ptr<PendingCall> self_;
  // Runs (on the session's executor) if the answer arrives after the waiter gave up.
  std::function<void(const CommandResult&, Outcome)> late_;
  bool abandoned_ = false;
  boost::asio::steady_timer timer_;
  CommandResult result_;
  Outcome outcome_ = Outcome::unavailable;
  bool done_ = false;  // touched only on the session's executor
};
}  // namespace detail

// As call_ledger, but on the priority lane and until an absolute deadline. If the answer
// comes after the deadline, `late` runs with it (e.g. to void a hold the client was told was
// declined).
inline boost::asio::awaitable<CallResult> call_ledger_until(
    CommandSink& sink, const Command& command, std::chrono::steady_clock::time_point deadline,
    std::function<void(const CommandResult&, Outcome)> late) {
  auto executor = co_await boost::asio::this_coro::executor;
  auto call = std::make_shared<detail::PendingCall>(executor);
  call->self_ = call;
  call->late_ = std::move(late);
  if (!sink.submit_priority(command, call.get())) {
    call->self_.reset();
    co_return CallResult{CallStatus::busy, {}};
  }
  call->timer_.expires_at(deadline);
  while (!call->done_) {
    auto [error] =
        co_await call->timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (!error && !call->done_) {
      call->abandoned_ = true;
      co_return CallResult{CallStatus::timeout, {}};
    }
  }
  co_return CallResult{
      call->outcome_ == Outcome::durable ? CallStatus::durable : CallStatus::unavailable,
      call->result_};
}

inline boost::asio::awaitable<CallResult> call_ledger(CommandSink& sink, const Command& command,
                                                      std::chrono::milliseconds timeout) {
  auto executor = co_await boost::asio::this_coro::executor;
  auto call = std::make_shared<detail::PendingCall>(executor);
  call->self_ = call;
  if (!sink.submit(command, call.get())) {
    call->self_.reset();
    co_return CallResult{CallStatus::busy, {}};
  }
  call->timer_.expires_after(timeout);
  while (!call->done_) {
    auto [error] =
        co_await call->timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (!error && !call->done_) co_return CallResult{CallStatus::timeout, {}};
  }
  co_return CallResult{
      call->outcome_ == Outcome::durable ? CallStatus::durable : CallStatus::unavailable,
      call->result_};
}

namespace detail {
// N completions, one wake-up: the last complete() posts to the session's executor.
class PendingBatch {
 public:
  struct Entry final : Completion {
    PendingBatch* batch = nullptr;
    std::size_t index = 0;
    void complete(const CommandResult& result, Outcome outcome) override {
      batch->results_[index] = result;
      if (outcome != Outcome::durable) batch->failed_.store(true);
      if (batch->remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) batch->finish();
    }
  };

  PendingBatch(boost::asio::any_io_executor executor, std::size_t count)
      : timer_(std::move(executor)), entries_(count), results_(count), remaining_(count) {
    for (std::size_t i = 0; i < count; ++i) {
      entries_[i].batch = this;
      entries_[i].index = i;
    }
  }
  void finish() {
    std::shared_ptr<PendingBatch> keep = std::move(self_);
    boost::asio::post(timer_.get_executor(), [keep] {
      keep->done_ = true;
      keep->timer_.cancel();
    });
  }

  std::shared_ptr<PendingBatch> self_;
  boost::asio::steady_timer timer_;
  std::vector<Entry> entries_;
  std::vector<CommandResult> results_;
  std::atomic<std::size_t> remaining_;
  std::atomic<bool> failed_{false};
  bool done_ = false;
};

// A reader answer of type T, delivered from a reader thread to the session's executor.
template <typename T>
struct PendingRead {
  explicit PendingRead(boost::asio::any_io_executor executor) : timer(std::move(executor)) {}
  boost::asio::steady_timer timer;
  std::optional<std::pair<Status, T>> answer;
};
}  // namespace detail

struct BatchCallResult {
  CallStatus status = CallStatus::unavailable;
  std::vector<CommandResult> results;
};

// Submits all commands consecutively (see CommandSink::submit_all) and waits for all answers.
inline boost::asio::awaitable<BatchCallResult> call_ledger_all(CommandSink& sink,
                                                               const std::vector<Command>& commands,
                                                               std::chrono::milliseconds timeout) {
  auto executor = co_await boost::asio::this_coro::executor;
  auto call = std::make_shared<detail::PendingBatch>(executor, commands.size());
  call->self_ = call;
  std::vector<Completion*> completions(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) completions[i] = &call->entries_[i];
  if (!sink.submit_all(commands.data(), completions.data(), commands.size())) {
    call->self_.reset();
    co_return BatchCallResult{CallStatus::busy, {}};
  }
  call->timer_.expires_after(timeout);
  while (!call->done_) {
    auto [error] =
        co_await call->timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (!error && !call->done_) co_return BatchCallResult{CallStatus::timeout, {}};
  }
  if (call->failed_.load()) co_return BatchCallResult{CallStatus::unavailable, {}};
  co_return BatchCallResult{CallStatus::durable, call->results_};
}

// Runs start(done) where done(Status, T) is called later from another thread; waits for it.
// nullopt: refused (busy) or timed out.
template <typename T, typename Start>
boost::asio::awaitable<std::optional<std::pair<Status, T>>> await_read(
    Start start, std::chrono::milliseconds timeout) {
  auto executor = co_await boost::asio::this_coro::executor;
  auto read = std::make_shared<detail::PendingRead<T>>(executor);
  const bool accepted = start([read](Status status, T value) {
    boost::asio::post(read->timer.get_executor(),
                      [read, status = std::move(status), value = std::move(value)]() mutable {
                        read->answer.emplace(std::move(status), std::move(value));
                        read->timer.cancel();
                      });
  });
  if (!accepted) co_return std::nullopt;
  read->timer.expires_after(timeout);
  while (!read->answer) {
    auto [error] =
        co_await read->timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (!error && !read->answer) co_return std::nullopt;
  }
  co_return std::move(read->answer);
}

}  // namespace ledger
