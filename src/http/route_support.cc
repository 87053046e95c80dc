// What the route files share: calling the ledger once (or for a page of lookups) and turning
// "no durable answer" into 503.
#include <random>

#include "http/routes.h"
#include "net/ledger_call.h"

namespace ledger::http {

Body body_of(const Request& request) {
  const auto type = request[bhttp::field::content_type];
  const auto key = request["Idempotency-Key"];
  return Body{std::string_view(type.data(), type.size()), request.body(),
              std::string_view(key.data(), key.size())};
}

Awaitable<std::variant<CommandResult, Response>> call(const RouteContext& ctx,
                                                      const Command& command, unsigned version) {
  const CallResult result = co_await call_ledger(ctx.sink, command, ctx.ledger_timeout);
  if (result.status != CallStatus::durable) co_return render(unavailable(result.status), version);
  co_return result.result;
}

Awaitable<Response> submit(const RouteContext& ctx, const Request& request,
                           const Mapped<Command>& command, Answer answer, bool flag) {
  if (const Problem* problem = problem_of(command)) co_return render(*problem, request.version());
  auto result = co_await call(ctx, std::get<Command>(command), request.version());
  if (auto* refusal = std::get_if<Response>(&result)) co_return std::move(*refusal);
  co_return answer(std::get<CommandResult>(result), flag, request.version());
}

Awaitable<std::variant<CommandResult, Response>> look_up(const RouteContext& ctx,
                                                         const Command& command,
                                                         std::string_view what, Uint128 id,
                                                         unsigned version) {
  auto found = co_await call(ctx, command, version);
  if (auto* result = std::get_if<CommandResult>(&found); result != nullptr && result->code != 0)
    co_return render(not_found(what, id), version);
  co_return found;
}

Awaitable<std::variant<std::vector<CommandResult>, Response>> look_up_all(
    const RouteContext& ctx, const std::vector<Command>& commands, unsigned version) {
  if (commands.empty()) co_return std::vector<CommandResult>{};
  const BatchCallResult result = co_await call_ledger_all(ctx.sink, commands, ctx.ledger_timeout);
  if (result.status != CallStatus::durable) co_return render(unavailable(result.status), version);
  co_return result.results;
}

Uint128 random_uuid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return {(rng() & ~0xF000ULL) | 0x4000ULL, (rng() & ~(0xC0ULL << 56)) | (0x80ULL << 56)};
}

}  // namespace ledger::http
