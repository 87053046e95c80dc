// The REST mapping of /v1/credit-transfers (docs/credit-transfers.md): a credit transfer's
// body, a recall decision, the JSON a credit transfer is answered with, and the ids and codes
// the routes derive. Pure: no I/O.
#include <algorithm>

#include "http/mapping_support.h"
#include "http/pacs.h"
#include "ledger/sepa.h"

namespace ledger::http {

using nlohmann::json;

// FNV-1a over text, two ways: a 128-bit id for a key (an incoming transfer's instructing bank
// and transaction id, a pain.001 payment's account and end-to-end id), version 8 (custom).
Uint128 credit_key_id(std::string_view key) {
  std::uint64_t a = 0xcbf29ce484222325ULL;
  std::uint64_t b = 0x84222325cbf29ce4ULL;
  for (const char c : key) {
    a = (a ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    b = (b ^ static_cast<unsigned char>(c)) * 0x1000193ULL + 0x9E3779B97F4A7C15ULL;
  }
  return derive_id(Uint128{a, b}, 0x5C7);
}

std::string compact_uuid(Uint128 id) {
  std::string text = format_uuid(id);
  text.erase(std::remove(text.begin(), text.end(), '-'), text.end());
  return text;
}

json credit_transfer_json(const CreditTransferRecord& c) {
  const auto text = [](const std::string& v) { return v.empty() ? json(nullptr) : json(v); };
  json out{
      {"id", format_uuid(c.id)},
      {"direction", c.outgoing ? "out" : "in"},
      {"instant", c.instant},
      {"account_id", c.account.is_zero() ? json(nullptr) : json(format_uuid(c.account.value))},
      {"amount", c.amount},
      {"currency", c.currency},
      {"creditor",
       {{"name", c.creditor_name}, {"iban", c.creditor_iban}, {"bic", text(c.creditor_bic)}}},
      {"debtor",
       {{"name", text(c.debtor_name)}, {"iban", text(c.debtor_iban)}, {"bic", text(c.debtor_bic)}}},
      {"remittance_information", text(c.remittance)},
      {"end_to_end_id", c.end_to_end_id},
      {"transaction_id", text(c.transaction_id)},
      {"execution_date", sepa::format_date(c.execution_day)},
      {"status", c.status},
      {"reason", text(c.reason)},
      {"message_id", text(c.message_id)},
      {"created_at", c.created_at},
      {"updated_at", c.updated_at}};
  if (c.outgoing) {
    json check{{"result", c.payee_check.empty() ? "not_checked" : c.payee_check}};
    if (!c.payee_matched_name.empty()) check["matched_name"] = c.payee_matched_name;
    out["payee_check"] = std::move(check);
  }
  out["recall"] = c.recall_status.empty() ? json(nullptr)
                                          : json{{"status", c.recall_status},
                                                 {"id", text(c.recall_id)},
                                                 {"reason", text(c.recall_reason)}};
  return out;
}

// The reason of an engine refusal as an ISO code (pain.002, pacs.002) and for people.
std::string iso_reason_of(TransferResult r) {
  switch (r) {
    case TransferResult::exceeds_available:
      return "AM04";
    case TransferResult::account_closed:
      return "AC04";
    case TransferResult::account_frozen:
      return "AC06";
    case TransferResult::debit_account_not_found:
    case TransferResult::credit_account_not_found:
      return "AC01";
    case TransferResult::currency_mismatch:
      return "AG01";
    default:
      return "MS03";
  }
}

// POST /v1/credit-transfers {id, account_id, creditor: {name, iban, bic?}, amount, currency,
// remittance_information?, end_to_end_id?, instant, requested_execution_date?, confirm_payee?}.
Mapped<OutgoingCreditTransfer> map_credit_transfer(const Body& body, Uint128 fresh_id) {
  auto object = detail::json_body(body);
  if (const Problem* problem = problem_of(object)) return *problem;
  const json& o = std::get<json>(object);
  FieldReader f(o);
  OutgoingCreditTransfer in;
  CreditTransferRecord& ct = in.ct;
  const auto id = f.uuid("id", false);
  const auto account = f.uuid("account_id", true);
  const auto amount = f.amount("amount", true, false);
  const auto currency = f.text("currency", true, 3);
  const auto remittance = f.text("remittance_information", false, 1000);
  const auto e2e = f.text("end_to_end_id", false, 1000);
  const auto instant = f.boolean("instant");
  const auto date = f.text("requested_execution_date", false, 100);
  const auto confirm = f.boolean("confirm_payee");
  f.allow("creditor");
  f.reject_unknown_fields();
  const auto bad = [](std::string field, std::string detail) -> Problem {
    return bad_request(BadRequest{"invalid_field", std::move(field), std::move(detail)});
  };
  if (!f.ok()) return bad_request(f.error());
  if (!instant) {
    return bad_request(
        BadRequest{"missing_field", "instant", "instant (true or false) is required"});
  }
  if (*currency != "EUR") return bad("currency", "SEPA credit transfers are in EUR only");
  if (*amount > sepa::amount_max) {
    return bad("amount", "amount must be at most 99999999999 (999,999,999.99 EUR)");
  }
  const auto c = o.find("creditor");
  if (c == o.end() || !c->is_object()) {
    return bad_request(
        BadRequest{"missing_field", "creditor", "creditor {name, iban, bic?} is required"});
  }
  FieldReader cf(*c, "creditor.");
  const auto name = cf.text("name", true, 1000);
  const auto iban_text = cf.text("iban", true, 100);
  const auto bic = cf.text("bic", false, 100);
  cf.reject_unknown_fields();
  if (!cf.ok()) return bad_request(cf.error());
  if (name->empty() || name->size() > 70)
    return bad("creditor.name", "creditor.name must be 1 to 70 characters");
  if (!pacs::sepa_text(*name)) {
    return bad("creditor.name",
               "creditor.name has characters outside the SEPA set (a-z A-Z 0-9 / - ? : ( ) . , ' "
               "+ space)");
  }
  const auto iban = sepa::normalize_iban(*iban_text);
  if (!iban || !sepa::iban_valid(*iban)) {
    return bad("creditor.iban",
               "creditor.iban is not a valid IBAN (country, length of that country, mod 97)");
  }
  if (bic && !bic->empty() && !sepa::bic_valid(*bic)) {
    return bad("creditor.bic", "creditor.bic is not a BIC (ISO 9362)");
  }
  if (remittance && (remittance->size() > 140 || !pacs::sepa_text(*remittance))) {
    return bad("remittance_information",
               "remittance_information must be at most 140 characters of the SEPA set");
  }
  if (e2e && (e2e->empty() || e2e->size() > 35 || !pacs::sepa_text(*e2e) || e2e->front() == '/' ||
              e2e->find("//") != std::string::npos)) {
    return bad("end_to_end_id", "end_to_end_id must be 1 to 35 characters of the SEPA set");
  }
  if (date) {
    const auto day = sepa::parse_date(*date);
    if (!day) return bad("requested_execution_date", "requested_execution_date must be YYYY-MM-DD");
    if (!*instant && !sepa::is_business_day(*day)) {
      return bad("requested_execution_date",
                 "requested_execution_date must be a TARGET2 business day (not a weekend, 1 "
                 "January, Good Friday, Easter Monday, 1 May, 25 or 26 December)");
    }
    ct.execution_day = *day;
    in.date_given = true;
  }
  ct.id =
      id ? *id : (body.idempotency_key.empty() ? fresh_id : credit_key_id(body.idempotency_key));
  if (ct.id.is_zero()) return bad("id", "id must not be zero");
  ct.outgoing = true;
  ct.instant = *instant;
  ct.account = AccountId{*account};
  ct.amount = *amount;
  ct.creditor_name = *name;
  ct.creditor_iban = *iban;
  ct.creditor_bic = bic.value_or("");
  ct.remittance = remittance.value_or("");
  ct.end_to_end_id = e2e ? *e2e : "NOTPROVIDED";
  ct.transaction_id = compact_uuid(ct.id);
  in.confirm_payee = confirm.value_or(false);
  return in;
}

std::string credit_request_digest(const CreditTransferRecord& c) {
  return format_uuid(c.account.value) + "|" + std::to_string(c.amount) + "|" + c.creditor_iban +
         "|" + c.creditor_name + "|" + (c.instant ? "inst" : "sct") + "|" + c.end_to_end_id + "|" +
         c.remittance;
}

Mapped<RecallDecision> map_recall_decision(const Body& body) {
  auto object = detail::json_body(body);
  if (const Problem* problem = problem_of(object)) return *problem;
  FieldReader f(std::get<json>(object));
  const auto accept = f.boolean("accept");
  const auto reason = f.text("reason", false, 4);
  f.reject_unknown_fields();
  if (!f.ok()) return bad_request(f.error());
  if (!accept) {
    return bad_request(BadRequest{"missing_field", "accept", "accept (true or false) is required"});
  }
  static constexpr std::string_view allowed[] = {"CUST", "AC04", "AM04", "LEGL",
                                                 "NOOR", "ARDT", "NOAS"};
  const std::string code = reason.value_or("CUST");
  if (!*accept && std::find(std::begin(allowed), std::end(allowed), code) == std::end(allowed)) {
    return bad_request(BadRequest{"invalid_field", "reason",
                                  "reason must be CUST, AC04, AM04, LEGL, NOOR, ARDT or NOAS"});
  }
  return RecallDecision{*accept, code};
}

Mapped<std::string> map_recall_request(const Body& body) {
  auto object = detail::json_body(body);
  if (const Problem* problem = problem_of(object)) return *problem;
  FieldReader f(std::get<json>(object));
  const auto reason = f.text("reason", true, 4);
  f.reject_unknown_fields();
  if (!f.ok()) return bad_request(f.error());
  static constexpr std::string_view allowed[] = {"DUPL", "TECH", "FRAD", "CUST", "AM09", "AC03"};
  if (std::find(std::begin(allowed), std::end(allowed), *reason) == std::end(allowed)) {
    return bad_request(BadRequest{"invalid_field", "reason",
                                  "reason must be DUPL, TECH, FRAD, CUST, AM09 or AC03"});
  }
  return *reason;
}

}  // namespace ledger::http
