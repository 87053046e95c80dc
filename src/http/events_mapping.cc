// The REST mapping of the event feed: GET /v1/events (query and answer). Pure: no I/O.
#include <cstdio>
#include <cstring>

#include "http/mapping.h"
#include "http/mapping_support.h"
#include "ledger/limits.h"
#include "ledger/parse.h"
#include "outbound/slack.h"

namespace ledger::http {

using bhttp::status;
using nlohmann::json;
using namespace detail;

Mapped<EventsRequest> map_events_query(const Query& query) {
  std::string unknown;
  if (!only_known(query, {"after", "types", "account_id", "holder_id", "limit", "wait_ms"},
                  &unknown))
    return query_problem(unknown, "unknown query parameter " + unknown);
  EventsRequest request;
  EventQuery& q = request.query;
  if (!read_limit(query, 100, limits::http_events_page_max, &q.limit)) {
    return query_problem("limit", "limit must be an integer from 1 to " +
                                      std::to_string(limits::http_events_page_max));
  }
  if (const auto after = query.find("after"); after != query.end()) {
    if (!parse_digits(after->second, &q.after) || q.after > INT64_MAX)
      return query_problem("after", "after must be a seq (0 or more), such as next_after");
  }
  if (const auto wait = query.find("wait_ms"); wait != query.end()) {
    std::uint64_t ms = 0;
    if (!parse_digits(wait->second, &ms) || ms > limits::events_wait_ms_max) {
      return query_problem("wait_ms", "wait_ms must be an integer from 0 to " +
                                          std::to_string(limits::events_wait_ms_max));
    }
    request.wait_ms = static_cast<std::uint32_t>(ms);
  }
  if (const auto types = query.find("types"); types != query.end()) {
    std::string_view rest = types->second;
    while (true) {
      const auto comma = rest.find(',');
      const std::string_view name = rest.substr(0, comma);
      const auto type = event_type_from_name(name);
      if (!type) {
        return query_problem("types",
                             "types must be a comma-separated list of event types; "
                             "unknown: \"" +
                                 std::string(name.substr(0, 64)) + "\"");
      }
      q.types |= 1u << static_cast<unsigned>(*type);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  for (const char* name : {"account_id", "holder_id"}) {
    const auto it = query.find(name);
    if (it == query.end()) continue;
    const auto id = parse_uuid(it->second);
    if (!id || id->is_zero()) return query_problem(name, std::string(name) + " must be a UUID");
    if (name[0] == 'a') {
      q.account = AccountId{*id};
    } else {
      q.holder = HolderId{*id};
    }
  }
  return request;
}

namespace {

template <std::size_t N>
json merchant_text(const Event& event, const char (&text)[N]) {
  const std::size_t n = strnlen(text, N);
  if (!event.has_merchant || n == 0) return nullptr;
  return std::string(text, n);
}

std::string mcc_text(std::uint16_t mcc) {
  char text[8];
  std::snprintf(text, sizeof text, "%04u", mcc);
  return text;
}

}  // namespace

std::string_view channel_name(CardChannel channel) {
  switch (channel) {
    case CardChannel::card_present:
      return "card_present";
    case CardChannel::online:
      return "online";
    case CardChannel::atm:
      return "atm";
    case CardChannel::contactless:
      return "contactless";
    case CardChannel::unknown:
      break;
  }
  return "";
}

std::string event_id(std::uint64_t seq) {
  char text[32];
  std::snprintf(text, sizeof text, "evt_%016llx", static_cast<unsigned long long>(seq));
  return text;
}

json event_json(const Event& event) {
  json data = json::object();
  std::uint64_t ts = 0;
  switch (event.record.kind) {
    case RecordKind::account: {
      const Account& a = event.record.value.account;
      json account = account_json(a);
      account.erase("balances");  // the feed carries settings; balances are read live
      data["account"] = std::move(account);
      ts = a.timestamp;
      break;
    }
    case RecordKind::card: {
      const Card& c = event.record.value.card;
      data["card"] = card_json(c);
      ts = c.timestamp;
      break;
    }
    case RecordKind::card_message:  // never an event of its own
      break;
    case RecordKind::direct_debit: {
      const DirectDebit& dd = event.record.value.direct_debit;
      data["direct_debit"] = direct_debit_state_json(dd);
      if (!dd.account_id.is_zero()) data["account_id"] = format_uuid(dd.account_id.value);
      ts = dd.timestamp;
      break;
    }
    case RecordKind::spike: {
      const SpendingSpike& s = event.record.value.spike;
      data["spike"] = spike_json(s);
      ts = s.timestamp;
      break;
    }
    case RecordKind::monitor: {
      const BalanceMonitor& m = event.record.value.monitor;
      data["monitor"] = monitor_json(m);
      data["account_id"] = format_uuid(m.account_id.value);
      ts = m.timestamp;
      break;
    }
    case RecordKind::transfer: {
      const Transfer& t = event.record.value.transfer;
      data["transfer"] = transfer_json(t);
      ts = t.timestamp;
      const bool card_message = event.type == EventType::card_authorization_approved ||
                                event.type == EventType::card_authorization_declined ||
                                event.type == EventType::card_completion ||
                                event.type == EventType::card_reversal;
      if (card_message) {
        const Uint128 card{t.reference_a, t.reference_b};
        const bool refund = t.code == TransferCode::card_refund;
        const AccountId account = refund ? t.credit_account_id : t.debit_account_id;
        data["authorization"] = {
            {"card_id", card.is_zero() ? json(nullptr) : json(format_uuid(card))},
            {"account_id", account.is_zero() ? json(nullptr) : json(format_uuid(account.value))},
            {"amount", t.amount},
            {"amount_effective", t.amount_effective},
            {"currency",
             t.currency.code == 0 ? json(nullptr) : json(std::string(currency_alpha(t.currency)))},
            {"merchant_name", merchant_text(event, event.merchant.merchant.name)},
            {"merchant_city", merchant_text(event, event.merchant.merchant.city)},
            {"mcc", event.has_merchant && event.merchant.mcc != 0
                        ? json(mcc_text(event.merchant.mcc))
                        : json(nullptr)},
            {"country", merchant_text(event, event.merchant.merchant.country)},
            {"channel",
             event.has_merchant && event.merchant.merchant.channel != CardChannel::unknown
                 ? json(std::string(channel_name(event.merchant.merchant.channel)))
                 : json(nullptr)},
            {"response_code", std::string(authorization_response_code(t.result))},
            {"reason", outbound::reason_in_words(t.result)}};
      }
      break;
    }
  }
  return json{{"id", event_id(event.seq)},
              {"seq", event.seq},
              {"type", std::string(event_type_name(event.type))},
              {"timestamp", format_time(ts)},
              {"data", std::move(data)}};
}

Response events_answer(const EventPage& page, unsigned version) {
  json events = json::array();
  for (const Event& e : page.events) events.push_back(event_json(e));
  return make_json(status::ok,
                   dump_json(json{{"events", std::move(events)},
                                  {"next_after", page.next_after},
                                  {"last_seq", page.last_seq}}),
                   version);
}

}  // namespace ledger::http
