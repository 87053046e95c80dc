// Webhook subscriptions and deliveries in PostgreSQL (migration 0009): the REST API's requests
// (WebhookStore, run on the read pool) and the dispatcher's steps (its own connection).
// Sealed credentials travel as bytes; this file never sees a URL or secret in clear.
#pragma once

#include <string>
#include <vector>

#include "journal/pg.h"
#include "ledger/webhooks.h"

namespace ledger {

Status run_webhook_request(PGconn* conn, const WebhookRequest& request, WebhookReply* reply);

// --- The dispatcher ------------------------------------------------------------------------

// Active subscriptions with their sealed credentials, and any replay under way.
struct DispatchSubscription {
  WebhookSubscription subscription;
  std::uint64_t replay_from = 0;  // 0 and 0: no replay
  std::uint64_t replay_to = 0;
};
Status load_dispatch_subscriptions(PGconn* conn, std::vector<DispatchSubscription>* out);
// Accounts of the given holders (filters by holder).
Status accounts_of_holders(PGconn* conn, const std::vector<Uint128>& holders,
                           std::vector<Uint128>* out);
// In one transaction: a pending delivery per matched seq (a replayed one is reset to pending)
// and the subscription's cursor moved to `after` (or its replay window to `replay_from`).
Status record_matches(PGconn* conn, Uint128 subscription, const std::vector<std::uint64_t>& seqs,
                      bool replay, std::uint64_t next);

struct DueDelivery {
  Uint128 subscription;
  std::uint64_t seq = 0;
  std::uint32_t attempts = 0;
};
// Pending deliveries whose time has come: up to `limit` per subscription (lowest seq first), so
// one subscription's backlog never starves another's.
Status due_deliveries(PGconn* conn, std::uint32_t limit, std::vector<DueDelivery>* out);

struct AttemptOutcome {
  Uint128 subscription;
  std::uint64_t seq = 0;
  int http_status = 0;  // 0: no answer
  std::string error;
  bool delivered = false;
  bool give_up = false;             // failed for good
  std::uint32_t retry_after_s = 0;  // when not delivered and not given up
  std::string disable_reason;       // non-empty: disable the subscription
};
Status record_attempt(PGconn* conn, const AttemptOutcome& outcome);
// Several outcomes that disable nothing, in one statement (a batch of one subscription).
Status record_attempts(PGconn* conn, const std::vector<AttemptOutcome>& outcomes);

}  // namespace ledger
