// Admin routes: API keys (/v1/keys: create, list, revoke) and the audit trail (/v1/audit).
#include "http/auth.h"
#include "http/routes.h"
#include "net/ledger_call.h"

namespace ledger::http {
namespace {

using bhttp::verb;

Problem keys_off() {
  Problem problem{bhttp::status::service_unavailable, "keys_unavailable",
                  "API keys cannot be managed over REST on this server"};
  problem.retry_after = "1";
  return problem;
}

Awaitable<Response> create(const RouteContext& ctx, const Request& request,
                           const std::string& actor, const std::string& actor_name) {
  const unsigned version = request.version();
  auto mapped = map_create_key(body_of(request));
  if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
  NewApiKey& key = std::get<NewApiKey>(mapped);
  const std::string text = generate_key();
  key.key_hash = sha256_hex(text);
  key.prefix = key_prefix(text);
  key.actor = actor;
  key.actor_name = actor_name;
  auto stored = co_await await_read<ApiKeyRecord>(
      [&](auto done) { return ctx.keys->create_key(key, std::move(done)); }, ctx.ledger_timeout);
  if (!stored || !stored->first.ok()) co_return render(read_failed(), version);
  co_return key_answer(stored->second, text, version);
}

Awaitable<Response> list(const RouteContext& ctx, const Request& request) {
  auto keys = co_await await_read<std::vector<ApiKeyRecord>>(
      [&](auto done) { return ctx.keys->list_keys(std::move(done)); }, ctx.ledger_timeout);
  if (!keys || !keys->first.ok()) co_return render(read_failed(), request.version());
  co_return keys_answer(keys->second, request.version());
}

Awaitable<Response> revoke(const RouteContext& ctx, const Request& request, Uint128 id,
                           const std::string& actor, const std::string& actor_name) {
  const std::string text = format_uuid(id);
  auto revoked = co_await await_read<std::optional<ApiKeyRecord>>(
      [&](auto done) { return ctx.keys->revoke_key(text, actor, actor_name, std::move(done)); },
      ctx.ledger_timeout);
  if (!revoked || !revoked->first.ok()) co_return render(read_failed(), request.version());
  if (!revoked->second) co_return render(not_found("key", id), request.version());
  co_return key_answer(*revoked->second, "", request.version());
}

}  // namespace

Awaitable<Response> route_keys(const RouteContext& ctx, const Request& request, const Parts& parts,
                               const Query&, const std::string& actor,
                               const std::string& actor_name) {
  const verb method = request.method();
  const unsigned version = request.version();
  const std::size_t n = parts.size();
  if (n == 2) {
    if (method != verb::get && method != verb::post)
      co_return render(method_not_allowed("GET, POST"), version);
    if (ctx.keys == nullptr) co_return render(keys_off(), version);
    if (method == verb::get) co_return co_await list(ctx, request);
    co_return co_await create(ctx, request, actor, actor_name);
  }
  if (n != 4 || parts[3] != "revoke") co_return render(route_not_found(request.target()), version);
  if (method != verb::post) co_return render(method_not_allowed("POST"), version);
  const auto id = path_id(parts[2], "key");
  if (const Problem* problem = problem_of(id)) co_return render(*problem, version);
  if (ctx.keys == nullptr) co_return render(keys_off(), version);
  co_return co_await revoke(ctx, request, std::get<Uint128>(id), actor, actor_name);
}

Awaitable<Response> route_audit(const RouteContext& ctx, const Request& request, const Parts& parts,
                                const Query& query) {
  const unsigned version = request.version();
  if (parts.size() != 2) co_return render(route_not_found(request.target()), version);
  if (request.method() != verb::get) co_return render(method_not_allowed("GET"), version);
  const auto mapped = map_audit_query(query);
  if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
  const AuditQuery& audit_query = std::get<AuditQuery>(mapped);
  auto page = co_await await_read<AuditPage>(
      [&](auto done) { return ctx.reader.audit(audit_query, std::move(done)); },
      ctx.ledger_timeout);
  if (!page || !page->first.ok()) co_return render(read_failed(), version);
  co_return audit_answer(page->second, version);
}

}  // namespace ledger::http
