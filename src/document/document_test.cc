// The event document as GET /v1/events and webhooks carry it (docs/events.md), built from
// records alone: no server, no database.
#include <gtest/gtest.h>

#include <cstring>

#include "document/event.h"
#include "document/records.h"
#include "ledger/card_ids.h"
#include "ledger/ids.h"
#include "ledger/money.h"

namespace ledger::document {
namespace {

using nlohmann::json;

Event declined_authorization() {
  Event e;
  e.seq = 42;
  e.type = EventType::card_authorization_declined;
  e.record.kind = RecordKind::transfer;
  Transfer& t = e.record.value.transfer;
  t.id.value = Uint128{1, 2};
  t.debit_account_id.value = Uint128{3, 4};
  t.credit_account_id.value = Uint128{5, 6};
  t.amount = 12'345;
  t.currency = *currency_from_alpha("EUR");
  t.code = TransferCode::card_authorization;
  t.result = TransferResult::exceeds_available;
  t.reference_a = 7;  // the card's id
  t.reference_b = 8;
  t.timestamp = 1'764'000'000'123'456'789ULL;
  e.has_merchant = true;
  e.merchant.mcc = 5411;
  std::memcpy(e.merchant.merchant.name, "Caf\xc3\xa9 <b>&\"x\"", 14);
  std::memcpy(e.merchant.merchant.city, "Berlin", 6);
  std::memcpy(e.merchant.merchant.country, "DE", 2);
  e.merchant.merchant.channel = CardChannel::contactless;
  return e;
}

TEST(EventDocumentTest, ACardAuthorizationCarriesItsTransferMerchantAndAnswer) {
  const Event e = declined_authorization();
  const json doc = event_json(e);
  EXPECT_EQ(doc["id"], "evt_000000000000002a");
  EXPECT_EQ(doc["seq"], 42);
  EXPECT_EQ(doc["type"], "card.authorization.declined");
  EXPECT_EQ(doc["timestamp"], "2025-11-24T16:00:00.123456789Z");
  json transfer = transfer_json(e.record.value.transfer);
  transfer["reference"] = "7";
  transfer["reference_b"] = "8";
  transfer["timestamp"] = "1764000000123456789";
  EXPECT_EQ(doc["data"]["transfer"], transfer);
  const json& a = doc["data"]["authorization"];
  EXPECT_EQ(a["card_id"], format_uuid(Uint128{7, 8}));
  EXPECT_EQ(a["account_id"], format_uuid(Uint128{3, 4}));
  EXPECT_EQ(a["amount"], 12'345);
  EXPECT_EQ(a["currency"], "EUR");
  // Merchant text is data: kept byte for byte (escaping is the reader's format's business).
  EXPECT_EQ(a["merchant_name"], "Caf\xc3\xa9 <b>&\"x\"");
  EXPECT_EQ(a["merchant_city"], "Berlin");
  EXPECT_EQ(a["country"], "DE");
  EXPECT_EQ(a["mcc"], "5411");
  EXPECT_EQ(a["channel"], "contactless");
  EXPECT_EQ(a["response_code"], "51");
  EXPECT_EQ(a["reason"], "exceeds available");
  // The same bytes whoever renders it: the feed and the dispatcher call this one function.
  EXPECT_EQ(event_json(e).dump(), doc.dump());
}

// A JavaScript consumer (JSON.parse: every number a double) reads every field of an event
// exactly: the 64-bit references and the nanosecond timestamp are strings, and no number in an
// event lies beyond 2^53 - 1, whatever the values.
TEST(EventDocumentTest, NoNumberInAnEventIsBeyondWhatJavaScriptReadsExactly) {
  Event e = declined_authorization();
  Transfer& t = e.record.value.transfer;
  t.reference_a = 0xfedcba9876543210ULL;
  t.reference_b = (1ULL << 53) + 1;
  t.amount = (std::int64_t{1} << 53) + 1;
  t.amount_effective = 12;
  const json doc = event_json(e);
  EXPECT_EQ(doc["data"]["transfer"]["reference"], std::to_string(0xfedcba9876543210ULL));
  EXPECT_EQ(doc["data"]["transfer"]["reference_b"], "9007199254740993");
  EXPECT_EQ(doc["data"]["transfer"]["timestamp"], "1764000000123456789");
  EXPECT_EQ(doc["data"]["transfer"]["amount"], "9007199254740993");
  EXPECT_EQ(doc["data"]["authorization"]["amount"], "9007199254740993");
  EXPECT_EQ(doc["data"]["transfer"]["amount_effective"], 12);  // small numbers stay numbers
  EXPECT_EQ(doc["data"]["transfer"]["reference_32"], t.reference_32);
  const auto check = [](const json& v, auto&& self) -> void {
    if (v.is_structured()) {
      for (const auto& item : v) self(item, self);
    } else if (v.is_number_unsigned()) {
      EXPECT_LE(v.get<std::uint64_t>(), (1ULL << 53) - 1) << v;
    } else if (v.is_number_integer()) {
      EXPECT_LE(std::llabs(v.get<std::int64_t>()), (1LL << 53) - 1) << v;
    }
  };
  check(doc, check);
  // An account's 64-bit reference too.
  Event a;
  a.seq = 1;
  a.type = EventType::account_created;
  a.record.kind = RecordKind::account;
  a.record.value.account = Account{};
  a.record.value.account.reference = 0xffffffffffffffffULL;
  a.record.value.account.currency = *currency_from_alpha("EUR");
  EXPECT_EQ(event_json(a)["data"]["account"]["reference"], "18446744073709551615");
}

TEST(EventDocumentTest, WithoutAMerchantTheMerchantFieldsAreNull) {
  Event e = declined_authorization();
  e.has_merchant = false;
  e.record.value.transfer.result = TransferResult::ok;
  e.type = EventType::card_authorization_approved;
  const json a = event_json(e)["data"]["authorization"];
  for (const char* field : {"merchant_name", "merchant_city", "mcc", "country", "channel"})
    EXPECT_TRUE(a[field].is_null()) << field;
  EXPECT_EQ(a["response_code"], "00");
  EXPECT_EQ(a["reason"], "approved");
}

TEST(EventDocumentTest, AReversalSaysWhetherTheNetworkOrTheLateRuleMadeIt) {
  Event e = declined_authorization();
  e.type = EventType::card_reversal;
  e.record.value.transfer.code = TransferCode::card_reversal;
  e.record.value.transfer.result = TransferResult::ok;
  e.record.value.transfer.reference_32 = card_ids::message_key(TransferId{Uint128{9, 9}});
  EXPECT_EQ(event_json(e)["data"]["authorization"]["reversal"], "network");
  e.record.value.transfer.reference_32 = card_ids::late_rule_key(1'764'000'000'000'000'000ULL);
  EXPECT_EQ(event_json(e)["data"]["authorization"]["reversal"], "answered_late");
  // Other card events carry no such field.
  EXPECT_FALSE(event_json(declined_authorization())["data"]["authorization"].contains("reversal"));
}

TEST(EventDocumentTest, ATestMessageHasTheShapeOfAnEvent) {
  const json doc =
      test_event_json("evt_test_1234abcd", 1'764'000'000'000'000'000ULL, Uint128{9, 9});
  EXPECT_EQ(doc, (json{{"id", "evt_test_1234abcd"},
                       {"seq", 0},
                       {"type", "webhook.test"},
                       {"timestamp", "2025-11-24T16:00:00.000000000Z"},
                       {"data", {{"subscription_id", format_uuid(Uint128{9, 9})}}}}));
}

TEST(RecordDocumentTest, SumsBeyondInt64AreDigitsNeverRounded) {
  EXPECT_EQ(sum_json(INT64_MAX), json(INT64_MAX));
  const __int128 big = static_cast<__int128>(INT64_MAX) * 4;
  EXPECT_EQ(sum_json(big), "36893488147419103228");
  EXPECT_EQ(sum_json(-big), "-36893488147419103228");
}

TEST(RecordDocumentTest, EnumNamesReadBackToTheSameValue) {
  for (int i = 0; i <= static_cast<int>(TransferCode::credit_transfer_in); ++i) {
    const auto code = static_cast<TransferCode>(i);
    EXPECT_EQ(parse_code(code_name(code)), code) << i;
  }
  EXPECT_EQ(parse_kind(kind_name(AccountKind::suspense)), AccountKind::suspense);
  EXPECT_EQ(parse_status(status_name(AccountStatus::frozen)), AccountStatus::frozen);
  EXPECT_EQ(parse_card_status(card_status_name(CardStatus::blocked)), CardStatus::blocked);
  EXPECT_FALSE(parse_code("Deposit"));
}

}  // namespace
}  // namespace ledger::document
