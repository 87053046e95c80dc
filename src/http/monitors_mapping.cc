// The REST mapping of /v1/balance-monitors: a body to a create_monitor command, and the monitor
// as JSON (also the data of the balance_monitor.* events). Pure: no I/O.
#include "http/mapping.h"
#include "http/mapping_support.h"
#include "ledger/monitors.h"
#include "ledger/parse.h"

namespace ledger::http {

using bhttp::status;
using nlohmann::json;
using namespace detail;

namespace {

std::optional<BalanceOperator> parse_operator(std::string_view text) {
  if (auto op = parse_balance_operator(text)) return op;
  if (text == "lt") return BalanceOperator::less;
  if (text == "lte") return BalanceOperator::less_equal;
  if (text == "gt") return BalanceOperator::greater;
  if (text == "gte") return BalanceOperator::greater_equal;
  return std::nullopt;
}

}  // namespace

Mapped<Command> map_create_monitor(const Body& body, Uint128 fresh_id) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  const json& root = std::get<json>(object);
  FieldReader fields(root);
  const auto id = fields.uuid("id", false);
  const auto account = fields.uuid("account_id", true);
  const auto field = fields.text("field", true, 16);
  const auto op = fields.text("operator", true, 4);
  fields.allow("threshold");
  fields.reject_unknown_fields();
  std::optional<BalanceField> balance_field;
  std::optional<BalanceOperator> balance_operator;
  if (fields.ok() && !(balance_field = parse_balance_field(*field))) {
    fields.fail("invalid_field", "field", "field must be available, posted or pending");
  }
  if (fields.ok() && !(balance_operator = parse_operator(*op))) {
    fields.fail("invalid_field", "operator", "operator must be <, <=, > or >=");
  }
  std::int64_t threshold = 0;
  if (fields.ok()) {
    const auto it = root.find("threshold");
    if (it == root.end() || it->is_null()) {
      fields.fail("missing_field", "threshold", "threshold is required (minor units)");
    } else if (!it->is_number_integer()) {
      fields.fail("invalid_field", "threshold",
                  "threshold must be an integer count of minor units (-2^63 .. 2^63-1)");
    } else if (it->is_number_unsigned() &&
               it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      fields.fail("invalid_field", "threshold",
                  "threshold must be an integer count of minor units (-2^63 .. 2^63-1)");
    } else {
      threshold = it->get<std::int64_t>();
    }
  }
  if (fields.ok() && account->is_zero()) {
    fields.fail("invalid_field", "account_id", "account_id must not be zero");
  }
  if (!fields.ok()) return bad_request(fields.error());
  Command command = command_of(CommandKind::create_monitor);
  BalanceMonitor& monitor = command.body.monitor;
  monitor = BalanceMonitor{};
  monitor.id.value = id                              ? *id
                     : !body.idempotency_key.empty() ? id_from_key(body.idempotency_key)
                                                     : fresh_id;
  monitor.account_id.value = *account;
  monitor.field = *balance_field;
  monitor.op = *balance_operator;
  monitor.threshold = threshold;
  return command;
}

Command monitor_command(CommandKind kind, Uint128 id) {
  Command command = command_of(kind);
  command.body.monitor_id = MonitorId{id};
  return command;
}

Mapped<MonitorListQuery> map_list_monitors(const Query& query) {
  std::string unknown;
  if (!only_known(query, {"account_id", "limit"}, &unknown)) {
    return query_problem(unknown, "unknown query parameter " + unknown);
  }
  MonitorListQuery q;
  if (!read_limit(query, 100, 1000, &q.limit)) {
    return query_problem("limit", "limit must be an integer from 1 to 1000");
  }
  if (const auto it = query.find("account_id"); it != query.end()) {
    const auto id = parse_uuid(it->second);
    if (!id || id->is_zero()) return query_problem("account_id", "account_id must be a UUID");
    q.account = AccountId{*id};
  }
  return q;
}

Response monitor_answer(const CommandResult& result, bool creating, unsigned version) {
  const MonitorResult code = result.monitor_result();
  if (code == MonitorResult::ok || code == MonitorResult::exists) {
    const bool created = creating && code == MonitorResult::ok;
    Response response = make_json(created ? status::created : status::ok,
                                  dump_json(monitor_json(result.value.monitor)), version);
    response.set(bhttp::field::location,
                 "/v1/balance-monitors/" + format_uuid(result.value.monitor.id.value));
    return response;
  }
  const std::string name(to_string(code));
  status http = status::unprocessable_entity;
  if (code == MonitorResult::monitor_not_found) http = status::not_found;
  if (code == MonitorResult::exists_with_different_fields) http = status::conflict;
  return render(Problem{http, name, "the balance monitor was not changed: " + name}, version);
}

Response monitors_answer(const std::vector<BalanceMonitor>& monitors, unsigned version) {
  json list = json::array();
  for (const BalanceMonitor& m : monitors) list.push_back(monitor_json(m));
  return make_json(status::ok, dump_json(json{{"balance_monitors", std::move(list)}}), version);
}

}  // namespace ledger::http
