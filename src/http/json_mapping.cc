#include "http/json_mapping.h"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <limits>

#include "ledger/limits.h"
#include "ledger/monitors.h"
#include "ledger/parse.h"

namespace ledger::http {
namespace {

using nlohmann::json;

const char* type_name(const json& value) { return value.type_name(); }

}  // namespace

void FieldReader::fail(std::string code, std::string field, std::string detail) {
  if (!error_) error_ = BadRequest{std::move(code), prefix_ + field, prefix_ + detail};
}

const json* FieldReader::find(const char* name, bool required) {
  known_.emplace_back(name);
  const auto it = object_.find(name);
  if (it == object_.end() || it->is_null()) {
    if (required) fail("missing_field", name, std::string(name) + " is required");
    return nullptr;
  }
  return &*it;
}

std::optional<Uint128> FieldReader::uuid(const char* name, bool required) {
  const json* value = find(name, required);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) {
    fail("invalid_field", name,
         std::string(name) + " must be a UUID string, not " + type_name(*value));
    return std::nullopt;
  }
  const auto parsed = parse_uuid(value->get_ref<const std::string&>());
  if (!parsed || parsed->is_zero()) {
    fail("invalid_field", name, std::string(name) + " must be a non-zero UUID (8-4-4-4-12 hex)");
    return std::nullopt;
  }
  return parsed;
}

std::optional<std::int64_t> FieldReader::amount(const char* name, bool required, bool allow_zero) {
  const json* value = find(name, required);
  if (value == nullptr) return std::nullopt;
  const std::string rule = std::string(name) + " must be an integer count of minor units" +
                           (allow_zero ? ", zero or more" : ", greater than zero") +
                           " and at most 9223372036854775807";
  if (value->is_number_unsigned()) {
    const auto v = value->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
        (v == 0 && !allow_zero)) {
      fail("invalid_field", name, rule);
      return std::nullopt;
    }
    return static_cast<std::int64_t>(v);
  }
  if (value->is_number_integer()) {  // negative (non-negative integers parse as unsigned)
    fail("invalid_field", name, rule);
    return std::nullopt;
  }
  fail("invalid_field", name, rule + ", not " + type_name(*value));
  return std::nullopt;
}

std::optional<std::uint64_t> FieldReader::unsigned_integer(const char* name, std::uint64_t max) {
  const json* value = find(name, false);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number_unsigned() || value->get<std::uint64_t>() > max) {
    fail("invalid_field", name,
         std::string(name) + " must be an integer from 0 to " + std::to_string(max));
    return std::nullopt;
  }
  return value->get<std::uint64_t>();
}

std::optional<bool> FieldReader::boolean(const char* name) {
  const json* value = find(name, false);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean()) {
    fail("invalid_field", name, std::string(name) + " must be true or false");
    return std::nullopt;
  }
  return value->get<bool>();
}

std::optional<Currency> FieldReader::currency(const char* name, bool required) {
  const json* value = find(name, required);
  if (value == nullptr) return std::nullopt;
  const auto parsed =
      value->is_string() ? currency_from_alpha(value->get_ref<const std::string&>()) : std::nullopt;
  if (!parsed) {
    fail("invalid_field", name, std::string(name) + " must be an ISO 4217 code such as \"EUR\"");
    return std::nullopt;
  }
  return parsed;
}

std::optional<std::string> FieldReader::text(const char* name, bool required,
                                             std::size_t max_bytes) {
  const json* value = find(name, required);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string() || value->get_ref<const std::string&>().size() > max_bytes) {
    fail(
        "invalid_field", name,
        std::string(name) + " must be a string of at most " + std::to_string(max_bytes) + " bytes");
    return std::nullopt;
  }
  return value->get<std::string>();
}

void FieldReader::reject_unknown_fields() {
  for (const auto& [key, value] : object_.items()) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
      fail("unknown_field", key, "unknown field \"" + key + "\"");
      return;
    }
  }
}

