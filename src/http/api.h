// The REST API (v1): routes, request validation, result-to-status mapping. Every write and
// every balance read goes through the ledger (CommandSink) and is answered only when durable.
// Thread: handle() runs on a session's strand; Api itself is immutable after construction.
#pragma once

#include <chrono>

#include "health.h"
#include "ledger/sink.h"
#include "server.h"

namespace ledger::http {

struct ApiOptions {
  std::chrono::milliseconds ledger_timeout{5'000};  // wait for a durable answer, then 503
};

class Api {
 public:
  Api(CommandSink& sink, const Readiness& readiness, ApiOptions options = {})
      : sink_(sink), readiness_(readiness), options_(options) {}

  asio::awaitable<Response> handle(Request& request);

 private:
  asio::awaitable<Response> create_account(const Request& request);
  asio::awaitable<Response> get_account(const Request& request, std::string_view id);
  asio::awaitable<Response> create_transfer(const Request& request);
  asio::awaitable<Response> resolve_transfer(const Request& request, std::string_view id,
                                             bool post);
  asio::awaitable<Response> get_transfer(const Request& request, std::string_view id);
  asio::awaitable<Response> answer_transfer(const Request& request, const Command& command,
                                            bool resolution);

  CommandSink& sink_;
  const Readiness& readiness_;
  ApiOptions options_;
};

// Ids the API derives when a client omits them, so that blind retries stay idempotent.
Uint128 id_from_key(std::string_view idempotency_key);
Uint128 derived_id(Uint128 source, std::string_view purpose);

}  // namespace ledger::http
