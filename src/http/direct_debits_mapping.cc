// The REST mapping of /v1/direct-debits: a body to a collection (its engine part and its
// references), the collection as JSON (the contract independent clients use, also the data of
// the direct_debit.* events), mandate rules. Pure: no I/O.
#include "http/json_mapping.h"
#include "http/mapping.h"
#include "http/mapping_support.h"
#include "ledger/sepa.h"
#include "ledger/units.h"

namespace ledger::http {

using bhttp::status;
using nlohmann::json;
using namespace detail;

namespace {

// SEPA's character set for references (EPC217-08: a-z A-Z 0-9 / - ? : ( ) . , ' + space).
bool sepa_text(std::string_view text) {
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("/-?:().,'+ ").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

}  // namespace

void schedule_collection(const DirectDebitPolicy& policy, DirectDebit* dd) {
  const std::uint64_t day_start = static_cast<std::uint64_t>(dd->due_day) * ns_per_day;
  const std::uint64_t minute = 60 * ns_per_s;
  const std::uint64_t settle_time = policy.settlement_minute * minute;
  dd->settle_at = day_start + settle_time;
  // The wait counts TARGET2 business days: each whole 24 hours of it is one business day after
  // the due date (a Thursday collection's two days end on Monday, not Saturday); what is left
  // of it is added in hours.
  const auto wait_days = static_cast<int>(policy.wait_ns / ns_per_day);
  const std::uint64_t wait_end =
      static_cast<std::uint64_t>(sepa::add_business_days(dd->due_day, wait_days)) * ns_per_day +
      settle_time + policy.wait_ns % ns_per_day;
  dd->wait_window_ns = wait_end - dd->settle_at;
  // The return deadline: D+5 TARGET2 business days for Core, D+2 for B2B (the rulebooks'
  // return periods for the debtor bank), at the settlement time, less the margin.
  const int return_days = dd->scheme == DirectDebitScheme::b2b ? 2 : 5;
  const std::uint64_t last =
      static_cast<std::uint64_t>(sepa::add_business_days(dd->due_day, return_days)) * ns_per_day +
      settle_time;
  dd->latest_deadline = last > policy.margin_ns ? last - policy.margin_ns : 0;
}

Mapped<DirectDebitInput> map_direct_debit(const Body& body, Uint128 fresh_id, std::uint64_t now_ns,
                                          const DirectDebitPolicy& policy) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  const json& root = std::get<json>(object);
  FieldReader fields(root);
  const auto id = fields.uuid("id", false);
  const auto e2e = fields.text("end_to_end_id", true, 35);
  const auto umr = fields.text("mandate_reference", true, 35);
  const auto signed_date = fields.text("mandate_signature_date", false, 10);
  const auto creditor = fields.text("creditor_id", true, 35);
  const auto creditor_name = fields.text("creditor_name", true, 70);
  const auto scheme = fields.text("scheme", false, 4);
  const auto sequence = fields.text("sequence_type", false, 4);
  const auto amount = fields.amount("amount", true, false);
  const auto currency = fields.text("currency", false, 3);
  const auto due = fields.text("due_date", true, 10);
  const auto account = fields.uuid("account_id", false);
  const auto iban = fields.text("debtor_iban", false, 64);
  const auto tx_id = fields.text("transaction_id", false, 35);
  const auto debtor_name = fields.text("debtor_name", false, 70);
  const auto debtor_agent = fields.text("debtor_agent_bic", false, 11);
  const auto creditor_agent = fields.text("creditor_agent_bic", false, 11);
  const auto creditor_iban = fields.text("creditor_iban", false, 64);
  const json* amendment = nullptr;
  if (const auto it = root.find("amendment"); it != root.end()) amendment = &*it;
  fields.allow("amendment");
  fields.reject_unknown_fields();
  DirectDebitInput input;
  DirectDebit& dd = input.collection;
  const auto check_text = [&](const std::optional<std::string>& v, const char* name) {
    if (fields.ok() && v && (v->empty() || !sepa_text(*v))) {
      fields.fail("invalid_field", name,
                  std::string(name) +
                      " must be 1 to 35 (names: 70) characters of the SEPA set a-z A-Z 0-9 "
                      "/ - ? : ( ) . , ' + and space");
    }
  };
  check_text(e2e, "end_to_end_id");
  check_text(umr, "mandate_reference");
  check_text(creditor, "creditor_id");
  check_text(creditor_name, "creditor_name");
  check_text(tx_id, "transaction_id");
  check_text(debtor_name, "debtor_name");
  if (fields.ok() && !sepa::creditor_id_valid(*creditor)) {
    fields.fail("invalid_field", "creditor_id",
                "creditor_id is not a SEPA creditor identifier: a country code, two check digits "
                "(ISO 7064 MOD 97-10 over the national identifier and the country), a "
                "3-character business code and the national identifier, upper case");
  }
  for (const auto& [value, name] : {std::pair{&debtor_agent, "debtor_agent_bic"},
                                    std::pair{&creditor_agent, "creditor_agent_bic"}}) {
    if (fields.ok() && *value && !sepa::bic_valid(**value)) {
      fields.fail("invalid_field", name, std::string(name) + " must be a BIC (8 or 11 characters)");
    }
  }
  if (fields.ok() && creditor_iban) {
    const auto normalized = sepa::normalize_iban(*creditor_iban);
    if (!normalized || !sepa::iban_valid(*normalized)) {
      fields.fail("invalid_field", "creditor_iban", "creditor_iban is not a valid IBAN");
    } else {
      input.details.creditor_iban = *normalized;
    }
  }
  // {"original_mandate_reference"?, "original_creditor_id"?}: the mandate was amended (EPC:
  // AmdmntInd true with AmdmntInfDtls); at least one of them, else the amendment cannot be
  // followed.
  if (fields.ok() && amendment != nullptr) {
    const auto text_of = [&](const char* name) -> std::optional<std::string> {
      const auto it = amendment->is_object() ? amendment->find(name) : json::const_iterator{};
      if (!amendment->is_object() || it == amendment->end()) return std::nullopt;
      if (!it->is_string()) return std::string();
      return it->get<std::string>();
    };
    const auto mandate = text_of("original_mandate_reference");
    const auto original_creditor = text_of("original_creditor_id");
    const bool known =
        amendment->is_object() &&
        std::all_of(amendment->items().begin(), amendment->items().end(), [](const auto& kv) {
          return kv.key() == "original_mandate_reference" || kv.key() == "original_creditor_id";
        });
    if (!known || (!mandate && !original_creditor) ||
        (mandate && (mandate->empty() || mandate->size() > 35 || !sepa_text(*mandate))) ||
        (original_creditor && !sepa::creditor_id_valid(*original_creditor))) {
      fields.fail("invalid_field", "amendment",
                  "amendment is {\"original_mandate_reference\"?, \"original_creditor_id\"?} "
                  "with at least one of them: the mandate's former reference (1 to 35 SEPA "
                  "characters) or creditor identifier");
    } else {
      input.details.original_mandate_reference = mandate.value_or("");
      input.details.original_creditor_id = original_creditor.value_or("");
    }
  }
  if (fields.ok() && scheme) {
    if (const auto s = scheme_from_name(*scheme)) {
      dd.scheme = *s;
    } else {
      fields.fail("invalid_field", "scheme", "scheme must be core or b2b");
    }
  }
  dd.sequence = SequenceType::ooff;
  if (fields.ok() && sequence) {
    if (const auto s = sequence_from_name(*sequence)) {
      dd.sequence = *s;
    } else {
      fields.fail("invalid_field", "sequence_type",
                  "sequence_type must be FRST, RCUR, OOFF or FNAL");
    }
  }
  if (fields.ok() && *amount > sepa::amount_max) {
    fields.fail("invalid_field", "amount",
                "amount must be at most 99999999999 minor units (999,999,999.99 EUR, the SEPA "
                "maximum)");
  }
  if (fields.ok() && currency && *currency != "EUR") {
    fields.fail("invalid_field", "currency", "SEPA direct debits are in EUR only");
  }
  std::optional<std::int32_t> due_day;
  if (fields.ok() && !(due_day = sepa::parse_date(*due))) {
    fields.fail("invalid_field", "due_date", "due_date must be a date, YYYY-MM-DD");
  }
  const std::int32_t today = sepa::day_of_ns(now_ns);
  if (fields.ok() && *due_day < today) {
    fields.fail("invalid_field", "due_date",
                "due_date is in the past (today is " + sepa::format_date(today) + ")");
  }
  if (fields.ok() && !sepa::is_business_day(*due_day)) {
    fields.fail("invalid_field", "due_date",
                "due_date is not a TARGET2 business day (weekends, 1 January, Good Friday, Easter "
                "Monday, 1 May, 25 and 26 December are closed)");
  }
  if (fields.ok() && signed_date) {
    const auto d = sepa::parse_date(*signed_date);
    if (!d || *d > *due_day) {
      fields.fail("invalid_field", "mandate_signature_date",
                  "mandate_signature_date must be a date (YYYY-MM-DD) no later than due_date");
    } else {
      input.details.mandate_signed = *d;
    }
  }
  if (fields.ok() && !account == !iban) {
    fields.fail(account ? "invalid_field" : "missing_field", account ? "debtor_iban" : "account_id",
                "give exactly one of account_id and debtor_iban");
  }
  if (fields.ok() && iban) {
    const auto normalized = sepa::normalize_iban(*iban);
    if (!normalized || !sepa::iban_valid(*normalized)) {
      fields.fail("invalid_field", "debtor_iban",
                  "debtor_iban is not a valid IBAN (ISO 13616: country, check digits, BBAN)");
    } else {
      input.details.debtor_iban = *normalized;
    }
  }
  if (!fields.ok()) return bad_request(fields.error());
  dd.id.value = id                              ? *id
                : !body.idempotency_key.empty() ? id_from_key(body.idempotency_key)
                                                : fresh_id;
  input.id_given = id.has_value() || !body.idempotency_key.empty();
  if (account) dd.account_id.value = *account;
  dd.amount = *amount;
  dd.due_day = *due_day;
  schedule_collection(policy, &dd);
  input.details.end_to_end_id = *e2e;
  input.details.mandate_reference = *umr;
  input.details.creditor_id = *creditor;
  input.details.creditor_name = *creditor_name;
  input.details.transaction_id = tx_id.value_or("");
  input.details.debtor_name = debtor_name.value_or("");
  input.details.debtor_agent_bic = debtor_agent.value_or("");
  input.details.creditor_agent_bic = creditor_agent.value_or("");
  return input;
}

DirectDebitInput map_refused_direct_debit(const json& body, Uint128 fresh_id, std::uint64_t now_ns,
                                          const DirectDebitPolicy& policy) {
  DirectDebitInput input;
  DirectDebit& dd = input.collection;
  const auto text = [&body](const char* name, std::size_t max) -> std::string {
    const auto it = body.is_object() ? body.find(name) : body.end();
    if (it == body.end() || !it->is_string()) return "NOTPROVIDED";
    const auto& value = it->get_ref<const std::string&>();
    return value.empty() || value.size() > max || !sepa_text(value) ? "NOTPROVIDED" : value;
  };
  input.details.end_to_end_id = text("end_to_end_id", 35);
  input.details.mandate_reference = text("mandate_reference", 35);
  input.details.creditor_id = text("creditor_id", 35);
  input.details.creditor_name = text("creditor_name", 70);
  if (const std::string tx = text("transaction_id", 35); tx != "NOTPROVIDED") {
    input.details.transaction_id = tx;
  }
  if (const std::string name = text("debtor_name", 70); name != "NOTPROVIDED") {
    input.details.debtor_name = name;
  }
  const auto field = [&body](const char* name) -> const json* {
    if (!body.is_object()) return nullptr;
    const auto it = body.find(name);
    return it == body.end() ? nullptr : &*it;
  };
  const json* scheme = field("scheme");
  dd.scheme = scheme != nullptr && scheme->is_string()
                  ? scheme_from_name(scheme->get<std::string>()).value_or(DirectDebitScheme::core)
                  : DirectDebitScheme::core;
  const json* sequence = field("sequence_type");
  dd.sequence = sequence != nullptr && sequence->is_string()
                    ? sequence_from_name(sequence->get<std::string>()).value_or(SequenceType::ooff)
                    : SequenceType::ooff;
  const json* amount = field("amount");
  dd.amount = amount != nullptr && amount->is_number_integer() && amount->get<std::int64_t>() > 0 &&
                      amount->get<std::int64_t>() <= sepa::amount_max
                  ? amount->get<std::int64_t>()
                  : 0;
  const json* due = field("due_date");
  std::optional<std::int32_t> due_day;
  if (due != nullptr && due->is_string()) due_day = sepa::parse_date(due->get<std::string>());
  dd.due_day = due_day.value_or(sepa::day_of_ns(now_ns));
  const json* account = field("account_id");
  if (account != nullptr && account->is_string()) {
    if (const auto id = parse_uuid(account->get<std::string>())) dd.account_id.value = *id;
  }
  const json* iban = field("debtor_iban");
  if (iban != nullptr && iban->is_string()) {
    const auto normalized = sepa::normalize_iban(iban->get<std::string>());
    if (normalized && sepa::iban_valid(*normalized)) input.details.debtor_iban = *normalized;
  }
  dd.id.value = fresh_id;
  schedule_collection(policy, &dd);
  return input;
}

json direct_debit_change_json(const DirectDebit& dd) {
  return json{{"change", std::string(change_name(dd.change))},
              {"status", std::string(status_name(dd.status))},
              {"reason_code", sepa_reason_json(dd.reason)},
              {"at", format_time(dd.timestamp)},
              {"wait_deadline", time_or_null(dd.wait_deadline)},
              {"missing_amount", dd.missing}};
}

json direct_debit_json(const DirectDebitView& view) {
  json out = direct_debit_state_json(view.state);
  const DirectDebitDetails& d = view.details;
  out["end_to_end_id"] = d.end_to_end_id;
  out["mandate_reference"] = d.mandate_reference;
  out["mandate_signature_date"] =
      d.mandate_signed >= 0 ? json(sepa::format_date(d.mandate_signed)) : json(nullptr);
  out["creditor_id"] = d.creditor_id;
  out["creditor_name"] = d.creditor_name;
  out["debtor_iban"] = d.debtor_iban.empty() ? json(nullptr) : json(d.debtor_iban);
  const auto text_or_null = [](const std::string& v) {
    return v.empty() ? json(nullptr) : json(v);
  };
  out["transaction_id"] = text_or_null(d.transaction_id);
  out["debtor_name"] = text_or_null(d.debtor_name);
  out["debtor_agent_bic"] = text_or_null(d.debtor_agent_bic);
  out["creditor_agent_bic"] = text_or_null(d.creditor_agent_bic);
  out["creditor_iban"] = text_or_null(d.creditor_iban);
  json history = json::array();
  for (const DirectDebit& h : view.history) history.push_back(direct_debit_change_json(h));
  out["history"] = std::move(history);
  return out;
}

Mapped<MandateRules> map_mandate_rules(const Body& body) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  const json& root = std::get<json>(object);
  MandateRules rules;
  const auto problem = [](std::string field, std::string detail) {
    return bad_request(BadRequest{"invalid_field", std::move(field), std::move(detail)});
  };
  for (const auto& [key, value] : root.items()) {
    if (key != "blocked_creditors" && key != "blocked_mandates" && key != "b2b_mandates" &&
        key != "blocked_creditor_mandates" && key != "allowed_creditors" && key != "limits" &&
        key != "debtor_deceased") {
      return bad_request(BadRequest{"unknown_field", key, "unknown field " + key});
    }
    if (key == "debtor_deceased") {
      if (!value.is_boolean()) return problem(key, "debtor_deceased must be true or false");
      rules.debtor_deceased = value.get<bool>();
      continue;
    }
    if (!value.is_array() || value.size() > 1000) {
      return problem(key, key + " must be an array of at most 1000 entries");
    }
    for (const json& item : value) {
      if (key == "limits") {
        // {"creditor_id"?, "max_amount"?, "max_collections_per_month"?}: at least one limit.
        const auto field = [&item](const char* name) {
          const auto it = item.is_object() ? item.find(name) : json::const_iterator{};
          return item.is_object() && it != item.end() ? &*it : nullptr;
        };
        const json* creditor = field("creditor_id");
        const json* amount = field("max_amount");
        const json* per_month = field("max_collections_per_month");
        const bool known =
            item.is_object() &&
            std::all_of(item.items().begin(), item.items().end(), [](const auto& kv) {
              return kv.key() == "creditor_id" || kv.key() == "max_amount" ||
                     kv.key() == "max_collections_per_month";
            });
        const bool creditor_ok =
            creditor == nullptr ||
            (creditor->is_string() && sepa::creditor_id_valid(creditor->get<std::string>()));
        const bool amount_ok =
            amount == nullptr || (amount->is_number_integer() && amount->get<std::int64_t>() >= 1 &&
                                  amount->get<std::int64_t>() <= sepa::amount_max);
        const bool count_ok = per_month == nullptr || (per_month->is_number_integer() &&
                                                       per_month->get<std::int64_t>() >= 1 &&
                                                       per_month->get<std::int64_t>() <= 1000);
        if (!known || !creditor_ok || !amount_ok || !count_ok ||
            (amount == nullptr && per_month == nullptr)) {
          return problem(key,
                         "each limit is {\"creditor_id\"? (a SEPA creditor identifier; absent: "
                         "every creditor), \"max_amount\"? (minor units, 1 to 99999999999), "
                         "\"max_collections_per_month\"? (1 to 1000)} with at least one limit");
        }
        rules.limits.push_back({creditor == nullptr ? std::string() : creditor->get<std::string>(),
                                amount == nullptr ? 0 : amount->get<std::int64_t>(),
                                per_month == nullptr
                                    ? 0u
                                    : static_cast<std::uint32_t>(per_month->get<std::int64_t>())});
        continue;
      }
      if (key == "b2b_mandates" || key == "blocked_creditor_mandates") {
        const auto c = item.is_object() ? item.find("creditor_id") : json::const_iterator{};
        const auto m = item.is_object() ? item.find("mandate_reference") : json::const_iterator{};
        if (!item.is_object() || item.size() != 2 || c == item.end() || m == item.end() ||
            !c->is_string() || !m->is_string() || !sepa::creditor_id_valid(c->get<std::string>()) ||
            m->get<std::string>().empty() || m->get<std::string>().size() > 35 ||
            !sepa_text(m->get<std::string>())) {
          return problem(key, "each entry of " + key +
                                  " is {\"creditor_id\", \"mandate_reference\"}: a SEPA "
                                  "creditor identifier (check digits verified) and 1 to 35 SEPA "
                                  "characters");
        }
        (key == "b2b_mandates" ? rules.b2b_mandates : rules.blocked_creditor_mandates)
            .push_back({c->get<std::string>(), m->get<std::string>()});
        continue;
      }
      if (!item.is_string() || item.get<std::string>().empty() ||
          item.get<std::string>().size() > 35 || !sepa_text(item.get<std::string>())) {
        return problem(key, key + " holds 1 to 35 SEPA characters per entry");
      }
      if ((key == "blocked_creditors" || key == "allowed_creditors") &&
          !sepa::creditor_id_valid(item.get<std::string>())) {
        return problem(key, key +
                                " holds SEPA creditor identifiers (country, check digits, "
                                "business code, national identifier; check digits verified)");
      }
      if (key == "allowed_creditors") {
        rules.allowed_creditors.push_back(item.get<std::string>());
        continue;
      }
      (key == "blocked_creditors" ? rules.blocked_creditors : rules.blocked_mandates)
          .push_back(item.get<std::string>());
    }
  }
  return rules;
}