std::optional<json> parse_object(std::string_view body, BadRequest* error) {
  // A key twice in one object is refused: a gateway that reads the first one and ledgerd
  // (whose parser keeps the last) would otherwise see two different requests.
  std::vector<std::vector<std::string>> keys;  // per open object
  std::string duplicate;
  const json::parser_callback_t watch = [&](int, json::parse_event_t event, json& value) {
    if (event == json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == json::parse_event_t::object_end && !keys.empty()) {
      keys.pop_back();
    } else if (event == json::parse_event_t::key && !keys.empty() && value.is_string()) {
      const std::string& name = value.get_ref<const std::string&>();
      auto& seen = keys.back();
      if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
        if (duplicate.empty()) duplicate = name;
      } else {
        seen.push_back(name);
      }
    }
    return true;
  };
  json parsed = json::parse(body, watch, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    *error = {"malformed_json", "", "the body is not valid JSON"};
    return std::nullopt;
  }
  if (!duplicate.empty()) {
    *error = {"duplicate_field", duplicate, "\"" + duplicate + "\" appears twice in one object"};
    return std::nullopt;
  }
  if (!parsed.is_object()) {
    *error = {"malformed_json", "", "the body must be a JSON object"};
    return std::nullopt;
  }
  return parsed;
}

namespace {

bool leap_year(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(int year, int month) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && leap_year(year) ? 29 : days[month - 1];
}

// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(int year, int month, int day) {
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = y / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146'097 + doe - 719'468;
}

}  // namespace

