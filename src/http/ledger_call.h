// call_ledger: submits one command from a session coroutine and suspends until its durable
// answer is posted back to the session's executor, or a timeout passes (the answer is then
// "unavailable": the outcome is unknown to the client, and a retry with the same id is safe).
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <chrono>
#include <memory>

#include "ledger/sink.h"

namespace ledger::http {

enum class CallStatus : std::uint8_t { durable, busy, unavailable, timeout };

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
    });
  }

  std::shared_ptr<PendingCall> self_;
  boost::asio::steady_timer timer_;
  CommandResult result_;
  Outcome outcome_ = Outcome::unavailable;
  bool done_ = false;  // touched only on the session's executor
};
}  // namespace detail

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

}  // namespace ledger::http
