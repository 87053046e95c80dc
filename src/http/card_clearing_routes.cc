// /v1/card-clearing, /v1/disputes and /v1/card-transactions (docs/card-clearing.md): the
// scheme's clearing files in (each record one engine command that finds its authorization and
// posts), the chargebacks out, the disputes behind them, and a card transaction as its
// cardholder sees it.
//
// Each record's posting and each dispute step is one engine transfer whose id is derived from
// the record (its acquirer reference data and function) or the dispute, so importing a file
// again, a retry, or a second cut finds the step done ("exists") and changes nothing.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <map>

#include "http/mapping_support.h"
#include "http/routes.h"
#include "ledger/card_ids.h"
#include "ledger/card_rules.h"
#include "ledger/clearing_file.h"
#include "ledger/disputes.h"
#include "ledger/pan_hash.h"
#include "ledger/parse.h"
#include "ledger/sepa.h"
#include "ledger/units.h"
#include "net/ledger_call.h"
#include "outbound/crypto.h"

namespace ledger::http {
namespace {

using bhttp::status;
using bhttp::verb;
using nlohmann::json;
namespace cf = ledger::clearing;

constexpr std::size_t commands_per_call = 256;

// --- Store -----------------------------------------------------------------------------------

enum class Op {
  dispute_by_reference,
  dispute_get,
  dispute_insert,
  dispute_list,
  dispute_update,
  disputes_due,
  file_begin,
  file_finish,
  file_get,
  file_list,
  file_records,
  file_store_out,
  record_of_transfer,
  records_put,
  transaction
};

std::string op_name(Op op) {
  switch (op) {
    case Op::dispute_by_reference:
      return "dispute_by_reference";
    case Op::dispute_get:
      return "dispute_get";
    case Op::dispute_insert:
      return "dispute_insert";
    case Op::dispute_list:
      return "dispute_list";
    case Op::dispute_update:
      return "dispute_update";
    case Op::disputes_due:
      return "disputes_due";
    case Op::file_begin:
      return "file_begin";
    case Op::file_finish:
      return "file_finish";
    case Op::file_get:
      return "file_get";
    case Op::file_list:
      return "file_list";
    case Op::file_records:
      return "file_records";
    case Op::file_store_out:
      return "file_store_out";
    case Op::record_of_transfer:
      return "record_of_transfer";
    case Op::records_put:
      return "records_put";
    case Op::transaction:
      return "transaction";
  }
  return {};
}

// One statement of journal/clearing_sql.cc: its JSON rows, or nullopt (store unavailable).
Awaitable<std::optional<std::vector<json>>> store(const RouteContext& ctx, Op which,
                                                  const json& args, std::string expect = {},
                                                  bool* conflict = nullptr) {
  if (ctx.direct_debits == nullptr) co_return std::nullopt;
  DirectDebitRequest q;
  q.op = DirectDebitRequest::Op::card_sql;
  const std::string op = op_name(which);
  q.card_op = op;
  q.card_args = args.dump();
  q.card_expect = std::move(expect);
  auto reply = co_await await_read<DirectDebitReply>(
      [&](auto done) { return ctx.direct_debits->direct_debits(q, std::move(done)); },
      ctx.ledger_timeout);
  if (!reply) co_return std::nullopt;
  if (!reply->first.ok()) {
    spdlog::warn("event=card_clearing_store_failed op={} error=\"{}\"", op, reply->first.message());
    co_return std::nullopt;
  }
  if (conflict != nullptr) *conflict = reply->second.file_conflict;
  std::vector<json> rows;
  for (const std::string& row : reply->second.card_rows) {
    json parsed = json::parse(row, nullptr, false);
    if (parsed.is_discarded()) {
      spdlog::error("event=card_clearing_store_answer_unreadable op={}", op);
      co_return std::nullopt;
    }
    rows.push_back(std::move(parsed));
  }
  co_return rows;
}

// --- Small pieces ----------------------------------------------------------------------------

std::string currency_text(std::uint16_t numeric) {
  const auto c = currency_from_numeric(numeric);
  return c ? std::string(currency_alpha(*c)) : std::string();
}

// The scheme of a card number by its leading digits (for the settlement report).
std::string scheme_of(std::string_view pan) {
  if (pan.empty()) return "other";
  if (pan[0] == '4') return "visa";
  std::uint64_t two = 0;
  std::uint64_t four = 0;
  (void)parse_digits(pan.substr(0, 2), &two);
  (void)parse_digits(pan.substr(0, 4), &four);
  if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720)) return "mastercard";
  return "other";
}

// A record's id: its acquirer reference data (which the scheme keeps unique per transaction),
// its function and whether it is a reversal.
TransferId record_id(std::string_view acquirer_reference, std::uint16_t function, bool reversal) {
  return TransferId{derived_id(
      Uint128{0x434C454152494E47ULL, 0x1240ULL},
      std::string(acquirer_reference) + "|" + std::to_string(function) + (reversal ? "|R" : ""))};
}

// YYMMDD -> days since 1970 (0: none or not a date).
std::int32_t day_of_yymmdd(std::string_view t) {
  std::uint64_t v = 0;
  if (t.size() < 6 || !parse_digits(t.substr(0, 6), &v)) return 0;
  const int year = 2000 + static_cast<int>(v / 10000);
  const int month = static_cast<int>(v / 100 % 100);
  const int day = static_cast<int>(v % 100);
  if (month < 1 || month > 12 || day < 1 || day > 31) return 0;
  return sepa::days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
}

std::string iso_date(std::int32_t day) { return sepa::format_date(day); }

std::string kind_name(cf::RecordKind kind) {
  switch (kind) {
    case cf::RecordKind::first_presentment:
      return "first_presentment";
    case cf::RecordKind::second_presentment:
      return "second_presentment";
    case cf::RecordKind::presentment_reversal:
      return "presentment_reversal";
    case cf::RecordKind::chargeback:
      return "chargeback";
    default:
      return "unknown";
  }
}

std::string match_name(std::uint8_t detail) {
  switch (static_cast<ClearingMatch>(detail)) {
    case ClearingMatch::life_cycle:
      return "life_cycle";
    case ClearingMatch::approval_code:
      return "approval_code";
    case ClearingMatch::none:
      break;
  }
  return "none";
}

