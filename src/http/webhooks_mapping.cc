// The REST mapping of /v1/webhook-subscriptions: bodies to store requests (validated, the URL
// and secret sealed) and store replies to answers (credentials never shown, but for the
// secret once at creation and rotation). Pure but for the random secret.
#include "document/event.h"
#include "http/mapping.h"
#include "http/mapping_support.h"
#include "outbound/crypto.h"
#include "outbound/filter.h"

namespace ledger::http {

using bhttp::status;
using nlohmann::json;
using namespace detail;

namespace {

Problem field_problem(std::string field, std::string detail) {
  return bad_request({"invalid_field", std::move(field), std::move(detail)});
}

// event_types: an array of names; absent: every type.
std::optional<Problem> read_event_types(const json& object, std::uint64_t* out) {
  *out = 0;
  const auto it = object.find("event_types");
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_array() || it->empty() || it->size() > event_type_count) {
    return field_problem("event_types", "event_types must be a non-empty array of event types");
  }
  for (const json& name : *it) {
    const auto type =
        name.is_string() ? event_type_from_name(name.get<std::string>()) : std::nullopt;
    if (!type) {
      return field_problem(
          "event_types",
          "unknown event type " + (name.is_string() ? name.get<std::string>() : name.dump()));
    }
    *out |= std::uint64_t{1} << static_cast<unsigned>(*type);
  }
  return std::nullopt;
}

std::optional<Problem> read_url(const json& object, const WebhookContext& w, bool required,
                                WebhookRequest* out) {
  const auto it = object.find("url");
  if (it == object.end()) {
    if (required) return bad_request({"missing_field", "url", "url is required"});
    return std::nullopt;
  }
  if (!it->is_string()) return field_problem("url", "url must be a string");
  std::string error;
  const auto url = outbound::parse_url(it->get<std::string>(), &error);
  if (!url) return field_problem("url", error);
  if (std::string refused = outbound::check_destination(*url, w.allowlist); !refused.empty()) {
    return field_problem("url", refused);
  }
  out->url_sealed = outbound::seal(w.seal_key, it->get<std::string>());
  out->url_hint = url->hint();
  out->set_url = true;
  return std::nullopt;
}

std::optional<Problem> read_filter(const json& object, WebhookRequest* out) {
  const auto it = object.find("filter");
  if (it == object.end()) return std::nullopt;
  outbound::Filter filter;
  outbound::FilterError error;
  if (!outbound::parse_filter(it->dump(), &filter, &error)) {
    return field_problem(error.field, error.detail);
  }
  out->filter_json = outbound::filter_json(filter);
  out->set_filter = true;
  return std::nullopt;
}

}  // namespace

Mapped<WebhookRequest> map_create_subscription(const Body& body, const WebhookContext& w,
                                               Uint128 fresh_id, std::string* secret) {
  auto parsed = json_body(body);
  if (auto* problem = problem_of(parsed)) return *problem;
  const json& object = std::get<json>(parsed);
  FieldReader fields(object);
  const auto id = fields.uuid("id", false);
  const auto kind = fields.text("kind", true, 16);
  for (const char* name : {"url", "event_types", "filter"}) fields.allow(name);
  fields.reject_unknown_fields();
  if (!fields.ok()) return bad_request(fields.error());
  WebhookRequest request;
  request.op = WebhookRequest::Op::create;
  if (*kind != "webhook" && *kind != "slack") {
    return field_problem("kind", "kind must be webhook or slack");
  }
  request.kind = *kind == "slack" ? WebhookKind::slack : WebhookKind::webhook;
  if (auto problem = read_url(object, w, true, &request)) return *problem;
  if (auto problem = read_event_types(object, &request.event_types)) return *problem;
  request.filter_json = "{}";
  if (auto problem = read_filter(object, &request)) return *problem;
  request.id = id                              ? *id
               : !body.idempotency_key.empty() ? id_from_key(body.idempotency_key)
                                               : fresh_id;
  *secret = outbound::new_secret();
  request.secret_sealed = outbound::seal(w.seal_key, *secret);
  return request;
}

Mapped<WebhookRequest> map_update_subscription(Uint128 id, const Body& body,
                                               const WebhookContext& w) {
  auto parsed = json_body(body);
  if (auto* problem = problem_of(parsed)) return *problem;
  const json& object = std::get<json>(parsed);
  FieldReader fields(object);
  const auto active = fields.boolean("active");
  for (const char* name : {"url", "event_types", "filter"}) fields.allow(name);
  fields.reject_unknown_fields();
  if (!fields.ok()) return bad_request(fields.error());
  WebhookRequest request;
  request.op = WebhookRequest::Op::update;
  request.id = id;
  if (auto problem = read_url(object, w, false, &request)) return *problem;
  if (object.contains("event_types")) {
    if (auto problem = read_event_types(object, &request.event_types)) return *problem;
    request.set_event_types = true;
  }
  if (auto problem = read_filter(object, &request)) return *problem;
  if (active) {
    request.set_active = true;
    request.active = *active;
  }
  return request;
}

Mapped<WebhookRequest> map_replay(Uint128 id, const Body& body) {
  auto parsed = json_body(body);
  if (auto* problem = problem_of(parsed)) return *problem;
  FieldReader fields(std::get<json>(parsed));
  const auto from = fields.unsigned_integer("from_seq", INT64_MAX);
  const auto to = fields.unsigned_integer("to_seq", INT64_MAX);
  fields.reject_unknown_fields();
  if (!fields.ok()) return bad_request(fields.error());
  if (!from || *from == 0)
    return bad_request({"missing_field", "from_seq", "from_seq (1 or more) is required"});
  if (!to) return bad_request({"missing_field", "to_seq", "to_seq is required"});
  if (*to < *from) return field_problem("to_seq", "to_seq is below from_seq");
  WebhookRequest request;
  request.op = WebhookRequest::Op::replay;
  request.id = id;
  request.from_seq = *from;
  request.to_seq = *to;
  return request;
}

json subscription_json(const WebhookSubscription& s) {
  json types = json::array();
  for (std::size_t t = 1; t <= event_type_count; ++t) {
    if ((s.event_types & (std::uint64_t{1} << t)) != 0)
      types.push_back(std::string(event_type_name(static_cast<EventType>(t))));
  }
  json filter = json::parse(s.filter_json, nullptr, false);
  if (filter.is_discarded()) filter = json::object();
  return json{
      {"id", format_uuid(s.id)},
      {"kind", s.kind == WebhookKind::slack ? "slack" : "webhook"},
      {"url", s.url_hint + "/…"},
      {"event_types", std::move(types)},
      {"filter", std::move(filter)},
      {"status", s.active ? "active" : "disabled"},
      {"disabled_reason", s.disabled_reason.empty() ? json(nullptr) : json(s.disabled_reason)},
      {"after_seq", s.after_seq},
      {"created_at", s.created_at},
      {"updated_at", s.updated_at}};
}

json delivery_json(const WebhookDelivery& d) {
  const auto text = [](const std::string& v) { return v.empty() ? json(nullptr) : json(v); };
  return json{{"seq", d.seq},
              {"event_id", document::event_id(d.seq)},
              {"status", d.status},
              {"attempts", d.attempts},
              {"last_http_status", d.last_status == 0 ? json(nullptr) : json(d.last_status)},
              {"last_error", text(d.last_error)},
              {"next_attempt_at", text(d.next_attempt_at)},
              {"last_attempt_at", text(d.last_attempt_at)},
              {"delivered_at", text(d.delivered_at)}};
}

}  // namespace ledger::http
