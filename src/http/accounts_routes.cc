// /v1/accounts: open, read, list by holder, change, close; history and statements.
#include "http/routes.h"
#include "ledger/ledger_call.h"

namespace ledger::http {
namespace {

using bhttp::verb;

Awaitable<Response> get(const RouteContext& ctx, const Request& request, Uint128 id) {
  auto found = co_await look_up(ctx, lookup_account(id), "account", id, request.version());
  if (auto* refusal = std::get_if<Response>(&found)) co_return std::move(*refusal);
  co_return account_answer(std::get<CommandResult>(found), false, request.version());
}

Awaitable<Response> list(const RouteContext& ctx, const Request& request, const Query& query) {
  const unsigned version = request.version();
  const auto mapped = map_list_accounts(query);
  if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
  const AccountListQuery& list_query = std::get<AccountListQuery>(mapped);
  auto answer = co_await await_read<AccountList>(
      [&](auto done) { return ctx.reader.accounts(list_query, std::move(done)); },
      ctx.ledger_timeout);
  if (!answer || !answer->first.ok()) co_return render(read_failed(), version);
  std::vector<Command> lookups;
  for (const AccountId& id : answer->second.ids) lookups.push_back(lookup_account(id.value));
  auto accounts = co_await look_up_all(ctx, lookups, version);
  if (auto* refusal = std::get_if<Response>(&accounts)) co_return std::move(*refusal);
  co_return accounts_answer(answer->second, std::get<std::vector<CommandResult>>(accounts),
                            version);
}

Awaitable<Response> history(const RouteContext& ctx, const Request& request, Uint128 id,
                            const Query& query) {
  const unsigned version = request.version();
  const auto mapped = map_history(id, query);
  if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
  const HistoryQuery& history_query = std::get<HistoryQuery>(mapped);
  auto account = co_await look_up(ctx, lookup_account(id), "account", id, version);
  if (auto* refusal = std::get_if<Response>(&account)) co_return std::move(*refusal);
  auto page = co_await await_read<HistoryPage>(
      [&](auto done) { return ctx.reader.history(history_query, std::move(done)); },
      ctx.ledger_timeout);
  if (!page || !page->first.ok()) co_return render(read_failed(), version);
  // Each transfer as it stands now (a hold posted, voided or expired since), from the engine.
  std::vector<Command> lookups;
  for (const Transfer& t : page->second.transfers) lookups.push_back(lookup_transfer(t.id.value));
  auto current = co_await look_up_all(ctx, lookups, version);
  if (auto* refusal = std::get_if<Response>(&current)) co_return std::move(*refusal);
  co_return history_answer(page->second, std::get<std::vector<CommandResult>>(current), version);
}

Awaitable<Response> statement(const RouteContext& ctx, const Request& request, Uint128 id,
                              const Query& query) {
  const unsigned version = request.version();
  auto mapped = map_statement(id, query);
  if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
  StatementRequest& statement_request = std::get<StatementRequest>(mapped);
  auto found = co_await look_up(ctx, lookup_account(id), "account", id, version);
  if (auto* refusal = std::get_if<Response>(&found)) co_return std::move(*refusal);
  const Account account = std::get<CommandResult>(found).value.account;
  statement_request.query.credit_normal = (account.flags & credits_must_not_exceed_debits) != 0;
  auto answer = co_await await_read<Statement>(
      [&](auto done) { return ctx.reader.statement(statement_request.query, std::move(done)); },
      ctx.ledger_timeout);
  if (!answer || !answer->first.ok()) co_return render(read_failed(), version);
  co_return statement_answer(statement_request, account, answer->second, version);
}

}  // namespace

Awaitable<Response> route_accounts(const RouteContext& ctx, const Request& request,
                                   const Parts& parts, const Query& query) {
  const verb method = request.method();
  const unsigned version = request.version();
  const std::size_t n = parts.size();
  if (n == 2) {
    if (method == verb::post) {
      co_return co_await submit(ctx, request, map_create_account(body_of(request), random_uuid()),
                                account_answer, true);
    }
    if (method == verb::get) co_return co_await list(ctx, request, query);
    co_return render(method_not_allowed("GET, POST"), version);
  }
  const std::string_view sub = n == 4 ? parts[3] : std::string_view{};
  if (sub == "direct-debits" || sub == "direct-debit-rules") {
    co_return co_await route_account_direct_debits(ctx, request, parts, query);
  }
  if (n > 4 || (n == 4 && sub != "close" && sub != "transfers" && sub != "statement")) {
    co_return render(route_not_found(request.target()), version);
  }
  const char* allow = n == 3 ? "GET, PATCH" : sub == "close" ? "POST" : "GET";
  const bool allowed = n == 3           ? (method == verb::get || method == verb::patch)
                       : sub == "close" ? method == verb::post
                                        : method == verb::get;
  if (!allowed) co_return render(method_not_allowed(allow), version);
  const auto id = path_id(parts[2], "account");
  if (const Problem* problem = problem_of(id)) co_return render(*problem, version);
  const Uint128 account = std::get<Uint128>(id);
  if (n == 3 && method == verb::get) co_return co_await get(ctx, request, account);
  if (n == 3) {
    co_return co_await submit(ctx, request, map_update_account(account, body_of(request)),
                              account_answer, false);
  }
  if (sub == "close") {
    co_return co_await submit(ctx, request, map_close_account(account), account_answer, false);
  }
  if (sub == "transfers") co_return co_await history(ctx, request, account, query);
  co_return co_await statement(ctx, request, account, query);
}

}  // namespace ledger::http
