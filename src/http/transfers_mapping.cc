// The REST mapping of /v1/transfers: create, batch, post and void.
#include <algorithm>
#include <cstring>

#include "http/mapping.h"
#include "http/mapping_support.h"
#include "ledger/limits.h"
#include "ledger/parse.h"

namespace ledger::http {

using bhttp::status;
using nlohmann::json;
using namespace detail;

// --- Transfers ---------------------------------------------------------------------------

Mapped<Command> map_create_transfer(const Body& body) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  BadRequest error;
  const auto transfer = parse_transfer(std::get<json>(object), "", &error);
  if (!transfer) return bad_request(error);
  Command command = command_of(CommandKind::create_transfer);
  command.body.transfer = *transfer;
  return command;
}

// Up to http_batch_transfers_max transfers in one request. atomic: all or none (a linked
// chain); otherwise each is applied on its own.
Mapped<Batch> map_batch(const Body& body) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  const json& root = std::get<json>(object);
  FieldReader fields(root);
  const auto atomic = fields.boolean("atomic");
  const auto it = root.find("transfers");
  if (it == root.end() || !it->is_array() || it->empty() ||
      it->size() > limits::http_batch_transfers_max) {
    return bad_request({"invalid_field", "transfers",
                        "transfers must be an array of 1 to " +
                            std::to_string(limits::http_batch_transfers_max) + " transfers"});
  }
  fields.allow("transfers");
  fields.reject_unknown_fields();
  if (!fields.ok()) return bad_request(fields.error());
  Batch batch;
  batch.atomic = atomic.value_or(false);
  batch.commands.resize(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    BadRequest error;
    const auto transfer = parse_transfer((*it)[i], "transfers[" + std::to_string(i) + "].", &error);
    if (!transfer) return bad_request(error);
    batch.commands[i].kind = CommandKind::create_transfer;
    batch.commands[i].body.transfer = *transfer;
    if (batch.atomic && i + 1 < it->size()) batch.commands[i].body.transfer.flags |= flag_linked;
  }
  return batch;
}

Mapped<Command> map_resolve(Uint128 pending_id, const Body& body, bool post) {
  json object = json::object();
  if (!body.text.empty()) {
    auto parsed = json_body(body);
    if (auto* problem = problem_of(parsed)) return *problem;
    object = std::move(std::get<json>(parsed));
  }
  FieldReader fields(object);
  const auto id = fields.uuid("id", false);
  const auto amount = fields.amount("amount", false, false);  // void: release only this much
  std::optional<bool> over_capture = false;
  if (post) over_capture = fields.boolean("allow_over_capture");
  const auto reference = fields.unsigned_integer("reference", UINT64_MAX);
  fields.reject_unknown_fields();
  if (!fields.ok()) return bad_request(fields.error());
  Command command = command_of(CommandKind::create_transfer);
  Transfer& t = command.body.transfer;
  t = Transfer{};
  t.pending_id.value = pending_id;
  t.amount = amount.value_or(0);  // 0: the full hold
  t.flags = post ? flag_post_pending : flag_void_pending;
  if (over_capture.value_or(false)) t.flags |= flag_allow_over_capture;
  t.reference_a = reference.value_or(0);
  t.code = TransferCode::internal;
  // Without an id: an Idempotency-Key names the request (two partial voids of the same
  // amount under different keys are two voids); without either, one id per distinct request
  // on this hold, so a blind retry gets the original answer.
  const std::string content =
      !body.idempotency_key.empty()
          ? std::string(post ? "post" : "void") + ":key=" + std::string(body.idempotency_key)
          : std::string(post ? "post" : "void") + ":amount=" + std::to_string(t.amount) +
                ":over=" + (over_capture.value_or(false) ? "1" : "0") +
                ":reference=" + std::to_string(t.reference_a);
  t.id.value = id.value_or(derived_id(pending_id, content));
  return command;
}

Command lookup_transfer(Uint128 id) {
  Command command = command_of(CommandKind::lookup_transfer);
  command.body.transfer_id = TransferId{id};
  return command;
}

Response transfer_answer(const CommandResult& result, bool resolution, unsigned version) {
  const TransferResult code = result.transfer_result();
  if (code == TransferResult::ok || code == TransferResult::exists) {
    Response response = make_json(code == TransferResult::ok ? status::created : status::ok,
                                  dump_json(transfer_json(result.value.transfer)), version);
    response.set(bhttp::field::location,
                 "/v1/transfers/" + format_uuid(result.value.transfer.id.value));
    return response;
  }
  if (is_conflict(code)) return render(transfer_problem(result, status::conflict), version);
  if (resolution && code == TransferResult::pending_not_found) {
    return render(transfer_problem(result, status::not_found), version);
  }
  return render(transfer_problem(result, status::unprocessable_entity), version);
}

Response batch_answer(const Batch& batch, const std::vector<CommandResult>& results,
                      unsigned version) {
  json items = json::array();
  std::optional<std::size_t> failed;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const TransferResult r = results[i].transfer_result();
    if (r != TransferResult::ok && r != TransferResult::exists && !failed) failed = i;
    items.push_back({{"index", i},
                     {"result", std::string(to_string(r))},
                     {"transfer", transfer_json(results[i].value.transfer)}});
  }
  if (batch.atomic && failed) {
    const std::size_t index =
        std::min<std::size_t>(results[*failed].failed_link, results.size() - 1);
    const std::string name(to_string(results[index].transfer_result()));
    Problem problem{status::unprocessable_entity, name,
                    "the atomic batch was rejected at transfers[" + std::to_string(index) +
                        "]: " + name + "; nothing was applied"};
    problem.members["failed_index"] = index;
    problem.members["results"] = std::move(items);
    return render(problem, version);
  }
  return make_json(batch.atomic ? status::created : status::ok,
                   dump_json(json{{"atomic", batch.atomic}, {"results", std::move(items)}}),
                   version);
}

}  // namespace ledger::http
