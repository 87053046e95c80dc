// /v1/transfers: create, batch, read, and post or void a hold.
#include "http/routes.h"
#include "net/ledger_call.h"

namespace ledger::http {
namespace {

using bhttp::verb;

Awaitable<Response> batch(const RouteContext& ctx, const Request& request) {
  const unsigned version = request.version();
  const auto mapped = map_batch(body_of(request));
  if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
  const Batch& transfers = std::get<Batch>(mapped);
  const BatchCallResult result =
      co_await call_ledger_all(ctx.sink, transfers.commands, ctx.ledger_timeout);
  if (result.status != CallStatus::durable) co_return render(unavailable(result.status), version);
  co_return batch_answer(transfers, result.results, version);
}

Awaitable<Response> get_transfer(const RouteContext& ctx, const Request& request, Uint128 id) {
  auto found = co_await look_up(ctx, lookup_transfer(id), "transfer", id, request.version());
  if (auto* refusal = std::get_if<Response>(&found)) co_return std::move(*refusal);
  co_return make_json(bhttp::status::ok,
                      dump_json(transfer_json(std::get<CommandResult>(found).value.transfer)),
                      request.version());
}

}  // namespace

Awaitable<Response> route_transfers(const RouteContext& ctx, const Request& request,
                                    const Parts& parts, const Query&) {
  const verb method = request.method();
  const unsigned version = request.version();
  const std::size_t n = parts.size();
  if (n == 2) {
    if (method != verb::post) co_return render(method_not_allowed("POST"), version);
    co_return co_await submit(ctx, request, map_create_transfer(body_of(request)), transfer_answer,
                              false);
  }
  if (n == 3 && parts[2] == "batch") {
    if (method != verb::post) co_return render(method_not_allowed("POST"), version);
    co_return co_await batch(ctx, request);
  }
  const bool resolve = n == 4 && (parts[3] == "post" || parts[3] == "void");
  if (n != 3 && !resolve) co_return render(route_not_found(request.target()), version);
  if (method != (resolve ? verb::post : verb::get)) {
    co_return render(method_not_allowed(resolve ? "POST" : "GET"), version);
  }
  const auto id = path_id(parts[2], "transfer");
  if (const Problem* problem = problem_of(id)) co_return render(*problem, version);
  if (!resolve) co_return co_await get_transfer(ctx, request, std::get<Uint128>(id));
  const bool post = parts[3] == "post";
  co_return co_await submit(ctx, request,
                            map_resolve(std::get<Uint128>(id), body_of(request), post),
                            transfer_answer, true);
}

}  // namespace ledger::http
