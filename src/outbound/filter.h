// Subscription filters: which events a webhook or Slack subscription receives. Criteria are
// combined with AND; the values of one list with OR; an absent criterion does not filter;
// "any_of" holds alternative filters (OR across criteria: an event passes when it passes the
// criteria beside any_of and at least one of its entries).
// Parsed from the API's JSON (a specific error naming the field), stored normalized, and
// matched by the dispatcher. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ledger/reader.h"

namespace ledger::outbound {

struct Filter {
  std::vector<Uint128> account_ids;
  std::vector<Uint128> holder_ids;
  std::vector<Uint128> card_ids;
  std::string direction;  // "", "in", "out"
  std::optional<std::int64_t> amount_at_least;
  std::optional<std::int64_t> amount_at_most;
  std::string currency;  // "" or ISO 4217 alpha
  std::vector<std::uint16_t> mccs;
  std::string outcome;  // "", "approved", "declined"
  std::string channel;  // "", "card_present", "online", "atm", "contactless"
  // Case-insensitive parts of a name: merchant_names, the card merchant's (DE43); counterparties,
  // whoever is on the other side (a card payment's merchant, a direct debit's creditor).
  std::vector<std::string> merchant_names;
  std::vector<std::string> counterparties;
  std::vector<Filter> any_of;  // at most limits::filter_any_of_max, one level deep
};

struct FilterError {
  std::string field;  // "filter.amount_at_least"
  std::string detail;
};

// From the request's "filter" member (absent or null: no filter). false and *error on bad input.
bool parse_filter(const std::string& json_text, Filter* out, FilterError* error);
std::string filter_json(const Filter& filter);  // normalized, as stored and shown

// Does the event pass? `holder_accounts`: the accounts of filter.holder_ids (resolved by the
// caller from PostgreSQL).
bool matches(const Filter& filter, const Event& event, const std::set<Uint128>& holder_accounts);

}  // namespace ledger::outbound