std::string outcome_name(std::uint8_t detail) {
  switch (static_cast<ClearingOutcome>(detail)) {
    case ClearingOutcome::posted:
      return "posted";
    case ClearingOutcome::posted_beyond_tolerance:
      return "posted_beyond_tolerance";
    case ClearingOutcome::posted_again:
      return "posted_again";
    case ClearingOutcome::force_unknown:
      return "force_posted_unknown_authorization";
    case ClearingOutcome::force_expired:
      return "force_posted_expired_authorization";
    case ClearingOutcome::force_released:
      return "force_posted_released_authorization";
    case ClearingOutcome::refunded:
      return "refunded";
    case ClearingOutcome::reversed:
      return "reversed";
    case ClearingOutcome::completed_online:
      return "completed_online";
  }
  return "";
}

// The authorization part of a card transaction's view.
json authorization_view(const Transfer& t) {
  char code[6];
  card_ids::approval_code_text(card_ids::approval_code_value(t.id), code);
  char life[20];
  std::snprintf(life, sizeof life, "%016llX",
                static_cast<unsigned long long>(card_ids::life_cycle_key(t.id)));
  const char* hold = t.pending_state == PendingState::open      ? "open"
                     : t.pending_state == PendingState::posted  ? "posted"
                     : t.pending_state == PendingState::voided  ? "released"
                     : t.pending_state == PendingState::expired ? "expired"
                                                                : "none";
  return {{"transfer_id", format_uuid(t.id.value)},
          {"card_id", format_uuid(Uint128{t.reference_a, t.reference_b})},
          {"account_id", format_uuid(t.debit_account_id.value)},
          {"amount", t.amount_effective},
          {"currency", std::string(currency_alpha(t.currency))},
          {"approval_code", std::string(code, 6)},
          {"life_cycle_id", std::string(life)},
          {"hold", hold},
          {"authorized_at", format_time(t.timestamp)}};
}

std::string reason_words(TransferResult r) {
  switch (r) {
    case TransferResult::card_unknown:
      return "unknown_card: no card of ledgerd has this card number (DE2)";
    case TransferResult::currency_mismatch:
      return "currency: the cardholder billing currency (DE51, else DE49) is not the card "
             "account's";
    case TransferResult::nothing_to_reverse:
      return "nothing_to_reverse: no presentment with this acquirer reference data was posted";
    case TransferResult::account_closed:
      return "account_closed: the card's account is closed";
    default:
      return std::string(to_string(r)) + ": " + reason_in_words(r);
  }
}

// Lets the other sessions of this thread (ISO 8583 links among them) run: a big file's
// preparation is cut into slices so that no authorization waits behind it.
Awaitable<void> yield_to_others() {
  auto executor = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(executor, boost::asio::use_awaitable);
}

constexpr std::size_t records_per_slice = 256;

boost::asio::thread_pool& file_reader_pool() {
  static boost::asio::thread_pool pool(1);
  return pool;
}
// An import's answer lists its records up to this many (beyond: GET .../files/in/{file_id}).
constexpr std::size_t records_in_answer_max = 2000;

// --- Dispute steps -------------------------------------------------------------------------

std::string now_text(const RouteContext& ctx) { return format_time(ctx.now_ns()); }

json history_entry(const RouteContext& ctx, std::string step, std::string detail = {}) {
  json e{{"at", now_text(ctx)}, {"step", std::move(step)}};
  if (!detail.empty()) e["detail"] = std::move(detail);
  return e;
}

bool done(TransferResult r) { return r == TransferResult::ok || r == TransferResult::exists; }

// One dispute step: an engine transfer carrying the dispute's id. nullopt: no durable answer.
Awaitable<std::optional<TransferResult>> step(const RouteContext& ctx, Uint128 dispute,
                                              DisputeStep which, AccountId debit, AccountId credit,
                                              std::int64_t amount, Currency currency,
                                              TransferCode code, std::uint16_t flags,
                                              TransferId pending = {}) {
  Command command;
  command.kind = CommandKind::create_transfer;
  Transfer& t = command.body.transfer;
  t = Transfer{};
  t.id = dispute_step_id(dispute, which);
  t.debit_account_id = debit;
  t.credit_account_id = credit;
  t.amount = amount;
  t.currency = currency;
  t.code = code;
  t.flags = flags;
  t.pending_id = pending;
  t.reference_a = dispute.hi;
  t.reference_b = dispute.lo;
  if (!pending.is_zero()) {
    t.debit_account_id = AccountId{};
    t.credit_account_id = AccountId{};
  }
  const CallResult r = co_await call_ledger(ctx.sink, command, ctx.ledger_timeout);
  if (r.status != CallStatus::durable) co_return std::nullopt;
  co_return r.result.transfer_result();
}

struct DisputeMoney {
  Uint128 id;
  AccountId account;
  Currency currency;
  std::int64_t amount = 0;
  bool provisional = false;
};

std::optional<DisputeMoney> money_of(const json& d) {
  DisputeMoney m;
  const auto id = parse_uuid(d.value("id", ""));
  const auto account = parse_uuid(d.value("account_id", ""));
  const auto currency = currency_from_alpha(d.value("currency", ""));
  if (!id || !account || !currency) return std::nullopt;
  m.id = *id;
  m.account = AccountId{*account};
  m.currency = *currency;
  m.amount = d.value("amount", std::int64_t{0});
  m.provisional = d.value("provisional_credit", false);
  return m;
}

// The outcome of a charged-back dispute: re-presented for r (the acquirer's second
// presentment), or not re-presented in time (r = 0). ledger/disputes.h has the postings.
Awaitable<bool> decide_dispute(const RouteContext& ctx, const json& d, std::int64_t r,
                               const std::string& cause, json* outcome) {
  const auto m = money_of(d);
  if (!m) co_return false;
  r = std::clamp<std::int64_t>(r, 0, m->amount);
  const std::int64_t w = m->amount - r;
  const AccountId S = card_settlement_account_id(m->currency);
  const AccountId D = card_disputes_account_id(m->currency);
  const AccountId P = card_provisional_account_id(m->currency);
  if (r > 0) {
    const auto code = !m->provisional && w == 0 ? TransferCode::dispute_lost
                                                : TransferCode::dispute_representment;
    const auto s = co_await step(ctx, m->id, DisputeStep::represent, D, S, r, m->currency, code, 0);
    if (!s || !done(*s)) co_return false;
  }
  if (w > 0) {
    const auto s = co_await step(ctx, m->id, DisputeStep::won, D, m->provisional ? P : m->account,
                                 w, m->currency, TransferCode::dispute_won, flag_force);
    if (!s || !done(*s)) co_return false;
  }
  if (r > 0 && m->provisional) {
    const auto s = co_await step(ctx, m->id, DisputeStep::lost, m->account, P, r, m->currency,
                                 TransferCode::dispute_lost, flag_force);
    if (!s || !done(*s)) co_return false;
  }
  const std::string status = w == 0 ? "lost" : "won";
  json update{{"id", d["id"]},
              {"status", status},
              {"from_status", "charged_back"},
              {"representment_amount", r},
              {"history_entry",
               json::array({history_entry(ctx, status,
                                          cause == "representment"
                                              ? "the acquirer re-presented " + std::to_string(r)
                                              : "no second presentment within the window")})}};
  const auto rows = co_await store(ctx, Op::dispute_update, update);
  if (!rows) co_return false;
  *outcome = rows->empty() ? d : (*rows)[0];
  co_return true;
}

