// Webhook and Slack subscriptions as the REST API manages them (/v1/webhook-subscriptions) and
// the dispatcher reads them. URLs and secrets reach the store already sealed (the HTTP layer
// and the dispatcher hold LEDGER_WEBHOOK_KEY; the store never sees them in clear). The journal
// component implements the store (journal/read_pool); the HTTP layer depends on this only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ledger/status.h"
#include "ledger/types.h"

namespace ledger {

enum class WebhookKind : std::uint8_t { webhook, slack };

struct WebhookSubscription {
  Uint128 id;
  WebhookKind kind = WebhookKind::webhook;
  std::string url_hint;           // "https://hooks.example.com/…": scheme and host only
  std::uint64_t event_types = 0;  // bit (1 << EventType); 0: every type
  std::string filter_json;        // the normalized filter, as the API shows it
  bool active = true;
  std::string disabled_reason;
  std::uint64_t after_seq = 0;  // events up to here were matched
  std::string created_at;
  std::string updated_at;
  // Sealed credentials: filled for the dispatcher, never rendered.
  std::string url_sealed;
  std::string secret_sealed;
  std::string previous_secret_sealed;  // "" when none still signs
};

struct WebhookDelivery {
  std::uint64_t seq = 0;
  std::string status;  // pending, delivered, failed, dropped
  std::uint32_t attempts = 0;
  int last_status = 0;  // 0: no HTTP answer yet
  std::string last_error;
  std::string next_attempt_at;
  std::string last_attempt_at;
  std::string delivered_at;
};

struct WebhookRequest {
  enum class Op : std::uint8_t { create, list, get, update, remove, deliveries, replay, rotate };
  Op op = Op::list;
  Uint128 id;
  // create, update (update: only the fields marked set_*)
  WebhookKind kind = WebhookKind::webhook;
  std::string url_sealed;
  std::string url_hint;
  std::string secret_sealed;
  std::uint64_t event_types = 0;
  std::string filter_json;
  bool set_url = false, set_event_types = false, set_filter = false, set_active = false;
  bool active = true;
  // replay
  std::uint64_t from_seq = 0, to_seq = 0;
  // rotate: the new secret; the current one keeps signing for grace_seconds
  std::uint32_t grace_seconds = 0;
  // list, deliveries
  std::uint32_t limit = 100;
  std::uint64_t before_seq = 0;   // deliveries cursor (0: newest)
  bool with_credentials = false;  // get: keep the sealed URL and secrets (for a test send)
};

struct WebhookReply {
  bool found = true;  // get/update/remove/deliveries/replay/rotate: false when no such id
  std::vector<WebhookSubscription> subscriptions;
  std::vector<WebhookDelivery> deliveries;
  std::uint64_t replayed = 0;  // replay: deliveries (re)scheduled
};

// Returns at once; `done` runs later on another thread. false: too busy (503).
class WebhookStore {
 public:
  virtual bool webhooks(const WebhookRequest& request,
                        std::function<void(Status, WebhookReply)> done) = 0;

 protected:
  ~WebhookStore() = default;
};

}  // namespace ledger
