#include <gtest/gtest.h>

#include <cstring>

#include "ledger/sepa.h"
#include "ledger/units.h"
#include "outbound/crypto.h"
#include "outbound/destination.h"
#include "outbound/filter.h"
#include "outbound/slack.h"
#include "outbound/spikes.h"

namespace ledger::outbound {
namespace {

// The test vector of the Standard Webhooks specification (standard-webhooks.com).
TEST(SignatureTest, MatchesTheStandardWebhooksTestVector) {
  const auto signature =
      sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
           R"({"test": 2432232314})");
  ASSERT_TRUE(signature);
  EXPECT_EQ(*signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  EXPECT_FALSE(sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "x", 1, "{}"));  // no whsec_ prefix
  // During a rotation both secrets sign, separated by a space.
  const std::string header =
      signature_header({"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", new_secret()},
                       "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})");
  EXPECT_EQ(header.rfind("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,", 0), 0u) << header;
}

TEST(SignatureTest, SignedHeadersCarryTheCurrentAndThePreviousSecret) {
  const std::string key(32, 'k');
  const std::string current = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const std::string previous = new_secret();
  const auto secrets = signing_secrets(key, seal(key, current), seal(key, previous));
  ASSERT_EQ(secrets, (std::vector<std::string>{current, previous}));
  EXPECT_EQ(signing_secrets(key, seal(key, current), ""), std::vector<std::string>{current});
  // A secret sealed under another key is left out, not sent as garbage.
  EXPECT_TRUE(signing_secrets(std::string(32, 'x'), seal(key, current), "").empty());
  const Headers headers = signed_headers(secrets, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                         R"({"test": 2432232314})");
  ASSERT_EQ(headers.size(), 3u);
  EXPECT_EQ(headers[0],
            (std::pair<std::string, std::string>{"webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"}));
  EXPECT_EQ(headers[1], (std::pair<std::string, std::string>{"webhook-timestamp", "1614265330"}));
  EXPECT_EQ(headers[2].first, "webhook-signature");
  EXPECT_EQ(headers[2].second, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= " +
                                   *sign(previous, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                         R"({"test": 2432232314})"));
}

TEST(SealTest, RoundTripsAndRefusesAlteredBytesOrAnotherKey) {
  const auto key = parse_seal_key(std::string(64, 'a'));
  ASSERT_TRUE(key);
  EXPECT_FALSE(parse_seal_key(std::string(63, 'a')));
  EXPECT_FALSE(parse_seal_key(std::string(64, 'g')));
  const std::string sealed = seal(*key, "https://hooks.example.com/x");
  EXPECT_EQ(sealed.find("hooks"), std::string::npos);
  EXPECT_EQ(unseal(*key, sealed), "https://hooks.example.com/x");
  EXPECT_NE(seal(*key, "same"), seal(*key, "same"));  // a fresh nonce each time
  std::string altered = sealed;
  altered[14] ^= 1;
  EXPECT_FALSE(unseal(*key, altered));
  EXPECT_FALSE(unseal(*parse_seal_key(std::string(64, 'b')), sealed));
  const std::string secret = new_secret();
  EXPECT_EQ(secret.rfind("whsec_", 0), 0u);
  EXPECT_EQ(unbase64(secret.substr(6))->size(), 24u);
}

TEST(DestinationTest, ParsesUrlsAndKeepsDeliveriesOffPrivateNetworks) {
  std::string error;
  const auto url = parse_url("https://Hooks.Example.com:8443/in/x?a=1", &error);
  ASSERT_TRUE(url) << error;
  EXPECT_EQ(url->host, "hooks.example.com");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->target, "/in/x?a=1");
  EXPECT_EQ(url->hint(), "https://hooks.example.com:8443");
  EXPECT_EQ(parse_url("https://[::1]/", &error)->host, "::1");
  for (const char* bad :
       {"ftp://x", "https://", "https://a b", "https://u:p@x.com/", "https://x.com/#f",
        "https://x.com:0/", "https://x.com:70000/", "https://[::1/", "hooks.example.com"}) {
    EXPECT_FALSE(parse_url(bad, &error)) << bad;
  }
  const Allowlist none;
  EXPECT_EQ(check_destination(*parse_url("https://hooks.example.com/", &error), none), "");
  EXPECT_NE(check_destination(*parse_url("http://hooks.example.com/", &error), none), "");
  EXPECT_NE(check_destination(*parse_url("https://127.0.0.1/", &error), none), "");
  EXPECT_NE(check_destination(*parse_url("https://10.1.2.3/", &error), none), "");
  EXPECT_NE(check_destination(*parse_url("https://localhost/", &error), none), "");
  EXPECT_NE(check_destination(*parse_url("https://[fd00::1]/", &error), none), "");
  const auto list = parse_allowlist("127.0.0.0/8, receiver.internal", &error);
  ASSERT_TRUE(list) << error;
  EXPECT_EQ(check_destination(*parse_url("http://127.0.0.1:9000/", &error), *list), "");
  EXPECT_EQ(check_destination(*parse_url("http://receiver.internal/", &error), *list), "");
  EXPECT_NE(check_destination(*parse_url("http://192.168.1.1/", &error), *list), "");
  EXPECT_FALSE(parse_allowlist("10.0.0.0/33", &error));
  EXPECT_FALSE(parse_allowlist("a/b", &error));
  namespace ip = boost::asio::ip;
  for (const char* p :
       {"10.0.0.1", "172.31.255.255", "192.168.0.1", "127.0.0.1", "169.254.1.1", "100.64.0.1",
        "0.0.0.0", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1",
        // NAT64, 6to4, Teredo, discard, documentation, IETF, benchmarking,
        // TEST-NETs and reserved: never a webhook receiver on the Internet.
        "64:ff9b::a00:1", "64:ff9b:1::1", "2002:a00:1::", "2001::1", "100::1", "2001:db8::1",
        "192.0.0.8", "192.0.2.1", "198.51.100.1", "203.0.113.1", "198.18.0.1", "240.0.0.1"})
    EXPECT_TRUE(is_private(ip::make_address(p))) << p;
  for (const char* p :
       {"8.8.8.8", "172.32.0.1", "2a00:1450:4001::1", "::ffff:8.8.8.8", "192.0.1.1", "198.20.0.1"})
    EXPECT_FALSE(is_private(ip::make_address(p))) << p;
}

