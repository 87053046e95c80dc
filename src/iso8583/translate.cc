#include "iso8583/translate.h"

#include <algorithm>
#include <cstdio>

#include "iso8583/transaction_ids.h"
#include "ledger/pan_hash.h"
#include "ledger/parse.h"

namespace ledger::iso8583 {
namespace {

// Fields an answer echoes as received, so that the network can match it (DE11, DE37, ...).
constexpr int echoed_fields[] = {2, 3, 4, 6, 7, 11, 12, 13, 32, 37, 41, 42, 49, 51, 70, 90};

Message reply_to(const Message& request, std::string_view code) {
  Message reply;
  reply.mti = response_mti(request.mti);
  for (int field : echoed_fields) {
    if (request.has(field)) reply.set(field, request.get(field));
  }
  reply.set(39, std::string(code));
  return reply;
}

Translation answer_now(const Message& request, std::string_view code) {
  Translation t;
  t.reply = reply_to(request, code);
  return t;
}

std::string approval_code(TransferId id) {
  static constexpr char digits[] = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
  std::string code(6, '0');
  std::uint64_t v = id.value.lo ^ id.value.hi;
  for (char& c : code) {
    c = digits[v % 34];
    v /= 34;
  }
  return code;
}

std::string amount12(std::int64_t amount) {
  char text[16];
  std::snprintf(text, sizeof text, "%012lld", static_cast<long long>(amount));
  return text;
}

// DE54 entry: account type, amount type, currency (numeric), C/D, 12 digits.
std::string additional_amount(const char* amount_type, Currency currency, __int128 amount) {
  const bool credit = amount >= 0;
  const __int128 magnitude = credit ? amount : -amount;
  const auto shown = static_cast<std::int64_t>(std::min<__int128>(magnitude, 999'999'999'999));
  char text[32];
  std::snprintf(text, sizeof text, "00%s%03u%c%s", amount_type, currency_info(currency).numeric,
                credit ? 'C' : 'D', amount12(shown).c_str());
  return text;
}

bool contains(const std::vector<std::uint16_t>& list, std::uint16_t value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// A numeric field as a number; false when absent. (The codec has checked its digits.)
bool number(const Message& m, int field, std::uint64_t* out) {
  return m.has(field) && parse_digits(m.get(field), out);
}

// The original authorization a reversal or completion refers to: DE90 (original MTI, DE11,
// DE7, acquirer) when present, else the message's own DE32/DE11/DE7.
TransferId original_id(const Message& m) {
  if (m.has(90)) {
    const std::string& o = m.get(90);  // n 42, checked by the codec
    return authorization_id(o.substr(20, 11), o.substr(4, 6), o.substr(10, 10));
  }
  return authorization_id(m.has(32) ? m.get(32) : "", m.get(11), m.get(7));
}

TransferId own_id(const Message& m) {
  return authorization_id(m.has(32) ? m.get(32) : "", m.get(11), m.get(7));
}

// The amount and currency a message is in: DE6/DE51 (cardholder billing) when both are sent,
// else DE4/DE49. false: currency absent or not an ISO 4217 numeric code.
bool amount_and_currency(const Message& m, Translation* t, std::uint64_t* amount) {
  t->billing = m.has(6) && m.has(51);
  std::uint64_t code = 0;
  if (!number(m, t->billing ? 51 : 49, &code) || code > 999) return false;
  const auto currency = currency_from_numeric(static_cast<std::uint16_t>(code));
  if (!currency) return false;
  t->currency = *currency;
  *amount = 0;
  (void)number(m, t->billing ? 6 : 4, amount);  // absent: 0
  return true;
}

// DE14 (YYMM): 0 when absent; nullopt when the month is not 01..12.
std::optional<std::uint16_t> expiry(const Message& m) {
  std::uint64_t yymm = 0;
  if (!number(m, 14, &yymm)) return std::uint16_t{0};
  if (yymm % 100 < 1 || yymm % 100 > 12) return std::nullopt;
  return static_cast<std::uint16_t>(yymm);
}

std::uint8_t channels_of(const Message& m, const Authorization& a,
                         const TranslateOptions& options) {
  std::uint8_t channels = 0;
  const std::string entry = m.has(22) ? m.get(22).substr(0, 2) : "";
  if (m.has(25) && m.get(25) == "59") channels |= channel_online;
  if (entry == "01" || entry == "81" || entry == "10") channels |= channel_online;
  if (entry == "07" || entry == "91") channels |= channel_contactless;
  if (a.kind == AuthorizationKind::cash || a.mcc == 6011) channels |= channel_atm;
  if (!options.home_country.empty() && m.has(19) && m.get(19) != options.home_country) {
    channels |= channel_abroad;
  }
  return channels;
}

// The card fields of an authorization-like message (0100/0200/0120/0220): PAN, amount,
// currency, MCC, expiry, channels. nullopt with *code the DE39 when a field is wrong.
std::optional<Authorization> card_message(const Message& m, const TranslateOptions& options,
                                          std::uint16_t today_yymm, Translation* t,
                                          std::string_view* code) {
  Authorization a;
  const std::string_view processing = std::string_view(m.get(3)).substr(0, 2);
  if (processing == "00") {
    a.kind = AuthorizationKind::purchase;
  } else if (processing == "01") {
    a.kind = AuthorizationKind::cash;
  } else if (processing == "20") {
    a.kind = AuthorizationKind::refund;
  } else if (processing == "31") {
    a.kind = AuthorizationKind::balance_inquiry;
  } else {
    *code = "12";  // invalid transaction
    return std::nullopt;
  }
  std::uint64_t amount = 0;
  if (!amount_and_currency(m, t, &amount)) {
    *code = "30";
    return std::nullopt;
  }
  if (amount == 0 && a.kind != AuthorizationKind::balance_inquiry) {
    *code = "13";  // invalid amount
    return std::nullopt;
  }
  const auto card_expiry = expiry(m);
  if (!card_expiry) {
    *code = "30";
    return std::nullopt;
  }
  if (options.pan_secret.empty()) {
    *code = "91";  // cards cannot be found without the secret
    return std::nullopt;
  }
  std::uint64_t mcc = 0;
  (void)number(m, 18, &mcc);  // absent: 0
  pan_hash(options.pan_secret, m.get(2), a.pan_hash);
  a.amount = static_cast<std::int64_t>(amount);  // at most 12 digits
  a.currency = t->currency;
  a.mcc = static_cast<std::uint16_t>(mcc);
  a.expiry_yymm = *card_expiry;
  a.today_yymm = today_yymm;
  a.channels = channels_of(m, a, options);
  a.partial_allowed = m.has(48) && m.get(48).find("PARTIAL=Y") != std::string::npos;
  a.post_now = m.mti[1] == '2';
  a.hold_timeout_s =
      (contains(options.preauthorization_mccs, a.mcc) ? options.preauthorization_hold_days
                                                      : options.hold_days) *
      86'400;
  return a;
}

Translation with_command(const Message& request, CommandKind kind, const Authorization& a,
                         Purpose purpose, Translation t) {
  t.purpose = purpose;
  t.command.kind = kind;
  t.command.body.authorization = a;
  t.reply = reply_to(request, "91");  // until finish() says otherwise
  return t;
}

// 0100/0200, and 0120 advices with force (the network approved in our place).
Translation authorization(const Message& request, const TranslateOptions& options,
                          std::uint16_t today_yymm, bool force) {
  for (int field : {2, 3, 4, 7}) {
    if (!request.has(field)) return answer_now(request, "30");
  }
  Translation t;
  std::string_view code;
  auto a = card_message(request, options, today_yymm, &t, &code);
  if (!a) return answer_now(request, code);
  a->id = own_id(request);
  a->force = force;
  if (force) a->advice_id = advice_id(a->id);
  const Purpose purpose =
      a->kind == AuthorizationKind::balance_inquiry ? Purpose::inquiry : Purpose::authorize;
  return with_command(request, CommandKind::authorize, *a, purpose, std::move(t));
}

// 0120: the network answered in our place. Its approval is recorded (forced past limits; a
// new hold if we had declined); its decline releases a hold we had placed.
Translation advice(const Message& request, const TranslateOptions& options,
                   std::uint16_t today_yymm) {
  if (!request.has(7)) return answer_now(request, "30");
  const bool network_approved = !request.has(39) || request.get(39) == "00";
  if (network_approved) {
    Message as_request = request;
    as_request.mti = "0100";
    Translation t = authorization(as_request, options, today_yymm, true);
    t.reply.mti = response_mti(request.mti);
    return t;
  }
  Authorization a;
  a.original = own_id(request);
  a.id = reversal_id(a.original);
  return with_command(request, CommandKind::card_reversal, a, Purpose::reverse, Translation{});
}

// 0220: post the hold, fully or partly; above it only for MCCs that allow it (tips, fuel). A
// completion without an authorization is recorded as a forced single-message posting.
Translation completion(const Message& request, const TranslateOptions& options,
                       std::uint16_t today_yymm) {
  if (!request.has(7) || !(request.has(4) || request.has(6))) return answer_now(request, "30");
  Message as_financial = request;  // the fields of a forced 0200 if there is no hold
  as_financial.mti = "0200";
  as_financial.set(3, "000000");
  if (!as_financial.has(2)) as_financial.set(2, "");
  Translation t;
  std::string_view code;
  auto a = card_message(as_financial, options, today_yymm, &t, &code);
  if (!a) return answer_now(request, code == "13" ? "30" : code);
  a->original = original_id(request);
  a->id = completion_id(a->original);
  a->force = true;
  a->over_capture = contains(options.over_capture_mccs, a->mcc);
  return with_command(request, CommandKind::card_completion, *a, Purpose::complete, std::move(t));
}

// 0400/0420: release the original hold, all of it or (DE95: the replacement amount the
// transaction really came to) the part above it; after capture, give the reversed amount back.
Translation reversal(const Message& request) {
  if (!request.has(7)) return answer_now(request, "30");
  Authorization a;
  a.original = original_id(request);
  a.id = reversal_id(a.original);
  Translation t;
  std::uint64_t stated = 0;
  t.billing = request.has(6) && request.has(51);
  (void)number(request, t.billing ? 6 : 4, &stated);  // absent: the original's amount
  std::uint64_t replacement = 0;
  if (request.has(95) &&
      !parse_digits(std::string_view(request.get(95)).substr(0, 12), &replacement)) {
    return answer_now(request, "30");  // DE95 starts with the actual amount, n 12
  }
  a.amount = static_cast<std::int64_t>(stated);
  a.replacement = static_cast<std::int64_t>(replacement);
  return with_command(request, CommandKind::card_reversal, a, Purpose::reverse, std::move(t));
}

bool resolved_already(TransferResult r) {
  return r == TransferResult::pending_not_found || r == TransferResult::pending_already_voided ||
         r == TransferResult::pending_already_posted || r == TransferResult::pending_expired ||
         r == TransferResult::pending_is_not_pending || r == TransferResult::nothing_to_reverse;
}

void finish_authorization(const CommandResult& result, Translation* t) {
  const TransferResult code = result.transfer_result();
  Message& reply = t->reply;
  reply.set(39, std::string(decline_code(code)));
  if (code != TransferResult::ok && code != TransferResult::exists) return;
  const Transfer& transfer = result.value.transfer;
  reply.set(38, approval_code(transfer.id));
  if (transfer.amount_effective < transfer.amount) {  // partial approval
    reply.set(39, "10");
    reply.set(t->billing ? 6 : 4, amount12(transfer.amount_effective));
    reply.set(54, additional_amount("57", t->currency, transfer.amount));
  }
}

void finish_inquiry(const CommandResult& result, Translation* t) {
  const TransferResult code = result.transfer_result();
  t->reply.set(39, std::string(decline_code(code)));
  if (code != TransferResult::ok) return;
  const Account& acc = result.value.account;
  const __int128 ledger = static_cast<__int128>(acc.credits_posted) - acc.debits_posted;
  const __int128 available = ledger - acc.debits_pending + acc.overdraft_limit;
  t->reply.set(54, additional_amount("01", acc.currency, ledger) +
                       additional_amount("02", acc.currency, available));
}

}  // namespace

std::vector<std::uint16_t> default_preauthorization_mccs() {
  return {3501, 3502, 3503, 3504, 3505, 3506, 3507, 3508, 3509, 3510, 7011, 3351, 3352,
          3353, 3354, 3355, 3357, 3359, 3360, 3361, 3366, 3368, 3370, 3374, 3376, 3380,
          3381, 3385, 3386, 3387, 3389, 3390, 3391, 3393, 3394, 3395, 3396, 3398, 3400,
          3405, 3409, 3412, 3414, 3420, 3421, 3423, 3425, 3427, 3428, 3429, 3430, 3431,
          3432, 3433, 3434, 3435, 3436, 3437, 3438, 3439, 7512, 7513, 7519, 4411};
}

std::vector<std::uint16_t> default_over_capture_mccs() {
  return {5812, 5813, 5814, 5541, 5542, 4121, 7230};
}

std::optional<MtiClass> mti_class(std::string_view mti) {
  if (mti.size() != 4 ||
      !std::all_of(mti.begin(), mti.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return (mti[2] - '0') % 2 == 0 ? MtiClass::request : MtiClass::response;
}

std::string response_mti(std::string_view mti) {
  std::string answer(mti);
  answer[2] = static_cast<char>(answer[2] + 1);  // request 0 -> 1, advice 2 -> 3, ...
  answer[3] = static_cast<char>('0' + (answer[3] - '0') / 2 * 2);  // a repeat answered as such
  return answer;
}

std::string_view decline_code(TransferResult result) {
  switch (result) {
    case TransferResult::ok:
    case TransferResult::exists:
      return "00";
    case TransferResult::card_unknown:
      return "14";
    case TransferResult::card_expired:
      return "54";
    case TransferResult::card_not_active:
      return "62";
    case TransferResult::card_channel_not_allowed:
    case TransferResult::card_mcc_blocked:
    case TransferResult::currency_mismatch:
      return "57";
    case TransferResult::card_limit_exceeded:
      return "61";
    case TransferResult::card_count_limit_exceeded:
      return "65";
    case TransferResult::exceeds_available:
      return "51";
    default:
      return "91";
  }
}

Translation translate(const Message& request, const TranslateOptions& options,
                      std::uint16_t today_yymm) {
  const std::string_view mti = request.mti;
  if (mti == "0800" || mti == "0801") return answer_now(request, "00");
  if (!request.has(11)) return answer_now(request, "30");
  if (mti == "0100" || mti == "0101" || mti == "0200" || mti == "0201")
    return authorization(request, options, today_yymm, false);
  if (mti == "0120" || mti == "0121") return advice(request, options, today_yymm);
  if (mti == "0220" || mti == "0221") return completion(request, options, today_yymm);
  if (mti == "0400" || mti == "0401" || mti == "0420" || mti == "0421") return reversal(request);
  return answer_now(request, "30");  // an MTI this issuer does not handle
}

void finish(const CommandResult& result, Translation* t) {
  const TransferResult code = result.transfer_result();
  switch (t->purpose) {
    case Purpose::none:
      return;
    case Purpose::authorize:
      return finish_authorization(result, t);
    case Purpose::inquiry:
      return finish_inquiry(result, t);
    case Purpose::complete:
      if (result.value.transfer.code == TransferCode::card_financial) {
        return finish_authorization(result, t);  // no hold: posted as a forced financial
      }
      t->reply.set(
          39, code == TransferResult::ok || code == TransferResult::exists || resolved_already(code)
                  ? "00"
                  : "91");
      return;
    case Purpose::reverse:
      t->reply.set(
          39, code == TransferResult::ok || code == TransferResult::exists || resolved_already(code)
                  ? "00"
                  : "91");
      return;
  }
}

void finish_unavailable(Translation* t) { t->reply.set(39, "91"); }

std::optional<TransferId> late_hold(Purpose purpose, const CommandResult& result) {
  if (purpose != Purpose::authorize || result.transfer_result() != TransferResult::ok ||
      (result.value.transfer.flags & flag_pending) == 0) {
    return std::nullopt;
  }
  return result.value.transfer.id;
}

std::optional<Message> malformed_reply(const Message& partial) {
  if (mti_class(partial.mti) != MtiClass::request) return std::nullopt;
  return reply_to(partial, "30");
}

Message error_reply(const Message& request) { return reply_to(request, "96"); }

}  // namespace ledger::iso8583