// --- Import ------------------------------------------------------------------------------

struct Settlement {  // per scheme and settlement currency
  std::int64_t debits = 0;
  std::int64_t credits = 0;
  std::uint32_t count = 0;
};

Awaitable<Response> import_file(const RouteContext& ctx, const Request& request) {
  const unsigned version = request.version();
  // Reading a day's file takes tens of milliseconds: on a thread of its own, not this one,
  // which also answers card network links.
  const std::string_view bytes = request.body();
  const cf::File file = co_await boost::asio::co_spawn(
      file_reader_pool().get_executor(),
      [bytes]() -> Awaitable<cf::File> { co_return cf::read_file(bytes); },
      boost::asio::use_awaitable);
  if (!file.refused.empty()) {
    spdlog::warn("event=card_clearing_file_refused reason=\"{}\"", file.refused);
    co_return render(Problem{status::unprocessable_entity, "clearing_file_refused",
                             "the clearing file is refused whole: " + file.refused},
                     version);
  }
  std::string file_id = file.file_id;
  if (file_id.empty()) {
    const Uint128 h = derived_id(Uint128{1, 2}, request.body());
    file_id = "sha-" + format_uuid(h);
  }
  const std::int32_t processing_day = day_of_yymmdd(file.processing_date);
  json begin{{"file_id", file_id},
             {"processing_date", processing_day != 0 ? json(iso_date(processing_day)) : json()}};
  const auto started = co_await store(ctx, Op::file_begin, begin);
  if (!started || started->empty()) co_return render(read_failed(), version);
  const json& head = (*started)[0];
  if (!head.value("inserted", false) && head["file"].value("status", "") == "imported") {
    json report = head["file"]["report"];
    report["already_imported"] = true;
    co_return make_json(status::ok, dump_json(report), version);
  }
  // The records, in order, as engine commands (a record set aside by the reader or here gets
  // none). Second presentments answer a chargeback: they go to the dispute.
  struct Item {
    const cf::Record* record;
    json row;
    std::optional<Command> command;
    std::optional<json> dispute;
  };
  std::vector<Item> items;
  items.reserve(file.records.size());
  for (const cf::Record& r : file.records) {
    if (r.index % records_per_slice == 0) co_await yield_to_others();
    Item item{&r, json::object(), std::nullopt, std::nullopt};
    const bool billing = r.message.has(6) && r.message.has(51);
    json& row = item.row;
    row = {
        {"file_id", file_id},
        {"record_index", r.index},
        {"kind", kind_name(r.kind)},
        {"function_code", r.function_code},
        {"status", "set_aside"},
        {"reason", r.set_aside},
        {"transfer_id", nullptr},
        {"authorization_id", nullptr},
        {"card_id", nullptr},
        {"account_id", nullptr},
        {"match", ""},
        {"outcome", ""},
        {"acquirer_reference", r.acquirer_reference},
        {"approval_code", r.approval_code},
        {"life_cycle", r.life_cycle},
        {"amount", static_cast<std::int64_t>(r.amount)},
        {"currency", currency_text(r.currency)},
        {"billing_amount", static_cast<std::int64_t>(r.billing_amount)},
        {"billing_currency", currency_text(r.billing_currency)},
        {"billing_rate", r.billing_rate},
        {"reconciliation_amount", static_cast<std::int64_t>(r.reconciliation_amount)},
        {"reconciliation_currency", currency_text(r.reconciliation_currency)},
        {"posted_amount", 0},
        {"authorized_amount", 0},
        {"credit", r.credit},
        {"scheme", scheme_of(r.pan)},
        {"mcc", r.mcc != 0 ? std::to_string(r.mcc) : std::string()},
        {"merchant_name", r.merchant_name},
        {"merchant_city", r.merchant_city},
        {"merchant_country", r.merchant_country},
        {"transaction_time", r.local_time},
        {"processing_date", r.processing_date.empty() ? file.processing_date : r.processing_date}};
    if (!r.set_aside.empty()) {
      items.push_back(std::move(item));
      continue;
    }
    if (r.kind == cf::RecordKind::chargeback) {
      row["reason"] =
          "chargeback_in: ledgerd is the issuer; it sends chargebacks (POST /v1/disputes) and does "
          "not take them";
      items.push_back(std::move(item));
      continue;
    }
    if (r.kind == cf::RecordKind::second_presentment) {
      const json by_reference{{"acquirer_reference", r.acquirer_reference}};
      const auto found = co_await store(ctx, Op::dispute_by_reference, by_reference);
      if (!found) co_return render(read_failed(), version);
      if (found->empty()) {
        row["reason"] =
            "no_chargeback: a second presentment for which no chargeback of ledgerd is open";
      } else {
        item.dispute = (*found)[0];
        row["status"] = "representment";
        row["reason"] = "";
      }
      items.push_back(std::move(item));
      continue;
    }
    Command command;
    command.kind = CommandKind::clear_card;
    CardClearing& c = command.body.clearing;
    c = CardClearing{};
    const bool reversal = r.kind == cf::RecordKind::presentment_reversal;
    const std::uint16_t reversed_function =
        r.function_code == 400 ? std::uint16_t{200} : r.function_code;
    c.id =
        record_id(r.acquirer_reference, reversal ? reversed_function : r.function_code, reversal);
    c.original = record_id(r.acquirer_reference, reversed_function, false);
    c.kind = reversal ? ClearingKind::reversal
                      : (r.credit ? ClearingKind::refund : ClearingKind::presentment);
    pan_hash(ctx.pan_secret, r.pan, c.pan_hash);
    std::uint64_t key = 0;
    if (r.life_cycle.size() == 16) {
      // 16 hex digits (ledgerd's, from the 0110's DE63); anything else cannot be ours.
      std::uint64_t v = 0;
      bool hex = true;
      for (char ch : r.life_cycle) {
        const int d = ch >= '0' && ch <= '9'   ? ch - '0'
                      : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                      : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                                               : -1;
        if (d < 0) hex = false;
        v = v * 16 + static_cast<std::uint64_t>(d < 0 ? 0 : d);
      }
      if (hex) key = v;
    }
    c.life_cycle = key;
    c.approval_code = card_ids::approval_code_parse(r.approval_code.data(), r.approval_code.size());
    c.amount = static_cast<std::int64_t>(billing ? r.billing_amount : r.amount);
    c.currency = *currency_from_numeric(billing ? r.billing_currency : r.currency);
    c.mcc = r.mcc;
    if (const auto* group =
            iso8583::over_capture_group(ctx.card_clearing_policy.card_rules, r.mcc)) {
      c.over_capture_pct = group->percent;
      c.over_capture_max = group->maximum;
    }
    const std::int32_t txn_day = day_of_yymmdd(r.local_time);
    c.transaction_ns = txn_day > 0 ? static_cast<std::uint64_t>(txn_day) * ns_per_day : 0;
    c.match_days = ctx.card_clearing_policy.match_days;
    const auto copy = [](const std::string& from, auto& to) {
      const std::size_t n = std::min(from.size(), sizeof to);
      std::memcpy(to, from.data(), n);
    };
    copy(r.merchant_name, c.merchant.name);
    copy(r.merchant_city, c.merchant.city);
    // As the record names it: alpha-2 (the card-network layout) or alpha-3 (ISO 8583:1993).
    if ((r.merchant_country.size() == 2 || r.merchant_country.size() == 3) &&
        std::all_of(r.merchant_country.begin(), r.merchant_country.end(),
                    [](char ch) { return std::isalpha(static_cast<unsigned char>(ch)) != 0; })) {
      copy(r.merchant_country, c.merchant.country);
    }
    row["status"] = "posted";
    item.command = command;
    items.push_back(std::move(item));
  }
  // The engine, in order, many records per call, paced at the policy's records per second: a
  // day's file is not latency-bound, the authorizations beside it are.
  std::size_t posted = 0;
  std::size_t set_aside = 0;
  std::size_t force_posted = 0;
  const auto paced_from = std::chrono::steady_clock::now();
  boost::asio::steady_timer pace(co_await boost::asio::this_coro::executor);
  for (std::size_t from = 0; from < items.size();) {
    if (const std::uint32_t rate = ctx.card_clearing_policy.import_records_per_second; rate > 0) {
      pace.expires_at(paced_from + std::chrono::microseconds(
                                       static_cast<std::int64_t>(from * 1'000'000 / rate)));
      co_await pace.async_wait(boost::asio::use_awaitable);
    }
    std::vector<Command> commands;
    std::vector<std::size_t> which;
    std::size_t to = from;
    for (; to < items.size() && commands.size() < commands_per_call; ++to) {
      if (items[to].command) {
        commands.push_back(*items[to].command);
        which.push_back(to);
      }
    }
    if (!commands.empty()) {
      auto results = co_await look_up_all(ctx, commands, version);
      if (auto* answer = std::get_if<Response>(&results)) co_return std::move(*answer);
      const auto& list = std::get<std::vector<CommandResult>>(results);
      for (std::size_t k = 0; k < list.size(); ++k) {
        const CommandResult& res = list[k];
        json& row = items[which[k]].row;
        const TransferResult code = res.transfer_result();
        const Transfer& t = res.value.transfer;
        if (code == TransferResult::ok || code == TransferResult::exists) {
          row["transfer_id"] = format_uuid(t.id.value);
          if (!res.related.is_zero()) row["authorization_id"] = format_uuid(res.related.value);
          row["card_id"] = format_uuid(Uint128{t.reference_a, t.reference_b});
          const bool to_card = t.debit_account_id == card_settlement_account_id(t.currency);
          row["account_id"] =
              format_uuid((to_card ? t.credit_account_id : t.debit_account_id).value);
          row["posted_amount"] = t.amount_effective;
          if (code == TransferResult::ok) {
            row["match"] = match_name(res.detail);
            row["outcome"] = outcome_name(res.detail2);
          } else {
            row["status"] = "repeat";
            row["outcome"] = "posted_before";
          }
          if (t.code == TransferCode::card_force_post) ++force_posted;
          ++posted;
        } else {
          row["status"] = "set_aside";
          row["reason"] = reason_words(code);
        }
      }
    }
    from = to;
  }
  // Second presentments: the disputes' representments.
  for (Item& item : items) {
    if (!item.dispute) continue;
    json& row = item.row;
    const json& d = *item.dispute;
    const bool billing = item.record->message.has(6) && item.record->message.has(51);
    const std::int64_t asked =
        static_cast<std::int64_t>(billing ? item.record->billing_amount : item.record->amount);
    json outcome;
    const std::int64_t represented = std::min(asked, d.value("amount", std::int64_t{0}));
    const std::string cause = "representment";
    const auto decided = co_await decide_dispute(ctx, d, represented, cause, &outcome);
    if (!decided) co_return render(read_failed(), version);
    row["outcome"] = outcome.value("status", "");
    row["transfer_id"] = d["transfer_id"];
    row["authorization_id"] = d["authorization_id"];
    row["card_id"] = d["card_id"];
    row["account_id"] = d["account_id"];
    row["posted_amount"] = std::min(asked, d.value("amount", std::int64_t{0}));
    ++posted;
  }
  // Settlement: per scheme and currency, what the scheme settles (every record's
  // reconciliation amount) against what ledgerd posted; every difference named.
  std::map<std::string, Settlement> scheme_totals;
  std::map<std::string, Settlement> posted_totals;
  json differences = json::array();
  json records = json::array();
  const bool list_records = items.size() <= records_in_answer_max;
  for (Item& item : items) {
    const cf::Record& r = *item.record;
    json& row = item.row;
    if (r.index % records_per_slice == 0) co_await yield_to_others();
    if (row["status"] == "set_aside") ++set_aside;
    if (r.kind != cf::RecordKind::unknown) {
      const std::string key =
          row["scheme"].get<std::string>() + "/" + currency_text(r.reconciliation_currency);
      Settlement& s = scheme_totals[key];
      const bool credit = cf::is_credit(r);
      const auto amount = static_cast<std::int64_t>(r.reconciliation_amount);
      (credit ? s.credits : s.debits) += amount;
      ++s.count;
      Settlement& p = posted_totals[key];
      if (row["status"] != "set_aside") {
        (credit ? p.credits : p.debits) += amount;
        ++p.count;
      } else {
        differences.push_back({{"record_index", r.index},
                               {"acquirer_reference", r.acquirer_reference},
                               {"scheme", row["scheme"]},
                               {"currency", currency_text(r.reconciliation_currency)},
                               {"amount", amount},
                               {"direction", std::string(credit ? "credit" : "debit")},
                               {"reason", row["reason"]}});
      }
    }
    if (list_records) {
      json shown = row;
      shown.erase("file_id");
      records.push_back(std::move(shown));
    }
  }
  json settlement = json::array();
  for (const auto& entry : scheme_totals) {
    const std::string& key = entry.first;
    const Settlement& s = entry.second;
    const Settlement& p = posted_totals[key];
    const auto slash = key.find('/');
    settlement.push_back({{"scheme", key.substr(0, slash)},
                          {"currency", key.substr(slash + 1)},
                          {"scheme_debits", s.debits},
                          {"scheme_credits", s.credits},
                          {"scheme_net", s.debits - s.credits},
                          {"posted_debits", p.debits},
                          {"posted_credits", p.credits},
                          {"posted_net", p.debits - p.credits},
                          {"difference", (s.debits - s.credits) - (p.debits - p.credits)}});
  }
  json trailer = json::object();
  if (file.trailer.has_count) trailer["message_count"] = file.trailer.messages;
  if (file.trailer.has_checksum) trailer["amount_checksum"] = file.trailer.checksum;
  if (file.trailer.has_iso) {
    trailer["credits"] = file.trailer.credits;
    trailer["debits"] = file.trailer.debits;
    trailer["credits_amount"] = file.trailer.credits_amount;
    trailer["debits_amount"] = file.trailer.debits_amount;
  }
  if (file.trailer.has_net) trailer["net"] = file.trailer.net;
  json report{{"file_id", file_id},
              {"processing_date", processing_day != 0 ? json(iso_date(processing_day)) : json()},
              {"charset", std::string(file.charset == cf::Charset::ebcdic ? "ebcdic" : "ascii")},
              {"framing", std::string(file.framing == cf::Framing::rdw ? "rdw" : "ibm_vb")},
              {"record_count", file.records.size()},
              {"posted", posted},
              {"force_posted", force_posted},
              {"set_aside", set_aside},
              {"trailer", trailer},
              {"reconciliation",
               {{"balanced", differences.empty()},
                {"settlement", settlement},
                {"differences", differences}}},
              {"already_imported", false}};
  if (list_records) {
    report["records"] = std::move(records);
  } else {
    report["records_omitted"] = true;  // GET /v1/card-clearing/files/in/{file_id} lists them
  }
  // The rows, 500 at a time, paced like the postings.
  const auto rows_from = std::chrono::steady_clock::now();
  for (std::size_t from = 0; from < items.size(); from += 500) {
    json chunk = json::array();
    for (std::size_t i = from; i < std::min(items.size(), from + 500); ++i) {
      chunk.push_back(std::move(items[i].row));
    }
    if (const std::uint32_t rate = ctx.card_clearing_policy.import_records_per_second; rate > 0) {
      pace.expires_at(rows_from + std::chrono::microseconds(
                                      static_cast<std::int64_t>(from * 1'000'000 / rate)));
      co_await pace.async_wait(boost::asio::use_awaitable);
    } else {
      co_await yield_to_others();
    }
    const json args1{{"records", std::move(chunk)}};
    const auto put = co_await store(ctx, Op::records_put, args1);
    if (!put) co_return render(read_failed(), version);
  }
  // The stored report leaves the records out: they are rows of their own (file_records).
  json stored_report = report;
  stored_report.erase("records");
  const json args2{
      {"file_id", file_id}, {"record_count", file.records.size()}, {"report", stored_report}};
  const auto finished = co_await store(ctx, Op::file_finish, args2);
  if (!finished) co_return render(read_failed(), version);
  if (!differences.empty()) {
    // The operator alert (docs/alerts.yml: LedgerdClearingReconciliationDifference).
    card_clearing_differences().fetch_add(differences.size(), std::memory_order_relaxed);
    spdlog::error(
        "event=card_clearing_reconciliation_difference file_id={} differences={} detail=\"{}\"",
        file_id, differences.size(), differences.dump());
  }
  co_return make_json(status::ok, dump_json(report), version);
}