Event transfer_event(EventType type, std::int64_t amount, std::uint64_t debit, std::uint64_t credit,
                     TransferCode code = TransferCode::internal,
                     TransferResult result = TransferResult::ok) {
  Event e;
  e.seq = 1;
  e.type = type;
  e.record.kind = RecordKind::transfer;
  Transfer& t = e.record.value.transfer;
  t.amount = t.amount_effective = amount;
  t.currency = *currency_from_alpha("EUR");
  t.debit_account_id = AccountId{Uint128{0, debit}};
  t.credit_account_id = AccountId{Uint128{0, credit}};
  t.code = code;
  t.result = result;
  if (result != TransferResult::ok) t.amount_effective = 0;
  t.reference_a = 0;
  t.reference_b = 77;  // the card, for card codes
  return e;
}

TEST(FilterTest, RefusesBadCriteriaNamingTheField) {
  Filter f;
  FilterError error;
  const std::pair<const char*, const char*> cases[] = {
      {R"({"colour": 1})", "filter.colour"},
      {R"({"amount_at_least": -1, "currency": "EUR"})", "filter.amount_at_least"},
      {R"({"amount_at_least": 5})", "filter.currency"},
      {R"({"amount_at_least": 9, "amount_at_most": 5, "currency": "EUR"})",
       "filter.amount_at_most"},
      {R"({"currency": "EURO"})", "filter.currency"},
      {R"({"account_ids": ["x"]})", "filter.account_ids"},
      {R"({"direction": "sideways"})", "filter.direction"},
      {R"({"mccs": ["541"]})", "filter.mccs"},
      {R"({"outcome": "maybe"})", "filter.outcome"},
      {R"({"channel": "pigeon"})", "filter.channel"},
      {R"([1])", "filter"}};
  for (const auto& [text, field] : cases) {
    EXPECT_FALSE(parse_filter(text, &f, &error)) << text;
    EXPECT_EQ(error.field, field) << text;
  }
  ASSERT_TRUE(parse_filter(R"({"mccs": ["5411"], "direction": null})", &f, &error));
  EXPECT_EQ(filter_json(f), R"({"mccs":["5411"]})");
  ASSERT_TRUE(parse_filter("null", &f, &error));
  EXPECT_EQ(filter_json(f), "{}");
}

