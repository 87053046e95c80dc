// The REST mapping of the event feed: GET /v1/events (query and answer; each event's document
// is src/document/event.h, as webhooks carry it). Pure: no I/O.
#include "document/event.h"
#include "http/mapping.h"
#include "http/mapping_support.h"
#include "ledger/limits.h"
#include "ledger/parse.h"

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
      q.types |= std::uint64_t{1} << static_cast<unsigned>(*type);
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

Response events_answer(const EventPage& page, unsigned version) {
  json events = json::array();
  for (const Event& e : page.events) events.push_back(document::event_json(e));
  return make_json(status::ok,
                   dump_json(json{{"events", std::move(events)},
                                  {"next_after", page.next_after},
                                  {"last_seq", page.last_seq}}),
                   version);
}

}  // namespace ledger::http
