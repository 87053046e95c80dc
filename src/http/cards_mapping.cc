// The REST mapping of /v1/cards: issue (PAN to keyed hash), change (a controls patch).
#include <algorithm>
#include <cstring>

#include "http/mapping.h"
#include "http/mapping_support.h"
#include "ledger/limits.h"
#include "ledger/pan_hash.h"
#include "ledger/parse.h"

namespace ledger::http {

using bhttp::status;
using nlohmann::json;
using namespace detail;

// --- Cards -------------------------------------------------------------------------------

Mapped<Command> map_create_card(const Body& body, std::string_view pan_secret, Uint128 fresh_id) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  if (pan_secret.empty()) {
    Problem problem{status::service_unavailable, "pan_secret_not_configured",
                    "set LEDGER_PAN_SECRET to store card numbers"};
    return problem;
  }
  const json& root = std::get<json>(object);
  FieldReader fields(root);
  const auto id = fields.uuid("id", false);
  const auto account = fields.uuid("account_id", true);
  const auto pan = fields.text("pan", true, 19);
  const auto expiry = fields.text("expiry", true, 4);
  fields.allow("controls");
  fields.reject_unknown_fields();
  if (fields.ok() && !valid_pan(*pan)) {
    fields.fail("invalid_field", "pan", "pan must be 12 to 19 digits with a valid check digit");
  }
  std::uint64_t yymm = 0;
  if (fields.ok() &&
      (expiry->size() != 4 || !parse_digits(*expiry, &yymm) || yymm % 100 < 1 || yymm % 100 > 12)) {
    fields.fail("invalid_field", "expiry", "expiry must be YYMM, e.g. \"2812\"");
  }
  if (!fields.ok()) return bad_request(fields.error());
  Command command = command_of(CommandKind::create_card);
  Card& card = command.body.card;
  card = Card{};
  if (const auto it = root.find("controls"); it != root.end() && !it->is_null()) {
    CardControlsPatch patch;
    BadRequest error;
    if (!parse_controls(*it, "", &patch, &error)) return bad_request(error);
    apply_controls_patch(patch, &card.controls);
  }
  card.id.value = id                              ? *id
                  : !body.idempotency_key.empty() ? id_from_key(body.idempotency_key)
                                                  : fresh_id;
  card.account_id.value = *account;
  pan_hash(pan_secret, *pan, card.pan_hash);
  std::memcpy(card.bin, pan->data(), shown_leading_digits(pan->size()));
  std::memcpy(card.last4, pan->data() + pan->size() - 4, 4);
  card.expiry_yymm = static_cast<std::uint16_t>(yymm);
  return command;
}

Mapped<Command> map_update_card(Uint128 id, const Body& body) {
  auto object = json_body(body);
  if (auto* problem = problem_of(object)) return *problem;
  const json& root = std::get<json>(object);
  FieldReader fields(root);
  const auto status_text = fields.text("status", false, 16);
  fields.allow("controls");
  fields.reject_unknown_fields();
  std::optional<CardStatus> new_status;
  if (fields.ok() && status_text && !(new_status = parse_card_status(*status_text))) {
    fields.fail("invalid_field", "status", "status must be active, frozen or blocked");
  }
  const auto controls = root.find("controls");
  const bool has_controls = controls != root.end() && !controls->is_null();
  if (fields.ok() && !status_text && !has_controls) {
    fields.fail("missing_field", "", "send status and/or controls");
  }
  if (!fields.ok()) return bad_request(fields.error());
  Command command = command_of(CommandKind::update_card);
  CardUpdate& update = command.body.card_update;
  update = CardUpdate{};
  update.id = CardId{id};
  update.set_status = new_status.has_value();
  update.status = new_status.value_or(CardStatus::active);
  if (has_controls) {  // only the fields sent: the engine merges them into the card
    BadRequest error;
    if (!parse_controls(*controls, "", &update.controls, &error)) return bad_request(error);
  }
  return command;
}

Command lookup_card(Uint128 id) {
  Command command = command_of(CommandKind::lookup_card);
  command.body.card_id = CardId{id};
  return command;
}

Response card_answer(const CommandResult& result, bool creating, unsigned version) {
  const CardResult code = result.card_result();
  if (code == CardResult::ok || code == CardResult::exists) {
    const bool created = creating && code == CardResult::ok;
    Response response = make_json(created ? status::created : status::ok,
                                  dump_json(card_json(result.value.card)), version);
    response.set(bhttp::field::location, "/v1/cards/" + format_uuid(result.value.card.id.value));
    return response;
  }
  // One answer for every conflict that involves a card number (another card has it; this id
  // has another one) and for the id's other fields alike: which field differs is not told, so
  // the answer cannot be used to test candidate numbers against issued cards.
  if (code == CardResult::card_pan_exists ||
      (code >= CardResult::exists_with_different_account_id &&
       code <= CardResult::exists_with_different_expiry)) {
    return render(Problem{status::conflict, "card_conflict",
                          "the card was not created: this id or this card number belongs to a "
                          "card with other details"},
                  version);
  }
  const std::string name(to_string(code));
  status http = status::unprocessable_entity;
  if (code == CardResult::card_not_found) http = status::not_found;
  if (code == CardResult::card_blocked) http = status::conflict;
  return render(Problem{http, name, "the card was not changed: " + name}, version);
}

}  // namespace ledger::http
