// The card-network edge as a pure translator (no Asio, no I/O, no clock): a decoded request
// becomes exactly one engine command or an immediate answer, and the engine's durable result
// becomes the answer. The session (server.cc) only reads, calls and writes. Every field is
// parsed with checks: a malformed or missing field is DE39 30, never an exception. Fuzzed
// (tests/fuzz/iso8583_translate_fuzz.cc) and unit-tested (translate_test.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "iso8583/codec.h"
#include "ledger/card_rules.h"
#include "ledger/types.h"

namespace ledger::iso8583 {

struct TranslateOptions {
  std::string pan_secret;    // HMAC key of card numbers (empty: cards cannot be found, 91)
  std::string home_country;  // ISO 3166 numeric (DE19); empty: never abroad
  std::uint32_t hold_days = 7;
  std::uint32_t preauthorization_hold_days = 30;
  CardRules rules = default_card_rules();  // pre-authorization MCCs, over-capture groups
};

// DE39 of an advice (0120) that reports an approval made in our place: 00 approved, 08 honour
// with identification, 10 partial (DE4 holds the approved amount), 11 VIP, 85 no reason to
// decline (verification), 87 purchase amount only, no cash-back.
bool approving_advice_code(std::string_view code);

// What MTIs mean to us: requests we answer, responses sent to us (dropped and counted).
enum class MtiClass : std::uint8_t { request, response };
// nullopt: not 4 digits. Function digit (the third) odd: a response or acknowledgement.
std::optional<MtiClass> mti_class(std::string_view mti);
// The answer's MTI: function + 1, origin repeat (odd fourth digit) answered as the original.
// REQUIRES: mti_class(mti) == request.
std::string response_mti(std::string_view mti);

enum class Purpose : std::uint8_t {
  none,       // answered at once (echo, malformed, unsupported)
  authorize,  // 0100/0200 (and incremental 0100s): the late rule applies
  advice,     // 0120 reporting an approval: recorded forced, acknowledged
  check,      // balance inquiry, verification, refund authorization: nothing journaled
  complete,   // 0220
  reverse,    // 0400/0420 and 0120 advices of a decline
};

// A request translated: either an immediate answer (`purpose == none`: send `reply`) or one
// command for the engine whose durable result finish() turns into the answer.
struct Translation {
  Purpose purpose = Purpose::none;
  Command command;
  Message reply;         // the answer: response MTI, echoed fields, DE39 (set now or by finish())
  bool billing = false;  // amounts in DE6/DE51 (cardholder billing) rather than DE4/DE49
  Currency currency;     // of the amount sent (billing currency if billing)
  // Set by finish(): the network's decision could not be recorded (card unknown, currency
  // not the account's) or a completion was refused; the session logs and counts it.
  std::string_view trouble;
};

// REQUIRES: the request decoded and mti_class(request.mti) == request.
Translation translate(const Message& request, const TranslateOptions& options,
                      std::uint16_t today_yymm);

// The answer to a command whose result is durable.
void finish(const CommandResult& result, Translation* translation);
// The answer when no durable result came: queue full, ledger unavailable, deadline (91).
void finish_unavailable(Translation* translation);
// A result that became durable after its request was answered 91: the transfer the late rule
// reverses (a hold it placed, or a posting it made), if any.
std::optional<TransferId> late_transfer(Purpose purpose, const CommandResult& result);

// The answer to a request that did not decode: its response MTI, DE39 30 and the fields that
// could be read echoed. nullopt when it cannot be answered (no MTI, or a response).
std::optional<Message> malformed_reply(const Message& partial);
// The answer to a request when something failed inside ledgerd (DE39 96, system malfunction).
Message error_reply(const Message& request);

}  // namespace ledger::iso8583