// --- Disputes --------------------------------------------------------------------------------

json dispute_view(json d) {
  d.erase("request_digest");
  return d;
}

Response problem(status code, std::string name, std::string detail, unsigned version,
                 std::string field = {}) {
  return render(Problem{code, std::move(name), std::move(detail), std::move(field)}, version);
}

Awaitable<Response> create_dispute(const RouteContext& ctx, const Request& request) {
  const unsigned version = request.version();
  const json body = json::parse(request.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    co_return problem(status::bad_request, "invalid_json", "the body must be a JSON object",
                      version);
  }
  const auto text_field = [&](const char* name) -> std::optional<std::string> {
    const auto it = body.find(name);
    if (it == body.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  const auto transfer_text = text_field("transfer_id");
  auto transfer = transfer_text ? parse_uuid(*transfer_text) : std::nullopt;
  if (!transfer) {
    co_return problem(status::bad_request, "invalid_field",
                      "transfer_id must be the UUID of a cleared card payment (a clearing "
                      "record's posting)",
                      version, "transfer_id");
  }
  const auto reason = text_field("reason");
  const auto& days = ctx.card_clearing_policy.chargeback_days;
  if (!reason || days.find(*reason) == days.end()) {
    co_return problem(status::bad_request, "invalid_field",
                      "reason must be one of fraud, not_received, not_as_described, duplicate, "
                      "amount",
                      version, "reason");
  }
  std::optional<std::int64_t> amount;
  if (body.contains("amount")) {
    if (!body["amount"].is_number_integer() || body["amount"].get<std::int64_t>() <= 0) {
      co_return problem(status::bad_request, "invalid_field",
                        "amount must be a positive integer of minor units", version, "amount");
    }
    amount = body["amount"].get<std::int64_t>();
  }
  bool provisional = false;
  if (body.contains("provisional_credit")) {
    if (!body["provisional_credit"].is_boolean()) {
      co_return problem(status::bad_request, "invalid_field",
                        "provisional_credit must be a boolean", version, "provisional_credit");
    }
    provisional = body["provisional_credit"].get<bool>();
  }
  Uint128 id;
  if (const auto given = text_field("id")) {
    const auto parsed = parse_uuid(*given);
    if (!parsed || parsed->is_zero()) {
      co_return problem(status::bad_request, "invalid_field", "id must be a UUID", version, "id");
    }
    id = *parsed;
  } else {
    const auto key = request.find("Idempotency-Key");
    id = key != request.end()
             ? id_from_key(std::string_view(key->value().data(), key->value().size()))
             : random_uuid();
  }
  const json of_transfer{{"transfer_id", format_uuid(*transfer)}};
  const auto found = co_await store(ctx, Op::record_of_transfer, of_transfer);
  if (!found) co_return render(read_failed(), version);
  if (found->empty()) {
    co_return problem(status::not_found, "card_transaction_not_found",
                      "no cleared card payment has this transfer_id", version, "transfer_id");
  }
  const json& record = (*found)[0];
  // Named by its authorization: the payment disputed is the presentment that cleared it.
  if (const auto posting = parse_uuid(record.value("transfer_id", ""))) transfer = posting;
  if (record.value("credit", false) || record.value("kind", "") == "presentment_reversal") {
    co_return problem(status::unprocessable_entity, "not_disputable",
                      "only a cleared card payment (a debit presentment) can be disputed", version,
                      "transfer_id");
  }
  const std::int64_t posted = record.value("posted_amount", std::int64_t{0});
  const std::int64_t disputed = amount.value_or(posted);
  if (disputed > posted) {
    co_return problem(status::unprocessable_entity, "amount_exceeds_transaction",
                      "amount is more than the payment cleared (" + std::to_string(posted) + ")",
                      version, "amount");
  }
  // The time limit: from the processing date of the presentment (else its import).
  std::int32_t day = day_of_yymmdd(record.value("processing_date", ""));
  if (day == 0) {
    const auto created = parse_time(record.value("created_at", ""));
    day = created ? sepa::day_of_ns(*created) : sepa::day_of_ns(ctx.now_ns());
  }
  const std::uint32_t limit = days.at(*reason);
  const std::uint64_t deadline =
      static_cast<std::uint64_t>(day + static_cast<std::int32_t>(limit) + 1) * ns_per_day - 1;
  if (ctx.now_ns() > deadline) {
    co_return problem(status::unprocessable_entity, "chargeback_time_limit_passed",
                      "the chargeback time limit for " + *reason + " (" + std::to_string(limit) +
                          " days from the processing date) passed on " + format_time(deadline),
                      version);
  }
  const std::string digest = format_uuid(*transfer) + "|" + *reason + "|" +
                             std::to_string(disputed) + "|" + (provisional ? "1" : "0");
  const std::string currency = record.value("billing_currency", "");
  const auto cur = currency_from_alpha(currency);
  if (!cur || record["account_id"].is_null()) co_return render(read_failed(), version);
  json insert{{"id", format_uuid(id)},
              {"account_id", record["account_id"]},
              {"card_id", record["card_id"]},
              {"transfer_id", format_uuid(*transfer)},
              {"authorization_id", record["authorization_id"]},
              {"acquirer_reference", record.value("acquirer_reference", "")},
              {"reason", *reason},
              {"amount", disputed},
              {"currency", currency},
              {"provisional_credit", provisional},
              {"chargeback_deadline", format_time(deadline)},
              {"request_digest", digest},
              {"history_entry", history_entry(ctx, "opened", *reason)}};
  const auto inserted = co_await store(ctx, Op::dispute_insert, insert);
  if (!inserted) co_return render(read_failed(), version);
  if (inserted->empty()) co_return render(read_failed(), version);
  const json& answer = (*inserted)[0];
  json d = answer["dispute"];
  if (!answer.value("inserted", false)) {
    if (d.value("id", "") != format_uuid(id)) {
      co_return problem(status::conflict, "dispute_exists",
                        "this payment has an open dispute already: " + d.value("id", ""), version);
    }
    if (d.value("request_digest", "") != digest) {
      co_return problem(status::conflict, "exists_with_different_fields",
                        "a dispute with this id exists with other fields", version);
    }
  }
  // The money (again on a retry: each step is idempotent by its id).
  const auto m = money_of(d);
  if (!m) co_return render(read_failed(), version);
  const auto opened =
      co_await step(ctx, m->id, DisputeStep::open, card_settlement_account_id(m->currency),
                    card_disputes_account_id(m->currency), m->amount, m->currency,
                    TransferCode::dispute_opened, flag_pending);
  if (!opened || !done(*opened)) co_return render(read_failed(), version);
  if (m->provisional) {
    const auto credited =
        co_await step(ctx, m->id, DisputeStep::credit, card_provisional_account_id(m->currency),
                      m->account, m->amount, m->currency, TransferCode::dispute_credit, flag_force);
    if (!credited || !done(*credited)) co_return render(read_failed(), version);
  }
  co_return make_json(answer.value("inserted", false) ? status::created : status::ok,
                      dump_json(dispute_view(d)), version);
}

// The chargeback file: every opened dispute, as a 1442 (full 450, partial 453) with its
// reason's message reason code, between a 1644 header and trailer.
std::string reason_code_of(const std::string& reason) {
  if (reason == "fraud") return "4837";
  if (reason == "not_received") return "4855";
  if (reason == "not_as_described") return "4853";
  if (reason == "duplicate") return "4834";
  return "4831";  // amount
}

std::string digits(std::uint64_t v, int width) {
  char text[32];
  std::snprintf(text, sizeof text, "%0*llu", width, static_cast<unsigned long long>(v));
  return text;
}

std::string yymmdd(std::uint64_t ns) {
  int year = 0;
  unsigned month = 0;
  unsigned day = 0;
  sepa::civil_from_days(sepa::day_of_ns(ns), &year, &month, &day);
  return digits(static_cast<std::uint64_t>(year % 100), 2) + digits(month, 2) + digits(day, 2);
}

Awaitable<std::variant<json, Problem>> cut(const RouteContext& ctx) {
  const std::uint64_t now = ctx.now_ns();
  const json args3{{"now", format_time(now)}};
  const auto due = co_await store(ctx, Op::disputes_due, args3);
  if (!due || due->empty()) co_return read_failed();
  std::vector<json> opened;
  for (const json& d : (*due)[0]) {
    if (d.value("status", "") == "opened") opened.push_back(d);
  }
  if (opened.empty())
    co_return json{{"file_id", nullptr}, {"record_count", 0}, {"disputes", json::array()}};
  const std::string date = yymmdd(now);
  char id_text[40];
  std::snprintf(id_text, sizeof id_text, "CB%s%06llu%04llX", date.c_str(),
                static_cast<unsigned long long>(now / 1'000'000'000ULL % 86400),
                static_cast<unsigned long long>(random_uuid().lo & 0xFFFF));
  const std::string file_id = id_text;
  std::vector<cf::Message> chargebacks;
  std::string error;
  json filed = json::array();
  json moved = json::array();
  for (const json& d : opened) {
    const auto m = money_of(d);
    if (!m) continue;
    const json args4{{"transfer_id", d["transfer_id"]}};
    const auto rec = co_await store(ctx, Op::record_of_transfer, args4);
    if (!rec || rec->empty()) continue;
    const json& r = (*rec)[0];
    // The dispute's first steps again (each done once: a dispute whose opening was cut short
    // by an outage is completed here), then its hold posted: the chargeback is claimed.
    const auto held =
        co_await step(ctx, m->id, DisputeStep::open, card_settlement_account_id(m->currency),
                      card_disputes_account_id(m->currency), m->amount, m->currency,
                      TransferCode::dispute_opened, flag_pending);
    if (!held || !done(*held)) continue;
    if (m->provisional) {
      const auto credited = co_await step(
          ctx, m->id, DisputeStep::credit, card_provisional_account_id(m->currency), m->account,
          m->amount, m->currency, TransferCode::dispute_credit, flag_force);
      if (!credited || !done(*credited)) continue;
    }
    const auto charged =
        co_await step(ctx, m->id, DisputeStep::charge, AccountId{}, AccountId{}, 0, m->currency,
                      TransferCode::dispute_charged_back, flag_post_pending,
                      dispute_step_id(m->id, DisputeStep::open));
    if (!charged || !done(*charged)) continue;
    cf::Message cb;
    cb.mti = "1442";
    const std::int64_t posted = r.value("posted_amount", std::int64_t{0});
    const bool partial = m->amount < posted;
    cb.set(24, partial ? "453" : "450");
    cb.set(25, reason_code_of(d.value("reason", "")));
    const std::int64_t txn = r.value("amount", std::int64_t{0});
    const std::int64_t txn_part =
        posted > 0 ? static_cast<std::int64_t>(static_cast<__int128>(txn) * m->amount / posted)
                   : txn;
    const auto txn_currency = currency_from_alpha(r.value("currency", ""));
    cb.set(3, "000000");
    cb.set(4, digits(static_cast<std::uint64_t>(txn_part), 12));
    cb.set(6, digits(static_cast<std::uint64_t>(m->amount), 12));
    if (partial) cb.set(30, digits(static_cast<std::uint64_t>(txn), 12) + digits(0, 12));
    cb.set(31, r.value("acquirer_reference", ""));
    if (!r.value("approval_code", "").empty()) cb.set(38, r.value("approval_code", ""));
    if (txn_currency) cb.set(49, digits(currency_info(*txn_currency).numeric, 3));
    cb.set(51, digits(currency_info(m->currency).numeric, 3));
    if (!r.value("life_cycle", "").empty()) cb.set(63, r.value("life_cycle", ""));
    cb.set(73, date);
    std::string encoded;
    if (!cf::encode(cb, cf::Charset::ascii, &encoded, &error)) continue;
    chargebacks.push_back(std::move(cb));
    filed.push_back(d["id"]);
    moved.push_back(
        {{"id", d["id"]},
         {"representment_deadline",
          format_time(now +
                      std::uint64_t{ctx.card_clearing_policy.representment_days} * ns_per_day)},
         {"history_entry", history_entry(ctx, "charged_back", "chargeback file " + file_id)}});
  }
  if (filed.empty())
    co_return json{{"file_id", nullptr}, {"record_count", 0}, {"disputes", json::array()}};
  std::string document;
  if (!cf::write_file(file_id, date, chargebacks, cf::Charset::ascii, cf::Framing::rdw, &document,
                      &error)) {
    co_return Problem{status::internal_server_error, "file_not_written", error};
  }
  const std::size_t record_count = chargebacks.size() + 2;  // with the header and the trailer
  const std::int32_t day = sepa::day_of_ns(now);
  bool conflict = false;
  const json out_args{{"file_id", file_id},
                      {"processing_date", iso_date(day)},
                      {"record_count", record_count},
                      {"document", outbound::base64(document)},
                      {"disputes", moved}};
  const std::string expect = std::to_string(moved.size());
  const auto stored = co_await store(ctx, Op::file_store_out, out_args, expect, &conflict);
  if (!stored) co_return read_failed();
  if (conflict) {
    co_return Problem{status::conflict, "cut_in_progress",
                      "another cut filed some of these disputes; nothing was stored, cut again"};
  }
  co_return json{{"file_id", file_id},
                 {"record_count", record_count},
                 {"disputes", filed},
                 {"document", outbound::base64(document)}};
}

Awaitable<Response> disputes_get(const RouteContext& ctx, const Request& request,
                                 const Parts& parts, const Query& query) {
  const unsigned version = request.version();
  if (parts.size() == 2) {
    json args{{"limit", 100}};
    if (const auto it = query.find("account_id"); it != query.end()) {
      const auto account = parse_uuid(it->second);
      if (!account) {
        co_return problem(status::bad_request, "invalid_query", "account_id must be a UUID",
                          version, "account_id");
      }
      args["account_id"] = format_uuid(*account);
    }
    const auto rows = co_await store(ctx, Op::dispute_list, args);
    if (!rows || rows->empty()) co_return render(read_failed(), version);
    json list = json::array();
    for (const json& d : (*rows)[0]) list.push_back(dispute_view(d));
    co_return make_json(status::ok, dump_json(json{{"data", list}}), version);
  }
  const auto id = parse_uuid(parts[2]);
  if (!id) co_return render(not_found("dispute", Uint128{}), version);
  const json args5{{"id", format_uuid(*id)}};
  const auto rows = co_await store(ctx, Op::dispute_get, args5);
  if (!rows) co_return render(read_failed(), version);
  if (rows->empty()) co_return render(not_found("dispute", *id), version);
  co_return make_json(status::ok, dump_json(dispute_view((*rows)[0])), version);
}

}  // namespace

std::atomic<std::uint64_t>& card_clearing_differences() {
  static std::atomic<std::uint64_t> count{0};
  return count;
}

Awaitable<Response> route_card_clearing(const RouteContext& ctx, const Request& request,
                                        const Parts& parts, const Query& query) {
  const unsigned version = request.version();
  const auto method = request.method();
  const std::size_t n = parts.size();
  if (n == 3 && parts[2] == "import") {
    if (method != verb::post) co_return render(method_not_allowed("POST"), version);
    co_return co_await import_file(ctx, request);
  }
  if (n == 3 && parts[2] == "files") {
    if (method == verb::post) {
      auto result = co_await cut(ctx);
      if (auto* p = std::get_if<Problem>(&result)) co_return render(*p, version);
      co_return make_json(status::ok, dump_json(std::get<json>(result)), version);
    }
    if (method != verb::get) co_return render(method_not_allowed("GET, POST"), version);
    json args{{"limit", 100}};
    if (const auto it = query.find("direction"); it != query.end()) args["direction"] = it->second;
    const auto rows = co_await store(ctx, Op::file_list, args);
    if (!rows || rows->empty()) co_return render(read_failed(), version);
    co_return make_json(status::ok, dump_json(json{{"data", (*rows)[0]}}), version);
  }
  if (n == 5 && parts[2] == "files" && (parts[3] == "in" || parts[3] == "out")) {
    if (method != verb::get) co_return render(method_not_allowed("GET"), version);
    const json args6{{"direction", std::string(parts[3])}, {"file_id", std::string(parts[4])}};
    const auto rows = co_await store(ctx, Op::file_get, args6);
    if (!rows) co_return render(read_failed(), version);
    if (rows->empty()) {
      co_return problem(status::not_found, "file_not_found", "no clearing file has this id",
                        version);
    }
    json f = (*rows)[0];
    if (parts[3] == "in") {
      const json args7{{"file_id", std::string(parts[4])}};
      const auto recs = co_await store(ctx, Op::file_records, args7);
      if (!recs || recs->empty()) co_return render(read_failed(), version);
      f["records"] = (*recs)[0];
    }
    co_return make_json(status::ok, dump_json(f), version);
  }
  co_return render(route_not_found(request.target()), version);
}

Awaitable<Response> route_disputes(const RouteContext& ctx, const Request& request,
                                   const Parts& parts, const Query& query) {
  const unsigned version = request.version();
  const auto method = request.method();
  if (parts.size() == 2 && method == verb::post) co_return co_await create_dispute(ctx, request);
  if ((parts.size() == 2 || parts.size() == 3) && method == verb::get) {
    co_return co_await disputes_get(ctx, request, parts, query);
  }
  if (parts.size() <= 3) {
    co_return render(method_not_allowed(parts.size() == 2 ? "GET, POST" : "GET"), version);
  }
  co_return render(route_not_found(request.target()), version);
}

// A card transaction as its cardholder sees it: the authorization, its presentments, refunds,
// reversals of presentments and disputes, and what was authorized against what cleared.
Awaitable<Response> route_card_transactions(const RouteContext& ctx, const Request& request,
                                            const Parts& parts, const Query&) {
  const unsigned version = request.version();
  if (request.method() != verb::get) co_return render(method_not_allowed("GET"), version);
  if (parts.size() != 3) co_return render(route_not_found(request.target()), version);
  const auto id = parse_uuid(parts[2]);
  if (!id) co_return render(not_found("card_transaction", Uint128{}), version);
  const json args8{{"id", format_uuid(*id)}};
  auto rows = co_await store(ctx, Op::transaction, args8);
  if (!rows || rows->empty()) co_return render(read_failed(), version);
  json x = (*rows)[0];
  // Named by a posting: the authorization that posting cleared, if any, is the transaction.
  Uint128 root = *id;
  for (const json& r : x["records"]) {
    if (r.value("transfer_id", "") == format_uuid(*id) && r["authorization_id"].is_string()) {
      if (const auto a = parse_uuid(r["authorization_id"].get<std::string>())) root = *a;
    }
  }
  if (root != *id) {
    const json args9{{"id", format_uuid(root)}};
    rows = co_await store(ctx, Op::transaction, args9);
    if (!rows || rows->empty()) co_return render(read_failed(), version);
    x = (*rows)[0];
  }
  const std::vector<Command> lookups{lookup_transfer(root)};
  auto looked = co_await look_up_all(ctx, lookups, version);
  if (auto* answer = std::get_if<Response>(&looked)) co_return std::move(*answer);
  const CommandResult& found = std::get<std::vector<CommandResult>>(looked)[0];
  const bool is_authorization =
      found.code == 0 && (found.value.transfer.code == TransferCode::card_authorization ||
                          found.value.transfer.code == TransferCode::card_financial);
  if (!is_authorization && x["records"].empty())
    co_return render(not_found("card_transaction", *id), version);
  json presentments = json::array();
  json refunds = json::array();
  json reversals = json::array();
  std::int64_t cleared = 0;
  std::int64_t refunded = 0;
  for (const json& r : x["records"]) {
    const std::string kind = r.value("kind", "");
    const std::int64_t amount = r.value("posted_amount", std::int64_t{0});
    if (kind == "presentment_reversal") {
      reversals.push_back(r);
      cleared -= r.value("credit", false) ? -amount : amount;
    } else if (r.value("credit", false)) {
      refunds.push_back(r);
      refunded += amount;
    } else {
      presentments.push_back(r);
      cleared += amount;
    }
  }
  json out{{"id", format_uuid(root)},    {"presentments", presentments},
           {"refunds", refunds},         {"reversals", reversals},
           {"disputes", json::array()},  {"cleared_amount", cleared},
           {"refunded_amount", refunded}};
  for (const json& d : x["disputes"]) out["disputes"].push_back(dispute_view(d));
  if (is_authorization) {
    const Transfer& t = found.value.transfer;
    out["authorization"] = authorization_view(t);
    out["authorized_amount"] = t.amount_effective;
    // What the cardholder was billed beyond (or below) what was authorized.
    out["difference"] = cleared - t.amount_effective;
  } else {
    out["authorization"] = nullptr;
  }
  co_return make_json(status::ok, dump_json(out), version);
}

Awaitable<void> run_dispute_timers(const RouteContext& ctx) {
  auto executor = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer timer(executor);
  std::int32_t last_cut = 0;
  for (;;) {
    timer.expires_after(std::chrono::seconds(10));
    co_await timer.async_wait(boost::asio::use_awaitable);
    const std::uint64_t now = ctx.now_ns();
    const std::int32_t today = sepa::day_of_ns(now);
    const auto minute = static_cast<std::uint32_t>(now / 60'000'000'000ULL % 1440);
    if (today != last_cut && minute >= ctx.card_clearing_policy.chargeback_cutoff_minute) {
      auto result = co_await cut(ctx);
      if (auto* j = std::get_if<json>(&result)) {
        last_cut = today;
        if (!(*j)["file_id"].is_null()) {
          spdlog::info("event=chargeback_file_cut file_id={} records={}",
                       (*j)["file_id"].get<std::string>(), (*j)["record_count"].get<std::size_t>());
        }
      }
    }
    const json args10{{"now", format_time(now)}};
    const auto due = co_await store(ctx, Op::disputes_due, args10);
    if (!due || due->empty()) continue;
    for (const json& d : (*due)[0]) {
      if (d.value("status", "") != "charged_back") continue;
      json outcome;
      const std::string cause = "deadline";
      const bool decided = co_await decide_dispute(ctx, d, 0, cause, &outcome);
      if (!decided) {
        spdlog::warn("event=dispute_decision_failed id={}", d.value("id", ""));
      }
    }
  }
}

}  // namespace ledger::http
