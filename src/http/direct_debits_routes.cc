// /v1/direct-debits: receive a collection, read it with its history, refund it; the account's
// collections and mandate rules under /v1/accounts/{id}; the test clock. The engine decides
// every collection (settlement, wait, payment, return) on its thread; PostgreSQL keeps the
// clearing system's references (DirectDebitStore) and the journaled history.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "http/mapping_support.h"
#include "http/pacs.h"
#include "http/routes.h"
#include "ledger/units.h"
#include "net/ledger_call.h"

namespace ledger::http {

using bhttp::status;
using bhttp::verb;
using nlohmann::json;

std::uint64_t RouteContext::now_ns() const {
  if (clock != nullptr) return clock->now_ns();
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

namespace {

Awaitable<std::optional<DirectDebitReply>> store(const RouteContext& ctx,
                                                 const DirectDebitRequest& request) {
  auto reply = co_await await_read<DirectDebitReply>(
      [&](auto done) { return ctx.direct_debits->direct_debits(request, std::move(done)); },
      ctx.ledger_timeout);
  if (!reply || !reply->first.ok()) co_return std::nullopt;
  co_return std::move(reply->second);
}

Command debit_command(CommandKind kind, const DirectDebit& dd) {
  Command command = detail::command_of(kind);
  command.body.direct_debit = dd;
  return command;
}

Response collection_answer(const DirectDebitView& view, status code, unsigned version) {
  Response response = make_json(code, dump_json(direct_debit_json(view)), version);
  response.set(bhttp::field::location, "/v1/direct-debits/" + format_uuid(view.state.id.value));
  return response;
}

// The collection as stored (references and whole history), or the answer to send instead.
Awaitable<std::variant<DirectDebitView, Response>> read_one(const RouteContext& ctx,
                                                            DirectDebitId id, unsigned version) {
  DirectDebitRequest q;
  q.op = DirectDebitRequest::Op::get;
  q.id = id;
  const auto reply = co_await store(ctx, q);
  if (!reply) co_return render(read_failed(), version);
  if (reply->items.empty()) co_return render(not_found("direct debit", id.value), version);
  co_return reply->items.front();
}

// One collection, mapped: its references stored under their key, its mandate rules read, then
// decided by the engine. The collection and whether it is new (201), or the answer to send.
using Received = std::pair<DirectDebitView, bool>;
Awaitable<std::variant<Received, Response>> receive_one(const RouteContext& ctx,
                                                        const DirectDebitInput& input,
                                                        unsigned version) {
  DirectDebitRequest q;
  q.op = DirectDebitRequest::Op::receive;
  q.collection = input.collection;
  q.details = input.details;
  auto reply = co_await store(ctx, q);
  if (!reply) co_return render(read_failed(), version);
  DirectDebit dd = input.collection;
  dd.account_id = reply->account;
  auto preset = reply->account_found
                    ? mandate_rule_refusal(reply->rules, dd.scheme, input.details, dd.amount,
                                           reply->same_creditor_this_month)
                    : sepa::Reason::none;
  if (!reply->stored) {
    // The (creditor, end-to-end id, due date) key is taken. A repeat of the same collection
    // (same id) answers it; a new one is a duplicate (AM05), unless the engine never got the
    // first one (a crash between the two steps): then this completes it under its id.
    DirectDebit probe;
    probe.id = reply->existing;
    auto found =
        co_await call(ctx, debit_command(CommandKind::lookup_direct_debit, probe), version);
    if (auto* refusal = std::get_if<Response>(&found)) co_return std::move(*refusal);
    const bool known =
        std::get<CommandResult>(found).direct_debit_result() == DirectDebitResult::ok;
    if (known && reply->existing == dd.id) {
      auto view = co_await read_one(ctx, dd.id, version);
      if (auto* refusal = std::get_if<Response>(&view)) co_return std::move(*refusal);
      co_return Received{std::get<DirectDebitView>(std::move(view)), false};
    }
    if (known && !input.id_given) {
      // A JSON client's retry without an id or Idempotency-Key (its first answer was lost):
      // the same collection again answers the stored one, never a duplicate refusal that the
      // day's pacs.002 would report under the paid original's end-to-end id.
      auto view = co_await read_one(ctx, reply->existing, version);
      if (auto* refusal = std::get_if<Response>(&view)) co_return std::move(*refusal);
      const DirectDebitView& stored = std::get<DirectDebitView>(view);
      const DirectDebitDetails& a = stored.details;
      const DirectDebitDetails& b = input.details;
      const bool same = stored.state.amount == dd.amount && stored.state.scheme == dd.scheme &&
                        stored.state.sequence == dd.sequence &&
                        a.mandate_reference == b.mandate_reference &&
                        a.creditor_name == b.creditor_name && a.debtor_iban == b.debtor_iban &&
                        (b.debtor_iban.empty() ? stored.state.account_id == dd.account_id : true);
      if (same) co_return Received{stored, false};
    }
    if (known) {
      q.duplicate = true;
      reply = co_await store(ctx, q);
      if (!reply || !reply->stored) co_return render(read_failed(), version);
      preset = sepa::Reason::AM05;
    } else {
      dd.id = reply->existing;
    }
  }
  dd.reason = static_cast<std::uint8_t>(preset);
  auto result = co_await call(ctx, debit_command(CommandKind::receive_direct_debit, dd), version);
  if (auto* refusal = std::get_if<Response>(&result)) co_return std::move(*refusal);
  const CommandResult& r = std::get<CommandResult>(result);
  const DirectDebitResult code = r.direct_debit_result();
  if (code == DirectDebitResult::exists_with_different_fields) {
    co_return render(Problem{status::conflict, "exists_with_different_fields",
                             "a direct debit with this id exists with different fields"},
                     version);
  }
  if (code != DirectDebitResult::ok && code != DirectDebitResult::exists) {
    const std::string name(to_string(code));
    co_return render(
        Problem{status::service_unavailable, name, "the direct debit was not taken: " + name},
        version);
  }
  DirectDebitView view;
  view.state = r.value.direct_debit;
  view.details = input.details;
  view.history.push_back(view.state);
  co_return Received{std::move(view), code == DirectDebitResult::ok};
}

Awaitable<Response> receive(const RouteContext& ctx, const Request& request) {
  const unsigned version = request.version();
  auto mapped =
      map_direct_debit(body_of(request), random_uuid(), ctx.now_ns(), ctx.direct_debit_policy);
  if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
  auto received = co_await receive_one(ctx, std::get<DirectDebitInput>(mapped), version);
  if (auto* refusal = std::get_if<Response>(&received)) co_return std::move(*refusal);
  const Received& r = std::get<Received>(received);
  co_return collection_answer(r.first, r.second ? status::created : status::ok, version);
}

// The ISO code of a transaction the mapping refused (format errors never reach the engine):
// AC01 for an account that cannot be read, else FF01 (the SDD rulebooks' code for an invalid
// amount, date, currency or any other malformed element; AM12, DT01 and AM03 are not SDD
// R-transaction codes). A creditor identifier with wrong check digits is FF01 too.
const char* reason_for_field(const std::string& field) {
  if (field == "debtor_iban" || field == "account_id") return "AC01";
  return "FF01";
}

// A transaction of an imported document refused for its format: stored outside the key's
// unique index (it owns no key) and journaled as refused with `reason`, so the day's pacs.002
// reports it. Its id comes from the document (see import): the same file imported again
// answers the same refusal instead of storing it twice. The collection, or the answer to send.
Awaitable<std::variant<DirectDebit, Response>> refuse_for_format(const RouteContext& ctx,
                                                                 DirectDebitInput input,
                                                                 sepa::Reason reason,
                                                                 unsigned version) {
  DirectDebitRequest q;
  q.op = DirectDebitRequest::Op::receive;
  q.collection = input.collection;
  q.details = input.details;
  q.duplicate = true;
  const auto reply = co_await store(ctx, q);
  if (!reply) co_return render(read_failed(), version);
  DirectDebit dd = input.collection;
  dd.account_id = reply->account;
  dd.reason = static_cast<std::uint8_t>(reason);
  auto result = co_await call(ctx, debit_command(CommandKind::receive_direct_debit, dd), version);
  if (auto* refusal = std::get_if<Response>(&result)) co_return std::move(*refusal);
  const CommandResult& r = std::get<CommandResult>(result);
  if (r.direct_debit_result() != DirectDebitResult::ok &&
      r.direct_debit_result() != DirectDebitResult::exists) {
    const std::string name(to_string(r.direct_debit_result()));
    co_return render(
        Problem{status::service_unavailable, name, "the direct debit was not taken: " + name},
        version);
  }
  co_return r.value.direct_debit;
}

// POST /v1/direct-debits/import: a pacs.003 document; each transaction accepted or refused on
// its own, in document order.
Awaitable<Response> import(const RouteContext& ctx, const Request& request) {
  const unsigned version = request.version();
  const std::string_view xml(request.body().data(), request.body().size());
  pacs::Document document;
  std::string error;
  if (!pacs::parse_pacs003(xml, &document, &error)) {
    co_return render(Problem{status::bad_request, "invalid_document", error}, version);
  }
  json results = json::array();
  std::size_t position = 0;
  for (const pacs::Transaction& t : document.transactions) {
    ++position;
    // Ids from the document (MsgId, position, end-to-end id): importing the same file again
    // (a retry after a timeout) answers the same collections; another file with a collection's
    // key is a duplicate (AM05).
    std::string key("pacs.003/");
    key.append(document.message_id)
        .append("/")
        .append(std::to_string(position))
        .append("/")
        .append(t.end_to_end_id);
    const Uint128 id = id_from_key(key);
    json item{{"end_to_end_id", t.end_to_end_id}, {"id", nullptr}, {"status", "refused"}};
    std::string reason_code = t.reason_code, detail = t.problem;
    std::optional<DirectDebitInput> input;
    if (detail.empty()) {
      const std::string text = t.body.dump();
      const Body body{"application/json", text, ""};
      auto mapped = map_direct_debit(body, id, ctx.now_ns(), ctx.direct_debit_policy);
      if (const Problem* problem = problem_of(mapped)) {
        reason_code = reason_for_field(problem->field);
        detail = problem->detail;
      } else {
        input = std::get<DirectDebitInput>(std::move(mapped));
        input->id_given = true;  // named by the document: another file's copy is a duplicate
      }
    }
    if (!input) {
      // Refused for its format: stored and journaled as refused, reported in the pacs.002.
      DirectDebitInput refused =
          map_refused_direct_debit(t.body, id, ctx.now_ns(), ctx.direct_debit_policy);
      refused.details.message_id = document.message_id;
      const sepa::Reason reason = sepa::reason_from_name(reason_code).value_or(sepa::Reason::FF01);
      auto stored = co_await refuse_for_format(ctx, std::move(refused), reason, version);
      if (auto* refusal = std::get_if<Response>(&stored)) co_return std::move(*refusal);
      item["id"] = format_uuid(std::get<DirectDebit>(stored).id.value);
      item["reason_code"] = std::string(sepa::reason_name(reason));
      item["detail"] = detail;
      results.push_back(std::move(item));
      continue;
    }
    input->details.message_id = document.message_id;
    auto received = co_await receive_one(ctx, *input, version);
    if (auto* refusal = std::get_if<Response>(&received)) co_return std::move(*refusal);
    const DirectDebit& dd = std::get<Received>(received).first.state;
    item["id"] = format_uuid(dd.id.value);
    item["status"] = std::string(status_name(dd.status));
    const auto reason = static_cast<sepa::Reason>(dd.reason);
    item["reason_code"] =
        reason == sepa::Reason::none ? json(nullptr) : json(std::string(sepa::reason_name(reason)));
    results.push_back(std::move(item));
  }
  co_return make_json(
      status::ok,
      dump_json(json{{"message_id", document.message_id}, {"results", std::move(results)}}),
      version);
}

// One reversal by the creditor's bank (a pacs.007 transaction, or POST .../{id}/reversal):
// the engine's answer code and the collection after it.
Awaitable<std::variant<CommandResult, Response>> reverse_one(const RouteContext& ctx,
                                                             DirectDebitId id, std::int64_t amount,
                                                             sepa::Reason reason,
                                                             unsigned version) {
  DirectDebit dd;
  dd.id = id;
  dd.amount = amount;
  dd.reason = static_cast<std::uint8_t>(reason);
  co_return co_await call(ctx, debit_command(CommandKind::reverse_direct_debit, dd), version);
}

// The reason of a reversal: a code ledgerd knows, else MS03 (reason not specified).
sepa::Reason reversal_reason(const std::string& code) {
  return sepa::reason_from_name(code).value_or(sepa::Reason::MS03);
}

// POST /v1/direct-debits/reversals: a pacs.007 (FIToFIPaymentReversal) from the creditor's
// bank. Each transaction names its collection by (creditor, end-to-end id, settlement date);
// a paid one is reversed (the money back to the customer, any scheme, no refund window), the
// others are answered with why not. Importing the same document again reverses nothing twice.
Awaitable<Response> import_reversals(const RouteContext& ctx, const Request& request) {
  const unsigned version = request.version();
  const std::string_view xml(request.body().data(), request.body().size());
  pacs::ReversalDocument document;
  std::string error;
  if (!pacs::parse_pacs007(xml, &document, &error)) {
    co_return render(Problem{status::bad_request, "invalid_document", error}, version);
  }
  json results = json::array();
  for (const pacs::Reversal& r : document.reversals) {
    json item{{"reversal_id", r.reversal_id.empty() ? json(nullptr) : json(r.reversal_id)},
              {"end_to_end_id", r.end_to_end_id},
              {"id", nullptr},
              {"status", "not_reversed"}};
    if (!r.problem.empty()) {
      item["detail"] = r.problem;
      results.push_back(std::move(item));
      continue;
    }
    DirectDebitRequest find;
    find.op = DirectDebitRequest::Op::find_by_key;
    find.details.end_to_end_id = r.end_to_end_id;
    find.details.creditor_id = r.creditor_id;
    find.day = r.day;
    const auto found = co_await store(ctx, find);
    if (!found) co_return render(read_failed(), version);
    if (found->existing.is_zero()) {
      item["detail"] = "no collection of that creditor, end-to-end id and settlement date";
      results.push_back(std::move(item));
      continue;
    }
    item["id"] = format_uuid(found->existing.value);
    auto result = co_await reverse_one(ctx, found->existing, r.amount,
                                       reversal_reason(r.reason_code), version);
    if (auto* refusal = std::get_if<Response>(&result)) co_return std::move(*refusal);
    const DirectDebitResult code = std::get<CommandResult>(result).direct_debit_result();
    if (code == DirectDebitResult::ok) {
      item["status"] = "reversed";
    } else {
      item["detail"] = code == DirectDebitResult::direct_debit_not_paid
                           ? "the collection is not paid (refused, returned, refunded or waiting)"
                       : code == DirectDebitResult::exists_with_different_fields
                           ? "a reversal is for the collection's whole amount"
                           : std::string(to_string(code));
    }
    results.push_back(std::move(item));
  }
  co_return make_json(
      status::ok,
      dump_json(json{{"message_id", document.message_id}, {"results", std::move(results)}}),
      version);
}

// POST /v1/direct-debits/{id}/reversal {"reason_code"?, "amount"?}: the same from a back
// office that received the creditor bank's reversal another way.
Awaitable<Response> reversal(const RouteContext& ctx, const Request& request, DirectDebitId id) {
  const unsigned version = request.version();
  const Body body = body_of(request);
  sepa::Reason reason = sepa::Reason::MS03;
  std::int64_t amount = 0;
  if (!body.text.empty()) {
    auto object = detail::json_body(body);
    if (const Problem* problem = problem_of(object)) co_return render(*problem, version);
    const json& root = std::get<json>(object);
    for (const auto& [key, value] : root.items()) {
      if (key == "reason_code") {
        const auto code =
            value.is_string() ? sepa::reason_from_name(value.get<std::string>()) : std::nullopt;
        if (!code) {
          co_return render(bad_request(BadRequest{"invalid_field", "reason_code",
                                                  "reason_code must be an ISO 20022 reason code "
                                                  "ledgerd knows (AM05, MS02, MS03, ...)"}),
                           version);
        }
        reason = *code;
      } else if (key == "amount") {
        if (!value.is_number_integer() || value.get<std::int64_t>() < 1 ||
            value.get<std::int64_t>() > sepa::amount_max) {
          co_return render(bad_request(BadRequest{"invalid_field", "amount",
                                                  "amount must be the collection's amount in "
                                                  "minor units"}),
                           version);
        }
        amount = value.get<std::int64_t>();
      } else {
        co_return render(bad_request(BadRequest{"unknown_field", key, "unknown field " + key}),
                         version);
      }
    }
  }
  auto result = co_await reverse_one(ctx, id, amount, reason, version);
  if (auto* refusal = std::get_if<Response>(&result)) co_return std::move(*refusal);
  const DirectDebitResult code = std::get<CommandResult>(result).direct_debit_result();
  if (code == DirectDebitResult::direct_debit_not_found) {
    co_return render(not_found("direct debit", id.value), version);
  }
  if (code != DirectDebitResult::ok) {
    const bool not_paid = code == DirectDebitResult::direct_debit_not_paid;
    co_return render(Problem{status::unprocessable_entity, std::string(to_string(code)),
                             not_paid ? "only a paid collection can be reversed"
                                      : "a reversal is for the collection's whole amount"},
                     version);
  }
  auto view = co_await read_one(ctx, id, version);
  if (auto* refusal = std::get_if<Response>(&view)) co_return std::move(*refusal);
  co_return collection_answer(std::get<DirectDebitView>(view), status::ok, version);
}

Awaitable<Response> refund(const RouteContext& ctx, const Request& request, DirectDebitId id) {
  const unsigned version = request.version();
  const Body body = body_of(request);
  sepa::Reason reason = sepa::Reason::MD06;
  if (!body.text.empty()) {
    auto object = detail::json_body(body);
    if (const Problem* problem = problem_of(object)) co_return render(*problem, version);
    const json& root = std::get<json>(object);
    for (const auto& [key, value] : root.items()) {
      if (key != "reason_code") {
        co_return render(bad_request(BadRequest{"unknown_field", key, "unknown field " + key}),
                         version);
      }
      const auto code =
          value.is_string() ? sepa::reason_from_name(value.get<std::string>()) : std::nullopt;
      if (!code || (*code != sepa::Reason::MD06 && *code != sepa::Reason::MD01)) {
        co_return render(
            bad_request(BadRequest{"invalid_field", "reason_code",
                                   "reason_code must be MD06 (refund within 8 weeks, no reason "
                                   "needed) or MD01 (unauthorised, within 13 months)"}),
            version);
      }
      reason = *code;
    }
  }
  DirectDebit dd;
  dd.id = id;
  dd.reason = static_cast<std::uint8_t>(reason);
  auto result = co_await call(ctx, debit_command(CommandKind::refund_direct_debit, dd), version);
  if (auto* refusal = std::get_if<Response>(&result)) co_return std::move(*refusal);
  const DirectDebitResult code = std::get<CommandResult>(result).direct_debit_result();
  if (code == DirectDebitResult::direct_debit_not_found) {
    co_return render(not_found("direct debit", id.value), version);
  }
  if (code != DirectDebitResult::ok) {
    const std::string name(to_string(code));
    const char* why = code == DirectDebitResult::direct_debit_not_paid
                          ? "only a paid collection can be refunded"
                      : code == DirectDebitResult::refund_not_allowed_for_b2b
                          ? "the SEPA B2B scheme has no refunds"
                          : "the refund period is over (8 weeks; 13 months if unauthorised)";
    co_return render(Problem{status::unprocessable_entity, name, why}, version);
  }
  auto view = co_await read_one(ctx, id, version);
  if (auto* refusal = std::get_if<Response>(&view)) co_return std::move(*refusal);
  co_return collection_answer(std::get<DirectDebitView>(view), status::ok, version);
}

// GET /v1/direct-debits/returns|rejects?date=YYYY-MM-DD: a pacs.004 or pacs.002 file of that
// UTC day's returns or rejects that no earlier file held, under a MsgId of its own
// ("RTR20261207-001", "RJCT20261207-002"). When every one of them is in a file already, the
// day's latest file again, byte for byte (a retry after a timeout gets the same MsgId, which
// the clearing system refuses as a duplicate instead of booking twice). ?message_id= answers
// a stored file. A day with nothing to report answers an empty file that is not stored.
Awaitable<Response> outgoing_file(const RouteContext& ctx, const Request& request,
                                  const Query& query, bool returns) {
  const unsigned version = request.version();
  std::string unknown;
  if (!detail::only_known(query, {"date", "message_id"}, &unknown)) {
    co_return render(detail::query_problem(unknown, "unknown query parameter " + unknown), version);
  }
  const auto xml = [version](std::string body) {
    Response response = make_json(status::ok, std::move(body), version);
    response.set(bhttp::field::content_type, "application/xml; charset=utf-8");
    return response;
  };
  const int kind = returns ? 0 : 1;
  if (const auto id = query.find("message_id"); id != query.end()) {
    DirectDebitRequest q;
    q.op = DirectDebitRequest::Op::get_file;
    q.file_kind = kind;
    q.message_id = id->second.substr(0, 35);
    const auto reply = co_await store(ctx, q);
    if (!reply) co_return render(read_failed(), version);
    if (reply->document.empty()) {
      co_return render(Problem{status::not_found, "file_not_found",
                               "no " + std::string(returns ? "pacs.004" : "pacs.002") +
                                   " file has this message_id"},
                       version);
    }
    co_return xml(reply->document);
  }
  const auto it = query.find("date");
  const auto day = it == query.end() ? std::nullopt : sepa::parse_date(it->second);
  if (!day) {
    co_return render(detail::query_problem("date", "date is required, YYYY-MM-DD (UTC)"), version);
  }
  const std::string prefix = std::string(returns ? "RTR" : "RJCT") + [&] {
    std::string d = sepa::format_date(*day);
    d.erase(std::remove(d.begin(), d.end(), '-'), d.end());
    return d;
  }();
  for (int attempt = 0; attempt < 5; ++attempt) {
    DirectDebitRequest q;
    q.op = DirectDebitRequest::Op::unfiled_changes;
    q.day = *day;
    q.file_kind = kind;
    q.changes = returns ? (1u << static_cast<int>(DirectDebitChange::returned)) |
                              (1u << static_cast<int>(DirectDebitChange::refunded))
                        : 1u << static_cast<int>(DirectDebitChange::refused);
    const auto unfiled = co_await store(ctx, q);
    if (!unfiled) co_return render(read_failed(), version);
    if (unfiled->items.empty() && !unfiled->document.empty()) co_return xml(unfiled->document);
    pacs::FileHeader header{"", *day, ctx.now_ns(), ctx.direct_debit_policy.bic,
                            ctx.direct_debit_policy.compensation_rate_bp};
    if (unfiled->items.empty()) {
      // Nothing to report: an empty file under a MsgId of its own (never stored, never reused).
      header.message_id = prefix + "-E" + std::to_string(ctx.now_ns() % 1'000'000'000'000ULL);
      co_return xml(returns ? pacs::write_pacs004({}, header) : pacs::write_pacs002({}, header));
    }
    char sequence[8];
    std::snprintf(sequence, sizeof sequence, "%03u", unfiled->files_that_day + 1);
    header.message_id = prefix + "-" + sequence;
    std::string document = returns ? pacs::write_pacs004(unfiled->items, header)
                                   : pacs::write_pacs002(unfiled->items, header);
    DirectDebitRequest save;
    save.op = DirectDebitRequest::Op::store_file;
    save.file_kind = kind;
    save.day = *day;
    save.message_id = header.message_id;
    save.document = document;
    for (const DirectDebitView& v : unfiled->items) save.change_ts.push_back(v.state.timestamp);
    const auto saved = co_await store(ctx, save);
    if (!saved) co_return render(read_failed(), version);
    if (!saved->file_conflict) co_return xml(std::move(document));
    // Another request filed some of them first: read again.
  }
  co_return render(read_failed(), version);
}

}  // namespace

Awaitable<Response> route_direct_debits(const RouteContext& ctx, const Request& request,
                                        const Parts& parts, const Query& query) {
  const verb method = request.method();
  const unsigned version = request.version();
  const std::size_t n = parts.size();
  if (ctx.direct_debits == nullptr) co_return render(read_failed(), version);
  if (n == 2) {
    if (method != verb::post) co_return render(method_not_allowed("POST"), version);
    co_return co_await receive(ctx, request);
  }
  if (n == 3 && (parts[2] == "returns" || parts[2] == "rejects")) {
    if (method != verb::get) co_return render(method_not_allowed("GET"), version);
    co_return co_await outgoing_file(ctx, request, query, parts[2] == "returns");
  }
  if (n == 3 && parts[2] == "import") {
    if (method != verb::post) co_return render(method_not_allowed("POST"), version);
    co_return co_await import(ctx, request);
  }
  if (n == 3 && parts[2] == "reversals") {
    if (method != verb::post) co_return render(method_not_allowed("POST"), version);
    co_return co_await import_reversals(ctx, request);
  }
  if (n > 4 || (n == 4 && parts[3] != "refund" && parts[3] != "reversal")) {
    co_return render(route_not_found(request.target()), version);
  }
  if (n == 3 && method != verb::get) co_return render(method_not_allowed("GET"), version);
  if (n == 4 && method != verb::post) co_return render(method_not_allowed("POST"), version);
  const auto id = path_id(parts[2], "direct debit");
  if (const Problem* problem = problem_of(id)) co_return render(*problem, version);
  const DirectDebitId debit{std::get<Uint128>(id)};
  if (n == 4 && parts[3] == "reversal") co_return co_await reversal(ctx, request, debit);
  if (n == 4) co_return co_await refund(ctx, request, debit);
  auto view = co_await read_one(ctx, debit, version);
  if (auto* refusal = std::get_if<Response>(&view)) co_return std::move(*refusal);
  co_return collection_answer(std::get<DirectDebitView>(view), status::ok, version);
}

Awaitable<Response> route_account_direct_debits(const RouteContext& ctx, const Request& request,
                                                const Parts& parts, const Query& query) {
  const verb method = request.method();
  const unsigned version = request.version();
  if (parts.size() != 4) co_return render(route_not_found(request.target()), version);
  if (ctx.direct_debits == nullptr) co_return render(read_failed(), version);
  const bool rules = parts[3] == "direct-debit-rules";
  if (rules ? (method != verb::get && method != verb::put) : method != verb::get) {
    co_return render(method_not_allowed(rules ? "GET, PUT" : "GET"), version);
  }
  const auto id = path_id(parts[2], "account");
  if (const Problem* problem = problem_of(id)) co_return render(*problem, version);
  const AccountId account{std::get<Uint128>(id)};
  auto found =
      co_await look_up(ctx, lookup_account(account.value), "account", account.value, version);
  if (auto* refusal = std::get_if<Response>(&found)) co_return std::move(*refusal);
  DirectDebitRequest q;
  q.account = account;
  if (rules) {
    q.op = DirectDebitRequest::Op::get_rules;
    if (method == verb::put) {
      auto mapped = map_mandate_rules(body_of(request));
      if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
      q.op = DirectDebitRequest::Op::put_rules;
      q.rules = std::get<MandateRules>(std::move(mapped));
    }
    const auto reply = co_await store(ctx, q);
    if (!reply) co_return render(read_failed(), version);
    if (q.op == DirectDebitRequest::Op::put_rules) {
      // Collections not yet settled that the new rules refuse are refused now (MS02, MD01).
      DirectDebitRequest pending;
      pending.op = DirectDebitRequest::Op::list;
      pending.account = account;
      pending.status = DirectDebitStatus::received;
      pending.limit = 1000;
      const auto received = co_await store(ctx, pending);
      if (!received) co_return render(read_failed(), version);
      for (const DirectDebitView& view : received->items) {
        const sepa::Reason refusal =
            mandate_rule_refusal(reply->rules, view.state.scheme, view.details, view.state.amount);
        if (refusal == sepa::Reason::none) continue;
        DirectDebit dd;
        dd.id = view.state.id;
        dd.reason = static_cast<std::uint8_t>(refusal);
        auto refused =
            co_await call(ctx, debit_command(CommandKind::refuse_direct_debit, dd), version);
        if (auto* failure = std::get_if<Response>(&refused)) co_return std::move(*failure);
      }
    }
    co_return make_json(status::ok, dump_json(mandate_rules_json(account, reply->rules)), version);
  }
  std::string unknown;
  if (!detail::only_known(query, {"status", "after", "limit"}, &unknown)) {
    co_return render(detail::query_problem(unknown, "unknown query parameter " + unknown), version);
  }
  if (!detail::read_limit(query, 100, 1000, &q.limit)) {
    co_return render(detail::query_problem("limit", "limit must be an integer from 1 to 1000"),
                     version);
  }
  if (const auto it = query.find("status"); it != query.end()) {
    q.status = direct_debit_status_from_name(it->second);
    if (!q.status) {
      co_return render(detail::query_problem("status",
                                             "status must be received, refused, "
                                             "waiting_for_funds, paid, returned or refunded"),
                       version);
    }
  }
  if (const auto it = query.find("after"); it != query.end()) {
    const auto cursor = detail::parse_cursor(it->second);
    if (!cursor) {
      co_return render(detail::query_problem("after", "after must be a next_cursor value"),
                       version);
    }
    q.after = *cursor;
  }
  q.op = DirectDebitRequest::Op::list;
  const auto reply = co_await store(ctx, q);
  if (!reply) co_return render(read_failed(), version);
  json list = json::array();
  for (const DirectDebitView& view : reply->items) list.push_back(direct_debit_json(view));
  co_return make_json(
      status::ok,
      dump_json(json{{"direct_debits", std::move(list)},
                     {"next_cursor", reply->next_after == 0
                                         ? json(nullptr)
                                         : json(detail::format_cursor(reply->next_after))}}),
      version);
}

Awaitable<Response> route_test_clock(const RouteContext& ctx, const Request& request,
                                     const Parts& parts, const Query& query) {
  (void)query;
  const verb method = request.method();
  const unsigned version = request.version();
  if (ctx.test_clock == nullptr || parts.size() > 3 ||
      (parts.size() == 3 && parts[2] != "advance")) {
    co_return render(route_not_found(request.target()), version);
  }
  const auto answer = [&] {
    return make_json(status::ok,
                     dump_json(json{{"mode", "manual"},
                                    {"now", format_time(ctx.test_clock->now_ns())},
                                    {"now_unix_seconds", ctx.test_clock->now_ns() / ns_per_s},
                                    {"offset_seconds", ctx.test_clock->offset_ns() / ns_per_s}}),
                     version);
  };
  if (parts.size() == 2) {
    if (method != verb::get) co_return render(method_not_allowed("GET"), version);
    co_return answer();
  }
  if (method != verb::post) co_return render(method_not_allowed("POST"), version);
  auto object = detail::json_body(body_of(request));
  if (const Problem* problem = problem_of(object)) co_return render(*problem, version);
  FieldReader fields(std::get<json>(object));
  const auto seconds = fields.unsigned_integer("seconds", 10ULL * 366 * 86400);
  fields.reject_unknown_fields();
  if (fields.ok() && (!seconds || *seconds == 0)) {
    fields.fail(seconds ? "invalid_field" : "missing_field", "seconds",
                "seconds must be a whole number from 1 to 316224000 (10 years)");
  }
  if (!fields.ok()) co_return render(bad_request(fields.error()), version);
  ctx.test_clock->advance(*seconds * ns_per_s);
  // One command through the engine: its batch runs what fell due at the new time, and its
  // answer comes after that batch's COMMIT, so what fell due is durable when we answer.
  DirectDebit probe;
  auto done = co_await call(ctx, debit_command(CommandKind::lookup_direct_debit, probe), version);
  if (auto* refusal = std::get_if<Response>(&done)) co_return std::move(*refusal);
  co_return answer();
}

}  // namespace ledger::http
