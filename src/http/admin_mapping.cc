// The REST mapping of the admin routes: API keys and the audit trail.
#include <algorithm>
#include <cstring>

#include "http/mapping.h"
#include "http/mapping_support.h"
#include "ledger/limits.h"
#include "ledger/parse.h"

namespace ledger::http {

using bhttp::status;
using nlohmann::json;
using namespace detail;

// --- API keys ------------------------------------------------------------------------------

Mapped<NewApiKey> map_create_key(const Body& body) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  FieldReader fields(std::get<json>(object));
  const auto name = fields.text("name", true, limits::api_key_name_bytes_max);
  const auto scope = fields.text("scope", true, 16);
  const auto days = fields.unsigned_integer("expires_in_days", limits::api_key_expiry_days_max);
  fields.reject_unknown_fields();
  if (fields.ok() && name->empty()) fields.fail("invalid_field", "name", "name must not be empty");
  if (fields.ok() && *scope != "admin" && *scope != "backoffice" && *scope != "read") {
    fields.fail("invalid_field", "scope", "scope must be admin, backoffice or read");
  }
  if (fields.ok() && days && *days == 0) {
    fields.fail("invalid_field", "expires_in_days",
                "expires_in_days must be 1 or more (leave it out: the key never expires)");
  }
  if (!fields.ok()) return bad_request(fields.error());
  NewApiKey key;
  key.name = *name;
  key.scope = *scope;
  key.expires_in_days = static_cast<std::uint32_t>(days.value_or(0));
  return key;
}

namespace {
json key_json(const ApiKeyRecord& r) {
  const auto optional = [](const std::string& v) { return v.empty() ? json(nullptr) : json(v); };
  return json{{"id", r.id},
              {"name", r.name},
              {"scope", r.scope},
              {"prefix", r.prefix},
              {"created_at", r.created_at},
              {"expires_at", optional(r.expires_at)},
              {"revoked_at", optional(r.revoked_at)}};
}
}  // namespace

Response key_answer(const ApiKeyRecord& record, std::string_view key, unsigned version) {
  json body = key_json(record);
  if (!key.empty()) body["key"] = std::string(key);  // shown once; only its hash is kept
  Response response =
      make_json(key.empty() ? status::ok : status::created, dump_json(body), version);
  if (!key.empty()) response.set(bhttp::field::location, "/v1/keys/" + record.id);
  return response;
}

Response keys_answer(const std::vector<ApiKeyRecord>& keys, unsigned version) {
  json items = json::array();
  for (const ApiKeyRecord& r : keys) items.push_back(key_json(r));
  return make_json(status::ok, dump_json(json{{"keys", std::move(items)}}), version);
}

// --- Audit -------------------------------------------------------------------------------

Mapped<AuditQuery> map_audit_query(const Query& query) {
  std::string unknown;
  if (!only_known(query, {"limit", "cursor", "actor", "resource_id"}, &unknown))
    return query_problem(unknown, "unknown query parameter " + unknown);
  AuditQuery q;
  if (!read_limit(query, 100, limits::http_audit_page_max, &q.limit)) {
    return query_problem("limit", "limit must be an integer from 1 to " +
                                      std::to_string(limits::http_audit_page_max));
  }
  if (const auto cursor = query.find("cursor"); cursor != query.end()) {
    std::uint64_t before = 0;
    if (!parse_digits(cursor->second, &before) || before > INT64_MAX)
      return query_problem("cursor", "cursor must be the next_cursor of a previous page");
    q.before_id = static_cast<std::int64_t>(before);
  }
  if (const auto actor = query.find("actor"); actor != query.end()) {
    if (actor->second.empty() || actor->second.size() > limits::audit_actor_bytes_max) {
      return query_problem(
          "actor",
          "actor must be 1 to " + std::to_string(limits::audit_actor_bytes_max) + " characters");
    }
    q.actor = actor->second;
  }
  if (const auto resource = query.find("resource_id"); resource != query.end()) {
    if (resource->second.empty() || resource->second.size() > limits::audit_actor_bytes_max) {
      return query_problem("resource_id", "resource_id must be 1 to " +
                                              std::to_string(limits::audit_actor_bytes_max) +
                                              " characters");
    }
    q.resource_id = resource->second;
  }
  return q;
}

Response audit_answer(const AuditPage& page, unsigned version) {
  json entries = json::array();
  for (const AuditEntry& e : page.entries) {
    entries.push_back(
        {{"id", e.id},
         {"at", e.at},
         {"actor", e.actor},
         {"actor_name", e.actor_name},
         {"action", e.action},
         {"target", e.target},
         {"status", e.status},
         {"detail", e.detail},
         {"set_aside", e.set_aside},
         {"resource", e.resource.empty() ? json(nullptr) : json(e.resource)},
         {"resource_id", e.resource_id.empty() ? json(nullptr) : json(e.resource_id)}});
  }
  json body{{"entries", std::move(entries)}, {"next_cursor", nullptr}};
  if (page.more) body["next_cursor"] = std::to_string(page.entries.back().id);
  return make_json(status::ok, dump_json(body), version);
}

}  // namespace ledger::http
