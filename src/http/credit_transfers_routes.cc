// /v1/credit-transfers: SEPA credit transfers out and in, regular (SCT) and instant (SCT Inst),
// with Verification of Payee as the payer's bank (docs/credit-transfers.md).
//
// Each step is one engine transfer whose id is derived from the credit transfer's
// (credit_transfer_step_id), so a retry, a second answer from the clearing house or a second
// import of a file finds the step done ("exists") and changes nothing. The row in table
// credit_transfers is written before the engine step it describes, and its status after:
// a crash between the two leaves a row a retry completes.
#include <spdlog/spdlog.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "http/mapping_support.h"
#include "http/pacs.h"
#include "http/routes.h"
#include "ledger/credit_transfers.h"
#include "ledger/sepa.h"
#include "ledger/units.h"
#include "net/ledger_call.h"
#include "outbound/client.h"

namespace ledger::http {
namespace {

using bhttp::status;
using bhttp::verb;
using nlohmann::json;
using pacs::CreditEntry;
using pacs::CreditTransaction;

// --- Small pieces --------------------------------------------------------------------------

Awaitable<std::optional<DirectDebitReply>> ct_store(const RouteContext& ctx,
                                                    const DirectDebitRequest& q) {
  if (ctx.direct_debits == nullptr) co_return std::nullopt;
  auto reply = co_await await_read<DirectDebitReply>(
      [&](auto done) { return ctx.direct_debits->direct_debits(q, std::move(done)); },
      ctx.ledger_timeout);
  if (!reply) co_return std::nullopt;
  if (!reply->first.ok()) {
    spdlog::warn("event=credit_transfer_store_failed op={} error=\"{}\"", static_cast<int>(q.op),
                 reply->first.message());
    co_return std::nullopt;
  }
  co_return std::move(reply->second);
}

Awaitable<std::optional<DirectDebitReply>> ct_op(const RouteContext& ctx, DirectDebitRequest::Op op,
                                                 const CreditTransferRecord& ct) {
  DirectDebitRequest q;
  q.op = op;
  q.credit_transfer = ct;
  co_return co_await ct_store(ctx, q);
}

Response xml_answer(status code, std::string body, unsigned version) {
  Response response = make_json(code, std::move(body), version);
  response.set(bhttp::field::content_type, "application/xml; charset=utf-8");
  return response;
}

Response record_answer(const CreditTransferRecord& c, status code, unsigned version) {
  Response response = make_json(code, dump_json(credit_transfer_json(c)), version);
  response.set(bhttp::field::location, "/v1/credit-transfers/" + format_uuid(c.id));
  return response;
}

Command transfer_command(const Transfer& t) {
  Command c;
  c.kind = CommandKind::create_transfer;
  c.body.transfer = t;
  return c;
}

Transfer step_transfer(const CreditTransferRecord& ct, TransferId id, TransferCode code) {
  Transfer t;
  t.id = id;
  t.amount = ct.amount;
  t.currency = *currency_from_alpha("EUR");
  t.code = code;
  t.reference_a = ct.id.hi;
  t.reference_b = ct.id.lo;
  return t;
}

TransferCode out_code(const CreditTransferRecord& ct) {
  return ct.instant ? TransferCode::credit_transfer_instant : TransferCode::credit_transfer;
}

bool done(TransferResult r) { return r == TransferResult::ok || r == TransferResult::exists; }

// An engine step: its durable result, or nullopt when the engine did not answer (503).
Awaitable<std::optional<CommandResult>> engine(const RouteContext& ctx, const Transfer& t) {
  const CallResult result = co_await call_ledger(ctx.sink, transfer_command(t), ctx.ledger_timeout);
  if (result.status != CallStatus::durable) co_return std::nullopt;
  co_return result.result;
}

// The hold (accepted) on the customer's account: held until settled or released. An instant
// one's hold expires an hour on if nothing resolves it (a crash between sending and the answer).
Transfer hold_of(const CreditTransferRecord& ct, std::uint32_t timeout_s) {
  Transfer t = step_transfer(ct, TransferId{ct.id}, out_code(ct));
  t.debit_account_id = ct.account;
  t.credit_account_id = sct_clearing_account_id();
  t.flags = flag_pending;
  t.timeout_s = timeout_s;
  return t;
}

// Settled (instant, ACCP) or sent (regular, filed): the hold posted. If the hold is gone (the
// time-out released it, or it expired), the money left anyway: a forced debit, so that money
// is never both released and sent.
Awaitable<std::optional<TransferResult>> settle(const RouteContext& ctx,
                                                const CreditTransferRecord& ct) {
  Transfer post =
      step_transfer(ct, credit_transfer_step_id(ct.id, CreditStep::settle), out_code(ct));
  post.pending_id = TransferId{ct.id};
  post.flags = flag_post_pending;
  post.amount = 0;  // the full held amount
  auto r = co_await engine(ctx, post);
  if (!r) co_return std::nullopt;
  const TransferResult code = r->transfer_result();
  if (code != TransferResult::pending_already_voided && code != TransferResult::pending_expired) {
    co_return code;
  }
  Transfer force =
      step_transfer(ct, credit_transfer_step_id(ct.id, CreditStep::force), out_code(ct));
  force.debit_account_id = ct.account;
  force.credit_account_id = sct_clearing_account_id();
  force.flags = flag_force;
  auto forced = co_await engine(ctx, force);
  if (!forced) co_return std::nullopt;
  co_return forced->transfer_result();
}

// Rejected before it left (RJCT, time-out): the hold released.
Awaitable<std::optional<TransferResult>> release(const RouteContext& ctx,
                                                 const CreditTransferRecord& ct) {
  Transfer v = step_transfer(ct, credit_transfer_step_id(ct.id, CreditStep::release), out_code(ct));
  v.pending_id = TransferId{ct.id};
  v.flags = flag_void_pending;
  v.amount = 0;
  auto r = co_await engine(ctx, v);
  if (!r) co_return std::nullopt;
  co_return r->transfer_result();
}

// After it left: the clearing house gives the money back (a reject or a return).
Awaitable<std::optional<TransferResult>> give_back(const RouteContext& ctx,
                                                   const CreditTransferRecord& ct, bool rejected) {
  Transfer t = step_transfer(
      ct, credit_transfer_step_id(ct.id, rejected ? CreditStep::reject : CreditStep::ret),
      rejected ? TransferCode::credit_transfer_reject : TransferCode::credit_transfer_return);
  t.debit_account_id = sct_clearing_account_id();
  t.credit_account_id = ct.account;
  auto r = co_await engine(ctx, t);
  if (!r) co_return std::nullopt;
  co_return r->transfer_result();
}

outbound::Allowlist anywhere() {
  // The clearing house and the payee's bank are the operator's configuration, not a client's
  // input: any address is allowed (private networks included).
  outbound::Allowlist a;
  a.networks.emplace_back(boost::asio::ip::make_address("0.0.0.0"), 0);
  a.networks.emplace_back(boost::asio::ip::make_address("::"), 0);
  return a;
}

boost::asio::ssl::context& client_tls() {
  static boost::asio::ssl::context tls = [] {
    boost::asio::ssl::context c(boost::asio::ssl::context::tls_client);
    c.set_default_verify_paths();
    c.set_verify_mode(boost::asio::ssl::verify_peer);
    return c;
  }();
  return tls;
}

const std::string xml_type = "application/xml";

Awaitable<outbound::HttpAttempt> post_out(const std::string& url_text, const std::string& token,
                                          const std::string& content_type, std::string body,
                                          std::chrono::milliseconds timeout) {
  std::string why;
  const auto url = outbound::parse_url(url_text, &why);
  if (!url) {
    outbound::HttpAttempt failed;
    failed.error = why;
    co_return failed;
  }
  outbound::Headers headers{{"Content-Type", content_type}};
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  static const outbound::Allowlist allowed = anywhere();
  auto attempt =
      co_await outbound::post(*url, headers, std::move(body), allowed, client_tls(), timeout);
  co_return attempt;
}

pacs::FileHeader header_now(const RouteContext& ctx, std::string message_id) {
  return pacs::file_header(std::move(message_id), ctx.now_ns(), ctx.direct_debit_policy.bic);
}

// --- Verification of Payee as the payer's bank ----------------------------------------------

struct PayeeCheck {
  std::string result;  // match, close_match, no_match, not_possible, not_checked
  std::string matched_name;
  std::string reason;
};
PayeeCheck payee_result(std::string result, std::string reason = std::string()) {
  PayeeCheck check;
  check.result = std::move(result);
  check.reason = std::move(reason);
  return check;
}

Awaitable<PayeeCheck> check_payee(const RouteContext& ctx, const std::string& iban,
                                  const std::string& name) {
  const CreditTransferPolicy& p = ctx.credit_transfer_policy;
  if (p.vop_url.empty()) co_return payee_result("not_checked");
  // The EPC VOP scheme's response time: 5 s at most.
  json request = json::object();
  request["iban"] = iban;
  request["name"] = name;
  const std::string content_type = "application/json";
  const auto attempt = co_await post_out(p.vop_url, p.vop_token, content_type, request.dump(),
                                         std::chrono::milliseconds(5'000));
  if (attempt.status != 200) co_return payee_result("not_possible", "payee_bank_unavailable");
  const json answer = json::parse(attempt.body, nullptr, false);
  if (!answer.is_object() || !answer.contains("result") || !answer["result"].is_string()) {
    co_return payee_result("not_possible", "payee_bank_answer_unreadable");
  }
  PayeeCheck check = payee_result(answer["result"].get<std::string>());
  if (check.result != "match" && check.result != "close_match" && check.result != "no_match" &&
      check.result != "not_possible") {
    co_return payee_result("not_possible", "payee_bank_answer_unreadable");
  }
  if (check.result == "close_match" && answer.contains("matched_name") &&
      answer["matched_name"].is_string()) {
    check.matched_name = answer["matched_name"].get<std::string>().substr(0, 140);
  }
  if (answer.contains("reason") && answer["reason"].is_string()) {
    check.reason = answer["reason"].get<std::string>().substr(0, 64);
  }
  co_return check;
}

// --- Outgoing ------------------------------------------------------------------------------

// The execution day of a regular transfer: the requested one, or today if a TARGET2 business
// day before the cut-off, else the next business day. Instant: today.
std::int32_t execution_day(const RouteContext& ctx, const OutgoingCreditTransfer& in) {
  const std::uint64_t now = ctx.now_ns();
  const std::int32_t today = sepa::day_of_ns(now);
  if (in.ct.instant) return today;
  const bool before_cutoff =
      (now % ns_per_day) / (60 * ns_per_s) < ctx.credit_transfer_policy.cutoff_minute;
  const std::int32_t first =
      before_cutoff ? sepa::add_business_days(today, 0) : sepa::add_business_days(today + 1, 0);
  if (in.date_given) return std::max(in.ct.execution_day, first);
  return first;
}

// What an outgoing transfer's outcome answers: the record (201 new, 200 a repeat).
struct Outcome {
  std::optional<CreditTransferRecord> record;
  std::optional<Problem> problem;
  bool created = false;
};

Awaitable<std::optional<CreditTransferRecord>> save(const RouteContext& ctx,
                                                    const CreditTransferRecord& ct) {
  const auto reply = co_await ct_op(ctx, DirectDebitRequest::Op::ct_update, ct);
  if (!reply || reply->credit_transfers.empty()) co_return std::nullopt;
  co_return reply->credit_transfers.front();
}

// Sends an instant transfer (its hold placed) and applies the pacs.002: ACCP settles, RJCT
// releases; no readable answer in time releases the hold and asks the status (pacs.028).
Awaitable<std::optional<CreditTransferRecord>> send_instant(const RouteContext& ctx,
                                                            CreditTransferRecord ct);

// Applies a clearing house's status for an outgoing instant transfer (from its answer, a
// pacs.028 answer or an imported pacs.002).
Awaitable<std::optional<CreditTransferRecord>> apply_instant_status(const RouteContext& ctx,
                                                                    CreditTransferRecord ct,
                                                                    const std::string& sts,
                                                                    const std::string& reason) {
  if (sts == "ACCP" || sts == "ACSC" || sts == "ACSP" || sts == "ACWC") {
    if (ct.status == "settled") co_return ct;
    const auto r = co_await settle(ctx, ct);
    if (!r) co_return std::nullopt;
    // The clearing house settled it: so it stands. A debit the engine refused even forced (a
    // closed account) is named on the transfer and logged for the bank to settle by hand.
    ct.status = "settled";
    ct.reason = done(*r) ? "" : "posting_failed";
    if (!done(*r)) {
      spdlog::error("event=sct_inst_settled_unposted credit_transfer={} result={}",
                    format_uuid(ct.id), to_string(*r));
    }
    co_return co_await save(ctx, ct);
  }
  if (sts == "RJCT") {
    if (ct.status == "rejected") co_return ct;
    if (ct.status == "settled") co_return ct;  // a reject after an ACCP: the ACCP stands
    const auto r = co_await release(ctx, ct);
    if (!r) co_return std::nullopt;
    ct.status = "rejected";
    ct.reason = reason.empty() ? "MS03" : reason.substr(0, 4);
    co_return co_await save(ctx, ct);
  }
  co_return ct;  // PDNG or unknown: nothing decided
}

Awaitable<std::optional<CreditTransferRecord>> status_check(const RouteContext& ctx,
                                                            CreditTransferRecord ct) {
  const CreditTransferPolicy& p = ctx.credit_transfer_policy;
  if (p.inst_url.empty()) co_return ct;
  const pacs::FileHeader h = header_now(ctx, "STS" + compact_uuid(random_uuid()).substr(0, 29));
  const auto attempt =
      co_await post_out(p.inst_url, p.inst_token, xml_type, pacs::write_pacs028(ct, h),
                        std::chrono::milliseconds(p.inst_timeout_ms));
  pacs::CreditStatusDocument doc;
  std::string error;
  if (attempt.status < 200 || attempt.status >= 300 ||
      !pacs::parse_credit_status(attempt.body, &doc, &error)) {
    co_return ct;  // still unknown: asked again by POST /v1/credit-transfers/{id}/status-check
  }
  for (const pacs::CreditStatus& s : doc.entries) {
    if (s.transaction_id == ct.transaction_id || s.end_to_end_id == ct.end_to_end_id) {
      co_return co_await apply_instant_status(ctx, ct, s.status, s.reason_code);
    }
  }
  co_return ct;
}

Awaitable<std::optional<CreditTransferRecord>> send_instant(const RouteContext& ctx,
                                                            CreditTransferRecord ct) {
  const CreditTransferPolicy& p = ctx.credit_transfer_policy;
  pacs::FileHeader h = header_now(ctx, "INST" + compact_uuid(ct.id).substr(0, 31));
  ct.message_id = h.message_id;  // the pacs.028 and a recall name it
  CreditEntry entry;
  entry.transfer = ct;
  const std::string document = pacs::write_pacs008({entry}, h, /*instant=*/true);
  const auto attempt = co_await post_out(p.inst_url, p.inst_token, xml_type, document,
                                         std::chrono::milliseconds(p.inst_timeout_ms));
  pacs::CreditStatusDocument doc;
  std::string error;
  std::string sts;
  std::string reason;
  if (attempt.status >= 200 && attempt.status < 300 &&
      pacs::parse_credit_status(attempt.body, &doc, &error)) {
    for (const pacs::CreditStatus& s : doc.entries) {
      if (s.transaction_id == ct.transaction_id || s.end_to_end_id == ct.end_to_end_id ||
          doc.entries.size() == 1) {
        sts = s.status;
        reason = s.reason_code;
        break;
      }
    }
  }
  if (sts == "ACCP" || sts == "ACSC" || sts == "ACSP" || sts == "ACWC" || sts == "RJCT") {
    co_return co_await apply_instant_status(ctx, ct, sts, reason);
  }
  // No answer in time (or none that decides): the hold is released at once, and the status
  // asked; an ACCP learnt later debits the customer (settle's forced debit).
  spdlog::warn(
      "event=sct_inst_no_answer credit_transfer={} http_status={} error=\"{}\" detail=\"{}\"",
      format_uuid(ct.id), attempt.status, attempt.error, error);
  const auto r = co_await release(ctx, ct);
  if (!r) co_return std::nullopt;
  ct.status = "timed_out";
  ct.reason = "AB06";  // ISO: time-out of the instructed agent
  auto saved = co_await save(ctx, ct);
  if (!saved) co_return std::nullopt;
  co_return co_await status_check(ctx, *saved);
}

// Accepts one outgoing transfer (or completes one a retry names): the row, the payee check,
// the hold, and for an instant one the exchange with the clearing house.
Awaitable<Outcome> accept_outgoing(const RouteContext& ctx, OutgoingCreditTransfer in, bool check) {
  Outcome out;
  CreditTransferRecord& ct = in.ct;
  auto found = co_await call(ctx, lookup_account(ct.account.value), 11);
  if (std::holds_alternative<Response>(found)) {
    out.problem = unavailable(CallStatus::unavailable);
    co_return out;
  }
  const CommandResult& account = std::get<CommandResult>(found);
  if (account.code != 0) {
    out.problem = not_found("account", ct.account.value);
    co_return out;
  }
  if (account.value.account.currency != *currency_from_alpha("EUR")) {
    out.problem = Problem{status::unprocessable_entity, "account_not_eur",
                          "SEPA credit transfers leave EUR accounts only"};
    co_return out;
  }
  if (ct.instant && ctx.credit_transfer_policy.inst_url.empty()) {
    out.problem = Problem{status::service_unavailable, "instant_clearing_not_configured",
                          "instant transfers need LEDGER_SCT_INST_URL (the instant clearing "
                          "house's endpoint)"};
    co_return out;
  }
  ct.execution_day = execution_day(ctx, in);
  ct.request_digest = credit_request_digest(ct);
  ct.dedup_key = format_uuid(ct.account.value) + "/" +
                 (ct.end_to_end_id == "NOTPROVIDED" ? compact_uuid(ct.id) : ct.end_to_end_id);
  // The payer's details: the account's IBAN and holder name.
  DirectDebitRequest iq;
  iq.op = DirectDebitRequest::Op::iban_of;
  iq.account = ct.account;
  iq.iban_country = ctx.direct_debit_policy.iban_country;
  iq.iban_bank_code = ctx.direct_debit_policy.iban_bank_code;
  const auto iban = co_await ct_store(ctx, iq);
  if (!iban) {
    out.problem = read_failed();
    co_return out;
  }
  ct.debtor_iban = iban->iban;
  ct.debtor_bic = ctx.direct_debit_policy.bic;
  DirectDebitRequest nq;
  nq.op = DirectDebitRequest::Op::payee_of_iban;
  nq.iban = ct.debtor_iban;
  const auto holder = co_await ct_store(ctx, nq);
  if (holder && holder->holder_name_known) {
    ct.debtor_name = holder->holder_name.substr(0, 70);
    if (!pacs::sepa_text(ct.debtor_name)) ct.debtor_name.clear();  // NOTPROVIDED in the file
  }
  // A repeat (same id): the stored transfer, completed if a crash interrupted it.
  DirectDebitRequest gq;
  gq.op = DirectDebitRequest::Op::ct_get;
  gq.credit_transfer.id = ct.id;
  const auto existing = co_await ct_store(ctx, gq);
  if (!existing) {
    out.problem = read_failed();
    co_return out;
  }
  if (existing->credit_transfers.empty()) {
    // Verification of Payee before anything is stored: anything but a match needs the
    // client's confirmation (confirm_payee: true) after showing the result to the customer.
    PayeeCheck payee = payee_result("not_checked");
    if (check) payee = co_await check_payee(ctx, ct.creditor_iban, ct.creditor_name);
    ct.payee_check = payee.result;
    ct.payee_matched_name = payee.matched_name;
    if (payee.result != "match" && payee.result != "not_checked" && !in.confirm_payee) {
      Problem p{status::conflict, "payee_confirmation_required",
                "the payee's bank did not confirm the name for this IBAN; show the result to the "
                "customer and send the transfer again with confirm_payee: true to proceed"};
      json result{{"result", payee.result}};
      if (!payee.matched_name.empty()) result["matched_name"] = payee.matched_name;
      if (!payee.reason.empty()) result["reason"] = payee.reason;
      p.members["payee_check"] = std::move(result);
      out.problem = std::move(p);
      co_return out;
    }
    ct.status = "accepting";
    const auto inserted = co_await ct_op(ctx, DirectDebitRequest::Op::ct_insert, ct);
    if (!inserted || inserted->credit_transfers.empty()) {
      out.problem = read_failed();
      co_return out;
    }
    if (!inserted->inserted) {
      const CreditTransferRecord& other = inserted->credit_transfers.front();
      out.problem = other.id == ct.id
                        ? Problem{status::conflict, "exists_with_different_fields",
                                  "a credit transfer with this id exists with other fields"}
                        : Problem{status::conflict, "duplicate_end_to_end_id",
                                  "this account sent a credit transfer with this end_to_end_id "
                                  "already (" +
                                      format_uuid(other.id) + ")"};
      co_return out;
    }
    out.created = true;
    ct = inserted->credit_transfers.front();
  } else {
    const CreditTransferRecord& stored = existing->credit_transfers.front();
    if (!stored.outgoing || stored.request_digest != ct.request_digest) {
      out.problem = Problem{status::conflict, "exists_with_different_fields",
                            "a credit transfer with this id exists with other fields"};
      co_return out;
    }
    ct = stored;
  }
  if (ct.status == "accepting") {
    const Transfer hold = hold_of(ct, ct.instant ? 3600 : 0);
    const auto held = co_await engine(ctx, hold);
    if (!held) {
      out.problem = unavailable(CallStatus::unavailable);
      co_return out;
    }
    const TransferResult r = held->transfer_result();
    if (done(r)) {
      ct.status = ct.instant ? "sending" : "accepted";
    } else {
      ct.status = "refused";
      ct.reason = std::string(to_string(r));
    }
    auto saved = co_await save(ctx, ct);
    if (!saved) {
      out.problem = read_failed();
      co_return out;
    }
    ct = *saved;
    if (!done(r)) {
      CommandResult shown = *held;
      out.problem = detail::transfer_problem(shown, status::unprocessable_entity);
      out.problem->members["credit_transfer"] = credit_transfer_json(ct);
      co_return out;
    }
    if (ct.instant) {
      auto sent = co_await send_instant(ctx, ct);
      if (!sent) {
        out.problem = unavailable(CallStatus::unavailable);
        co_return out;
      }
      ct = *sent;
    }
  } else if (ct.status == "refused") {
    out.problem = Problem{status::unprocessable_entity, ct.reason,
                          "this credit transfer was refused when it was first sent"};
    out.problem->members["credit_transfer"] = credit_transfer_json(ct);
    co_return out;
  }
  out.record = ct;
  co_return out;
}

Awaitable<Response> create(const RouteContext& ctx, const Request& request) {
  const unsigned version = request.version();
  auto mapped = map_credit_transfer(body_of(request), random_uuid());
  if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
  Outcome o =
      co_await accept_outgoing(ctx, std::get<OutgoingCreditTransfer>(std::move(mapped)), true);
  if (o.problem) co_return render(*o.problem, version);
  co_return record_answer(*o.record, o.created ? status::created : status::ok, version);
}

// POST /v1/credit-transfers/payment-orders: a business customer's pain.001 (many payments
// from its accounts, named by IBAN), answered with a pain.002, payment by payment. Bulk
// payments skip the payee check (the Instant Payments Regulation lets a business customer opt
// out of it for batches); each payment's id is derived from its account and end-to-end id, so
// the same file sent again accepts nothing twice.
Awaitable<Response> payment_order(const RouteContext& ctx, const Request& request) {
  const unsigned version = request.version();
  pacs::CreditDocument order;
  std::string error;
  if (!pacs::parse_pain001(request.body(), &order, &error)) {
    co_return render(Problem{status::bad_request, "invalid_document", error}, version);
  }
  const pacs::FileHeader h =
      header_now(ctx, "PSR" + compact_uuid(credit_key_id(order.message_id)).substr(0, 30));
  std::vector<CreditEntry> answers;
  const auto group_refusal = [&](const char* code) {
    for (const CreditTransaction& t : order.transactions) {
      CreditEntry& e = answers.emplace_back();
      e.id = t.payment_info_id;
      e.transfer.id = credit_key_id(t.debtor_iban + "/" + t.end_to_end_id);
      e.transfer.end_to_end_id = t.end_to_end_id;
      e.status = "RJCT";
      e.reason_code = code;
    }
    return xml_answer(status::ok, pacs::write_pain002(order, answers, "RJCT", code, h), version);
  };
  if (order.declared_count >= 0 &&
      order.declared_count != static_cast<std::int64_t>(order.transactions.size())) {
    co_return group_refusal("AM18");  // invalid number of transactions
  }
  if (order.declared_sum != -1 && order.declared_sum != order.read_sum) {
    co_return group_refusal("AM10");  // invalid control sum
  }
  std::size_t accepted = 0;
  for (const CreditTransaction& t : order.transactions) {
    CreditEntry& e = answers.emplace_back();
    e.id = t.payment_info_id;
    e.transfer.id = credit_key_id(t.debtor_iban + "/" + t.end_to_end_id);
    e.transfer.end_to_end_id = t.end_to_end_id;
    if (!t.reason_code.empty()) {
      e.status = "RJCT";
      e.reason_code = t.reason_code;
      continue;
    }
    DirectDebitRequest q;
    q.op = DirectDebitRequest::Op::account_of_iban;
    q.iban = t.debtor_iban;
    const auto owner = co_await ct_store(ctx, q);
    if (!owner) co_return render(read_failed(), version);
    if (!owner->account_found) {
      e.status = "RJCT";
      e.reason_code = "AC02";  // invalid debtor account
      continue;
    }
    if (!t.instant && !sepa::is_business_day(t.day)) {
      e.status = "RJCT";
      e.reason_code = "DT01";
      continue;
    }
    OutgoingCreditTransfer in;
    in.ct.id = e.transfer.id;
    in.ct.outgoing = true;
    in.ct.instant = t.instant;
    in.ct.account = owner->account;
    in.ct.amount = t.amount;
    in.ct.creditor_name = t.creditor_name;
    in.ct.creditor_iban = t.creditor_iban;
    in.ct.creditor_bic = t.creditor_bic;
    in.ct.remittance = t.remittance;
    in.ct.end_to_end_id = t.end_to_end_id;
    in.ct.transaction_id = compact_uuid(in.ct.id);
    in.ct.execution_day = t.day;
    in.date_given = true;
    Outcome o = co_await accept_outgoing(ctx, std::move(in), /*check=*/false);
    if (!o.record) {
      if (o.problem && o.problem->status == status::service_unavailable) {
        co_return render(*o.problem, version);  // nothing decided: the file again, later
      }
      e.status = "RJCT";
      e.reason_code = o.problem && o.problem->code == "exceeds_available"         ? "AM04"
                      : o.problem && o.problem->code == "account_frozen"          ? "AC06"
                      : o.problem && o.problem->code == "account_closed"          ? "AC04"
                      : o.problem && o.problem->code == "duplicate_end_to_end_id" ? "AM05"
                                                                                  : "MS03";
      continue;
    }
    e.transfer = *o.record;
    if (o.record->status == "rejected" || o.record->status == "timed_out") {
      e.status = "RJCT";
      e.reason_code = o.record->reason;
      continue;
    }
    e.status = o.record->status == "settled" ? "ACSC" : "ACCP";
    ++accepted;
  }
  const std::string group = accepted == answers.size() ? "ACCP" : accepted == 0 ? "RJCT" : "PART";
  co_return xml_answer(status::ok, pacs::write_pain002(order, answers, group, "", h), version);
}

// --- Incoming ------------------------------------------------------------------------------

// One incoming credit transfer: credited to the account its IBAN names, or refused with the
// ISO reason. A repeat of the same transaction (same instructing bank and TxId, same content)
// answers as the first time; the same reference with other content is DUPL.
Awaitable<std::optional<CreditEntry>> receive_one(const RouteContext& ctx,
                                                  const CreditTransaction& t,
                                                  const std::string& message_id, bool instant) {
  CreditEntry e;
  CreditTransferRecord& ct = e.transfer;
  ct.outgoing = false;
  ct.instant = instant;
  ct.amount = t.amount;
  ct.creditor_name = t.creditor_name;
  ct.creditor_iban = t.creditor_iban;
  ct.creditor_bic = t.creditor_bic;
  ct.debtor_name = t.debtor_name;
  ct.debtor_iban = t.debtor_iban;
  ct.debtor_bic = t.debtor_bic;
  ct.remittance = t.remittance;
  ct.end_to_end_id = t.end_to_end_id;
  ct.transaction_id = t.transaction_id.empty() ? t.end_to_end_id : t.transaction_id;
  ct.message_id = message_id;
  ct.execution_day = t.day < 0 ? sepa::day_of_ns(ctx.now_ns()) : t.day;
  ct.dedup_key = t.debtor_bic + "/" + ct.transaction_id;
  ct.id = credit_key_id("in/" + ct.dedup_key);
  ct.request_digest = std::to_string(ct.amount) + "|" + ct.creditor_iban + "|" + ct.debtor_iban;
  const auto refuse = [&e](std::string code) {
    e.status = "RJCT";
    e.reason_code = std::move(code);
    return e;
  };
  if (!t.reason_code.empty()) co_return refuse(t.reason_code);  // FF01, AC01, AM12, ...
  if (instant && t.amount > ctx.credit_transfer_policy.inst_max_amount) co_return refuse("AM23");
  // One job: the account the IBAN names, the refusal its journaled state decides, the row.
  const auto inserted = co_await ct_op(ctx, DirectDebitRequest::Op::ct_receive, ct);
  if (!inserted || inserted->credit_transfers.empty()) co_return std::nullopt;
  const CreditTransferRecord& stored = inserted->credit_transfers.front();
  if (!inserted->inserted && (stored.id != ct.id || stored.request_digest != ct.request_digest)) {
    co_return refuse("DUPL");
  }
  ct = stored;
  if (ct.status != "received") {
    // Refused (instant: RJCT now) or to be returned in the next file (regular).
    if (instant) co_return refuse(ct.reason);
    e.status = "RJCT";
    e.reason_code = ct.reason;
    co_return e;
  }
  Transfer credit = step_transfer(ct, credit_transfer_step_id(ct.id, CreditStep::credit),
                                  TransferCode::credit_transfer_in);
  credit.debit_account_id = sct_clearing_account_id();
  credit.credit_account_id = ct.account;
  const auto r = co_await engine(ctx, credit);
  if (!r) co_return std::nullopt;
  if (!done(r->transfer_result())) {
    // Frozen or closed in the meantime: refused (instant) or returned (regular).
    ct.status = instant ? "refused" : "return_due";
    ct.reason = iso_reason_of(r->transfer_result());
    const auto saved = co_await save(ctx, ct);
    if (!saved) co_return std::nullopt;
    co_return refuse(ct.reason);
  }
  e.status = "ACCP";
  co_return e;
}

// POST /v1/credit-transfers/instant-payments: the instant clearing house's pacs.008 (one
// transaction, or a few), answered with a pacs.002 (ACCP, or RJCT with the reason) once the
// credit is durable. A document that cannot be read is answered RJCT FF01 too (a 200 with a
// pacs.002), with the references that could be read.
Awaitable<Response> instant_in(const RouteContext& ctx, const Request& request) {
  const unsigned version = request.version();
  pacs::CreditDocument doc;
  std::string error;
  const pacs::FileHeader h = header_now(ctx, "ANS" + compact_uuid(random_uuid()).substr(0, 30));
  if (!pacs::parse_pacs008(request.body(), &doc, &error)) {
    Problem p{status::bad_request, "invalid_document", error};
    CreditEntry e;
    e.status = "RJCT";
    e.reason_code = "FF01";
    p.members["pacs002"] = pacs::write_credit_pacs002(
        {e}, doc.message_id.empty() ? "NOTPROVIDED" : doc.message_id, "pacs.008", h);
    co_return render(p, version);
  }
  std::vector<CreditEntry> answers;
  for (const CreditTransaction& t : doc.transactions) {
    auto e = co_await receive_one(ctx, t, doc.message_id, /*instant=*/true);
    if (!e) co_return render(read_failed(), version);  // nothing answered: the CSM retries
    answers.push_back(std::move(*e));
  }
  co_return xml_answer(
      status::ok, pacs::write_credit_pacs002(answers, doc.message_id, doc.message, h), version);
}

// --- Files ---------------------------------------------------------------------------------

// POST /v1/credit-transfers/files: the cut-off. Regular transfers due (execution date before
// today, or today once its cut-off has passed) leave in one pacs.008; incoming transfers to be
// returned leave in a pacs.004 (AC01, AC04 ... and recalls the customer accepted); recalls the
// customer refused in a camt.029. Each file has a MsgId of its own and is stored; the transfers
// it holds move on in the same transaction.
Awaitable<std::variant<json, Problem>> cut(const RouteContext& ctx) {
  const std::uint64_t now = ctx.now_ns();
  const std::int32_t today = sepa::day_of_ns(now);
  const bool after_cutoff =
      (now % ns_per_day) / (60 * ns_per_s) >= ctx.credit_transfer_policy.cutoff_minute;
  DirectDebitRequest q;
  q.op = DirectDebitRequest::Op::ct_due;
  q.day = after_cutoff ? today : today - 1;
  q.limit = static_cast<std::uint32_t>(limits::pacs_transactions_max);
  const auto due = co_await ct_store(ctx, q);
  if (!due) co_return read_failed();
  std::vector<CreditEntry> out;
  std::vector<CreditEntry> returns;
  std::vector<CreditEntry> refusals;
  std::vector<CreditEntry> recalls;
  for (const CreditTransferRecord& ct : due->credit_transfers) {
    CreditEntry e;
    e.transfer = ct;
    if (ct.outgoing && ct.status == "accepted") {
      const auto r = co_await settle(ctx, ct);  // the hold posted: the money leaves
      if (!r) co_return unavailable(CallStatus::unavailable);
      if (!done(*r)) continue;  // cannot happen: a held amount is always postable
      out.push_back(std::move(e));
    } else if (!ct.outgoing && ct.status == "return_due") {
      e.reason_code = ct.reason;
      returns.push_back(std::move(e));
    } else if (!ct.outgoing && ct.recall_status == "returned_due") {
      e.reason_code = "FOCR";  // following cancellation request
      e.id = ct.recall_id;
      returns.push_back(std::move(e));
    } else if (ct.outgoing && ct.recall_status == "to_send") {
      e.reason_code = ct.recall_reason;
      e.id = ct.recall_id;
      recalls.push_back(std::move(e));
    } else if (!ct.outgoing && ct.recall_status == "refused_due") {
      e.reason_code = ct.recall_reason.empty() ? "CUST" : ct.recall_reason;
      e.id = ct.recall_id;
      refusals.push_back(std::move(e));
    }
  }
  json files = json::array();
  const auto store_file = [&](const char* kind, const std::vector<CreditEntry>& items,
                              std::string prefix) -> Awaitable<bool> {
    if (items.empty()) co_return true;
    pacs::FileHeader h = header_now(ctx, "");
    std::string day = sepa::format_date(today);
    day.erase(std::remove(day.begin(), day.end(), '-'), day.end());
    h.message_id = prefix + day + "-" + compact_uuid(random_uuid()).substr(0, 12);
    h.day = std::string(kind) == "pacs.008" ? sepa::add_business_days(today, 0) : today;
    const std::string name = kind;
    const std::string document = name == "pacs.008"   ? pacs::write_pacs008(items, h, false)
                                 : name == "pacs.004" ? pacs::write_credit_pacs004(items, h)
                                 : name == "camt.056" ? pacs::write_camt056(items, h)
                                                      : pacs::write_camt029(items, h);
    DirectDebitRequest s;
    s.op = DirectDebitRequest::Op::ct_store_file;
    s.message_id = h.message_id;
    s.file_name = kind;
    s.day = today;
    s.document = document;
    for (const CreditEntry& e : items) s.ids.push_back(e.transfer.id);
    const auto stored = co_await ct_store(ctx, s);
    if (!stored || stored->file_conflict) co_return false;
    std::int64_t total = 0;
    for (const CreditEntry& e : items) total += e.transfer.amount;
    files.push_back(
        json{{"message_id", h.message_id},
             {"kind", kind},
             {"items", items.size()},
             {"total", total},
             {"href", "/v1/credit-transfers/files/" + std::string(kind) + "/" + h.message_id}});
    co_return true;
  };
  bool stored = co_await store_file("pacs.008", out, "SCT");
  if (stored) stored = co_await store_file("pacs.004", returns, "RTN");
  if (stored) stored = co_await store_file("camt.029", refusals, "ROI");
  if (stored) stored = co_await store_file("camt.056", recalls, "RCL");
  if (!stored) co_return read_failed();
  co_return json{{"date", sepa::format_date(today)},
                 {"cutoff_passed", after_cutoff},
                 {"files", std::move(files)}};
}

Awaitable<Response> cut_files(const RouteContext& ctx, const Request& request) {
  auto result = co_await cut(ctx);
  if (const Problem* problem = std::get_if<Problem>(&result)) {
    co_return render(*problem, request.version());
  }
  co_return make_json(status::ok, dump_json(std::get<json>(result)), request.version());
}

Awaitable<Response> files(const RouteContext& ctx, const Request& request, const Parts& parts,
                          const Query& query) {
  const unsigned version = request.version();
  if (parts.size() == 3) {
    if (request.method() == verb::post) co_return co_await cut_files(ctx, request);
    if (request.method() != verb::get) co_return render(method_not_allowed("GET, POST"), version);
    DirectDebitRequest q;
    q.op = DirectDebitRequest::Op::ct_list_files;
    q.day = sepa::day_of_ns(ctx.now_ns());
    if (const auto it = query.find("date"); it != query.end()) {
      const auto day = sepa::parse_date(it->second);
      if (!day) {
        co_return render(detail::query_problem("date", "date must be YYYY-MM-DD"), version);
      }
      q.day = *day;
    }
    const auto reply = co_await ct_store(ctx, q);
    if (!reply) co_return render(read_failed(), version);
    json list = json::array();
    for (const auto& f : reply->files) {
      list.push_back(json{{"message_id", f.message_id},
                          {"kind", f.kind},
                          {"date", f.day},
                          {"items", f.items},
                          {"created_at", f.created_at},
                          {"href", "/v1/credit-transfers/files/" + f.kind + "/" + f.message_id}});
    }
    co_return make_json(status::ok, dump_json(json{{"files", std::move(list)}}), version);
  }
  if (parts.size() != 5) co_return render(route_not_found(request.target()), version);
  if (request.method() != verb::get) co_return render(method_not_allowed("GET"), version);
  DirectDebitRequest q;
  q.op = DirectDebitRequest::Op::ct_get_file;
  q.file_name = std::string(parts[3]).substr(0, 16);
  q.message_id = std::string(parts[4]).substr(0, 35);
  const auto reply = co_await ct_store(ctx, q);
  if (!reply) co_return render(read_failed(), version);
  if (reply->document.empty() || q.file_name.rfind("in:", 0) == 0) {
    co_return render(Problem{status::not_found, "file_not_found", "no such file"}, version);
  }
  co_return xml_answer(status::ok, reply->document, version);
}

// POST /v1/credit-transfers/import: what the clearing house sends: a pacs.008 (regular SCT
// in), a pacs.002 (rejects of what ledgerd sent, or a late instant answer), a pacs.004
// (returns of what ledgerd sent) or a camt.056 (recalls of what ledgerd received). Each entry
// is applied once (steps are idempotent); a file seen before (by MsgId) changes nothing.
Awaitable<Response> import_file(const RouteContext& ctx, const Request& request) {
  const unsigned version = request.version();
  const std::string_view body = request.body();
  json results = json::array();
  std::string message_id;
  std::string kind;     // "pacs.008", "camt.056", ...
  std::string message;  // with its version: "pacs.008.001.08"
  std::size_t count = 0;
  // What the import did (nothing, for a file imported before).
  const auto answer = [&](bool before) {
    return make_json(status::ok,
                     dump_json(json{{"message_id", message_id},
                                    {"message", message},
                                    {"already_imported", before},
                                    {"results", before ? json::array() : std::move(results)}}),
                     version);
  };
  const auto seen = [&]() -> Awaitable<std::optional<bool>> {
    DirectDebitRequest q;
    q.op = DirectDebitRequest::Op::ct_get_file;
    q.file_name = "in:" + kind;
    q.message_id = message_id;
    const auto reply = co_await ct_store(ctx, q);
    if (!reply) co_return std::nullopt;
    co_return !reply->document.empty();
  };
  if (body.find("urn:iso:std:iso:20022:tech:xsd:pacs.008.") != std::string_view::npos) {
    pacs::CreditDocument doc;
    std::string error;
    if (!pacs::parse_pacs008(body, &doc, &error)) {
      co_return render(Problem{status::bad_request, "invalid_document", error}, version);
    }
    message_id = doc.message_id;
    kind = "pacs.008";
    message = doc.message;
    const auto before = co_await seen();
    if (!before) co_return render(read_failed(), version);
    if (*before) co_return answer(true);
    for (const CreditTransaction& t : doc.transactions) {
      auto e = co_await receive_one(ctx, t, doc.message_id, /*instant=*/false);
      if (!e) co_return render(read_failed(), version);
      json r{{"end_to_end_id", t.end_to_end_id},
             {"transaction_id", t.transaction_id},
             {"result", e->status == "ACCP" ? "received" : "refused"}};
      if (e->status != "ACCP") {
        r["reason"] = e->reason_code;
        r["returned_in_next_file"] = e->reason_code != "DUPL" && !e->transfer.id.is_zero() &&
                                     e->transfer.status == "return_due";
      } else {
        r["credit_transfer_id"] = format_uuid(e->transfer.id);
      }
      results.push_back(std::move(r));
    }
    count = doc.transactions.size();
  } else {
    pacs::CreditStatusDocument doc;
    std::string error;
    if (!pacs::parse_credit_status(body, &doc, &error)) {
      co_return render(Problem{status::bad_request, "invalid_document", error}, version);
    }
    message_id = doc.message_id;
    kind = doc.message.substr(0, 8);
    message = doc.message;
    const auto before = co_await seen();
    if (!before) co_return render(read_failed(), version);
    if (*before) co_return answer(true);
    for (const pacs::CreditStatus& s : doc.entries) {
      json r{{"end_to_end_id", s.end_to_end_id}, {"transaction_id", s.transaction_id}};
      if (!s.problem.empty()) {
        r["result"] = "set_aside";
        r["reason"] = s.problem;
        results.push_back(std::move(r));
        continue;
      }
      // Which credit transfers: by the transaction id ledgerd gave (outgoing) or received
      // (camt.056 of an incoming one); a whole pacs.008 rejected names only its MsgId.
      std::vector<CreditTransferRecord> targets;
      DirectDebitRequest fq;
      fq.op = DirectDebitRequest::Op::ct_find;
      fq.credit_transfer.outgoing = kind != "camt.056";
      fq.credit_transfer.transaction_id = s.transaction_id;
      fq.credit_transfer.end_to_end_id = s.end_to_end_id;
      fq.credit_transfer.message_id = s.original_message_id;
      if (!s.transaction_id.empty() || !s.end_to_end_id.empty() ||
          (kind == "pacs.002" && !s.original_message_id.empty())) {
        const auto found = co_await ct_store(ctx, fq);
        if (!found) co_return render(read_failed(), version);
        targets = found->credit_transfers;
      }
      if (targets.empty()) {
        r["result"] = "set_aside";
        r["reason"] = "no credit transfer has this transaction id";
        results.push_back(std::move(r));
        continue;
      }
      r["credit_transfer_id"] = format_uuid(targets.front().id);
      // A whole file rejected (pacs.002 GrpSts RJCT): each regular transfer it held.
      for (std::size_t i = 1; kind == "pacs.002" && s.status == "RJCT" && i < targets.size(); ++i) {
        CreditTransferRecord other = targets[i];
        if (other.instant || other.status != "sent") continue;
        const auto back = co_await give_back(ctx, other, /*rejected=*/true);
        if (!back) co_return render(unavailable(CallStatus::unavailable), version);
        other.status = "rejected";
        other.reason = s.reason_code.substr(0, 4);
        const auto saved = co_await save(ctx, other);
        if (!saved) co_return render(read_failed(), version);
      }
      if (targets.size() > 1) r["credit_transfers"] = targets.size();
      CreditTransferRecord ct = targets.front();
      if (kind == "pacs.002") {
        if (ct.instant) {
          auto applied = co_await apply_instant_status(ctx, ct, s.status, s.reason_code);
          if (!applied) co_return render(unavailable(CallStatus::unavailable), version);
          r["result"] = applied->status;
        } else if (s.status == "RJCT" && ct.status == "sent") {
          const auto back = co_await give_back(ctx, ct, /*rejected=*/true);
          if (!back) co_return render(unavailable(CallStatus::unavailable), version);
          ct.status = "rejected";
          ct.reason = s.reason_code.substr(0, 4);
          const auto saved = co_await save(ctx, ct);
          if (!saved) co_return render(read_failed(), version);
          r["result"] = "rejected";
        } else {
          r["result"] = ct.status;  // an acceptance, or a reject of one already settled
        }
      } else if (kind == "pacs.004") {
        if (ct.status == "sent" || ct.status == "settled") {
          const auto back = co_await give_back(ctx, ct, /*rejected=*/false);
          if (!back) co_return render(unavailable(CallStatus::unavailable), version);
          ct.status = "returned";
          ct.reason = s.reason_code.substr(0, 4);
          if (ct.recall_status == "sent") ct.recall_status = "returned";  // the recall's answer
          const auto saved = co_await save(ctx, ct);
          if (!saved) co_return render(read_failed(), version);
        }
        r["result"] = ct.status;
      } else if (kind == "camt.029") {  // the payee's bank refused a recall ledgerd sent
        if (ct.recall_status == "sent" && s.status == "RJCR") {
          ct.recall_status = "refused";
          ct.recall_reason = s.reason_code.substr(0, 4);
          const auto saved = co_await save(ctx, ct);
          if (!saved) co_return render(read_failed(), version);
        }
        r["result"] = ct.recall_status.empty() ? "no_recall" : "recall_" + ct.recall_status;
      } else {  // camt.056: the customer decides (POST .../recall-decision)
        if (ct.recall_status.empty() && ct.status == "received") {
          ct.recall_status = "requested";
          ct.recall_id = s.id.substr(0, 35);
          ct.recall_reason = s.reason_code.substr(0, 4);
          const auto saved = co_await save(ctx, ct);
          if (!saved) co_return render(read_failed(), version);
        }
        r["result"] = ct.recall_status.empty() ? "not_recallable" : "recall_" + ct.recall_status;
      }
      results.push_back(std::move(r));
    }
    count = doc.entries.size();
  }
  DirectDebitRequest m;
  m.op = DirectDebitRequest::Op::ct_mark_imported;
  m.message_id = message_id;
  m.file_name = "in:" + kind;
  m.day = sepa::day_of_ns(ctx.now_ns());
  m.file_items = static_cast<std::uint32_t>(count);
  m.document = std::string(body.substr(0, 1 << 20));
  const auto marked = co_await ct_store(ctx, m);
  if (!marked) co_return render(read_failed(), version);
  co_return answer(false);
}

// POST /v1/credit-transfers/{id}/recall-decision {accept, reason?}: the customer's answer to a
// recall of money it received. accept: the money goes back (one engine step, customer ->
// clearing; refused 422 when the balance does not cover it) in the next pacs.004; refuse: a
// camt.029 (reason CUST by default, or AC04, AM04, LEGL, NOOR, ARDT, NOAS).
Awaitable<Response> recall_decision(const RouteContext& ctx, const Request& request,
                                    CreditTransferRecord ct) {
  const unsigned version = request.version();
  auto mapped = map_recall_decision(body_of(request));
  if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
  const RecallDecision decision = std::get<RecallDecision>(std::move(mapped));
  if (ct.outgoing || ct.recall_status.empty()) {
    co_return render(Problem{status::conflict, "no_recall",
                             "no recall of this credit transfer waits for a decision"},
                     version);
  }
  if (ct.recall_status != "requested") co_return record_answer(ct, status::ok, version);
  if (decision.accept) {
    Transfer back = step_transfer(ct, credit_transfer_step_id(ct.id, CreditStep::ret),
                                  TransferCode::credit_transfer_return);
    back.debit_account_id = ct.account;
    back.credit_account_id = sct_clearing_account_id();
    const auto r = co_await engine(ctx, back);
    if (!r) co_return render(unavailable(CallStatus::unavailable), version);
    if (!done(r->transfer_result())) {
      co_return render(detail::transfer_problem(*r, status::unprocessable_entity), version);
    }
    ct.recall_status = "returned_due";
    ct.status = "returned";
  } else {
    ct.recall_status = "refused_due";
    ct.recall_reason = decision.reason;
  }
  auto saved = co_await save(ctx, ct);
  if (!saved) co_return render(read_failed(), version);
  co_return record_answer(*saved, status::ok, version);
}

// POST /v1/credit-transfers/{id}/recall {reason}: a transfer this bank sent in error is
// recalled (camt.056 in the next cut). The payee's bank answers with a pacs.004 (the money
// back: returned) or a camt.029 (refused), both read by /import.
Awaitable<Response> recall(const RouteContext& ctx, const Request& request,
                           CreditTransferRecord ct) {
  const unsigned version = request.version();
  auto mapped = map_recall_request(body_of(request));
  if (const Problem* problem = problem_of(mapped)) co_return render(*problem, version);
  if (!ct.outgoing || (ct.status != "sent" && ct.status != "settled")) {
    co_return render(Problem{status::conflict, "not_recallable",
                             "only a credit transfer this bank sent (status sent or settled) can "
                             "be recalled"},
                     version);
  }
  if (!ct.recall_status.empty()) co_return record_answer(ct, status::ok, version);  // a repeat
  ct.recall_status = "to_send";
  ct.recall_reason = std::get<std::string>(std::move(mapped));
  ct.recall_id = "R" + compact_uuid(ct.id);
  auto saved = co_await save(ctx, ct);
  if (!saved) co_return render(read_failed(), version);
  co_return record_answer(*saved, status::ok, version);
}

}  // namespace

Awaitable<void> run_credit_transfer_cutoff(const RouteContext& ctx) {
  auto executor = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer timer(executor);
  std::int32_t cut_day = -1;
  for (;;) {
    timer.expires_after(std::chrono::seconds(10));
    co_await timer.async_wait(boost::asio::use_awaitable);
    const std::uint64_t now = ctx.now_ns();
    const std::int32_t today = sepa::day_of_ns(now);
    const bool after_cutoff =
        (now % ns_per_day) / (60 * ns_per_s) >= ctx.credit_transfer_policy.cutoff_minute;
    if (cut_day == today || !after_cutoff || !sepa::is_business_day(today)) continue;
    auto result = co_await cut(ctx);
    if (const Problem* problem = std::get_if<Problem>(&result)) {
      spdlog::warn("event=sct_cutoff_failed code={} detail=\"{}\" retry_s=10", problem->code,
                   problem->detail);
      continue;  // the engine or the database did not answer: again in 10 s
    }
    cut_day = today;
    for (const json& f : std::get<json>(result)["files"]) {
      spdlog::info("event=sct_file_cut kind={} message_id={} items={} total={}",
                   f["kind"].get<std::string>(), f["message_id"].get<std::string>(),
                   f["items"].get<std::size_t>(), f["total"].get<std::int64_t>());
    }
  }
}

Awaitable<Response> route_credit_transfers(const RouteContext& ctx, const Request& request,
                                           const Parts& parts, const Query& query) {
  const verb method = request.method();
  const unsigned version = request.version();
  const std::size_t n = parts.size();
  if (ctx.direct_debits == nullptr) co_return render(read_failed(), version);
  if (n == 2) {
    if (method == verb::post) co_return co_await create(ctx, request);
    if (method != verb::get) co_return render(method_not_allowed("GET, POST"), version);
    std::string unknown;
    if (!detail::only_known(query, {"account_id", "limit"}, &unknown)) {
      co_return render(detail::query_problem(unknown, "unknown query parameter " + unknown),
                       version);
    }
    const auto account = query.find("account_id");
    if (account == query.end()) {
      co_return render(detail::query_problem("account_id", "account_id is required"), version);
    }
    const auto id = parse_uuid(account->second);
    if (!id)
      co_return render(detail::query_problem("account_id", "account_id must be a UUID"), version);
    DirectDebitRequest q;
    q.op = DirectDebitRequest::Op::ct_list;
    q.account = AccountId{*id};
    if (!detail::read_limit(query, 100, 1000, &q.limit)) {
      co_return render(detail::query_problem("limit", "limit must be an integer from 1 to 1000"),
                       version);
    }
    const auto reply = co_await ct_store(ctx, q);
    if (!reply) co_return render(read_failed(), version);
    json list = json::array();
    for (const CreditTransferRecord& c : reply->credit_transfers)
      list.push_back(credit_transfer_json(c));
    co_return make_json(status::ok, dump_json(json{{"credit_transfers", std::move(list)}}),
                        version);
  }
  if (n == 3 && parts[2] == "instant-payments") {
    if (method != verb::post) co_return render(method_not_allowed("POST"), version);
    co_return co_await instant_in(ctx, request);
  }
  if (n == 3 && parts[2] == "payment-orders") {
    if (method != verb::post) co_return render(method_not_allowed("POST"), version);
    co_return co_await payment_order(ctx, request);
  }
  if (n == 3 && parts[2] == "import") {
    if (method != verb::post) co_return render(method_not_allowed("POST"), version);
    co_return co_await import_file(ctx, request);
  }
  if (n >= 3 && parts[2] == "files") co_return co_await files(ctx, request, parts, query);
  if (n > 4 || (n == 4 && parts[3] != "recall-decision" && parts[3] != "status-check" &&
                parts[3] != "recall")) {
    co_return render(route_not_found(request.target()), version);
  }
  if (n == 3 && method != verb::get) co_return render(method_not_allowed("GET"), version);
  if (n == 4 && method != verb::post) co_return render(method_not_allowed("POST"), version);
  const auto id = path_id(parts[2], "credit transfer");
  if (const Problem* problem = problem_of(id)) co_return render(*problem, version);
  DirectDebitRequest q;
  q.op = DirectDebitRequest::Op::ct_get;
  q.credit_transfer.id = std::get<Uint128>(id);
  const auto reply = co_await ct_store(ctx, q);
  if (!reply) co_return render(read_failed(), version);
  if (reply->credit_transfers.empty()) {
    co_return render(not_found("credit transfer", q.credit_transfer.id), version);
  }
  CreditTransferRecord ct = reply->credit_transfers.front();
  if (n == 4 && parts[3] == "recall-decision") co_return co_await recall_decision(ctx, request, ct);
  if (n == 4 && parts[3] == "recall") co_return co_await recall(ctx, request, ct);
  if (n == 4) {
    // The status of an instant transfer that timed out, asked again (pacs.028).
    if (!ct.outgoing || !ct.instant || (ct.status != "timed_out" && ct.status != "sending")) {
      co_return record_answer(ct, status::ok, version);
    }
    if (ct.status == "sending") {
      // Interrupted between sending and the answer (a crash): released first, then asked.
      const auto r = co_await release(ctx, ct);
      if (!r) co_return render(unavailable(CallStatus::unavailable), version);
      ct.status = "timed_out";
      ct.reason = "AB06";
      auto saved = co_await save(ctx, ct);
      if (!saved) co_return render(read_failed(), version);
      ct = *saved;
    }
    auto checked = co_await status_check(ctx, ct);
    if (!checked) co_return render(unavailable(CallStatus::unavailable), version);
    co_return record_answer(*checked, status::ok, version);
  }
  co_return record_answer(ct, status::ok, version);
}

}  // namespace ledger::http
