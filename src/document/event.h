// The JSON document of an event, the one GET /v1/events lists and a webhook delivers as its
// body (docs/events.md): {id, seq, type, timestamp, data}. Pure: no I/O, no server.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "ledger/reader.h"

namespace ledger::document {

std::string event_id(std::uint64_t seq);             // "evt_" and 16 hex digits
std::string_view channel_name(CardChannel channel);  // "card_present", ... ("" for unknown)
nlohmann::json event_json(const Event& event);
// POST /v1/webhook-subscriptions/{id}/test: a document of the same shape, type webhook.test,
// seq 0, with the subscription's id as its data.
nlohmann::json test_event_json(std::string_view id, std::uint64_t timestamp_ns,
                               Uint128 subscription_id);

}  // namespace ledger::document
