// /v1/webhook-subscriptions: create, list, read, change, delete; and per subscription test,
// deliveries, replay and rotate-secret. Stored in PostgreSQL through WebhookStore; the
// dispatcher (src/outbound) delivers. POST .../test sends one signed test message from here,
// on this connection's executor (async, bounded by the delivery timeout).
#include <boost/asio/ssl/context.hpp>

#include "document/event.h"
#include "http/mapping_support.h"
#include "http/routes.h"
#include "ledger/parse.h"
#include "net/ledger_call.h"
#include "outbound/client.h"
#include "outbound/crypto.h"
#include "outbound/slack.h"

namespace ledger::http {
namespace {

using bhttp::status;
using bhttp::verb;
using nlohmann::json;

Problem webhooks_off(std::string detail) {
  Problem problem{status::service_unavailable, "webhooks_unavailable", std::move(detail)};
  problem.retry_after = "60";
  return problem;
}

Problem subscription_not_found(Uint128 id) { return not_found("webhook subscription", id); }

Awaitable<std::optional<WebhookReply>> store(const RouteContext& ctx,
                                             const WebhookRequest& request) {
  auto reply = co_await await_read<WebhookReply>(
      [&](auto done) { return ctx.webhooks->webhooks(request, std::move(done)); },
      ctx.ledger_timeout);
  if (!reply || !reply->first.ok()) co_return std::nullopt;
  co_return std::move(reply->second);
}

boost::asio::ssl::context& tls_client() {
  static boost::asio::ssl::context context = [] {
    boost::asio::ssl::context c(boost::asio::ssl::context::tls_client);
    c.set_default_verify_paths();
    c.set_verify_mode(boost::asio::ssl::verify_peer);
    return c;
  }();
  return context;
}

// One signed test message, sent now; the answer says what the destination replied.
// A subscription's URL whose host name resolves to a private, loopback or reserved address is
// refused at creation and change (each delivery resolves and checks again, so a later DNS change
// cannot turn it inward either). The answer does not say which address: that would tell whoever
// picks the name how the internal network is laid out.
Awaitable<std::optional<Problem>> refuse_inward(const RouteContext& ctx, const Request& request) {
  const auto body = nlohmann::json::parse(request.body(), nullptr, false);
  if (!body.is_object()) co_return std::nullopt;
  const auto it = body.find("url");
  if (it == body.end() || !it->is_string()) co_return std::nullopt;
  std::string error;
  const auto url = outbound::parse_url(it->get<std::string>(), &error);
  if (!url) co_return std::nullopt;
  if (co_await outbound::resolves_inward(*url, ctx.webhook.allowlist,
                                         std::chrono::milliseconds(2'000))) {
    co_return Problem{status::bad_request, "invalid_field",
                      "the URL's host resolves to a private, loopback or reserved address "
                      "(permit it with LEDGER_WEBHOOK_ALLOWLIST)",
                      "url"};
  }
  co_return std::nullopt;
}

Awaitable<Response> send_test(const RouteContext& ctx, Uint128 id, unsigned version) {
  WebhookRequest get;
  get.op = WebhookRequest::Op::get;
  get.id = id;
  get.with_credentials = true;
  auto reply = co_await store(ctx, get);
  if (!reply) co_return render(read_failed(), version);
  if (!reply->found) co_return render(subscription_not_found(id), version);
  const WebhookSubscription& s = reply->subscriptions[0];
  const auto url_text = outbound::unseal(ctx.webhook.seal_key, s.url_sealed);
  std::string error;
  const auto url = url_text ? outbound::parse_url(*url_text, &error) : std::nullopt;
  if (!url) {
    co_return render(webhooks_off("the destination cannot be unsealed with this server's "
                                  "LEDGER_WEBHOOK_KEY"),
                     version);
  }
  const std::string message_id = "evt_test_" + format_uuid(random_uuid()).substr(0, 8);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const std::int64_t seconds = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  std::string body;
  outbound::Headers headers;
  if (s.kind == WebhookKind::slack) {
    body = outbound::slack_body(
        "Test message from ledgerd: this Slack channel receives the "
        "subscription's events.");
  } else {
    const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
    body = document::test_event_json(message_id, static_cast<std::uint64_t>(now_ns), id).dump();
    const std::vector<std::string> secrets =
        outbound::signing_secrets(ctx.webhook.seal_key, s.secret_sealed, s.previous_secret_sealed);
    headers = outbound::signed_headers(secrets, message_id, seconds, body);
  }
  const outbound::HttpAttempt attempt =
      co_await outbound::post(*url, headers, std::move(body), ctx.webhook.allowlist, tls_client(),
                              std::chrono::milliseconds(limits::webhook_timeout_ms));
  const bool delivered = attempt.status >= 200 && attempt.status < 300;
  co_return make_json(
      status::ok,
      dump_json(json{{"delivered", delivered},
                     {"http_status", attempt.status == 0 ? json(nullptr) : json(attempt.status)},
                     {"error", attempt.error.empty() ? json(nullptr) : json(attempt.error)}}),
      version);
}

}  // namespace

Awaitable<Response> route_webhooks(const RouteContext& ctx, const Request& request,
                                   const Parts& parts, const Query& query) {
  const unsigned version = request.version();
  const verb method = request.method();
  const std::size_t n = parts.size();
  if (ctx.webhooks == nullptr) {
    co_return render(webhooks_off("webhook subscriptions are not available on this server"),
                     version);
  }
  if (n > 4) co_return render(route_not_found(request.target()), version);
  if (n == 2) {
    if (method == verb::post) {
      if (ctx.webhook.seal_key.empty()) {
        co_return render(webhooks_off("set LEDGER_WEBHOOK_KEY (64 hex digits) to make "
                                      "subscriptions: their URLs and secrets are stored sealed"),
                         version);
      }
      std::string secret;
      const auto mapped =
          map_create_subscription(body_of(request), ctx.webhook, random_uuid(), &secret);
      if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
      if (auto inward = co_await refuse_inward(ctx, request)) {
        co_return render(*inward, version);
      }
      auto reply = co_await store(ctx, std::get<WebhookRequest>(mapped));
      if (!reply) co_return render(read_failed(), version);
      if (!reply->found) {
        co_return render(Problem{status::conflict, "subscription_exists",
                                 "a webhook subscription with this id exists"},
                         version);
      }
      json body = subscription_json(reply->subscriptions[0]);
      body["secret"] = secret;
      Response response = make_json(status::created, dump_json(body), version);
      response.set(bhttp::field::location,
                   "/v1/webhook-subscriptions/" + format_uuid(reply->subscriptions[0].id));
      co_return response;
    }
    if (method != verb::get) co_return render(method_not_allowed("GET, POST"), version);
    WebhookRequest list;
    list.op = WebhookRequest::Op::list;
    list.limit = 1'000;
    auto reply = co_await store(ctx, list);
    if (!reply) co_return render(read_failed(), version);
    json items = json::array();
    for (const auto& s : reply->subscriptions) items.push_back(subscription_json(s));
    co_return make_json(status::ok, dump_json(json{{"subscriptions", std::move(items)}}), version);
  }
  const auto id_or = path_id(parts[2], "webhook subscription");
  if (const Problem* problem = problem_of(id_or)) co_return render(*problem, version);
  const Uint128 id = std::get<Uint128>(id_or);
  const std::string_view sub = n == 4 ? parts[3] : std::string_view{};
  WebhookRequest op;
  op.id = id;
  if (n == 3) {
    if (method == verb::get) {
      op.op = WebhookRequest::Op::get;
    } else if (method == verb::delete_) {
      op.op = WebhookRequest::Op::remove;
    } else if (method == verb::patch) {
      const auto mapped = map_update_subscription(id, body_of(request), ctx.webhook);
      if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
      op = std::get<WebhookRequest>(mapped);
      if (op.set_url && ctx.webhook.seal_key.empty()) {
        co_return render(webhooks_off("set LEDGER_WEBHOOK_KEY to change a URL"), version);
      }
      if (op.set_url) {
        if (auto inward = co_await refuse_inward(ctx, request)) {
          co_return render(*inward, version);
        }
      }
    } else {
      co_return render(method_not_allowed("GET, PATCH, DELETE"), version);
    }
    auto reply = co_await store(ctx, op);
    if (!reply) co_return render(read_failed(), version);
    if (!reply->found) co_return render(subscription_not_found(id), version);
    co_return make_json(status::ok, dump_json(subscription_json(reply->subscriptions[0])), version);
  }
  if (sub == "deliveries") {
    if (method != verb::get) co_return render(method_not_allowed("GET"), version);
    std::string unknown;
    if (!detail::only_known(query, {"limit", "before_seq"}, &unknown)) {
      co_return render(Problem{status::bad_request, "invalid_query",
                               "unknown query parameter " + unknown, unknown},
                       version);
    }
    op.op = WebhookRequest::Op::deliveries;
    op.limit = 100;
    if (const auto it = query.find("limit"); it != query.end()) {
      std::uint64_t limit = 0;
      if (!parse_digits(it->second, &limit) || limit == 0 || limit > 1'000) {
        co_return render(Problem{status::bad_request, "invalid_query",
                                 "limit must be an integer from 1 to 1000", "limit"},
                         version);
      }
      op.limit = static_cast<std::uint32_t>(limit);
    }
    if (const auto it = query.find("before_seq"); it != query.end()) {
      if (!parse_digits(it->second, &op.before_seq) || op.before_seq > INT64_MAX) {
        co_return render(
            Problem{status::bad_request, "invalid_query", "before_seq must be a seq", "before_seq"},
            version);
      }
    }
    auto reply = co_await store(ctx, op);
    if (!reply) co_return render(read_failed(), version);
    if (!reply->found) co_return render(subscription_not_found(id), version);
    json items = json::array();
    for (const auto& d : reply->deliveries) items.push_back(delivery_json(d));
    const bool more = reply->deliveries.size() == op.limit;
    co_return make_json(status::ok,
                        dump_json(json{{"deliveries", std::move(items)},
                                       {"next_before_seq", more ? json(reply->deliveries.back().seq)
                                                                : json(nullptr)}}),
                        version);
  }
  if (sub != "test" && sub != "replay" && sub != "rotate-secret") {
    co_return render(route_not_found(request.target()), version);
  }
  if (method != verb::post) co_return render(method_not_allowed("POST"), version);
  if (sub == "test") co_return co_await send_test(ctx, id, version);
  if (sub == "replay") {
    const auto mapped = map_replay(id, body_of(request));
    if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
    op = std::get<WebhookRequest>(mapped);
    auto reply = co_await store(ctx, op);
    if (!reply) co_return render(read_failed(), version);
    if (!reply->found) co_return render(subscription_not_found(id), version);
    co_return make_json(
        status::accepted,
        dump_json(json{{"subscription_id", format_uuid(id)},
                       {"from_seq", op.from_seq},
                       {"to_seq", std::min(op.to_seq, reply->subscriptions[0].after_seq)},
                       {"events_to_match", reply->replayed}}),
        version);
  }
  // rotate-secret: the old secret keeps signing for 24 hours.
  if (ctx.webhook.seal_key.empty()) {
    co_return render(webhooks_off("set LEDGER_WEBHOOK_KEY to rotate secrets"), version);
  }
  const std::string secret = outbound::new_secret();
  op.op = WebhookRequest::Op::rotate;
  op.secret_sealed = outbound::seal(ctx.webhook.seal_key, secret);
  op.grace_seconds = 24 * 3600;
  auto reply = co_await store(ctx, op);
  if (!reply) co_return render(read_failed(), version);
  if (!reply->found) co_return render(subscription_not_found(id), version);
  json body = subscription_json(reply->subscriptions[0]);
  body["secret"] = secret;
  body["previous_secret_signs_for_seconds"] = op.grace_seconds;
  co_return make_json(status::ok, dump_json(body), version);
}

}  // namespace ledger::http
