// The REST API (v1): authentication and scopes, rate limits, dispatch to the route files
// (routes.h) and the audit trail of every back-office write attempt. Every write and every
// balance read goes through the ledger (CommandSink) and is answered only when durable;
// history and statements come from PostgreSQL (LedgerReader).
// Thread: handle() runs on a session's strand; Api itself is immutable after construction.
#pragma once

#include <chrono>
#include <string>

#include "http/auth.h"
#include "http/health.h"
#include "http/rate_limit.h"
#include "http/routes.h"
#include "ledger/audit.h"
#include "ledger/key_store.h"
#include "ledger/reader.h"
#include "ledger/sink.h"

namespace ledger::http {

struct ApiOptions {
  std::chrono::milliseconds ledger_timeout{5'000};  // wait for a durable answer, then 503
  std::string pan_secret;    // HMAC key for card numbers; empty: cards cannot be created
  double rate_per_key = 0;   // requests per second per API key; 0: no limit
  double burst_per_key = 0;  // bucket size (requests allowed at once)
};

class Api {
 public:
  // audit: where back-office writes are recorded (nullptr: not recorded). key_store: API keys
  // over REST (nullptr: those routes answer 503).
  Api(CommandSink& sink, LedgerReader& reader, const KeyRing& keys, const Readiness& readiness,
      ApiOptions options = {}, AuditSink* audit = nullptr, KeyStore* key_store = nullptr)
      : keys_(keys),
        readiness_(readiness),
        limiter_(options.rate_per_key, options.burst_per_key),
        audit_(audit),
        routes_{sink, reader, key_store, options.ledger_timeout, options.pan_secret} {}

  Awaitable<Response> handle(Request& request);

 private:
  Awaitable<Response> route(const Request& request, const Parts& parts, const Query& query,
                            const ApiKey& key);

  const KeyRing& keys_;
  const Readiness& readiness_;
  RateLimiter limiter_;
  AuditSink* audit_;
  RouteContext routes_;
};

}  // namespace ledger::http