TEST(FilterTest, CriteriaCombineWithAndListsWithOr) {
  Filter f;
  FilterError error;
  const std::set<Uint128> none;
  ASSERT_TRUE(parse_filter(R"({"amount_at_least": 1000, "currency": "EUR"})", &f, &error));
  EXPECT_TRUE(matches(f, transfer_event(EventType::transfer_created, 1000, 1, 2), none));
  EXPECT_FALSE(matches(f, transfer_event(EventType::transfer_created, 999, 1, 2), none));
  ASSERT_TRUE(parse_filter(R"({"account_ids": ["00000000-0000-0000-0000-000000000005",
      "00000000-0000-0000-0000-000000000001"], "direction": "out"})",
                           &f, &error));
  EXPECT_TRUE(matches(f, transfer_event(EventType::transfer_created, 5, 1, 2), none));
  EXPECT_FALSE(matches(f, transfer_event(EventType::transfer_created, 5, 2, 1), none));  // in
  EXPECT_FALSE(matches(f, transfer_event(EventType::transfer_created, 5, 2, 3), none));
  ASSERT_TRUE(parse_filter(R"({"outcome": "declined"})", &f, &error));
  EXPECT_TRUE(
      matches(f,
              transfer_event(EventType::card_authorization_declined, 5, 1, 2,
                             TransferCode::card_authorization, TransferResult::exceeds_available),
              none));
  EXPECT_FALSE(matches(f,
                       transfer_event(EventType::card_authorization_approved, 5, 1, 2,
                                      TransferCode::card_authorization),
                       none));
  ASSERT_TRUE(
      parse_filter(R"({"card_ids": ["00000000-0000-0000-0000-00000000004d"]})", &f, &error));
  EXPECT_TRUE(matches(f,
                      transfer_event(EventType::card_authorization_approved, 5, 1, 2,
                                     TransferCode::card_authorization),
                      none));
  EXPECT_FALSE(matches(f, transfer_event(EventType::transfer_created, 5, 1, 2), none));
  ASSERT_TRUE(
      parse_filter(R"({"holder_ids": ["00000000-0000-0000-0000-000000000009"]})", &f, &error));
  EXPECT_TRUE(matches(f, transfer_event(EventType::transfer_created, 5, 3, 4), {Uint128{0, 4}}));
  EXPECT_FALSE(matches(f, transfer_event(EventType::transfer_created, 5, 3, 4), {Uint128{0, 6}}));
}

// OR across criteria (any_of), merchant names and counterparties (case-insensitive parts of the
// name), and direct debits as money out (a refund as money in).
TEST(FilterTest, AlternativesMerchantNamesCounterpartiesAndDirectDebits) {
  Filter f;
  FilterError error;
  const std::set<Uint128> none;
  // Card payments of 100.00 EUR or more, or anything at a merchant called "bistro".
  ASSERT_TRUE(parse_filter(R"({"any_of": [{"amount_at_least": 10000, "currency": "EUR"},
                                          {"merchant_names": ["Bistro"]}]})",
                           &f, &error))
      << error.detail;
  Event small = transfer_event(EventType::card_authorization_approved, 500, 2, 1,
                               TransferCode::card_authorization);
  EXPECT_FALSE(matches(f, small, none));
  small.has_merchant = true;
  std::memcpy(small.merchant.merchant.name, "CORNER BISTRO", 13);
  EXPECT_TRUE(matches(f, small, none));
  EXPECT_TRUE(matches(f,
                      transfer_event(EventType::card_authorization_approved, 10000, 2, 1,
                                     TransferCode::card_authorization),
                      none));
  EXPECT_EQ(
      filter_json(f),
      R"({"any_of":[{"amount_at_least":10000,"currency":"EUR"},{"merchant_names":["bistro"]}]})");
  // Counterparty: the merchant of a card payment, the creditor of a direct debit.
  ASSERT_TRUE(parse_filter(R"({"counterparties": ["stadtwerke", "bistro"]})", &f, &error));
  EXPECT_TRUE(matches(f, small, none));
  Event debit;
  debit.type = EventType::direct_debit_paid;
  debit.record.kind = RecordKind::direct_debit;
  debit.record.value.direct_debit = DirectDebit{};
  debit.record.value.direct_debit.change = DirectDebitChange::paid;
  debit.record.value.direct_debit.account_id = AccountId{Uint128{0, 2}};
  debit.creditor_name = "Stadtwerke Musterstadt";
  EXPECT_TRUE(matches(f, debit, none));
  debit.creditor_name = "Telecom";
  EXPECT_FALSE(matches(f, debit, none));
  // Direction: a collection is money out, its refund money in.
  ASSERT_TRUE(parse_filter(R"({"direction": "out"})", &f, &error));
  EXPECT_TRUE(matches(f, debit, none));
  debit.record.value.direct_debit.change = DirectDebitChange::refunded;
  EXPECT_FALSE(matches(f, debit, none));
  ASSERT_TRUE(parse_filter(R"({"direction": "in"})", &f, &error));
  EXPECT_TRUE(matches(f, debit, none));
  // Bad alternatives name their place.
  EXPECT_FALSE(parse_filter(R"({"any_of": [{"colour": 1}]})", &f, &error));
  EXPECT_EQ(error.field, "filter.any_of[0].colour");
  EXPECT_FALSE(parse_filter(R"({"any_of": []})", &f, &error));
  EXPECT_EQ(error.field, "filter.any_of");
  EXPECT_FALSE(parse_filter(R"({"any_of": [{"any_of": [{}]}]})", &f, &error));
  EXPECT_FALSE(parse_filter(R"({"merchant_names": [""]})", &f, &error));
  EXPECT_EQ(error.field, "filter.merchant_names");
}

