// /v1/balance-monitors: create, list (of an account), read, delete. Monitors live in the engine
// (evaluated on its thread after every change of their account); the list is read from the
// journal (PostgreSQL).
#include "http/routes.h"
#include "net/ledger_call.h"

namespace ledger::http {

using bhttp::verb;

Awaitable<Response> route_monitors(const RouteContext& ctx, const Request& request,
                                   const Parts& parts, const Query& query) {
  const verb method = request.method();
  const unsigned version = request.version();
  const std::size_t n = parts.size();
  if (n == 2) {
    if (method == verb::post) {
      co_return co_await submit(ctx, request, map_create_monitor(body_of(request), random_uuid()),
                                monitor_answer, true);
    }
    if (method != verb::get) co_return render(method_not_allowed("GET, POST"), version);
    const auto mapped = map_list_monitors(query);
    if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
    const MonitorListQuery& list_query = std::get<MonitorListQuery>(mapped);
    auto answer = co_await await_read<std::vector<BalanceMonitor>>(
        [&](auto done) { return ctx.reader.monitors(list_query, std::move(done)); },
        ctx.ledger_timeout);
    if (!answer || !answer->first.ok()) co_return render(read_failed(), version);
    co_return monitors_answer(answer->second, version);
  }
  if (n != 3) co_return render(route_not_found(request.target()), version);
  if (method != verb::get && method != verb::delete_) {
    co_return render(method_not_allowed("GET, DELETE"), version);
  }
  const auto id = path_id(parts[2], "balance monitor");
  if (const Problem* problem = problem_of(id)) co_return render(*problem, version);
  const Uint128 monitor = std::get<Uint128>(id);
  if (method == verb::delete_) {
    co_return co_await submit(ctx, request, monitor_command(CommandKind::delete_monitor, monitor),
                              monitor_answer, false);
  }
  auto found = co_await call(ctx, monitor_command(CommandKind::lookup_monitor, monitor), version);
  if (auto* refusal = std::get_if<Response>(&found)) co_return std::move(*refusal);
  co_return monitor_answer(std::get<CommandResult>(found), false, version);
}

}  // namespace ledger::http
