#include "outbound/filter.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <nlohmann/json.hpp>

#include "ledger/ids.h"
#include "ledger/limits.h"
#include "ledger/money.h"
#include "ledger/parse.h"

namespace ledger::outbound {
namespace {

using nlohmann::json;

bool id_list(const json& value, const std::string& field, std::vector<Uint128>* out,
             FilterError* error) {
  if (!value.is_array() || value.size() > limits::filter_id_list_entries_max) {
    *error = {field, field + " must be an array of at most 100 UUIDs"};
    return false;
  }
  for (const json& item : value) {
    const auto id = item.is_string() ? parse_uuid(item.get<std::string>()) : std::nullopt;
    if (!id || id->is_zero()) {
      *error = {field, field + " must hold UUIDs"};
      return false;
    }
    out->push_back(*id);
  }
  return true;
}

bool one_of(const json& value, const std::string& field, std::initializer_list<const char*> names,
            std::string* out, FilterError* error) {
  if (value.is_string()) {
    for (const char* name : names) {
      if (value.get<std::string>() == name) {
        *out = name;
        return true;
      }
    }
  }
  std::string list;
  for (const char* name : names) list += std::string(list.empty() ? "" : ", ") + name;
  *error = {field, field + " must be one of " + list};
  return false;
}

std::string folded(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool name_list(const json& value, const std::string& field, std::vector<std::string>* out,
               FilterError* error) {
  if (!value.is_array() || value.empty() || value.size() > limits::filter_id_list_entries_max) {
    *error = {field, field + " must be an array of 1 to 100 names"};
    return false;
  }
  for (const json& item : value) {
    if (!item.is_string() || item.get<std::string>().empty() ||
        item.get<std::string>().size() > 70) {
      *error = {field, field + " must hold names of 1 to 70 characters"};
      return false;
    }
    out->push_back(folded(item.get<std::string>()));
  }
  return true;
}

bool contains_any(std::string_view name, const std::vector<std::string>& parts) {
  if (name.empty()) return false;
  const std::string text = folded(name);
  return std::any_of(parts.begin(), parts.end(),
                     [&](const std::string& part) { return text.find(part) != std::string::npos; });
}

bool card_event(EventType type) {
  return type == EventType::card_authorization_approved ||
         type == EventType::card_authorization_declined || type == EventType::card_completion ||
         type == EventType::card_reversal;
}

}  // namespace

namespace {
bool parse_object(const json& root, const std::string& prefix, bool nested, Filter* out,
                  FilterError* error);
}  // namespace

bool parse_filter(const std::string& text, Filter* out, FilterError* error) {
  *out = Filter{};
  const json root = json::parse(text, nullptr, false);
  if (root.is_discarded()) {
    *error = {"filter", "filter must be a JSON object"};
    return false;
  }
  if (root.is_null()) return true;
  return parse_object(root, "filter", false, out, error);
}

namespace {

bool parse_object(const json& root, const std::string& prefix, bool nested, Filter* out,
                  FilterError* error) {
  if (!root.is_object()) {
    *error = {prefix, prefix + " must be an object"};
    return false;
  }
  for (const auto& [key, value] : root.items()) {
    const std::string field = prefix + "." + key;
    if (value.is_null()) continue;  // absent
    if (key == "any_of" && !nested) {
      if (!value.is_array() || value.empty() || value.size() > limits::filter_any_of_max) {
        *error = {field, field + " must be an array of 1 to " +
                             std::to_string(limits::filter_any_of_max) + " filters"};
        return false;
      }
      for (std::size_t i = 0; i < value.size(); ++i) {
        Filter alternative;
        if (!parse_object(value[i], field + "[" + std::to_string(i) + "]", true, &alternative,
                          error)) {
          return false;
        }
        out->any_of.push_back(std::move(alternative));
      }
    } else if (key == "merchant_names") {
      if (!name_list(value, field, &out->merchant_names, error)) return false;
    } else if (key == "counterparties") {
      if (!name_list(value, field, &out->counterparties, error)) return false;
    } else if (key == "account_ids") {
      if (!id_list(value, field, &out->account_ids, error)) return false;
    } else if (key == "holder_ids") {
      if (!id_list(value, field, &out->holder_ids, error)) return false;
    } else if (key == "card_ids") {
      if (!id_list(value, field, &out->card_ids, error)) return false;
    } else if (key == "direction") {
      if (!one_of(value, field, {"in", "out"}, &out->direction, error)) return false;
    } else if (key == "outcome") {
      if (!one_of(value, field, {"approved", "declined"}, &out->outcome, error)) return false;
    } else if (key == "channel") {
      if (!one_of(value, field, {"card_present", "online", "atm", "contactless"}, &out->channel,
                  error))
        return false;
    } else if (key == "amount_at_least" || key == "amount_at_most") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 0) {
        *error = {field, field + " must be an integer amount in minor units, 0 or more"};
        return false;
      }
      (key == "amount_at_least" ? out->amount_at_least : out->amount_at_most) =
          value.get<std::int64_t>();
    } else if (key == "currency") {
      if (!value.is_string() || !currency_from_alpha(value.get<std::string>())) {
        *error = {field, "filter.currency must be an ISO 4217 code such as EUR"};
        return false;
      }
      out->currency = value.get<std::string>();
    } else if (key == "mccs") {
      if (!value.is_array() || value.size() > limits::filter_id_list_entries_max) {
        *error = {field, "filter.mccs must be an array of at most 100 four-digit codes"};
        return false;
      }
      for (const json& item : value) {
        const std::string code = item.is_string() ? item.get<std::string>() : "";
        std::uint64_t mcc = 0;
        if (code.size() != 4 || !parse_digits(code, &mcc)) {
          *error = {field, "filter.mccs must hold four-digit merchant category codes"};
          return false;
        }
        out->mccs.push_back(static_cast<std::uint16_t>(mcc));
      }
    } else {
      *error = {field, "unknown filter field " + key};
      return false;
    }
  }
  if ((out->amount_at_least || out->amount_at_most) && out->currency.empty()) {
    *error = {prefix + ".currency",
              "an amount filter needs its currency (" + prefix + ".currency)"};
    return false;
  }
  if (out->amount_at_least && out->amount_at_most && *out->amount_at_least > *out->amount_at_most) {
    *error = {prefix + ".amount_at_most",
              prefix + ".amount_at_most is below " + prefix + ".amount_at_least"};
    return false;
  }
  return true;
}

json filter_object(const Filter& f);

}  // namespace