TEST(SlackTest, MessagesReadAtAGlance) {
  const Event approved = transfer_event(EventType::card_authorization_approved, 1240, 2, 1,
                                        TransferCode::card_authorization);
  EXPECT_EQ(slack_text(approved), "Card payment 12.40 EUR: approved (account …0002)");
  const Event declined =
      transfer_event(EventType::card_authorization_declined, 5000, 2, 1,
                     TransferCode::card_authorization, TransferResult::exceeds_available);
  EXPECT_EQ(slack_text(declined),
            "Card payment 50.00 EUR: declined, exceeds available (account …0002)");
  EXPECT_NE(slack_body("x").find(R"("blocks")"), std::string::npos);
  Event at_shop = approved;
  at_shop.has_merchant = true;
  std::memcpy(at_shop.merchant.merchant.name, "CORNER SHOP", 11);
  std::memcpy(at_shop.merchant.merchant.city, "Paris", 5);
  EXPECT_EQ(slack_text(at_shop),
            "Card payment 12.40 EUR at CORNER SHOP, Paris: approved (account …0002)");
  Filter by_mcc;
  FilterError error;
  ASSERT_TRUE(parse_filter(R"({"mccs": ["5411"], "channel": "contactless"})", &by_mcc, &error));
  EXPECT_FALSE(matches(by_mcc, at_shop, {}));
  at_shop.merchant.mcc = 5411;
  at_shop.merchant.merchant.channel = CardChannel::contactless;
  EXPECT_TRUE(matches(by_mcc, at_shop, {}));
  at_shop.merchant.merchant.channel = CardChannel::online;
  EXPECT_FALSE(matches(by_mcc, at_shop, {}));
  Digest digest;
  for (int i = 0; i < 37; ++i) digest.add(approved);
  digest.add(declined);
  EXPECT_EQ(digest.text(), "38 more events: 38 card payments (458.80 EUR)");
  // An authorization holds and its completion moves the money: the sum counts it once, the
  // kinds say what happened, and the digest says since when (not always "the last minute").
  Event hold = transfer_event(EventType::card_authorization_approved, 1000, 2, 1,
                              TransferCode::card_authorization);
  hold.record.value.transfer.flags = flag_pending;
  hold.record.value.transfer.timestamp = 1'796'630'403'000'000'000ULL;  // 2026-12-07 08:00:03
  Event completion =
      transfer_event(EventType::card_completion, 1000, 2, 1, TransferCode::card_capture);
  completion.record.value.transfer.timestamp = 1'796'630'460'000'000'000ULL;
  Digest once;
  once.add(hold);
  once.add(completion);
  EXPECT_EQ(once.text(),
            "2 more events since 08:00:03 UTC: 1 card completions, 1 card payments (10.00 EUR)");
  EXPECT_EQ(format_amount(124050, *currency_from_alpha("EUR")), "1,240.50");
  EXPECT_EQ(format_amount(1234567, *currency_from_alpha("JPY")), "1,234,567");
  EXPECT_EQ(format_amount(-5, *currency_from_alpha("EUR")), "-0.05");
}

