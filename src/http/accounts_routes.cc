// /v1/accounts: open, read, list by holder, change, close; history and statements.
#include "http/mapping_support.h"
#include "http/routes.h"
#include "ledger/sepa.h"
#include "net/ledger_call.h"

namespace ledger::http {
namespace {

using bhttp::verb;

// The account's IBAN (generated from the bank code if it has none; "" when the store is off
// or does not answer: the account is still answered, without it).
Awaitable<std::string> iban_of(const RouteContext& ctx, AccountId account) {
  if (ctx.direct_debits == nullptr) co_return std::string();
  DirectDebitRequest q;
  q.op = DirectDebitRequest::Op::iban_of;
  q.account = account;
  q.iban_country = ctx.direct_debit_policy.iban_country;
  q.iban_bank_code = ctx.direct_debit_policy.iban_bank_code;
  auto reply = co_await await_read<DirectDebitReply>(
      [&](auto done) { return ctx.direct_debits->direct_debits(q, std::move(done)); },
      ctx.ledger_timeout);
  if (!reply || !reply->first.ok()) co_return std::string();
  co_return reply->second.iban;
}

Awaitable<std::optional<DirectDebitReply>> iban_store(const RouteContext& ctx,
                                                      const DirectDebitRequest& q) {
  auto reply = co_await await_read<DirectDebitReply>(
      [&](auto done) { return ctx.direct_debits->direct_debits(q, std::move(done)); },
      ctx.ledger_timeout);
  if (!reply || !reply->first.ok()) co_return std::nullopt;
  co_return std::move(reply->second);
}

Awaitable<Response> get_account(const RouteContext& ctx, const Request& request, Uint128 id) {
  auto found = co_await look_up(ctx, lookup_account(id), "account", id, request.version());
  if (auto* refusal = std::get_if<Response>(&found)) co_return std::move(*refusal);
  const std::string iban = co_await iban_of(ctx, AccountId{id});
  co_return account_answer(std::get<CommandResult>(found), false, request.version(), iban);
}

Response iban_taken(unsigned version) {
  return render(Problem{bhttp::status::conflict, "iban_taken",
                        "the IBAN belongs to another account, or this account has another IBAN",
                        std::string("iban")},
                version);
}

// POST /v1/accounts: the account in the engine, then its IBAN (the one given, checked free
// first, or one generated from the bank code).
Awaitable<Response> create(const RouteContext& ctx, const Request& request) {
  const unsigned version = request.version();
  const Body body = body_of(request);
  const auto mapped = map_create_account(body, random_uuid());
  if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
  const auto given = map_account_iban(body);
  if (const Problem* problem = problem_of(given)) co_return render(*problem, version);
  const std::string& iban = std::get<std::string>(given);
  const Command& command = std::get<Command>(mapped);
  const AccountId account = command.body.account.id;
  if (!iban.empty() && ctx.direct_debits != nullptr) {
    DirectDebitRequest q;
    q.op = DirectDebitRequest::Op::account_of_iban;
    q.iban = iban;
    const auto owner = co_await iban_store(ctx, q);
    if (!owner) co_return render(read_failed(), version);
    if (owner->account_found && owner->account != account) co_return iban_taken(version);
  }
  auto result = co_await call(ctx, command, version);
  if (auto* refusal = std::get_if<Response>(&result)) co_return std::move(*refusal);
  const CommandResult& r = std::get<CommandResult>(result);
  const AccountResult code = r.account_result();
  if ((code != AccountResult::ok && code != AccountResult::exists) ||
      ctx.direct_debits == nullptr) {
    co_return account_answer(r, true, version);
  }
  if (iban.empty()) {
    const std::string generated = co_await iban_of(ctx, account);
    co_return account_answer(r, true, version, generated);
  }
  DirectDebitRequest q;
  q.op = DirectDebitRequest::Op::assign_iban;
  q.account = account;
  q.iban = iban;
  const auto assigned = co_await iban_store(ctx, q);
  if (!assigned) co_return render(read_failed(), version);
  if (assigned->iban_taken) co_return iban_taken(version);
  co_return account_answer(r, true, version, assigned->iban);
}

// GET /v1/accounts?iban=: the account with that IBAN (none: an empty list).
Awaitable<Response> find_by_iban(const RouteContext& ctx, const Request& request,
                                 const Query& query) {
  const unsigned version = request.version();
  if (query.size() != 1) {
    co_return render(detail::query_problem("iban", "iban is not combined with other parameters"),
                     version);
  }
  const auto normalized = sepa::normalize_iban(query.at("iban"));
  if (!normalized || !sepa::iban_valid(*normalized)) {
    co_return render(detail::query_problem("iban", "iban is not a valid IBAN (ISO 13616)"),
                     version);
  }
  if (ctx.direct_debits == nullptr) co_return render(read_failed(), version);
  DirectDebitRequest q;
  q.op = DirectDebitRequest::Op::account_of_iban;
  q.iban = *normalized;
  const auto owner = co_await iban_store(ctx, q);
  if (!owner) co_return render(read_failed(), version);
  AccountList list;
  std::vector<CommandResult> accounts;
  if (owner->account_found) {
    list.ids.push_back(owner->account);
    const std::vector<Command> lookups{lookup_account(owner->account.value)};
    auto found = co_await look_up_all(ctx, lookups, version);
    if (auto* refusal = std::get_if<Response>(&found)) co_return std::move(*refusal);
    accounts = std::get<std::vector<CommandResult>>(std::move(found));
  }
  co_return accounts_answer(list, accounts, version);
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

// --- Verification of Payee -----------------------------------------------------------------

namespace {

nlohmann::json holder_name_json(const DirectDebitReply& reply) {
  return nlohmann::json{{"account_id", format_uuid(reply.account.value)},
                        {"iban", reply.iban},
                        {"holder_name", reply.holder_name}};
}

// GET and PUT /v1/accounts/{id}/holder-name: the name another bank's payee check compares with
// (stored beside the account's IBAN, which is generated first if the account has none).
Awaitable<Response> holder_name(const RouteContext& ctx, const Request& request, Uint128 id) {
  const unsigned version = request.version();
  const bool put = request.method() == verb::put;
  if (!put && request.method() != verb::get) {
    co_return render(method_not_allowed("GET, PUT"), version);
  }
  std::string name;
  if (put) {
    auto mapped = map_holder_name(body_of(request));
    if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
    name = std::get<std::string>(std::move(mapped));
  }
  auto found = co_await look_up(ctx, lookup_account(id), "account", id, version);
  if (auto* refusal = std::get_if<Response>(&found)) co_return std::move(*refusal);
  if (ctx.direct_debits == nullptr) co_return render(read_failed(), version);
  const std::string iban = co_await iban_of(ctx, AccountId{id});
  if (iban.empty()) co_return render(read_failed(), version);
  DirectDebitRequest q;
  q.account = AccountId{id};
  if (put) {
    q.op = DirectDebitRequest::Op::set_holder_name;
    q.holder_name = std::move(name);
  } else {
    q.op = DirectDebitRequest::Op::payee_of_iban;
    q.iban = iban;
  }
  const auto reply = co_await iban_store(ctx, q);
  if (!reply || !reply->account_found) co_return render(read_failed(), version);
  if (!reply->holder_name_known) {
    co_return render(Problem{bhttp::status::not_found, "holder_name_not_found",
                             "no holder name is recorded for this account"},
                     version);
  }
  co_return make_json(bhttp::status::ok, dump_json(holder_name_json(*reply)), version);
}

}  // namespace

// POST /v1/payee-verifications {"iban", "name"}: whether the name matches the holder of the
// account the IBAN names. The holder's name is answered only on a close match; a no match
// answers nothing of it.
Awaitable<Response> route_payee_verifications(const RouteContext& ctx, const Request& request,
                                              const Parts& parts, const Query&) {
  const unsigned version = request.version();
  if (parts.size() != 2) co_return render(route_not_found(request.target()), version);
  if (request.method() != verb::post) co_return render(method_not_allowed("POST"), version);
  auto mapped = map_payee_check(body_of(request));
  if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
  const PayeeCheck check = std::get<PayeeCheck>(std::move(mapped));
  if (ctx.direct_debits == nullptr) co_return render(read_failed(), version);
  DirectDebitRequest q;
  q.op = DirectDebitRequest::Op::payee_of_iban;
  q.iban = check.iban;
  const auto payee = co_await iban_store(ctx, q);
  if (!payee) co_return render(read_failed(), version);
  nlohmann::json answer{{"iban", check.iban}};
  const auto not_possible = [&](const char* reason) {
    answer["result"] = "not_possible";
    answer["reason"] = reason;
    return make_json(bhttp::status::ok, dump_json(answer), version);
  };
  if (!payee->account_found) co_return not_possible("account_not_found");
  // The engine's answer: busy or unavailable is the caller's 503, not a missing account.
  auto found = co_await call(ctx, lookup_account(payee->account.value), version);
  if (auto* refusal = std::get_if<Response>(&found)) co_return std::move(*refusal);
  if (std::get<CommandResult>(found).code != 0) co_return not_possible("account_not_found");
  if (std::get<CommandResult>(found).value.account.status == AccountStatus::closed) {
    co_return not_possible("account_closed");
  }
  if (!payee->holder_name_known) co_return not_possible("holder_name_unknown");
  const sepa::NameMatch match = sepa::match_payee_name(check.name, payee->holder_name);
  answer["result"] = std::string(sepa::name_match_name(match));
  if (match == sepa::NameMatch::close_match) answer["matched_name"] = payee->holder_name;
  co_return make_json(bhttp::status::ok, dump_json(answer), version);
}

Awaitable<Response> route_accounts(const RouteContext& ctx, const Request& request,
                                   const Parts& parts, const Query& query) {
  const verb method = request.method();
  const unsigned version = request.version();
  const std::size_t n = parts.size();
  if (n == 2) {
    if (method == verb::post) co_return co_await create(ctx, request);
    if (method == verb::get && query.count("iban") != 0) {
      co_return co_await find_by_iban(ctx, request, query);
    }
    if (method == verb::get) co_return co_await list(ctx, request, query);
    co_return render(method_not_allowed("GET, POST"), version);
  }
  const std::string_view sub = n == 4 ? parts[3] : std::string_view{};
  if (sub == "direct-debits" || sub == "direct-debit-rules") {
    co_return co_await route_account_direct_debits(ctx, request, parts, query);
  }
  if (sub == "holder-name") {
    const auto id = path_id(parts[2], "account");
    if (const Problem* problem = problem_of(id)) co_return render(*problem, version);
    co_return co_await holder_name(ctx, request, std::get<Uint128>(id));
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
  if (n == 3 && method == verb::get) co_return co_await get_account(ctx, request, account);
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
