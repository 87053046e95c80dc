// The REST mapping of /v1/spike-rules (a body to a rule, a rule to JSON) and the data of the
// spending.spike event. Pure: no I/O.
#include <cmath>
#include <cstdio>

#include "http/mapping.h"
#include "http/mapping_support.h"
#include "ledger/parse.h"

namespace ledger::http {

using bhttp::status;
using nlohmann::json;
using namespace detail;

Mapped<SpikeRule> map_create_spike_rule(const Body& body, Uint128 fresh_id) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  const json& root = std::get<json>(object);
  FieldReader fields(root);
  const auto id = fields.uuid("id", false);
  const auto scope = fields.text("scope", true, 16);
  const auto scope_id = fields.uuid("scope_id", false);
  const auto direction = fields.text("direction", false, 8);
  const auto window = fields.unsigned_integer("window_s", limits::spike_window_s_max);
  const auto cooldown = fields.unsigned_integer("cooldown_s", limits::spike_cooldown_s_max);
  const auto currency = fields.currency("currency", false);
  fields.allow("amount_at_least");
  fields.allow("times_usual");
  fields.reject_unknown_fields();
  SpikeRule rule;
  if (fields.ok()) {
    if (*scope == "card") {
      rule.scope = SpikeScope::card;
    } else if (*scope == "account") {
      rule.scope = SpikeScope::account;
    } else if (*scope == "holder") {
      rule.scope = SpikeScope::holder;
    } else {
      fields.fail("invalid_field", "scope", "scope must be card, account or holder");
    }
  }
  if (fields.ok() && direction && *direction != "out" && *direction != "in") {
    fields.fail("invalid_field", "direction", "direction must be out or in");
  }
  if (fields.ok() && (!window || *window == 0)) {
    fields.fail(window ? "invalid_field" : "missing_field", "window_s",
                "window_s must be an integer from 1 to " +
                    std::to_string(limits::spike_window_s_max) + " (seconds)");
  }
  if (fields.ok()) {
    const auto it = root.find("amount_at_least");
    if (it == root.end() || it->is_null()) {
      fields.fail("missing_field", "amount_at_least",
                  "amount_at_least is required (minor units, 0 or more)");
    } else if (!it->is_number_integer() ||
               (it->is_number_integer() && !it->is_number_unsigned() &&
                it->get<std::int64_t>() < 0) ||
               (it->is_number_unsigned() &&
                it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))) {
      fields.fail("invalid_field", "amount_at_least",
                  "amount_at_least must be an integer count of minor units, 0 or more");
    } else {
      rule.amount_at_least = it->get<std::int64_t>();
    }
  }
  if (fields.ok() && !currency) {
    fields.fail("missing_field", "currency",
                "currency is required: amount_at_least is in its minor units");
  }
  if (fields.ok()) {
    const auto it = root.find("times_usual");
    if (it != root.end() && !it->is_null()) {
      const double factor = it->is_number() ? it->get<double>() : -1;
      if (!(factor > 0) || factor > 1000 || !std::isfinite(factor)) {
        fields.fail("invalid_field", "times_usual",
                    "times_usual must be a number above 0 and at most 1000 (e.g. 3 or 2.5)");
      } else {
        rule.times_usual_x100 = static_cast<std::uint32_t>(std::lround(factor * 100));
        if (rule.times_usual_x100 == 0) rule.times_usual_x100 = 1;
      }
    }
  }
  if (!fields.ok()) return bad_request(fields.error());
  rule.id = id ? *id : !body.idempotency_key.empty() ? id_from_key(body.idempotency_key) : fresh_id;
  rule.scope_id = scope_id.value_or(Uint128{});
  rule.direction = direction && *direction == "in" ? SpikeDirection::in : SpikeDirection::out;
  rule.window_s = static_cast<std::uint32_t>(*window);
  rule.cooldown_s = static_cast<std::uint32_t>(cooldown.value_or(0));
  rule.currency = *currency;
  return rule;
}

json spike_rule_json(const SpikeRule& r) {
  return json{{"id", format_uuid(r.id)},
              {"scope", std::string(scope_name(r.scope))},
              {"scope_id", uuid_or_null(r.scope_id)},
              {"direction", std::string(direction_name(r.direction))},
              {"window_s", r.window_s},
              {"amount_at_least", r.amount_at_least},
              {"currency", std::string(currency_alpha(r.currency))},
              {"times_usual", times_usual_json(r.times_usual_x100)},
              {"cooldown_s", r.cooldown_s},
              {"created_at", r.created_at}};
}

Response spike_rule_answer(const SpikeRuleReply& reply, bool creating, unsigned version) {
  if (reply.conflict) {
    return render(Problem{status::conflict, "exists_with_different_fields",
                          "a spike rule with this id exists with other settings"},
                  version);
  }
  Response response = make_json(creating && reply.created ? status::created : status::ok,
                                dump_json(spike_rule_json(reply.rules.at(0))), version);
  response.set(bhttp::field::location, "/v1/spike-rules/" + format_uuid(reply.rules[0].id));
  return response;
}

Response spike_rules_answer(const SpikeRuleReply& reply, unsigned version) {
  json list = json::array();
  for (const SpikeRule& r : reply.rules) list.push_back(spike_rule_json(r));
  return make_json(status::ok, dump_json(json{{"spike_rules", std::move(list)}}), version);
}

}  // namespace ledger::http