// Accounts by their masked IBAN when the caller knows it; a direct debit by its creditor, whose
// name (from the clearing system) is escaped like a merchant's.
TEST(SlackTest, ClearedCardPaymentsNameTheirMerchantEscaped) {
  Event cleared = transfer_event(EventType::card_cleared, 1450, 2, 1, TransferCode::card_clearing);
  cleared.has_merchant = true;
  std::memcpy(cleared.merchant.merchant.name, "CORNER BISTRO", 13);
  std::memcpy(cleared.merchant.merchant.city, "Berlin", 6);
  EXPECT_EQ(slack_text(cleared),
            "Card payment cleared 14.50 EUR at CORNER BISTRO, Berlin (account …0002)");
  Event forced =
      transfer_event(EventType::card_force_posted, 500, 2, 1, TransferCode::card_force_post);
  forced.has_merchant = true;
  std::memcpy(forced.merchant.merchant.name, "<!channel> SHOP", 15);
  EXPECT_EQ(slack_text(forced),
            "Card payment cleared without a matching authorization 5.00 EUR at &lt;!channel&gt; "
            "SHOP (account …0002)");
  Digest digest;
  digest.add(cleared);
  EXPECT_EQ(digest.text(), "1 more events: 1 card clearings (14.50 EUR)");
}

TEST(SlackTest, AccountsByIbanAndDirectDebitsByCreditor) {
  const Event approved = transfer_event(EventType::card_authorization_approved, 1240, 2, 1,
                                        TransferCode::card_authorization);
  EXPECT_EQ(slack_text(approved, [](AccountId) { return masked_iban("DE89370400440532013000"); }),
            "Card payment 12.40 EUR: approved (account DE89 …3000)");
  EXPECT_EQ(slack_text(approved, [](AccountId) { return std::string(); }),
            "Card payment 12.40 EUR: approved (account …0002)");
  Event debit;
  debit.type = EventType::direct_debit_paid;
  debit.record.kind = RecordKind::direct_debit;
  debit.record.value.direct_debit = DirectDebit{};
  DirectDebit& d = debit.record.value.direct_debit;
  d.change = DirectDebitChange::paid;
  d.amount = 12'500;
  d.currency = *currency_from_alpha("EUR");
  d.due_day = 20'000;
  d.account_id = AccountId{Uint128{0, 2}};
  debit.creditor_name = "Stadtwerke <!here>";
  EXPECT_EQ(slack_text(debit),
            "Direct debit paid: 125.00 EUR to Stadtwerke &lt;!here&gt; due 2024-10-04 (account "
            "…0002)");
}

// A merchant's name comes from the card network, so from anyone who can run a terminal: it is
// shown as text, never read by Slack as a mention, a channel ping or a link (Slack's escaping
// rules: &, < and > as &amp;, &lt;, &gt;).
TEST(SlackTest, AMerchantNameIsShownAsTextNeverAsAPingOrALink) {
  Event e = transfer_event(EventType::card_authorization_approved, 1240, 2, 1,
                           TransferCode::card_authorization);
  e.has_merchant = true;
  const std::string name = "<!channel> <https://x|R>";  // DE43: 25 characters at most
  ASSERT_LE(name.size(), sizeof e.merchant.merchant.name);
  std::memcpy(e.merchant.merchant.name, name.data(), name.size());
  std::memcpy(e.merchant.merchant.city, "& <@U123>", 9);
  const std::string text = slack_text(e);
  EXPECT_EQ(text,
            "Card payment 12.40 EUR at &lt;!channel&gt; &lt;https://x|R&gt;, &amp; &lt;@U123&gt;: "
            "approved (account …0002)");
  // Nothing a Slack client would parse: no angle bracket, every & starts one of the three.
  EXPECT_EQ(text.find('<'), std::string::npos);
  EXPECT_EQ(text.find('>'), std::string::npos);
  for (std::size_t at = text.find('&'); at != std::string::npos; at = text.find('&', at + 1)) {
    const std::string_view rest = std::string_view(text).substr(at);
    EXPECT_TRUE(rest.rfind("&amp;", 0) == 0 || rest.rfind("&lt;", 0) == 0 ||
                rest.rfind("&gt;", 0) == 0)
        << rest;
  }
  const std::string body = slack_body(text);
  EXPECT_EQ(body.find("<!channel>"), std::string::npos) << body;
  EXPECT_EQ(slack_escape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d\"e'f");  // quotes stay: not HTML
}

