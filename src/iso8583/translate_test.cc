// The ISO 8583 translation alone (no socket, no engine): what each request becomes, what each
// result is answered with, and that bad fields are answered 30 rather than thrown.
#include "iso8583/translate.h"

#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include "iso8583/transaction_ids.h"
#include "ledger/card_ids.h"
#include "ledger/pan_hash.h"

namespace ledger::iso8583 {
namespace {

TranslateOptions options() {
  TranslateOptions o;
  o.pan_secret = "translate-test-secret-translate-test";
  o.home_country = "276";
  return o;
}

Message authorization(const std::string& mti = "0100") {
  Message m;
  m.mti = mti;
  m.set(2, "4000056655665556");
  m.set(3, "000000");
  m.set(4, "000000001250");
  m.set(7, "1129120000");
  m.set(11, "000123");
  m.set(14, "2812");
  m.set(18, "5812");
  m.set(22, "071");
  m.set(32, "00012345");
  m.set(37, "RRN000000123");
  m.set(41, "TERM0001");
  m.set(49, "978");
  return m;
}

Translation run(const Message& m) { return translate(m, options(), 2611); }

// The transaction id of authorization(): by acquirer, STAN and transmission time.
TransferId original_id() { return authorization_id("12345", "000123", "1129120000"); }

TEST(TranslateTest, ResponseMtisAndClasses) {
  EXPECT_EQ(response_mti("0100"), "0110");
  EXPECT_EQ(response_mti("0101"), "0110");  // a repeat is answered as the original
  EXPECT_EQ(response_mti("0120"), "0130");
  EXPECT_EQ(response_mti("0421"), "0430");
  EXPECT_EQ(response_mti("0800"), "0810");
  EXPECT_EQ(response_mti("0180"), "0190");
  EXPECT_EQ(mti_class("0100"), MtiClass::request);
  EXPECT_EQ(mti_class("0110"), MtiClass::response);
  EXPECT_EQ(mti_class("0190"), MtiClass::response);
  EXPECT_EQ(mti_class("9999"), MtiClass::response);
  EXPECT_EQ(mti_class("01A0"), std::nullopt);
  EXPECT_EQ(mti_class("010"), std::nullopt);
}

TEST(TranslateTest, AnAuthorizationIsOneEngineCommand) {
  const Translation t = run(authorization());
  ASSERT_EQ(t.purpose, Purpose::authorize);
  EXPECT_EQ(t.command.kind, CommandKind::authorize);
  const Authorization& a = t.command.body.authorization;
  EXPECT_EQ(a.id, original_id());
  EXPECT_EQ(a.amount, 1250);
  EXPECT_EQ(a.mcc, 5812);
  EXPECT_EQ(a.expiry_yymm, 2812);
  EXPECT_EQ(a.channels, channel_contactless);
  EXPECT_FALSE(a.post_now);
  EXPECT_EQ(a.hold_timeout_s, 7u * 86'400);
  EXPECT_EQ(t.reply.mti, "0110");
  EXPECT_EQ(t.reply.get(11), "000123");
  EXPECT_EQ(t.reply.get(37), "RRN000000123");
  EXPECT_TRUE(run(authorization("0200")).command.body.authorization.post_now);
}

TEST(TranslateTest, ProcessingCodesAndAmountsChooseWhatIsDecided) {
  Message m = authorization();
  m.set(4, "000000000000");  // an account verification: card checks only, answered 85
  Translation t = run(m);
  ASSERT_EQ(t.purpose, Purpose::check);
  EXPECT_EQ(t.command.body.authorization.kind, AuthorizationKind::verification);
  CommandResult ok;
  ok.code = static_cast<std::uint8_t>(TransferResult::ok);
  finish(ok, &t);
  EXPECT_EQ(t.reply.get(39), "85");
  m = authorization();
  m.set(3, "200000");  // a refund authorization moves no money
  t = run(m);
  EXPECT_EQ(t.purpose, Purpose::check);
  EXPECT_FALSE(t.command.body.authorization.post_now);
  m = authorization("0200");
  m.set(3, "200000");  // the 0200 refund posts
  EXPECT_TRUE(run(m).command.body.authorization.post_now);
  for (const char* code : {"090000", "110000"}) {  // cash-back, quasi-cash: purchases
    m = authorization();
    m.set(3, code);
    EXPECT_EQ(run(m).command.body.authorization.kind, AuthorizationKind::purchase) << code;
  }
  m = authorization();
  m.set(3, "300000");  // available funds
  EXPECT_EQ(run(m).command.body.authorization.kind, AuthorizationKind::balance_inquiry);
  m = authorization();
  m.set(3, "010000");
  m.set(4, "000000000000");
  EXPECT_EQ(run(m).reply.get(39), "13");  // cash of nothing
}

TEST(TranslateTest, ExpiryPartialIndicatorAndNetworkManagement) {
  Message m = authorization();
  m.clear(14);
  m.set(35, "4000056655665556=29011010000000000");
  EXPECT_EQ(run(m).command.body.authorization.expiry_yymm, 2901);  // from track 2
  m = authorization();
  m.set(13, "1201");  // local date 1 December while UTC is still November
  EXPECT_EQ(run(m).command.body.authorization.today_yymm, 2612);
  EXPECT_EQ(translate(m, options(), 2701).command.body.authorization.today_yymm, 2612);
  m = authorization();
  m.set(48, "R610510000");  // Mastercard DE48 subelement 61, subfield 1 = 1
  EXPECT_TRUE(run(m).command.body.authorization.partial_allowed);
  m.set(48, "R610500000");
  EXPECT_FALSE(run(m).command.body.authorization.partial_allowed);
  m.set(48, "PARTIAL=Y");
  EXPECT_TRUE(run(m).command.body.authorization.partial_allowed);
  Message echo;
  echo.mti = "0800";
  echo.set(7, "1129120000");
  echo.set(11, "000001");
  for (const auto& [code, de39] : std::vector<std::pair<const char*, const char*>>{
           {"001", "00"}, {"002", "00"}, {"301", "00"}, {"161", "12"}, {"101", "12"}}) {
    echo.set(70, code);
    EXPECT_EQ(run(echo).reply.get(39), de39) << code;
  }
}

TEST(TranslateTest, CashBackIsReadFromDe54AndAPurchaseOnlyApprovalIs87) {
  Message m = authorization();
  m.set(3, "090000");
  m.set(4, "000000003000");
  m.set(54, "0040978D000000001000");  // 10.00 of the 30.00 is cash
  Translation t = run(m);
  EXPECT_EQ(t.command.body.authorization.cash_back, 1000);
  CommandResult purchase_only;
  purchase_only.code = static_cast<std::uint8_t>(TransferResult::ok);
  purchase_only.value.transfer.amount = 3000;
  purchase_only.value.transfer.amount_effective = 2000;
  finish(purchase_only, &t);
  EXPECT_EQ(t.reply.get(39), "87");
  EXPECT_EQ(t.reply.get(4), "000000002000");
  m.set(60, "000000000002");  // Visa field 60.10: partial authorization supported
  EXPECT_TRUE(run(m).command.body.authorization.partial_allowed);
  Message advice = m;
  advice.mti = "0120";
  advice.set(39, "87");  // the network approved the purchase alone
  EXPECT_EQ(run(advice).command.body.authorization.amount, 2000);
}

TEST(TranslateTest, PartialApprovalInTheBillingCurrencyRewritesBothAmounts) {
  Message m = authorization();
  m.set(4, "000000010000");  // USD 100.00
  m.set(49, "840");
  m.set(6, "000000009000");  // EUR 90.00 billed
  m.set(51, "978");
  Translation t = run(m);
  ASSERT_TRUE(t.billing);
  EXPECT_EQ(t.command.body.authorization.amount, 9000);
  CommandResult partial;
  partial.code = static_cast<std::uint8_t>(TransferResult::ok);
  partial.value.transfer.amount = 9000;
  partial.value.transfer.amount_effective = 4500;
  finish(partial, &t);
  EXPECT_EQ(t.reply.get(39), "10");
  EXPECT_EQ(t.reply.get(6), "000000004500");
  EXPECT_EQ(t.reply.get(4), "000000005000");  // the same half, in the transaction currency
  EXPECT_EQ(t.reply.get(54), "0057840C000000010000");
}

TEST(TranslateTest, BadOrMissingFieldsAreAnsweredAtOnce) {
  struct Case {
    const char* what;
    int field;
    const char* value;  // nullptr: remove the field
    const char* code;
  };
  const Case cases[] = {
      {"no PAN", 2, nullptr, "30"},          {"no processing code", 3, nullptr, "30"},
      {"no amount", 4, nullptr, "30"},       {"no transmission time", 7, nullptr, "30"},
      {"no STAN", 11, nullptr, "30"},        {"no currency", 49, nullptr, "30"},
      {"unknown currency", 49, "999", "30"}, {"expiry month 13", 14, "2813", "30"},
      {"expiry month 00", 14, "2800", "30"}, {"unsupported processing code", 3, "990000", "12"},
  };
  for (const Case& c : cases) {
    Message m = authorization();
    if (c.value == nullptr) {
      m.clear(c.field);
    } else {
      m.set(c.field, c.value);
    }
    const Translation t = run(m);
    EXPECT_EQ(t.purpose, Purpose::none) << c.what;
    EXPECT_EQ(t.reply.get(39), c.code) << c.what;
    EXPECT_EQ(t.reply.mti, "0110") << c.what;
  }
  Message reversal = authorization("0400");
  reversal.set(95, "00000000A000000000000000C00000000C00000000");
  EXPECT_EQ(run(reversal).reply.get(39), "30");  // DE95's actual amount must be digits
  Message unknown = authorization("0600");
  EXPECT_EQ(run(unknown).reply.mti, "0610");
  EXPECT_EQ(run(unknown).reply.get(39), "30");
  TranslateOptions no_secret = options();
  no_secret.pan_secret.clear();
  EXPECT_EQ(translate(authorization(), no_secret, 2611).reply.get(39), "91");
}

TEST(TranslateTest, ApprovalsPartialsAndDeclinesAreAnswered) {
  Translation t = run(authorization());
  CommandResult result;
  result.kind = CommandKind::authorize;
  result.code = static_cast<std::uint8_t>(TransferResult::ok);
  result.value.transfer.id = t.command.body.authorization.id;
  result.value.transfer.amount = 1250;
  result.value.transfer.amount_effective = 1250;
  result.value.transfer.flags = flag_pending;
  Translation approved = t;
  finish(result, &approved);
  EXPECT_EQ(approved.reply.get(39), "00");
  EXPECT_EQ(approved.reply.get(38).size(), 6u);
  EXPECT_EQ(late_transfer(Purpose::authorize, result), result.value.transfer.id);
  result.value.transfer.amount_effective = 1000;
  Translation partial = t;
  finish(result, &partial);
  EXPECT_EQ(partial.reply.get(39), "10");
  EXPECT_EQ(partial.reply.get(4), "000000001000");
  EXPECT_EQ(partial.reply.get(54), "0057978C000000001250");
  for (const auto& [code, de39] : std::vector<std::pair<TransferResult, const char*>>{
           {TransferResult::card_unknown, "14"},
           {TransferResult::card_expired, "54"},
           {TransferResult::card_not_active, "62"},
           {TransferResult::card_mcc_blocked, "57"},
           {TransferResult::card_limit_exceeded, "61"},
           {TransferResult::card_count_limit_exceeded, "65"},
           {TransferResult::exceeds_available, "51"},
           {TransferResult::transfer_capacity_exhausted, "91"}}) {
    result.code = static_cast<std::uint8_t>(code);
    Translation declined = t;
    finish(result, &declined);
    EXPECT_EQ(declined.reply.get(39), de39) << to_string(code);
    EXPECT_FALSE(declined.reply.has(38));
    EXPECT_EQ(late_transfer(Purpose::authorize, result), std::nullopt);
  }
  Translation unavailable = t;
  finish_unavailable(&unavailable);
  EXPECT_EQ(unavailable.reply.get(39), "91");
}

TEST(TranslateTest, CompletionsReversalsAndAdvicesNameTheOriginal) {
  const TransferId original = original_id();
  Message completion = authorization("0220");
  const Translation c = run(completion);
  ASSERT_EQ(c.command.kind, CommandKind::card_completion);
  EXPECT_EQ(c.command.body.authorization.original, original);
  EXPECT_EQ(c.command.body.authorization.over_capture_pct, 20);  // 5812: restaurants (tips)
  completion.set(3, "200000");  // a refund completion stays a refund
  EXPECT_EQ(run(completion).command.body.authorization.kind, AuthorizationKind::refund);
  Message reversal = authorization("0420");
  reversal.set(95, "000000000500000000000500C00000000C00000000");
  const Translation r = run(reversal);
  ASSERT_EQ(r.command.kind, CommandKind::card_reversal);
  EXPECT_EQ(r.command.body.authorization.replacement, 500);
  EXPECT_EQ(r.command.body.authorization.original, original);
  EXPECT_EQ(r.command.body.authorization.id,
            message_id("0420", "12345", "000123", "1129120000", "000000001250",
                       "000000000500000000000500C00000000C00000000"));
  reversal.set(6, "000000000900");  // billed: DE95's amount converted at DE6/DE4
  reversal.set(51, "840");
  EXPECT_EQ(run(reversal).command.body.authorization.replacement, 360);
  CommandResult nothing;
  nothing.code = static_cast<std::uint8_t>(TransferResult::pending_not_found);
  Translation acknowledged = r;
  finish(nothing, &acknowledged);
  EXPECT_EQ(acknowledged.reply.mti, "0430");
  EXPECT_EQ(acknowledged.reply.get(39), "00");
  Message declined_advice = authorization("0120");
  declined_advice.set(39, "05");
  EXPECT_EQ(run(declined_advice).command.kind, CommandKind::card_reversal);
  EXPECT_TRUE(run(declined_advice).command.body.authorization.release_only);
  const Translation advice = run(authorization("0121"));
  EXPECT_EQ(advice.reply.mti, "0130");
  EXPECT_EQ(advice.purpose, Purpose::advice);
  EXPECT_TRUE(advice.command.body.authorization.force);
  EXPECT_EQ(advice.command.body.authorization.id, original);
  for (const char* code : {"00", "08", "10", "11", "85", "87"}) {
    Message stand_in = authorization("0120");
    stand_in.set(39, code);
    EXPECT_EQ(run(stand_in).command.kind, CommandKind::authorize) << code;
  }
  Translation unrecorded = advice;  // acknowledged all the same, and noted
  CommandResult unknown;
  unknown.code = static_cast<std::uint8_t>(TransferResult::card_unknown);
  finish(unknown, &unrecorded);
  EXPECT_EQ(unrecorded.reply.get(39), "00");
  EXPECT_EQ(unrecorded.trouble, "advice_not_recorded");
  Message incremental = authorization();
  incremental.set(11, "000124");
  incremental.set(90, "0100000123112912000000000012345000000000000");
  const Translation inc = run(incremental);
  EXPECT_TRUE(inc.command.body.authorization.incremental);
  EXPECT_EQ(inc.command.body.authorization.original, original);
}

TEST(TranslateTest, MalformedRequestsAreAnswered30AndResponsesDropped) {
  Message partial;
  partial.mti = "0200";
  partial.set(11, "000777");
  const auto reply = malformed_reply(partial);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->mti, "0210");
  EXPECT_EQ(reply->get(39), "30");
  EXPECT_EQ(reply->get(11), "000777");
  partial.mti = "0110";
  EXPECT_FALSE(malformed_reply(partial).has_value());
  partial.mti.clear();
  EXPECT_FALSE(malformed_reply(partial).has_value());
  EXPECT_EQ(error_reply(authorization()).get(39), "96");
}

// The keyed-state HMAC (ledger/pan_hash.h) is HMAC-SHA256: RFC 4231's vectors (a short key, a
// key of four bytes, a key longer than the block), and OpenSSL's one-shot HMAC() for keys of
// every length around the 64-byte block and messages of card-number lengths.
std::string hex(const std::uint8_t (&digest)[32]) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (const std::uint8_t b : digest) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

TEST(PanHashTest, IsHmacSha256ByRfc4231AndOpenSsl) {
  std::uint8_t out[32];
  pan_hash(std::string(20, '\x0b'), "Hi There", out);
  EXPECT_EQ(hex(out), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  pan_hash("Jefe", "what do ya want for nothing?", out);
  EXPECT_EQ(hex(out), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  pan_hash(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First", out);
  EXPECT_EQ(hex(out), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  for (std::size_t key_size : {1u, 32u, 63u, 64u, 65u, 100u}) {
    std::string key;
    for (std::size_t i = 0; i < key_size; ++i) key.push_back(static_cast<char>(i * 7 + 1));
    for (std::size_t pan_size = 12; pan_size <= 19; ++pan_size) {
      const std::string pan = std::string("4000056655665556789").substr(0, pan_size);
      std::uint8_t expected[32];
      unsigned int length = 0;
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(pan.data()), pan.size(), expected, &length);
      pan_hash(key, pan, out);
      EXPECT_EQ(hex(out), hex(expected)) << "key of " << key_size << " bytes, PAN of " << pan_size;
    }
  }
}

}  // namespace
}  // namespace ledger::iso8583
