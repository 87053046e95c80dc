// /v1/cards: issue a card (its PAN kept only as a keyed hash, BIN and last four), read it,
// change its status and controls (merged on the engine thread).
#include "http/routes.h"
#include "net/ledger_call.h"

namespace ledger::http {
using bhttp::verb;

Awaitable<Response> route_cards(const RouteContext& ctx, const Request& request, const Parts& parts,
                                const Query&) {
  const verb method = request.method();
  const unsigned version = request.version();
  if (parts.size() == 2) {
    if (method != verb::post) co_return render(method_not_allowed("POST"), version);
    co_return co_await submit(ctx, request,
                              map_create_card(body_of(request), ctx.pan_secret, random_uuid()),
                              card_answer, true);
  }
  if (parts.size() != 3) co_return render(route_not_found(request.target()), version);
  if (method != verb::get && method != verb::patch)
    co_return render(method_not_allowed("GET, PATCH"), version);
  const auto id = path_id(parts[2], "card");
  if (const Problem* problem = problem_of(id)) co_return render(*problem, version);
  const Uint128 card = std::get<Uint128>(id);
  if (method == verb::patch) {
    co_return co_await submit(ctx, request, map_update_card(card, body_of(request)), card_answer,
                              false);
  }
  auto found = co_await look_up(ctx, lookup_card(card), "card", card, version);
  if (auto* refusal = std::get_if<Response>(&found)) co_return std::move(*refusal);
  co_return card_answer(std::get<CommandResult>(found), false, version);
}

}  // namespace ledger::http