TEST(SlackTest, DirectDebitsSayWhatHappenedAndWhatIsMissing) {
  Event e;
  e.seq = 12;
  e.type = EventType::direct_debit_waiting_for_funds;
  e.record.kind = RecordKind::direct_debit;
  DirectDebit& d = e.record.value.direct_debit;
  d = DirectDebit{};
  d.account_id = AccountId{Uint128{0, 1234}};
  d.currency = *currency_from_alpha("EUR");
  d.amount = 15000;
  d.missing = 5000;
  d.due_day = *sepa::parse_date("2026-12-01");
  d.wait_deadline = static_cast<std::uint64_t>(*sepa::parse_date("2026-12-03")) * ns_per_day;
  d.change = DirectDebitChange::waiting_for_funds;
  d.status = DirectDebitStatus::waiting_for_funds;
  EXPECT_EQ(slack_text(e),
            "Direct debit waiting for funds: 150.00 EUR due 2026-12-01; 50.00 EUR missing; "
            "returned unless funded by 2026-12-03 (account …1234)");
  d.change = DirectDebitChange::returned;
  d.reason = static_cast<std::uint8_t>(sepa::Reason::AM04);
  EXPECT_EQ(slack_text(e),
            "Direct debit returned (AM04, insufficient funds): 150.00 EUR due 2026-12-01 "
            "(account …1234)");
  // Filters see its account and its amount.
  Filter f;
  FilterError error;
  ASSERT_TRUE(parse_filter(
      R"({"account_ids": ["00000000-0000-0000-0000-0000000004d2"], "amount_at_least": 10000, "currency": "EUR"})",
      &f, &error));
  EXPECT_TRUE(matches(f, e, {}));
  d.amount = 9999;
  EXPECT_FALSE(matches(f, e, {}));
}

TEST(SlackTest, BalanceAlertsNameTheBalanceTheValueAndTheThreshold) {
  Event e;
  e.seq = 9;
  e.type = EventType::balance_monitor_triggered;
  e.record.kind = RecordKind::monitor;
  BalanceMonitor& m = e.record.value.monitor;
  m = BalanceMonitor{};
  m.account_id = AccountId{Uint128{0, 1234}};
  m.currency = *currency_from_alpha("EUR");
  m.op = BalanceOperator::less;
  m.threshold = 10000;
  m.value = 9550;
  m.triggered = true;
  m.change = MonitorChange::triggered;
  EXPECT_EQ(slack_text(e),
            "Balance alert: available balance of account …1234 is 95.50 EUR, below 100.00 EUR");
  m.change = MonitorChange::resolved;
  m.value = 12000;
  EXPECT_EQ(slack_text(e),
            "Balance back to normal: available balance of account …1234 is "
            "120.00 EUR, no longer below 100.00 EUR");
  Filter f;
  FilterError error;
  ASSERT_TRUE(
      parse_filter(R"({"account_ids": ["00000000-0000-0000-0000-0000000004d2"]})", &f, &error));
  EXPECT_TRUE(matches(f, e, {}));
  m.account_id = AccountId{Uint128{0, 1235}};
  EXPECT_FALSE(matches(f, e, {}));
}

