// libFuzzer target: the card-network edge as the session runs it, without a socket. Arbitrary
// frame bodies are decoded; every request MTI must get exactly one answer (30 when it did not
// decode, else the translation's: immediate, or one engine command applied to a real engine
// and finished), with the response MTI, an allowed DE39 and a message that encodes. Responses
// sent to us get none. Nothing may throw (libFuzzer reports an uncaught exception as a crash).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <string_view>

#include "engine/engine.h"
#include "iso8583/codec.h"
#include "iso8583/translate.h"
#include "ledger/pan_hash.h"

using namespace ledger;
using namespace ledger::iso8583;

namespace {

const std::set<std::string> allowed_codes = {"00", "10", "12", "13", "14", "30", "51", "54",
                                             "57", "61", "62", "65", "85", "87", "91", "96"};

TranslateOptions options() {
  TranslateOptions o;
  o.pan_secret = "fuzz-secret-fuzz-secret-fuzz-secret!";
  o.home_country = "276";
  return o;
}

// A small engine with a funded account and the card 4000056655665556 (the seeds' PAN).
void provision(engine::Engine* engine, const TranslateOptions& o) {
  const Currency eur = *currency_from_alpha("EUR");
  Command commands[4];
  for (int i = 0; i < 2; ++i) {
    commands[i].kind = CommandKind::create_account;
    commands[i].body.account = Account{};
    commands[i].body.account.id = AccountId{{1, static_cast<std::uint64_t>(i + 1)}};
    commands[i].body.account.holder_id = HolderId{{2, 1}};
    commands[i].body.account.currency = eur;
    commands[i].body.account.flags = i == 0 ? 0 : debits_must_not_exceed_credits;
  }
  commands[2].kind = CommandKind::create_transfer;
  commands[2].body.transfer = Transfer{};
  commands[2].body.transfer.id = TransferId{{3, 1}};
  commands[2].body.transfer.debit_account_id = AccountId{{1, 1}};
  commands[2].body.transfer.credit_account_id = AccountId{{1, 2}};
  commands[2].body.transfer.amount = 100'000;
  commands[2].body.transfer.currency = eur;
  commands[3].kind = CommandKind::create_card;
  commands[3].body.card = Card{};
  commands[3].body.card.id = CardId{{4, 1}};
  commands[3].body.card.account_id = AccountId{{1, 2}};
  commands[3].body.card.expiry_yymm = 2812;
  pan_hash(o.pan_secret, "4000056655665556", commands[3].body.card.pan_hash);
  engine::BatchOutput out;
  engine->apply(commands, 4, 1'000'000'000, &out);
}

void check(const Message& request, const Message& reply, BitmapEncoding bitmap) {
  if (reply.mti != response_mti(request.mti)) std::abort();
  if (!reply.has(39) || allowed_codes.count(reply.get(39)) == 0) std::abort();
  std::string body;
  std::string error;
  if (!encode(reply, bitmap, &body, &error)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const TranslateOptions o = options();
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const BitmapEncoding bitmap : {BitmapEncoding::binary, BitmapEncoding::ascii_hex}) {
    Message request;
    DecodeError error;
    const bool decoded = decode(body, bitmap, &request, &error);
    if (mti_class(request.mti) != MtiClass::request) {
      if (malformed_reply(request).has_value()) std::abort();  // responses and garbage: no answer
      continue;
    }
    if (!decoded) {
      const auto reply = malformed_reply(request);
      if (!reply || reply->get(39) != "30") std::abort();
      check(request, *reply, bitmap);
      continue;
    }
    Translation t = translate(request, o, 2611);
    if (t.purpose != Purpose::none) {
      engine::Engine engine(engine::EngineOptions{8, 64, 4});
      provision(&engine, o);
      engine::BatchOutput out;
      engine.apply(&t.command, 1, 2'000'000'000, &out);
      if (out.results.size() != 1) std::abort();
      finish(out.results[0], &t);
    }
    check(request, t.reply, bitmap);
  }
  return 0;
}
