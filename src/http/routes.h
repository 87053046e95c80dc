// The REST routes, one file per resource (accounts_routes.cc, transfers_routes.cc,
// cards_routes.cc, keys_routes.cc for API keys and the audit trail). Each route only reads the
// request, maps it (mapping.h, pure), calls the ledger or the reader once, and writes the
// mapped answer. Api (api.cc) authenticates, limits, dispatches and audits.
// Thread: a session's strand; RouteContext is immutable and shared.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "http/mapping.h"
#include "ledger/clock.h"
#include "ledger/direct_debits.h"
#include "ledger/key_store.h"
#include "ledger/reader.h"
#include "ledger/sink.h"

namespace ledger::http {

struct RouteContext {
  CommandSink& sink;
  LedgerReader& reader;
  KeyStore* keys;  // nullptr: key management over REST is off (answers 503)
  std::chrono::milliseconds ledger_timeout;
  std::string pan_secret;
  WebhookStore* webhooks = nullptr;  // nullptr: /v1/webhook-subscriptions answers 503
  WebhookContext webhook;
  SpikeRuleStore* spikes = nullptr;           // nullptr: /v1/spike-rules answers 503
  DirectDebitStore* direct_debits = nullptr;  // nullptr: /v1/direct-debits answers 503
  const LedgerClock* clock = nullptr;         // nullptr: the system clock, no test clock
  LedgerClock* test_clock = nullptr;          // set only with LEDGER_CLOCK=manual
  DirectDebitPolicy direct_debit_policy;
  CreditTransferPolicy credit_transfer_policy;
  CardClearingPolicy card_clearing_policy;
  std::uint64_t now_ns() const;
};

using Parts = std::vector<std::string_view>;
template <typename T>
using Awaitable = boost::asio::awaitable<T>;

// parts[1] names the resource; each answers every method and sub-path under it.
Awaitable<Response> route_accounts(const RouteContext& ctx, const Request& request,
                                   const Parts& parts, const Query& query);
Awaitable<Response> route_transfers(const RouteContext& ctx, const Request& request,
                                    const Parts& parts, const Query& query);
Awaitable<Response> route_cards(const RouteContext& ctx, const Request& request, const Parts& parts,
                                const Query& query);
// Admin scope (checked by Api): /v1/keys and /v1/audit.
Awaitable<Response> route_keys(const RouteContext& ctx, const Request& request, const Parts& parts,
                               const Query& query, const std::string& actor,
                               const std::string& actor_name);
Awaitable<Response> route_monitors(const RouteContext& ctx, const Request& request,
                                   const Parts& parts, const Query& query);
Awaitable<Response> route_spike_rules(const RouteContext& ctx, const Request& request,
                                      const Parts& parts, const Query& query);
Awaitable<Response> route_direct_debits(const RouteContext& ctx, const Request& request,
                                        const Parts& parts, const Query& query);
// /v1/accounts/{id}/direct-debits and /v1/accounts/{id}/direct-debit-rules.
Awaitable<Response> route_account_direct_debits(const RouteContext& ctx, const Request& request,
                                                const Parts& parts, const Query& query);
// POST /v1/payee-verifications: Verification of Payee, as the payee's bank (read scope; rate
// limited per API key by Api). docs/payee-verification.md.
Awaitable<Response> route_payee_verifications(const RouteContext& ctx, const Request& request,
                                              const Parts& parts, const Query& query);
// /v1/credit-transfers (docs/credit-transfers.md): out (POST, pain.001 import, files at the
// cut-off, imports of what the clearing house sends back) and in (/v1/credit-transfers/
// instant-payments: the instant clearing house's pacs.008, answered with a pacs.002).
Awaitable<Response> route_credit_transfers(const RouteContext& ctx, const Request& request,
                                           const Parts& parts, const Query& query);
// The regular SCT cut-off, on its own: every TARGET2 business day once the ledger's clock
// passes LEDGER_SCT_CUTOFF, the due files are cut as POST /v1/credit-transfers/files cuts them
// (checked every 10 s; a failed cut is tried again). Runs until its executor stops.
Awaitable<void> run_credit_transfer_cutoff(const RouteContext& ctx);
// /v1/card-clearing (clearing files in, chargeback files out), /v1/disputes and
// /v1/card-transactions (docs/card-clearing.md).
Awaitable<Response> route_card_clearing(const RouteContext& ctx, const Request& request,
                                        const Parts& parts, const Query& query);
Awaitable<Response> route_disputes(const RouteContext& ctx, const Request& request,
                                   const Parts& parts, const Query& query);
Awaitable<Response> route_card_transactions(const RouteContext& ctx, const Request& request,
                                            const Parts& parts, const Query& query);
// Disputes on the clock: each day once the ledger's clock passes the chargeback cut-off, the
// opened disputes are charged back in a file (as POST /v1/card-clearing/files); a charged-back
// dispute whose representment window closed is won. Checked every 10 s.
Awaitable<void> run_dispute_timers(const RouteContext& ctx);
// Reconciliation differences found by clearing imports (the metric
// ledgerd_card_clearing_reconciliation_differences_total).
std::atomic<std::uint64_t>& card_clearing_differences();
// /v1/test-clock (LEDGER_CLOCK=manual only; otherwise 404).
Awaitable<Response> route_test_clock(const RouteContext& ctx, const Request& request,
                                     const Parts& parts, const Query& query);
Awaitable<Response> route_events(const RouteContext& ctx, const Request& request,
                                 const Parts& parts, const Query& query);
Awaitable<Response> route_webhooks(const RouteContext& ctx, const Request& request,
                                   const Parts& parts, const Query& query);
Awaitable<Response> route_audit(const RouteContext& ctx, const Request& request, const Parts& parts,
                                const Query& query);

// --- Shared by the route files -------------------------------------------------------------
Body body_of(const Request& request);
// The shape of every write route: the mapped command (or its problem), one call, the answer
// mapped from the durable result (`flag`: creating, or a resolution of a hold).
using Answer = Response (*)(const CommandResult& result, bool flag, unsigned version);
Awaitable<Response> submit(const RouteContext& ctx, const Request& request,
                           const Mapped<Command>& command, Answer answer, bool flag);
// One engine command: its durable result, or the answer to send instead (503).
Awaitable<std::variant<CommandResult, Response>> call(const RouteContext& ctx,
                                                      const Command& command, unsigned version);
// One lookup in the engine: the result, or the answer to send (404 "<what>_not_found", 503).
Awaitable<std::variant<CommandResult, Response>> look_up(const RouteContext& ctx,
                                                         const Command& command,
                                                         std::string_view what, Uint128 id,
                                                         unsigned version);
// Engine lookups of many things at once (a page of accounts or transfers).
Awaitable<std::variant<std::vector<CommandResult>, Response>> look_up_all(
    const RouteContext& ctx, const std::vector<Command>& commands, unsigned version);
Uint128 random_uuid();

}  // namespace ledger::http