std::string filter_json(const Filter& f) { return filter_object(f).dump(); }

namespace {

json filter_object(const Filter& f) {
  json out = json::object();
  const auto ids = [](const std::vector<Uint128>& list) {
    json array = json::array();
    for (const Uint128& id : list) array.push_back(format_uuid(id));
    return array;
  };
  if (!f.account_ids.empty()) out["account_ids"] = ids(f.account_ids);
  if (!f.holder_ids.empty()) out["holder_ids"] = ids(f.holder_ids);
  if (!f.card_ids.empty()) out["card_ids"] = ids(f.card_ids);
  if (!f.direction.empty()) out["direction"] = f.direction;
  if (f.amount_at_least) out["amount_at_least"] = *f.amount_at_least;
  if (f.amount_at_most) out["amount_at_most"] = *f.amount_at_most;
  if (!f.currency.empty()) out["currency"] = f.currency;
  if (!f.mccs.empty()) {
    json codes = json::array();
    for (const std::uint16_t mcc : f.mccs) {
      char text[8];
      std::snprintf(text, sizeof text, "%04u", mcc);
      codes.push_back(text);
    }
    out["mccs"] = std::move(codes);
  }
  if (!f.outcome.empty()) out["outcome"] = f.outcome;
  if (!f.channel.empty()) out["channel"] = f.channel;
  if (!f.merchant_names.empty()) out["merchant_names"] = f.merchant_names;
  if (!f.counterparties.empty()) out["counterparties"] = f.counterparties;
  if (!f.any_of.empty()) {
    json alternatives = json::array();
    for (const Filter& a : f.any_of) alternatives.push_back(filter_object(a));
    out["any_of"] = std::move(alternatives);
  }
  return out;
}

bool matches_criteria(const Filter& f, const Event& event,
                      const std::set<Uint128>& holder_accounts);

}  // namespace

bool matches(const Filter& f, const Event& event, const std::set<Uint128>& holder_accounts) {
  if (!matches_criteria(f, event, holder_accounts)) return false;
  if (f.any_of.empty()) return true;
  return std::any_of(f.any_of.begin(), f.any_of.end(), [&](const Filter& alternative) {
    return matches_criteria(alternative, event, holder_accounts);
  });
}

