// The REST mapping of /v1/accounts: open, change, close, list, history, statements.
#include <algorithm>
#include <cstring>

#include "http/mapping.h"
#include "http/mapping_support.h"
#include "ledger/limits.h"
#include "ledger/parse.h"
#include "ledger/sepa.h"
#include "ledger/text.h"

namespace ledger::http {

using bhttp::status;
using nlohmann::json;
using namespace detail;

// --- Accounts ----------------------------------------------------------------------------

Mapped<Command> map_create_account(const Body& body, Uint128 fresh_id) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  FieldReader fields(std::get<json>(object));
  const auto id = fields.uuid("id", false);
  const auto holder = fields.uuid("holder_id", true);
  const auto currency = fields.currency("currency", true);
  const auto kind_text = fields.text("kind", true, 32);
  const auto no_overdraft = fields.boolean("no_overdraft");
  const auto credit_normal = fields.boolean("credits_must_not_exceed_debits");
  const auto overdraft = fields.amount("overdraft_limit", false, true);
  const auto reference = fields.unsigned_integer("reference", UINT64_MAX);
  const auto debits_first = fields.boolean("direct_debits_first");
  fields.allow("iban");  // map_account_iban reads it
  fields.reject_unknown_fields();
  std::optional<AccountKind> kind;
  if (fields.ok() && !(kind = parse_kind(*kind_text))) {
    fields.fail("invalid_field", "kind",
                "kind must be customer, settlement, fees, suspense, revenue or internal");
  }
  if (fields.ok() && no_overdraft.value_or(false) && credit_normal.value_or(false)) {
    fields.fail("invalid_field", "credits_must_not_exceed_debits",
                "no_overdraft and credits_must_not_exceed_debits exclude each other");
  }
  if (!fields.ok()) return bad_request(fields.error());
  Command command = command_of(CommandKind::create_account);
  Account& a = command.body.account;
  a = Account{};
  a.id.value = id                              ? *id
               : !body.idempotency_key.empty() ? id_from_key(body.idempotency_key)
                                               : fresh_id;
  a.holder_id.value = *holder;
  a.currency = *currency;
  a.kind = *kind;
  const bool limited =
      no_overdraft.value_or(*kind == AccountKind::customer && !credit_normal.value_or(false));
  a.flags = static_cast<std::uint16_t>(
      (limited ? debits_must_not_exceed_credits : 0) |
      (credit_normal.value_or(false) ? credits_must_not_exceed_debits : 0) |
      (debits_first.value_or(true) ? 0 : cards_before_direct_debits));
  a.overdraft_limit = overdraft.value_or(0);
  a.reference = reference.value_or(0);
  return command;
}

Mapped<Command> map_update_account(Uint128 id, const Body& body) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  FieldReader fields(std::get<json>(object));
  const auto overdraft = fields.amount("overdraft_limit", false, true);
  const auto status_text = fields.text("status", false, 16);
  const auto debits_first = fields.boolean("direct_debits_first");
  fields.reject_unknown_fields();
  std::optional<AccountStatus> new_status;
  if (fields.ok() && status_text &&
      (!(new_status = parse_status(*status_text)) || *new_status == AccountStatus::closed)) {
    fields.fail("invalid_field", "status",
                "status must be active or frozen (close with POST .../close)");
  }
  if (fields.ok() && !overdraft && !status_text && !debits_first) {
    fields.fail("missing_field", "", "send overdraft_limit, status and/or direct_debits_first");
  }
  if (!fields.ok()) return bad_request(fields.error());
  Command command = command_of(CommandKind::update_account);
  AccountUpdate& update = command.body.update;
  update = AccountUpdate{};
  update.id = AccountId{id};
  update.set_overdraft_limit = overdraft.has_value();
  update.overdraft_limit = overdraft.value_or(0);
  update.set_status = new_status.has_value();
  update.status = new_status.value_or(AccountStatus::active);
  update.set_cards_before_direct_debits = debits_first.has_value();
  update.cards_before_direct_debits = !debits_first.value_or(true);
  return command;
}

Command map_close_account(Uint128 id) {
  Command command = command_of(CommandKind::update_account);
  command.body.update = AccountUpdate{};
  command.body.update.id = AccountId{id};
  command.body.update.set_status = true;
  command.body.update.status = AccountStatus::closed;
  return command;
}

Command lookup_account(Uint128 id) {
  Command command = command_of(CommandKind::lookup_account);
  command.body.account_id = AccountId{id};
  return command;
}

Response account_answer(const CommandResult& result, bool creating, unsigned version) {
  return account_answer(result, creating, version, std::string());
}

Mapped<std::string> map_account_iban(const Body& body) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  const json& root = std::get<json>(object);
  const auto it = root.find("iban");
  if (it == root.end() || it->is_null()) return std::string();
  const auto normalized =
      it->is_string() ? sepa::normalize_iban(it->get<std::string>()) : std::nullopt;
  if (!normalized || !sepa::iban_valid(*normalized)) {
    return bad_request(BadRequest{"invalid_field", "iban",
                                  "iban is not a valid IBAN (ISO 13616: country, check digits, "
                                  "BBAN)"});
  }
  return *normalized;
}

