// Subscription filters: which events a webhook or Slack subscription receives. Criteria are
// combined with AND; the values of one list with OR; an absent criterion does not filter.
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