std::optional<std::uint64_t> parse_time(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm); every part checked, nothing rolls over.
  const auto digits = [&](std::size_t at, std::size_t n, int* out) {
    if (at + n > text.size()) return false;
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      v = v * 10 + (text[i] - '0');
    }
    *out = v;
    return true;
  };
  int year, month, day, hour, minute, second;
  if (!digits(0, 4, &year) || text.size() < 20 || text[4] != '-' || !digits(5, 2, &month) ||
      text[7] != '-' || !digits(8, 2, &day) || (text[10] != 'T' && text[10] != 't') ||
      !digits(11, 2, &hour) || text[13] != ':' || !digits(14, 2, &minute) || text[16] != ':' ||
      !digits(17, 2, &second)) {
    return std::nullopt;
  }
  if (year < time_year_min || year > time_year_max || month < 1 || month > 12 || day < 1 ||
      day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  std::size_t at = 19;
  std::uint64_t fraction_ns = 0;
  if (at < text.size() && text[at] == '.') {
    std::uint64_t scale = 100'000'000;
    ++at;
    const std::size_t start = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      fraction_ns += static_cast<std::uint64_t>(text[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
    if (at == start || at - start > 9) return std::nullopt;
  }
  std::int64_t offset_s = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    ++at;
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    int oh, om;
    if (!digits(at + 1, 2, &oh) || at + 3 >= text.size() || text[at + 3] != ':' ||
        !digits(at + 4, 2, &om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_s = (text[at] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;
  const std::int64_t seconds =
      days_from_civil(year, month, day) * 86'400 + hour * 3'600 + minute * 60 + second - offset_s;
  if (seconds < 0) return std::nullopt;
  return static_cast<std::uint64_t>(seconds) * 1'000'000'000ULL + fraction_ns;
}

std::optional<Transfer> parse_transfer(const json& body, const std::string& prefix,
                                       BadRequest* error) {
  if (!body.is_object()) {
    *error = {"invalid_field", prefix.empty() ? "" : prefix.substr(0, prefix.size() - 1),
              prefix + " must be a JSON object"};
    return std::nullopt;
  }
  FieldReader fields(body, prefix);
  const auto id = fields.uuid("id", true);
  const auto debit = fields.uuid("debit_account_id", true);
  const auto credit = fields.uuid("credit_account_id", true);
  const auto amount = fields.amount("amount", true, false);
  const auto currency = fields.currency("currency", true);
  const auto code_text = fields.text("code", false, 32);
  const auto pending = fields.boolean("pending");
  const auto timeout = fields.unsigned_integer("timeout_seconds", limits::hold_timeout_s_max);
  const auto reference = fields.unsigned_integer("reference", UINT64_MAX);
  const auto reference_b = fields.unsigned_integer("reference_b", UINT64_MAX);
  const auto reference_32 = fields.unsigned_integer("reference_32", UINT32_MAX);
  fields.reject_unknown_fields();
  std::optional<TransferCode> code = TransferCode::internal;
  if (fields.ok() && code_text &&
      (!(code = parse_code(*code_text)) || *code == TransferCode::expiry ||
       *code >= TransferCode::direct_debit)) {  // engine-made codes
    fields.fail("invalid_field", "code", "unknown transfer code \"" + *code_text + "\"");
  }
  if (fields.ok() && timeout && !pending.value_or(false)) {
    fields.fail("invalid_field", "timeout_seconds",
                "timeout_seconds applies to pending transfers only");
  }
  if (!fields.ok()) {
    *error = fields.error();
    return std::nullopt;
  }
  Transfer t;
  t.id.value = *id;
  t.debit_account_id.value = *debit;
  t.credit_account_id.value = *credit;
  t.amount = *amount;
  t.currency = *currency;
  t.code = *code;
  t.flags = pending.value_or(false) ? flag_pending : 0;
  t.timeout_s = static_cast<std::uint32_t>(timeout.value_or(0));
  t.reference_a = reference.value_or(0);
  t.reference_b = reference_b.value_or(0);
  t.reference_32 = static_cast<std::uint32_t>(reference_32.value_or(0));
  return t;
}

bool valid_pan(std::string_view pan) {
  if (pan.size() < 12 || pan.size() > 19) return false;
  int sum = 0;
  bool twice = false;
  for (auto it = pan.rbegin(); it != pan.rend(); ++it) {
    if (*it < '0' || *it > '9') return false;
    int d = *it - '0';
    if (twice && (d *= 2) > 9) d -= 9;
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

bool parse_controls(const json& object, const std::string& prefix, CardControlsPatch* patch,
                    BadRequest* error) {
  if (!object.is_object()) {
    *error = {"invalid_field", prefix + "controls", prefix + "controls must be an object"};
    return false;
  }
  FieldReader fields(object, prefix + "controls.");
  const auto per_authorization = fields.amount("per_authorization_limit", false, true);
  const auto daily = fields.amount("daily_limit", false, true);
  const auto monthly = fields.amount("monthly_limit", false, true);
  const auto count =
      fields.unsigned_integer("daily_count_limit", limits::card_daily_count_limit_max);
  const char* channel_names[] = {"online", "atm", "contactless", "abroad"};
  const std::uint8_t channel_bits[] = {channel_online, channel_atm, channel_contactless,
                                       channel_abroad};
  std::optional<bool> channels[4];
  for (int i = 0; i < 4; ++i) channels[i] = fields.boolean(channel_names[i]);
  fields.allow("blocked_mccs");
  fields.reject_unknown_fields();
  if (!fields.ok()) {
    *error = fields.error();
    return false;
  }
  // A limit sent as null means "no limit", as GET shows it; an absent one is not changed.
  const auto sent = [&object](const char* name) { return object.contains(name); };
  CardControls& v = patch->values;
  const auto set = [patch](std::uint8_t field) { patch->fields |= field; };
  if (sent("per_authorization_limit")) set(control_per_authorization_limit);
  v.per_authorization_limit = per_authorization.value_or(0);
  if (sent("daily_limit")) set(control_daily_limit);
  v.daily_limit = daily.value_or(0);
  if (sent("monthly_limit")) set(control_monthly_limit);
  v.monthly_limit = monthly.value_or(0);
  if (sent("daily_count_limit")) set(control_daily_count_limit);
  v.daily_count_limit = static_cast<std::uint32_t>(count.value_or(0));
  for (int i = 0; i < 4; ++i) {
    if (!channels[i]) continue;
    (*channels[i] ? patch->channels_on : patch->channels_off) |= channel_bits[i];
  }
  if (const auto it = object.find("blocked_mccs"); it != object.end()) {
    const std::string field = prefix + "controls.blocked_mccs";
    if (!it->is_null() && (!it->is_array() || it->size() > card_blocked_mccs_max)) {
      *error = {"invalid_field", field, field + " must be an array of at most 16 four-digit codes"};
      return false;
    }
    set(control_blocked_mccs);  // null: none blocked
    v.blocked_mcc_count = 0;
    for (const auto& mcc : it->is_null() ? json::array() : *it) {
      std::uint64_t code = 0;
      const std::string* text = mcc.is_string() ? &mcc.get_ref<const std::string&>() : nullptr;
      if (text == nullptr || text->size() != 4 || !parse_digits(*text, &code)) {
        *error = {"invalid_field", field,
                  field + " entries must be four-digit strings such as \"5411\""};
        return false;
      }
      v.blocked_mccs[v.blocked_mcc_count++] = static_cast<std::uint16_t>(code);
    }
  }
  return true;
}

}  // namespace ledger::http