Response account_answer(const CommandResult& result, bool creating, unsigned version,
                        const std::string& iban) {
  const AccountResult code = result.account_result();
  if (code == AccountResult::ok || code == AccountResult::exists) {
    json body = account_json(result.value.account);
    if (!iban.empty()) body["iban"] = iban;
    Response response =
        make_json(creating && code == AccountResult::ok ? status::created : status::ok,
                  dump_json(body), version);
    if (creating) {
      response.set(bhttp::field::location,
                   "/v1/accounts/" + format_uuid(result.value.account.id.value));
    }
    return response;
  }
  const std::string name(to_string(code));
  status http = status::unprocessable_entity;
  if (is_conflict(code) || code == AccountResult::account_closed) http = status::conflict;
  if (code == AccountResult::account_not_found) http = status::not_found;
  return render(Problem{http, name,
                        (creating ? "the account was not created: "
                                  : "the account was not "
                                    "changed: ") +
                            name},
                version);
}

Mapped<AccountListQuery> map_list_accounts(const Query& query) {
  std::string unknown;
  if (!only_known(query, {"holder_id", "cursor", "limit"}, &unknown))
    return query_problem(unknown, "unknown query parameter " + unknown);
  const auto holder_it = query.find("holder_id");
  const auto holder = holder_it == query.end() ? std::nullopt : parse_uuid(holder_it->second);
  if (!holder) return query_problem("holder_id", "holder_id (a UUID) is required");
  AccountListQuery list;
  list.holder = HolderId{*holder};
  if (const auto cursor = query.find("cursor"); cursor != query.end()) {
    const auto after = parse_uuid(cursor->second);
    if (!after) return query_problem("cursor", "cursor must be the next_cursor of a previous page");
    list.after = *after;
  }
  if (!read_limit(query, 50, limits::http_accounts_page_max, &list.limit))
    return query_problem("limit", "limit must be an integer from 1 to " +
                                      std::to_string(limits::http_accounts_page_max));
  return list;
}

Response accounts_answer(const AccountList& list, const std::vector<CommandResult>& accounts,
                         unsigned version) {
  json items = json::array();
  for (const CommandResult& r : accounts) {
    if (r.code == 0) items.push_back(account_json(r.value.account));
  }
  json body{{"accounts", std::move(items)}, {"next_cursor", nullptr}};
  if (list.more) body["next_cursor"] = format_uuid(list.ids.back().value);
  return make_json(status::ok, dump_json(body), version);
}

Mapped<HistoryQuery> map_history(Uint128 account, const Query& query) {
  std::string unknown;
  if (!only_known(query, {"from", "to", "cursor", "limit"}, &unknown))
    return query_problem(unknown, "unknown query parameter " + unknown);
  HistoryQuery history;
  history.account = AccountId{account};
  if (auto problem = read_period(query, &history.from_ts, &history.to_ts)) return *problem;
  if (const auto it = query.find("cursor"); it != query.end()) {
    const auto ts = parse_cursor(it->second);
    if (!ts) return query_problem("cursor", "cursor must be the next_cursor of a previous page");
    history.before_ts = *ts;
  }
  if (!read_limit(query, 50, limits::http_history_page_max, &history.limit)) {
    return query_problem("limit", "limit must be an integer from 1 to " +
                                      std::to_string(limits::http_history_page_max));
  }
  return history;
}

Response history_answer(const HistoryPage& page, const std::vector<CommandResult>& current,
                        unsigned version) {
  json transfers = json::array();
  for (std::size_t i = 0; i < page.transfers.size(); ++i) {
    // The engine's record if it still has it (it always does: every id is remembered), so a
    // hold shows as posted, voided or expired once it is, and what it still holds.
    const bool known = i < current.size() && current[i].code == 0;
    transfers.push_back(transfer_json(known ? current[i].value.transfer : page.transfers[i]));
  }
  json body{{"transfers", std::move(transfers)}, {"next_cursor", nullptr}};
  if (page.more) body["next_cursor"] = format_cursor(page.transfers.back().timestamp);
  return make_json(status::ok, dump_json(body), version);
}

Mapped<StatementRequest> map_statement(Uint128 account, const Query& query) {
  std::string unknown;
  if (!only_known(query, {"from", "to", "format"}, &unknown))
    return query_problem(unknown, "unknown query parameter " + unknown);
  StatementRequest request;
  const auto format = query.find("format");
  if (format != query.end() && format->second != "json" && format->second != "csv")
    return query_problem("format", "format must be json or csv");
  request.csv = format != query.end() && format->second == "csv";
  request.query.account = AccountId{account};
  request.query.lines_max = limits::http_statement_lines_max;
  if (auto problem = read_period(query, &request.query.from_ts, &request.query.to_ts))
    return *problem;
  return request;
}

