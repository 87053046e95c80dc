// The REST API (v1): routes, authentication and scopes, request validation, result-to-status
// mapping. Every write and every balance read goes through the ledger (CommandSink) and is
// answered only when durable; history and statements come from PostgreSQL (LedgerReader).
// Thread: handle() runs on a session's strand; Api itself is immutable after construction.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "auth.h"
#include "health.h"
#include "ledger/audit.h"
#include "ledger/reader.h"
#include "ledger/sink.h"
#include "rate_limit.h"
#include "server.h"

namespace ledger::http {

struct ApiOptions {
  std::chrono::milliseconds ledger_timeout{5'000};  // wait for a durable answer, then 503
  std::string pan_secret;    // HMAC key for card numbers; empty: cards cannot be created
  double rate_per_key = 0;   // requests per second per API key; 0: no limit
  double burst_per_key = 0;  // bucket size (requests allowed at once)
};

using Query = std::map<std::string, std::string>;

// A bounded label for metrics: the path with ids replaced ("/v1/accounts/{id}/transfers");
// "other" for anything that is not a route of this API.
std::string route_label(std::string_view target);

class Api {
 public:
  // audit: where back-office mutations are recorded (nullptr: not recorded).
  Api(CommandSink& sink, LedgerReader& reader, const KeyRing& keys, const Readiness& readiness,
      ApiOptions options = {}, AuditSink* audit = nullptr)
      : sink_(sink),
        reader_(reader),
        keys_(keys),
        readiness_(readiness),
        options_(options),
        limiter_(options.rate_per_key, options.burst_per_key),
        audit_(audit) {}

  asio::awaitable<Response> handle(Request& request);

 private:
  asio::awaitable<Response> list_audit(const Request& request, const Query& query);
  asio::awaitable<Response> route(const Request& request,
                                  const std::vector<std::string_view>& parts, const Query& query);
  asio::awaitable<Response> create_account(const Request& request);
  asio::awaitable<Response> get_account(const Request& request, std::string_view id);
  asio::awaitable<Response> list_accounts(const Request& request, const Query& query);
  asio::awaitable<Response> update_account(const Request& request, std::string_view id, bool close);
  asio::awaitable<Response> account_history(const Request& request, std::string_view id,
                                            const Query& query);
  asio::awaitable<Response> account_statement(const Request& request, std::string_view id,
                                              const Query& query);
  asio::awaitable<Response> create_card(const Request& request);
  asio::awaitable<Response> get_card(const Request& request, std::string_view id);
  asio::awaitable<Response> update_card(const Request& request, std::string_view id);
  asio::awaitable<Response> answer_card(const Command& command, unsigned version, bool creating);
  asio::awaitable<Response> create_transfer(const Request& request);
  asio::awaitable<Response> create_batch(const Request& request);
  asio::awaitable<Response> resolve_transfer(const Request& request, std::string_view id,
                                             bool post);
  asio::awaitable<Response> get_transfer(const Request& request, std::string_view id);
  asio::awaitable<Response> answer_transfer(const Request& request, const Command& command,
                                            bool resolution);
  asio::awaitable<std::optional<CommandResult>> lookup(const Command& command,
                                                       std::string_view what, Uint128 id,
                                                       Response* error, unsigned version);
  asio::awaitable<std::optional<Account>> lookup_account(AccountId id, Response* error,
                                                         unsigned version);

  CommandSink& sink_;
  LedgerReader& reader_;
  const KeyRing& keys_;
  const Readiness& readiness_;
  ApiOptions options_;
  RateLimiter limiter_;
  AuditSink* audit_;
};

// Ids the API derives when a client omits them, so that blind retries stay idempotent.
Uint128 id_from_key(std::string_view idempotency_key);
Uint128 derived_id(Uint128 source, std::string_view purpose);

// "a=1&b=x%20y" -> {a: "1", b: "x y"}; false on malformed percent-encoding or a repeated key.
bool parse_query(std::string_view target, Query* out);

}  // namespace ledger::http
