#include "iso8583/translate.h"

#include <algorithm>
#include <cstdio>

#include "iso8583/transaction_ids.h"
#include "ledger/card_ids.h"
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
  char code[6];
  card_ids::approval_code_text(card_ids::approval_code_value(id), code);
  return std::string(code, 6);
}

// The transaction life cycle id a clearing record carries back (DE63): 16 hex digits.
std::string life_cycle_id(TransferId id) {
  char text[20];
  std::snprintf(text, sizeof text, "%016llX",
                static_cast<unsigned long long>(card_ids::life_cycle_key(id)));
  return text;
}

std::string amount12(std::int64_t amount) {
  char text[16];
  std::snprintf(text, sizeof text, "%012lld",
                static_cast<long long>(std::clamp<std::int64_t>(amount, 0, 999'999'999'999)));
  return text;
}

// DE54 entry: account type, amount type, currency (numeric), C/D, 12 digits.
std::string additional_amount(std::string_view account_type, const char* amount_type,
                              Currency currency, __int128 amount) {
  const bool credit = amount >= 0;
  const __int128 magnitude = credit ? amount : -amount;
  const auto shown = static_cast<std::int64_t>(std::min<__int128>(magnitude, 999'999'999'999));
  char text[40];
  std::snprintf(text, sizeof text, "%.2s%s%03u%c%s", std::string(account_type).c_str(), amount_type,
                currency_info(currency).numeric, credit ? 'C' : 'D', amount12(shown).c_str());
  return text;
}

// A numeric field as a number; false when absent. (The codec has checked its digits.)
bool number(const Message& m, int field, std::uint64_t* out) {
  return m.has(field) && parse_digits(m.get(field), out);
}

std::string_view field_or_empty(const Message& m, int field) {
  return m.has(field) ? std::string_view(m.get(field)) : std::string_view{};
}

// The transaction a message belongs to: the original's acquirer (DE32), STAN (DE11) and
// transmission time (DE7), from DE90 when sent, else the message's own.
TransferId transaction_id(const Message& m) {
  if (m.has(90)) {
    const std::string_view o = m.get(90);  // n 42, checked by the codec
    return authorization_id(o.substr(20, 11), o.substr(4, 6), o.substr(10, 10));
  }
  return authorization_id(field_or_empty(m, 32), m.get(11), m.get(7));
}

// Without DE90: the network's reference (DE37 with DE11 and DE32), by which a follow-up finds
// its original as networks match them. 0 when DE37 is absent or DE90 names the original.
std::uint32_t network_reference(const Message& m) {
  if (m.has(90) || !m.has(37)) return 0;
  return reference_key(field_or_empty(m, 32), m.get(11), m.get(37));
}

TransferId own_message_id(const Message& m) {
  return message_id(m.mti, field_or_empty(m, 32), m.get(11), m.get(7), field_or_empty(m, 4),
                    field_or_empty(m, 95));
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

// A transaction-currency amount in the billing currency, at the rate of the message's own
// DE6/DE4 (rounded half up). Without both, the amount as it is.
std::int64_t to_billing(const Message& m, bool billing, std::uint64_t amount) {
  std::uint64_t transaction = 0;
  std::uint64_t billed = 0;
  if (!billing || !number(m, 4, &transaction) || !number(m, 6, &billed) || transaction == 0) {
    return static_cast<std::int64_t>(amount);
  }
  const unsigned __int128 scaled = static_cast<unsigned __int128>(amount) * billed;
  return static_cast<std::int64_t>((scaled + transaction / 2) / transaction);
}

// The card's expiry as sent: DE14 (YYMM), else the four digits after the separator of the
// track 2 data (DE35). 0 when neither is sent; nullopt when the month is not 01..12.
std::optional<std::uint16_t> expiry(const Message& m) {
  std::uint64_t yymm = 0;
  if (!number(m, 14, &yymm)) {
    if (!m.has(35)) return std::uint16_t{0};
    const std::string_view track = m.get(35);
    const auto separator = track.find_first_of("=D");
    if (separator == std::string_view::npos ||
        !parse_digits(track.substr(separator + 1, 4), &yymm) || track.size() < separator + 5) {
      return std::nullopt;
    }
  }
  if (yymm % 100 < 1 || yymm % 100 > 12) return std::nullopt;
  return static_cast<std::uint16_t>(yymm);
}

// The month at the card's location: DE13 (local date, MMDD) when sent, with the year that
// puts it nearest to the UTC date; otherwise the UTC month.
std::uint16_t local_yymm(const Message& m, std::uint16_t today_yymm) {
  std::uint64_t mmdd = 0;
  if (!number(m, 13, &mmdd)) return today_yymm;
  const int month = static_cast<int>(mmdd / 100);
  if (month < 1 || month > 12) return today_yymm;
  int year = today_yymm / 100;
  const int utc_month = today_yymm % 100;
  if (month == 12 && utc_month == 1) year = (year + 99) % 100;
  if (month == 1 && utc_month == 12) year = (year + 1) % 100;
  return static_cast<std::uint16_t>(year * 100 + month);
}

// The cash-back amount of a DE3 09 purchase: DE54's entry of amount type 40 (account type 2,
// amount type 2, currency 3, C/D, 12 digits). 0 when absent.
std::uint64_t cash_back_of(const Message& m) {
  if (!m.has(54)) return 0;
  const std::string_view d = m.get(54);
  for (std::size_t at = 0; at + 20 <= d.size(); at += 20) {
    std::uint64_t amount = 0;
    if (d.substr(at + 2, 2) == "40" && parse_digits(d.substr(at + 8, 12), &amount)) return amount;
  }
  return 0;
}

// The acquirer supports partial approval: DE48 "PARTIAL=Y"; DE48 in the Mastercard layout (a
// transaction category code, then subelements tag nn, length nn, data) with subelement 61
// (POS data, extended condition codes) subfield 1 = 1; or Visa's DE60 position 12
// (additional authorization indicators, field 60.10) = 2 or 3.
bool partial_supported(const Message& m) {
  if (m.has(60) && m.get(60).size() >= 12 && (m.get(60)[11] == '2' || m.get(60)[11] == '3')) {
    return true;
  }
  if (!m.has(48)) return false;
  const std::string_view d = m.get(48);
  if (d.find("PARTIAL=Y") != std::string_view::npos) return true;
  std::size_t at = 1;  // after the transaction category code
  while (at + 4 <= d.size()) {
    std::uint64_t tag = 0;
    std::uint64_t length = 0;
    if (!parse_digits(d.substr(at, 2), &tag) || !parse_digits(d.substr(at + 2, 2), &length) ||
        at + 4 + length > d.size()) {
      return false;
    }
    if (tag == 61 && length >= 1 && d[at + 4] == '1') return true;
    at += 4 + length;
  }
  return false;
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

// DE3's first two digits as an authorization kind. nullopt: a transaction we do not offer.
std::optional<AuthorizationKind> kind_of(const Message& m) {
  const std::string_view processing = std::string_view(m.get(3)).substr(0, 2);
  if (processing == "00" || processing == "09" || processing == "11")
    return AuthorizationKind::purchase;
  if (processing == "01") return AuthorizationKind::cash;
  if (processing == "20") return AuthorizationKind::refund;
  if (processing == "30" || processing == "31") return AuthorizationKind::balance_inquiry;
  return std::nullopt;
}

// Printable ASCII of `text`, trailing spaces trimmed, into a NUL-padded field.
template <std::size_t N>
void copy_text(std::string_view text, char (&out)[N]) {
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  std::size_t n = 0;
  for (const char c : text) {
    if (n == N) break;
    out[n++] = c >= 0x20 && c < 0x7F ? c : '?';
  }
}

// Who was paid, as a person reads it: DE43 (name 1-25, city 26-38, country 39-40), else the
// DE19 country; the channel from DE22/DE25 and the message kind. For the journal only.
Merchant merchant_of(const Message& m, const Authorization& a) {
  Merchant merchant;
  if (m.has(43)) {
    const std::string& location = m.get(43);
    const std::string_view all(location);
    copy_text(all.substr(0, std::min<std::size_t>(25, all.size())), merchant.name);
    if (all.size() > 25)
      copy_text(all.substr(25, std::min<std::size_t>(13, all.size() - 25)), merchant.city);
    if (all.size() >= 40 && std::isalpha(static_cast<unsigned char>(all[38])) != 0 &&
        std::isalpha(static_cast<unsigned char>(all[39])) != 0) {
      copy_text(all.substr(38, 2), merchant.country);
    }
  }
  if (merchant.country[0] == '\0' && m.has(19)) copy_text(m.get(19), merchant.country);
  const std::string entry = m.has(22) ? m.get(22).substr(0, 2) : "";
  if ((a.channels & channel_atm) != 0) {
    merchant.channel = CardChannel::atm;
  } else if ((a.channels & channel_contactless) != 0) {
    merchant.channel = CardChannel::contactless;
  } else if ((a.channels & channel_online) != 0) {
    merchant.channel = CardChannel::online;
  } else if (!entry.empty()) {
    merchant.channel = CardChannel::card_present;
  }
  return merchant;
}

// The card fields of an authorization-like message (0100/0200/0120/0220): PAN, amount,
// currency, MCC, expiry, channels. nullopt with *code the DE39 when a field is wrong.
std::optional<Authorization> card_message(const Message& m, const TranslateOptions& options,
                                          std::uint16_t today_yymm, Translation* t,
                                          std::string_view* code) {
  Authorization a;
  const auto kind = kind_of(m);
  if (!kind) {
    *code = "12";  // invalid transaction
    return std::nullopt;
  }
  a.kind = *kind;
  std::uint64_t amount = 0;
  if (!amount_and_currency(m, t, &amount)) {
    *code = "30";
    return std::nullopt;
  }
  if (amount == 0 && a.kind == AuthorizationKind::purchase)
    a.kind = AuthorizationKind::verification;
  if (amount == 0 && a.kind != AuthorizationKind::balance_inquiry &&
      a.kind != AuthorizationKind::verification) {
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
  if (std::string_view(m.get(3)).substr(0, 2) == "09") {
    a.cash_back = std::min(a.amount, to_billing(m, t->billing, cash_back_of(m)));
  }
  a.currency = t->currency;
  a.mcc = static_cast<std::uint16_t>(mcc);
  a.expiry_yymm = *card_expiry;
  a.today_yymm = local_yymm(m, today_yymm);
  a.channels = channels_of(m, a, options);
  a.merchant = merchant_of(m, a);
  a.partial_allowed = partial_supported(m);
  a.post_now = m.mti[1] == '2' || a.kind == AuthorizationKind::refund;
  a.hold_timeout_s =
      (in_ranges(options.rules.preauthorization_mccs, a.mcc) ? options.preauthorization_hold_days
                                                             : options.hold_days) *
      86'400;
  a.id = transaction_id(m);
  a.reference = network_reference(m);
  return a;
}

// A follow-up that is not an authorization-like message: the card and the network's
// reference, so that the engine can find the original without DE90.
void with_reference(const Message& m, const TranslateOptions& options, Authorization* a) {
  a->reference = network_reference(m);
  if (a->reference != 0 && m.has(2) && !options.pan_secret.empty()) {
    pan_hash(options.pan_secret, m.get(2), a->pan_hash);
  } else {
    a->reference = 0;
  }
  a->merchant = merchant_of(m, *a);
}

Translation with_command(const Message& request, CommandKind kind, const Authorization& a,
                         Purpose purpose, Translation t) {
  t.purpose = purpose;
  t.command.kind = kind;
  t.command.body.authorization = a;
  t.reply = reply_to(request, "91");  // until finish() says otherwise
  return t;
}

// 0100/0200 (an 0100 with DE90 adds to the original's holds: an incremental authorization),
// and 0120 advices of approvals (force: the network approved in our place).
Translation authorization(const Message& request, const TranslateOptions& options,
                          std::uint16_t today_yymm, bool force) {
  for (int field : {2, 3, 4, 7}) {
    if (!request.has(field)) return answer_now(request, "30");
  }
  Translation t;
  std::string_view code;
  auto a = card_message(request, options, today_yymm, &t, &code);
  if (!a) return answer_now(request, code);
  a->force = force;
  // DE90 naming another message (its own STAN) of a dual-message authorization: an increment.
  if (request.has(90) && request.mti[1] == '1' && !a->post_now &&
      std::string_view(request.get(90)).substr(4, 6) != request.get(11)) {
    a->incremental = true;
    a->original = a->id;
    a->id = own_message_id(request);
  }
  if (a->kind == AuthorizationKind::refund && request.mti[1] == '1') a->post_now = false;
  const bool check = a->kind == AuthorizationKind::balance_inquiry ||
                     a->kind == AuthorizationKind::verification ||
                     (a->kind == AuthorizationKind::refund && !a->post_now);
  const Purpose purpose = check ? Purpose::check : force ? Purpose::advice : Purpose::authorize;
  return with_command(request, CommandKind::authorize, *a, purpose, std::move(t));
}

// 0120: the network answered in our place. An approval is recorded (forced past every check
// but the card's existence and currency; a new hold if we had declined or released ours); a
// decline releases a hold we had placed.
Translation advice(const Message& request, const TranslateOptions& options,
                   std::uint16_t today_yymm) {
  if (!request.has(7)) return answer_now(request, "30");
  if (!request.has(39) || approving_advice_code(request.get(39))) {
    Translation t = authorization(request, options, today_yymm, true);
    Authorization& a = t.command.body.authorization;
    if (request.has(39) && request.get(39) == "87") {  // approved without the cash-back
      a.amount -= a.cash_back;
    }
    a.cash_back = 0;
    if (t.purpose == Purpose::check) t.purpose = Purpose::advice;
    return t;
  }
  Authorization a;
  a.original = transaction_id(request);
  a.id = own_message_id(request);
  a.release_only = true;
  with_reference(request, options, &a);
  return with_command(request, CommandKind::card_reversal, a, Purpose::reverse, Translation{});
}

// 0220: the transaction's final amount (DE3 kept: a refund completion credits). Posts the
// holds, within the MCC group's over-capture tolerance; without a hold, a forced posting.
Translation completion(const Message& request, const TranslateOptions& options,
                       std::uint16_t today_yymm) {
  if (!request.has(7) || !request.has(3) || !(request.has(4) || request.has(6))) {
    return answer_now(request, "30");
  }
  Message with_card = request;  // without DE2 the hold is still found (DE90 or DE7)
  if (!with_card.has(2)) with_card.set(2, "");
  Translation t;
  std::string_view code;
  auto a = card_message(with_card, options, today_yymm, &t, &code);
  if (!a) return answer_now(request, code);
  if (a->kind == AuthorizationKind::balance_inquiry) return answer_now(request, "12");
  if (a->kind == AuthorizationKind::verification) a->kind = AuthorizationKind::purchase;
  a->original = a->id;
  a->force = true;
  a->post_now = false;
  if (const OverCaptureGroup* group = over_capture_group(options.rules, a->mcc)) {
    a->over_capture_pct = group->percent;
    a->over_capture_max = group->maximum;
  }
  return with_command(request, CommandKind::card_completion, *a, Purpose::complete, std::move(t));
}

// 0400/0420: the transaction comes to DE95's actual amount (absent: nothing). Held money is
// released down to it; posted money is given back down to it.
Translation reversal(const Message& request, const TranslateOptions& options) {
  if (!request.has(7)) return answer_now(request, "30");
  Authorization a;
  a.original = transaction_id(request);
  a.id = own_message_id(request);
  with_reference(request, options, &a);
  Translation t;
  t.billing = request.has(6) && request.has(51);
  std::uint64_t replacement = 0;
  if (request.has(95) &&
      !parse_digits(std::string_view(request.get(95)).substr(0, 12), &replacement)) {
    return answer_now(request, "30");  // DE95 starts with the actual amount, n 12
  }
  a.replacement = to_billing(request, t.billing, replacement);
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
  reply.set(39, std::string(authorization_response_code(code)));
  if (code != TransferResult::ok && code != TransferResult::exists) return;
  const Transfer& transfer = result.value.transfer;
  reply.set(38, approval_code(transfer.id));
  if (transfer.code == TransferCode::card_authorization) reply.set(63, life_cycle_id(transfer.id));
  if (transfer.amount_effective < transfer.amount) {  // partial approval: both amounts agree
    const Authorization& asked = t->command.body.authorization;
    const bool purchase_only =
        asked.cash_back > 0 && transfer.amount_effective == asked.amount - asked.cash_back;
    reply.set(39, purchase_only ? "87" : "10");
    const Message& request = t->reply;  // DE4/DE6 echoed as received
    std::uint64_t asked_transaction = 0;
    const bool has_transaction = number(request, 4, &asked_transaction);
    if (t->billing) {
      reply.set(6, amount12(transfer.amount_effective));
      if (has_transaction && transfer.amount > 0) {
        const unsigned __int128 scaled = static_cast<unsigned __int128>(asked_transaction) *
                                         static_cast<std::uint64_t>(transfer.amount_effective);
        reply.set(4, amount12(static_cast<std::int64_t>(
                         scaled / static_cast<std::uint64_t>(transfer.amount))));
      }
    } else {
      reply.set(4, amount12(transfer.amount_effective));
    }
    std::uint64_t numeric = 0;
    const auto asked_currency = number(request, 49, &numeric) && numeric <= 999
                                    ? currency_from_numeric(static_cast<std::uint16_t>(numeric))
                                    : std::nullopt;
    const std::string account_type =
        request.has(3) ? request.get(3).substr(2, 2) : std::string("00");
    reply.set(54, t->billing && has_transaction && asked_currency
                      ? additional_amount(account_type, "57", *asked_currency, asked_transaction)
                      : additional_amount(account_type, "57", t->currency, transfer.amount));
  }
}

void finish_check(const CommandResult& result, Translation* t) {
  const TransferResult code = result.transfer_result();
  const AuthorizationKind kind = t->command.body.authorization.kind;
  t->reply.set(39, std::string(authorization_response_code(code)));
  if (code != TransferResult::ok) return;
  if (kind == AuthorizationKind::verification) t->reply.set(39, "85");  // no reason to decline
  if (kind != AuthorizationKind::balance_inquiry) return;
  const Account& acc = result.value.account;
  const __int128 ledger = static_cast<__int128>(acc.credits_posted) - acc.debits_posted;
  const __int128 available = ledger - acc.debits_pending + acc.overdraft_limit;
  const std::string account_type =
      t->reply.has(3) ? t->reply.get(3).substr(2, 2) : std::string("00");
  t->reply.set(54, additional_amount(account_type, "01", acc.currency, ledger) +
                       additional_amount(account_type, "02", acc.currency, available));
}

}  // namespace

bool approving_advice_code(std::string_view code) {
  return code == "00" || code == "08" || code == "10" || code == "11" || code == "85" ||
         code == "87";
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

Translation translate(const Message& request, const TranslateOptions& options,
                      std::uint16_t today_yymm) {
  const std::string_view mti = request.mti;
  if (mti == "0800" || mti == "0801") {
    // Network management (DE70): sign-on 001, sign-off 002, echo 301 (or none). Others, such
    // as key changes (161), are services this issuer does not offer: 12.
    if (!request.has(70)) return answer_now(request, "00");
    const std::string& code = request.get(70);
    return answer_now(request, code == "001" || code == "002" || code == "301" ? "00" : "12");
  }
  if (!request.has(11)) return answer_now(request, "30");
  if (mti == "0100" || mti == "0101" || mti == "0200" || mti == "0201")
    return authorization(request, options, today_yymm, false);
  if (mti == "0120" || mti == "0121") return advice(request, options, today_yymm);
  if (mti == "0220" || mti == "0221") return completion(request, options, today_yymm);
  if (mti == "0400" || mti == "0401" || mti == "0420" || mti == "0421")
    return reversal(request, options);
  return answer_now(request, "30");  // an MTI this issuer does not handle
}

void finish(const CommandResult& result, Translation* t) {
  const TransferResult code = result.transfer_result();
  const bool done = code == TransferResult::ok || code == TransferResult::exists;
  switch (t->purpose) {
    case Purpose::none:
      return;
    case Purpose::authorize:
      return finish_authorization(result, t);
    case Purpose::check:
      return finish_check(result, t);
    case Purpose::advice:
      // Acknowledged whatever we make of it: the network has decided. What we could not
      // record (no such card, another currency) is logged and counted by the session.
      if (!done) t->trouble = "advice_not_recorded";
      if (done && t->command.body.authorization.kind != AuthorizationKind::refund) {
        t->reply.set(38, approval_code(result.value.transfer.id));
      }
      t->reply.set(39, "00");
      return;
    case Purpose::complete:
      if (code == TransferResult::over_capture_beyond_tolerance) {
        t->trouble = "completion_beyond_tolerance";
        t->reply.set(39, "13");  // invalid amount: above what the MCC group tolerates
        return;
      }
      if (!done && !resolved_already(code)) t->trouble = "completion_not_recorded";
      t->reply.set(39, "00");
      return;
    case Purpose::reverse:
      t->reply.set(39,
                   done || resolved_already(code) || code == TransferResult::card_transaction_full
                       ? "00"
                       : "91");
      return;
  }
}

void finish_unavailable(Translation* t) { t->reply.set(39, "91"); }

std::optional<TransferId> late_transfer(Purpose purpose, const CommandResult& result) {
  if (purpose != Purpose::authorize || result.transfer_result() != TransferResult::ok ||
      result.value.transfer.id.is_zero()) {
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