// The statement of an account over [from, to): the opening balance (posted, at `from`), every
// posting that moved the posted balance, oldest first, with the running balance, and the
// closing balance (posted, at `to`). Holds and voids never move it and are not lines.
Response statement_answer(const StatementRequest& request, const Account& account,
                          const Statement& statement, unsigned version) {
  const StatementQuery& q = request.query;
  if (statement.truncated) {
    return render(Problem{status::unprocessable_entity, "statement_too_large",
                          "more than " + std::to_string(q.lines_max) +
                              " postings in the range; ask for a shorter period"},
                  version);
  }
  const bool credit_normal = (account.flags & credits_must_not_exceed_debits) != 0;
  const std::string currency(currency_alpha(account.currency));
  const std::string from = q.from_ts == 0 ? "" : format_time(q.from_ts);
  const std::string to = q.to_ts == UINT64_MAX ? "" : format_time(q.to_ts);
  __int128 running = statement.opening;
  json lines = json::array();
  std::string csv =
      "date,transfer_id,code,debit_account_id,credit_account_id,debit,credit,"
      "balance,currency\r\n";
  csv +=
      from + ",,opening_balance,,,,," + decimal_text(statement.opening) + "," + currency + "\r\n";
  for (const Transfer& t : statement.lines) {
    const bool credit = (t.credit_account_id == q.account) != credit_normal;
    running += credit ? t.amount_effective : -static_cast<__int128>(t.amount_effective);
    lines.push_back({{"transfer_id", format_uuid(t.id.value)},
                     {"at", format_time(t.timestamp)},
                     {"code", std::string(code_name(t.code))},
                     {"amount", credit ? t.amount_effective : -t.amount_effective},
                     {"balance", sum_json(running)}});
    const std::string amount = std::to_string(t.amount_effective);
    csv += format_time(t.timestamp) + "," + format_uuid(t.id.value) + "," +
           std::string(code_name(t.code)) + "," + format_uuid(t.debit_account_id.value) + "," +
           format_uuid(t.credit_account_id.value) + "," + (credit ? "" : amount) + "," +
           (credit ? amount : "") + "," + decimal_text(running) + "," + csv_field(currency) +
           "\r\n";
  }
  csv += to + ",,closing_balance,,,,," + decimal_text(statement.closing) + "," + currency + "\r\n";
  if (request.csv) {
    Response response{status::ok, version};
    response.set(bhttp::field::content_type, "text/csv; charset=utf-8");
    response.set(bhttp::field::cache_control, "no-store");
    response.set(bhttp::field::content_disposition,
                 "attachment; filename=\"statement-" + format_uuid(q.account.value) + ".csv\"");
    response.body() = "\xEF\xBB\xBF" + csv;  // UTF-8 BOM: spreadsheets pick the right encoding
    response.prepare_payload();
    return response;
  }
  json body{{"account_id", format_uuid(q.account.value)},
            {"currency", currency},
            {"from", from.empty() ? json(nullptr) : json(from)},
            {"to", to.empty() ? json(nullptr) : json(to)},
            {"opening_balance", sum_json(statement.opening)},
            {"closing_balance", sum_json(statement.closing)},
            {"lines", std::move(lines)}};
  return make_json(status::ok, dump_json(body), version);
}

// --- Verification of Payee ----------------------------------------------------------------

namespace {

// A person's or a company's name: clean UTF-8, 1 to 140 characters (the ISO 20022 Nm length)
// once trimmed.
std::optional<std::string> name_field(FieldReader& fields, const char* field) {
  const auto text = fields.text(field, true, 4 * 140);
  if (!text) return std::nullopt;
  const auto first = text->find_first_not_of(" \t");
  const auto last = text->find_last_not_of(" \t");
  const std::string trimmed =
      first == std::string::npos ? "" : text->substr(first, last - first + 1);
  std::size_t characters = 0;
  for (const char c : trimmed) characters += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  if (trimmed.empty() || characters > 140 || !is_clean_text(trimmed)) {
    fields.fail("invalid_field", field,
                std::string(field) +
                    " must be 1 to 140 characters of UTF-8 text without control characters");
    return std::nullopt;
  }
  return trimmed;
}

}  // namespace

Mapped<std::string> map_holder_name(const Body& body) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  FieldReader fields(std::get<json>(object));
  auto name = name_field(fields, "holder_name");
  if (fields.ok()) fields.reject_unknown_fields();
  if (!fields.ok()) return bad_request(fields.error());
  return std::move(*name);
}

Mapped<PayeeCheck> map_payee_check(const Body& body) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  FieldReader fields(std::get<json>(object));
  const auto iban_text = fields.text("iban", true, 64);
  std::optional<std::string> iban;
  if (iban_text) {
    iban = sepa::normalize_iban(*iban_text);
    if (!iban || !sepa::iban_valid(*iban)) {
      fields.fail("invalid_field", "iban", "iban is not a valid IBAN (ISO 13616)");
    }
  }
  auto name = fields.ok() ? name_field(fields, "name") : std::nullopt;
  if (fields.ok()) fields.reject_unknown_fields();
  if (!fields.ok()) return bad_request(fields.error());
  return PayeeCheck{std::move(*iban), std::move(*name)};
}

}  // namespace ledger::http