TEST(SpikeTest, WindowsSlideAndASpikeIsOfferedOncePerWindow) {
  constexpr std::uint64_t s = 1'000'000'000;
  SpikeRule rule;
  rule.id = Uint128{1, 1};
  rule.scope = SpikeScope::account;
  rule.window_s = 60;
  rule.amount_at_least = 5000;
  rule.currency = *currency_from_alpha("EUR");
  SpikeEvaluator evaluator;
  evaluator.set_rules({rule});
  const auto holder_of = [](AccountId) { return Uint128{}; };
  std::vector<SpikeCandidate> out;
  const auto pay = [&](std::uint64_t at, std::int64_t amount, std::uint64_t debit = 2,
                       const char* currency = "EUR") {
    Movement m;
    m.ts = at;
    m.amount = amount;
    m.currency = *currency_from_alpha(currency);
    m.out_of = AccountId{Uint128{0, debit}};
    m.into = AccountId{Uint128{0, 1}};
    out.clear();
    evaluator.observe(m, holder_of, &out);
    return out.size();
  };
  EXPECT_EQ(pay(100 * s, 3000), 0u);
  EXPECT_EQ(pay(170 * s, 2500), 0u);            // the first left the window: 2500
  EXPECT_EQ(pay(171 * s, 2000), 0u);            // 4500
  EXPECT_EQ(pay(172 * s, 9000, 2, "USD"), 0u);  // another currency: not this rule's
  EXPECT_EQ(pay(173 * s, 600), 1u);             // 5100
  EXPECT_EQ(out[0].spike.window_sum, 5100);
  EXPECT_EQ(out[0].spike.count, 3u);
  EXPECT_EQ(out[0].spike.key, (Uint128{0, 2}));
  EXPECT_EQ(out[0].spike.window_start, 170 * s);
  evaluator.fired(rule.id, Uint128{0, 2}, 173 * s);
  EXPECT_EQ(pay(180 * s, 5000), 0u);     // within max(window, cooldown) of the spike
  EXPECT_EQ(pay(181 * s, 5000, 3), 1u);  // another account has its own window
  EXPECT_EQ(pay(234 * s, 5000), 1u);     // a window later: a new spike
  evaluator.rejected(rule.id, Uint128{0, 2}, 234 * s);
  EXPECT_EQ(pay(240 * s, 100), 0u);  // rejected: quiet for max(10 s, window / 10)
  EXPECT_EQ(pay(245 * s, 100), 1u);
  // A rule narrowed to one card sees that card only, and refunds are money in.
  SpikeRule card_rule = rule;
  card_rule.id = Uint128{1, 2};
  card_rule.scope = SpikeScope::card;
  card_rule.scope_id = Uint128{9, 9};
  card_rule.direction = SpikeDirection::in;
  card_rule.amount_at_least = 100;
  evaluator.set_rules({card_rule});
  Event refund =
      transfer_event(EventType::card_authorization_approved, 150, 1, 2, TransferCode::card_refund);
  refund.record.value.transfer.reference_a = 9;
  refund.record.value.transfer.reference_b = 9;
  refund.record.value.transfer.timestamp = 300 * s;
  const auto m = movement_of(refund);
  ASSERT_TRUE(m.has_value());
  out.clear();
  evaluator.observe(*m, holder_of, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].spike.account_id, (AccountId{Uint128{0, 2}}));
  EXPECT_EQ(out[0].spike.scope, SpikeScope::card);
  // Completions, posts and rejected transfers move no new money.
  EXPECT_FALSE(movement_of(transfer_event(EventType::card_completion, 5, 1, 2)).has_value());
  EXPECT_FALSE(movement_of(transfer_event(EventType::transfer_posted, 5, 1, 2)).has_value());
  EXPECT_FALSE(
      movement_of(transfer_event(EventType::transfer_rejected, 5, 1, 2, TransferCode::internal,
                                 TransferResult::exceeds_available))
          .has_value());
}

TEST(SlackTest, SpikesSayHowMuchWhereAndOverWhatWindow) {
  Event e;
  e.type = EventType::spending_spike;
  e.record.kind = RecordKind::spike;
  SpendingSpike& s = e.record.value.spike;
  s = SpendingSpike{};
  s.key = Uint128{0, 4321};
  s.scope = SpikeScope::account;
  s.window_sum = 124050;
  s.window_s = 600;
  s.count = 7;
  s.currency = *currency_from_alpha("EUR");
  s.times_usual_x100 = 300;
  s.usual = 2000;
  EXPECT_EQ(slack_text(e),
            "Spending spike: 1,240.50 EUR out of account …4321 in the last 10 min "
            "(7 transfers; usually 20.00)");
}

}  // namespace
}  // namespace ledger::outbound