json mandate_rules_json(AccountId account, const MandateRules& rules) {
  json b2b = json::array();
  for (const MandateRules::B2bMandate& m : rules.b2b_mandates) {
    b2b.push_back(json{{"creditor_id", m.creditor_id}, {"mandate_reference", m.mandate_reference}});
  }
  json limits = json::array();
  for (const MandateRules::Limit& l : rules.limits) {
    limits.push_back(
        json{{"creditor_id", l.creditor_id.empty() ? json(nullptr) : json(l.creditor_id)},
             {"max_amount", l.max_amount == 0 ? json(nullptr) : json(l.max_amount)},
             {"max_collections_per_month",
              l.max_per_month == 0 ? json(nullptr) : json(l.max_per_month)}});
  }
  json pairs = json::array();
  for (const MandateRules::B2bMandate& m : rules.blocked_creditor_mandates) {
    pairs.push_back(
        json{{"creditor_id", m.creditor_id}, {"mandate_reference", m.mandate_reference}});
  }
  return json{{"account_id", format_uuid(account.value)},
              {"blocked_creditors", rules.blocked_creditors},
              {"blocked_mandates", rules.blocked_mandates},
              {"b2b_mandates", std::move(b2b)},
              {"blocked_creditor_mandates", std::move(pairs)},
              {"allowed_creditors", rules.allowed_creditors},
              {"limits", std::move(limits)},
              {"debtor_deceased", rules.debtor_deceased}};
}

}  // namespace ledger::http
