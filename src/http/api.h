// The REST API (v1): authentication and scopes, rate limits, dispatch to the route files
// (routes.h) and the audit trail of every back-office write attempt. Every write and every
// balance read goes through the ledger (CommandSink) and is answered only when durable;
// history and statements come from PostgreSQL (LedgerReader).
// Thread: handle() runs on a session's strand; Api is immutable after construction but for
// its rate limiters (locked) and counters (atomic).
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "http/auth.h"
#include "http/health.h"
#include "http/rate_limit.h"
#include "http/routes.h"
#include "ledger/audit.h"
#include "ledger/key_store.h"
#include "ledger/limits.h"
#include "ledger/reader.h"
#include "ledger/sink.h"

namespace ledger::http {

struct ApiOptions {
  std::chrono::milliseconds ledger_timeout{5'000};  // wait for a durable answer, then 503
  std::string pan_secret;    // HMAC key for card numbers; empty: cards cannot be created
  double rate_per_key = 0;   // requests per second per API key; 0: no limit
  double burst_per_key = 0;  // bucket size (requests allowed at once)
  // Card creations per minute per key (each one looks a PAN up: the answer tells whether it
  // is issued); as many at once. 0: no limit.
  double pan_lookups_per_minute = limits::pan_lookups_per_minute_default;
  // Verification of Payee checks per minute per key; as many at once. 0: no limit.
  double payee_checks_per_minute = limits::payee_checks_per_minute_default;
  WebhookStore* webhooks = nullptr;           // webhook subscriptions (nullptr: 503)
  WebhookContext webhook;                     // LEDGER_WEBHOOK_KEY and LEDGER_WEBHOOK_ALLOWLIST
  SpikeRuleStore* spikes = nullptr;           // spike rules (nullptr: 503)
  DirectDebitStore* direct_debits = nullptr;  // direct debits (nullptr: 503)
  LedgerClock* clock = nullptr;  // the ledger's clock (nullptr: system); manual: test clock
  DirectDebitPolicy direct_debit_policy;
  CreditTransferPolicy credit_transfer_policy;
  CardClearingPolicy card_clearing_policy;
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
        pan_lookup_limiter_(options.pan_lookups_per_minute / 60.0, options.pan_lookups_per_minute),
        payee_check_limiter_(options.payee_checks_per_minute / 60.0,
                             options.payee_checks_per_minute),
        audit_(audit),
        routes_{sink,
                reader,
                key_store,
                options.ledger_timeout,
                options.pan_secret,
                options.webhooks,
                options.webhook,
                options.spikes,
                options.direct_debits,
                options.clock,
                options.clock != nullptr && options.clock->manual() ? options.clock : nullptr,
                options.direct_debit_policy,
                options.credit_transfer_policy,
                options.card_clearing_policy} {}

  Awaitable<Response> handle(Request& request);
  // The regular SCT cut-off on its own (run_credit_transfer_cutoff), for the server's executor.
  Awaitable<void> credit_transfer_cutoff() { return run_credit_transfer_cutoff(routes_); }
  // The chargeback cut-off and the representment deadlines (run_dispute_timers).
  Awaitable<void> dispute_timers() { return run_dispute_timers(routes_); }
  // Before a body is read (http::ServerOptions::check_header): a refused key or scope is
  // answered at once, also under Expect: 100-continue, and recorded if it was a write.
  std::optional<Response> check_header(const RequestHeader& header);
  // A write the server answered itself (body too large, framing refused): recorded.
  void observe_refusal(const RequestHeader& header, const Response& response);

  std::uint64_t pan_lookups() const { return pan_lookups_.load(); }
  std::uint64_t pan_lookups_refused() const { return pan_lookups_refused_.load(); }

 private:
  struct Access {
    bool api_route = false;  // under /v1
    Scope needed = Scope::read;
    AuthResult auth = AuthResult::missing;
    ApiKey key;  // when auth is ok or insufficient_scope
  };
  Access access(const RequestHeader& header) const;
  void audit(const RequestHeader& header, const Access& access, int status,
             const Response* response = nullptr);
  bool pan_lookup_allowed(const std::string& key_id, std::uint32_t* retry_after_ms);
  Awaitable<Response> route(const Request& request, const Parts& parts, const Query& query,
                            const ApiKey& key);

  const KeyRing& keys_;
  const Readiness& readiness_;
  RateLimiter limiter_;
  RateLimiter pan_lookup_limiter_;
  RateLimiter payee_check_limiter_;
  std::atomic<std::uint64_t> pan_lookups_{0};
  std::atomic<std::uint64_t> pan_lookups_refused_{0};
  AuditSink* audit_;
  RouteContext routes_;
};

}  // namespace ledger::http