namespace {

bool matches_criteria(const Filter& f, const Event& event,
                      const std::set<Uint128>& holder_accounts) {
  const JournalRecord& r = event.record;
  const bool is_transfer = r.kind == RecordKind::transfer;
  const Transfer* t = is_transfer ? &r.value.transfer : nullptr;
  const bool is_card = card_event(event.type);
  // The accounts the event concerns, and which side of a transfer each is on.
  AccountId debit, credit;
  if (t != nullptr) {
    debit = t->debit_account_id;
    credit = t->credit_account_id;
  } else if (r.kind == RecordKind::account) {
    debit = r.value.account.id;
  } else if (r.kind == RecordKind::monitor) {
    debit = r.value.monitor.account_id;
  } else if (r.kind == RecordKind::spike) {
    debit = r.value.spike.account_id;
  } else if (r.kind == RecordKind::direct_debit) {
    debit = r.value.direct_debit.account_id;
  } else {
    debit = r.value.card.account_id;
  }
  const bool scoped = !f.account_ids.empty() || !f.holder_ids.empty();
  const auto in_scope = [&](AccountId a) {
    if (a.is_zero()) return false;
    const bool by_account =
        f.account_ids.empty() ||
        std::find(f.account_ids.begin(), f.account_ids.end(), a.value) != f.account_ids.end();
    const bool by_holder = f.holder_ids.empty() || holder_accounts.count(a.value) != 0;
    return by_account && by_holder;
  };
  const bool debit_in = in_scope(debit), credit_in = in_scope(credit);
  if (scoped && !debit_in && !credit_in) return false;
  if (!f.card_ids.empty()) {
    Uint128 card;
    if (is_card && t != nullptr) card = Uint128{t->reference_a, t->reference_b};
    if (r.kind == RecordKind::card) card = r.value.card.id.value;
    if (r.kind == RecordKind::spike && r.value.spike.scope == SpikeScope::card) {
      card = r.value.spike.key;
    }
    if (card.is_zero() || std::find(f.card_ids.begin(), f.card_ids.end(), card) == f.card_ids.end())
      return false;
  }
  if (!f.direction.empty()) {
    bool out = false, in = false;
    if (r.kind == RecordKind::direct_debit) {
      // A collection takes money out of the customer's account; its refund brings it back.
      in = r.value.direct_debit.change == DirectDebitChange::refunded;
      out = !in;
    } else if (t == nullptr) {
      return false;  // money moves only in transfers and direct debits
    } else if (scoped) {
      out = debit_in;
      in = credit_in;
    } else if (is_card) {
      const bool refund = t->code == TransferCode::card_refund;
      out = !refund;
      in = refund;
    } else {
      out = in = true;  // no account named: every transfer is money out of one and into another
    }
    if ((f.direction == "out" && !out) || (f.direction == "in" && !in)) return false;
  }
  if (f.amount_at_least || f.amount_at_most || !f.currency.empty()) {
    // Transfers and direct debits carry money (the same amount the events table holds).
    const bool debit_event = r.kind == RecordKind::direct_debit;
    if (t == nullptr && !debit_event) return false;
    const Currency currency = debit_event ? r.value.direct_debit.currency : t->currency;
    if (currency.code == 0) return false;
    if (!f.currency.empty() && currency_alpha(currency) != f.currency) return false;
    const std::int64_t amount = debit_event               ? r.value.direct_debit.amount
                                : t->amount_effective > 0 ? t->amount_effective
                                                          : t->amount;
    if (f.amount_at_least && amount < *f.amount_at_least) return false;
    if (f.amount_at_most && amount > *f.amount_at_most) return false;
  }
  if (!f.outcome.empty()) {
    if (t == nullptr) return false;
    const bool approved = t->result == TransferResult::ok;
    if ((f.outcome == "approved") != approved) return false;
  }
  // Merchant category and channel: journaled with card messages only.
  if (!f.mccs.empty()) {
    if (!event.has_merchant ||
        std::find(f.mccs.begin(), f.mccs.end(), event.merchant.mcc) == f.mccs.end())
      return false;
  }
  if (!f.channel.empty()) {
    static constexpr const char* names[] = {"", "card_present", "online", "atm", "contactless"};
    const auto channel = static_cast<std::size_t>(event.merchant.merchant.channel);
    if (!event.has_merchant || channel >= 5 || f.channel != names[channel]) return false;
  }
  const std::string_view merchant =
      event.has_merchant ? std::string_view(event.merchant.merchant.name,
                                            strnlen(event.merchant.merchant.name,
                                                    sizeof event.merchant.merchant.name))
                         : std::string_view{};
  if (!f.merchant_names.empty() && !contains_any(merchant, f.merchant_names)) return false;
  if (!f.counterparties.empty() && !contains_any(merchant, f.counterparties) &&
      !contains_any(event.creditor_name, f.counterparties)) {
    return false;
  }
  return true;
}

}  // namespace

}  // namespace ledger::outbound
