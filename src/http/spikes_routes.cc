// /v1/spike-rules: create, list, read, delete. Rules are configuration stored in PostgreSQL
// (SpikeRuleStore); the spike watcher (src/app/spike_watcher) reads them and evaluates the
// event feed off the authorization path.
#include "http/mapping_support.h"
#include "http/routes.h"
#include "net/ledger_call.h"

namespace ledger::http {

using bhttp::verb;

namespace {

Awaitable<std::optional<SpikeRuleReply>> store(const RouteContext& ctx,
                                               const SpikeRuleRequest& request) {
  auto reply = co_await await_read<SpikeRuleReply>(
      [&](auto done) { return ctx.spikes->spike_rules(request, std::move(done)); },
      ctx.ledger_timeout);
  if (!reply || !reply->first.ok()) co_return std::nullopt;
  co_return std::move(reply->second);
}

}  // namespace

Awaitable<Response> route_spike_rules(const RouteContext& ctx, const Request& request,
                                      const Parts& parts, const Query& query) {
  const verb method = request.method();
  const unsigned version = request.version();
  const std::size_t n = parts.size();
  if (n > 3) co_return render(route_not_found(request.target()), version);
  if (ctx.spikes == nullptr) co_return render(read_failed(), version);
  SpikeRuleRequest q;
  if (n == 2) {
    if (method == verb::post) {
      auto mapped = map_create_spike_rule(body_of(request), random_uuid());
      if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
      q.op = SpikeRuleRequest::Op::create;
      q.rule = std::get<SpikeRule>(mapped);
    } else if (method == verb::get) {
      std::string unknown;
      if (!detail::only_known(query, {"limit"}, &unknown)) {
        co_return render(detail::query_problem(unknown, "unknown query parameter " + unknown),
                         version);
      }
      if (!detail::read_limit(query, 100, 1000, &q.limit)) {
        co_return render(detail::query_problem("limit", "limit must be an integer from 1 to 1000"),
                         version);
      }
      q.op = SpikeRuleRequest::Op::list;
    } else {
      co_return render(method_not_allowed("GET, POST"), version);
    }
  } else {
    if (method != verb::get && method != verb::delete_) {
      co_return render(method_not_allowed("GET, DELETE"), version);
    }
    const auto id = path_id(parts[2], "spike rule");
    if (const Problem* problem = problem_of(id)) co_return render(*problem, version);
    q.id = std::get<Uint128>(id);
    q.op = method == verb::get ? SpikeRuleRequest::Op::get : SpikeRuleRequest::Op::remove;
  }
  const auto reply = co_await store(ctx, q);
  if (!reply) co_return render(read_failed(), version);
  if (q.op == SpikeRuleRequest::Op::list) co_return spike_rules_answer(*reply, version);
  if (!reply->found || reply->rules.empty()) {
    co_return render(not_found("spike rule", q.id), version);
  }
  co_return spike_rule_answer(*reply, q.op == SpikeRuleRequest::Op::create, version);
}

}  // namespace ledger::http
