// The ISO 20022 files ledgerd writes for the clearing system, checked the way a clearing system
// checks them: against the schema of their message (tests/schemas, from the published message
// definitions) and for the elements the EPC SDD interbank guideline makes mandatory. Also the
// pacs.003 fields they echo, the creditor identifier, and the calendar of a collection.
#include "http/pacs.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "http/mapping.h"
#include "ledger/direct_debits.h"
#include "ledger/sepa.h"
#include "ledger/units.h"
#include "support/xsd.h"

namespace ledger::http {
namespace {

using nlohmann::json;

DirectDebitView imported(sepa::Reason reason, DirectDebitScheme scheme = DirectDebitScheme::core) {
  DirectDebitView v;
  v.state.id.value = Uint128{0x1234, 0x5678};
  v.state.amount = 12'345;
  v.state.due_day = *sepa::parse_date("2026-12-03");
  v.state.scheme = scheme;
  v.state.sequence = SequenceType::rcur;
  v.state.reason = static_cast<std::uint8_t>(reason);
  DirectDebitDetails& d = v.details;
  d.end_to_end_id = "E2E-2026-0001";
  d.mandate_reference = "MANDATE-42";
  d.creditor_id = "DE98ZZZ09999999999";
  d.creditor_name = "Stadtwerke Musterstadt";
  d.debtor_iban = "DE89370400440532013000";
  d.message_id = "MSG-1";
  d.mandate_signed = *sepa::parse_date("2024-01-15");
  d.transaction_id = "TX-0001";
  d.debtor_name = "Erika Mustermann";
  d.debtor_agent_bic = "COBADEFFXXX";
  d.creditor_agent_bic = "DEUTDEFF";
  d.creditor_iban = "DE02120300000000202051";
  return v;
}

// A collection posted as JSON with the least the API asks: no TxId, debtor name, agents or
// creditor account, an account id instead of an IBAN, no mandate signature date.
DirectDebitView minimal(sepa::Reason reason) {
  DirectDebitView v = imported(reason);
  v.details = DirectDebitDetails{};
  v.details.end_to_end_id = "E2E-JSON";
  v.details.mandate_reference = "M-1";
  v.details.creditor_id = "DE98ZZZ09999999999";
  v.details.creditor_name = "Stadtwerke";
  return v;
}

const pacs::FileHeader header{"RTR20261207-001", *sepa::parse_date("2026-12-07"),
                              1'796'630'400ULL * ns_per_s, "LEDGDEFFXXX", 390};

// The elements of OrgnlTxRef the EPC SDD guideline makes mandatory in a return or reject.
void expect_epc_mandatory(const std::string& xml) {
  for (const char* element :
       {"<OrgnlTxId>", "<OrgnlTxRef><IntrBkSttlmAmt Ccy=\"EUR\">", "<ReqdColltnDt>",
        "<CdtrSchmeId><Id><PrvtId><Othr><Id>", "<SchmeNm><Prtry>SEPA</Prtry></SchmeNm>",
        "<SvcLvl><Cd>SEPA</Cd></SvcLvl>", "<MndtRltdInf><DrctDbtMndt><MndtId>", "<Dbtr><Pty><Nm>",
        "<DbtrAcct><Id>", "<DbtrAgt><FinInstnId>", "<CdtrAgt><FinInstnId>", "<Cdtr><Pty><Nm>",
        "<CdtrAcct><Id>", "<Orgtr><Id><OrgId><AnyBIC>LEDGDEFFXXX</AnyBIC>",
        "<InstgAgt><FinInstnId><BICFI>LEDGDEFFXXX</BICFI>"}) {
    EXPECT_NE(xml.find(element), std::string::npos) << element << "\n" << xml;
  }
}

TEST(PacsFilesTest, AReturnFileIsValidAgainstThePacs004Schema) {
  const std::vector<DirectDebitView> returns{
      imported(sepa::Reason::AM04), minimal(sepa::Reason::AC04), imported(sepa::Reason::MD06),
      imported(sepa::Reason::AC06, DirectDebitScheme::b2b)};
  const std::string xml = pacs::write_pacs004(returns, header);
  EXPECT_EQ(testing::xsd_errors(xml, "pacs.004.001.09.xsd"), "") << xml;
  expect_epc_mandatory(xml);
  // The pacs.003's references are echoed as they came.
  for (const char* echoed :
       {"<OrgnlTxId>TX-0001</OrgnlTxId>", "<Dbtr><Pty><Nm>Erika Mustermann</Nm></Pty></Dbtr>",
        "<DbtrAgt><FinInstnId><BICFI>COBADEFFXXX</BICFI>",
        "<CdtrAgt><FinInstnId><BICFI>DEUTDEFF</BICFI>",
        "<CdtrAcct><Id><IBAN>DE02120300000000202051</IBAN>", "<MsgId>RTR20261207-001</MsgId>",
        "<NbOfTxs>4</NbOfTxs>", "<Cd>AM04</Cd>", "<Cd>AC04</Cd>", "<Cd>MD06</Cd>", "<Cd>B2B</Cd>",
        "<ChrgBr>SLEV</ChrgBr>"}) {
    EXPECT_NE(xml.find(echoed), std::string::npos) << echoed;
  }
  // What a JSON collection did not give is NOTPROVIDED, never left out.
  EXPECT_NE(xml.find("<OrgnlTxId>NOTPROVIDED</OrgnlTxId>"), std::string::npos);
  EXPECT_NE(xml.find("<DbtrAgt><FinInstnId><BICFI>LEDGDEFFXXX</BICFI>"), std::string::npos);
  // An empty day is a valid file too.
  EXPECT_EQ(testing::xsd_errors(pacs::write_pacs004({}, header), "pacs.004.001.09.xsd"), "");
}

// A refund claims its compensation (EPC SDD Core): interest at the configured rate
// (actual/360) for the days from the debit to the refund, in CompstnAmt and in the returned
// amount; a return carries none.
TEST(PacsFilesTest, ARefundCarriesItsCompensation) {
  EXPECT_EQ(pacs::refund_compensation(12'345, 390, 30), 40);  // 123.45 EUR, 3.90 %, 30 days
  EXPECT_EQ(pacs::refund_compensation(1'000'000, 390, 360), 39'000);
  EXPECT_EQ(pacs::refund_compensation(12'345, 0, 30), 0);
  DirectDebitView refund = imported(sepa::Reason::MD06);
  refund.state.timestamp = (static_cast<std::uint64_t>(refund.state.due_day) + 30) * ns_per_day;
  const std::string xml = pacs::write_pacs004({refund, imported(sepa::Reason::AM04)}, header);
  EXPECT_EQ(testing::xsd_errors(xml, "pacs.004.001.09.xsd"), "") << xml;
  EXPECT_NE(xml.find("<RtrdIntrBkSttlmAmt Ccy=\"EUR\">123.85</RtrdIntrBkSttlmAmt>"
                     "<CompstnAmt Ccy=\"EUR\">0.40</CompstnAmt>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<TtlRtrdIntrBkSttlmAmt Ccy=\"EUR\">247.30</TtlRtrdIntrBkSttlmAmt>"),
            std::string::npos);
  EXPECT_EQ(xml.find("<CompstnAmt", xml.find("<Cd>AM04</Cd>") - 400), std::string::npos);
}

TEST(PacsFilesTest, ARejectFileIsValidAgainstThePacs002Schema) {
  const std::vector<DirectDebitView> rejects{
      imported(sepa::Reason::SL01), minimal(sepa::Reason::FF01), imported(sepa::Reason::AC01)};
  pacs::FileHeader h = header;
  h.message_id = "RJCT20261207-001";
  const std::string xml = pacs::write_pacs002(rejects, h);
  EXPECT_EQ(testing::xsd_errors(xml, "pacs.002.001.10.xsd"), "") << xml;
  expect_epc_mandatory(xml);
  EXPECT_NE(xml.find("<TxSts>RJCT</TxSts>"), std::string::npos);
  EXPECT_NE(xml.find("<Cd>SL01</Cd>"), std::string::npos);
  EXPECT_EQ(testing::xsd_errors(pacs::write_pacs002({}, h), "pacs.002.001.10.xsd"), "");
}

// The schemas check order and content, not only names: the creditor before the debtor's
// account (what the writer once did), or a mandate outside DrctDbtMndt, is refused.
TEST(PacsFilesTest, TheSchemasRefuseWhatAClearingSystemWouldRefuse) {
  std::string xml = pacs::write_pacs004({imported(sepa::Reason::AM04)}, header);
  ASSERT_EQ(testing::xsd_errors(xml, "pacs.004.001.09.xsd"), "");
  const auto swap = [](std::string s, const std::string& a, const std::string& b) {
    const auto i = s.find(a);
    const auto j = s.find(b);
    EXPECT_NE(i, std::string::npos);
    EXPECT_NE(j, std::string::npos);
    const std::string first = s.substr(i, a.size());
    s.replace(j, b.size(), first);
    s.replace(i, a.size(), b);
    return s;
  };
  const std::string cdtr = "<Cdtr><Pty><Nm>Stadtwerke Musterstadt</Nm></Pty></Cdtr>";
  const std::string dbtr_acct = "<DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>";
  EXPECT_NE(testing::xsd_errors(swap(xml, dbtr_acct, cdtr), "pacs.004.001.09.xsd"), "");
  std::string flat = xml;
  flat.replace(flat.find("<DrctDbtMndt>"), 13, "");
  flat.replace(flat.find("</DrctDbtMndt>"), 14, "");
  EXPECT_NE(testing::xsd_errors(flat, "pacs.004.001.09.xsd"), "");
  std::string long_id = xml;
  long_id.replace(long_id.find("RTR20261207-001"), 15, std::string(36, 'X'));
  EXPECT_NE(testing::xsd_errors(long_id, "pacs.004.001.09.xsd"), "");
}

TEST(PacsFilesTest, Pacs003ReferencesAreReadForTheFilesThatEchoThem) {
  const std::string xml =
      "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.003.001.08\"><FIToFICstmrDrctDbt>"
      "<GrpHdr><MsgId>M-9</MsgId><IntrBkSttlmDt>2026-12-03</IntrBkSttlmDt></GrpHdr>"
      "<DrctDbtTxInf><PmtId><EndToEndId>E-1</EndToEndId><TxId>TX-1</TxId></PmtId>"
      "<PmtTpInf><LclInstrm><Cd>CORE</Cd></LclInstrm><SeqTp>FRST</SeqTp></PmtTpInf>"
      "<IntrBkSttlmAmt Ccy=\"EUR\">10.00</IntrBkSttlmAmt>"
      "<DrctDbtTx><MndtRltdInf><MndtId>M-NEW</MndtId><AmdmntInd>true</AmdmntInd>"
      "<AmdmntInfDtls><OrgnlMndtId>M-OLD</OrgnlMndtId></AmdmntInfDtls></MndtRltdInf>"
      "<CdtrSchmeId><Id><PrvtId><Othr><Id>DE98ZZZ09999999999</Id></Othr></PrvtId></Id>"
      "</CdtrSchmeId></DrctDbtTx><Cdtr><Nm>C</Nm></Cdtr>"
      "<CdtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></CdtrAcct>"
      "<CdtrAgt><FinInstnId><BICFI>DEUTDEFF</BICFI></FinInstnId></CdtrAgt>"
      "<Dbtr><Nm>Erika Mustermann</Nm></Dbtr>"
      "<DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>"
      "<DbtrAgt><FinInstnId><BICFI>COBADEFFXXX</BICFI></FinInstnId></DbtrAgt></DrctDbtTxInf>"
      "<DrctDbtTxInf><PmtId><EndToEndId>E-2</EndToEndId></PmtId>"
      "<PmtTpInf><LclInstrm><Cd>CORE</Cd></LclInstrm><SeqTp>RCUR</SeqTp></PmtTpInf>"
      "<IntrBkSttlmAmt Ccy=\"EUR\">10.00</IntrBkSttlmAmt>"
      "<DrctDbtTx><MndtRltdInf><MndtId>M-2</MndtId><AmdmntInd>true</AmdmntInd></MndtRltdInf>"
      "</DrctDbtTx></DrctDbtTxInf></FIToFICstmrDrctDbt></Document>";
  pacs::Document doc;
  std::string error;
  ASSERT_TRUE(pacs::parse_pacs003(xml, &doc, &error)) << error;
  ASSERT_EQ(doc.transactions.size(), 2u);
  const json& body = doc.transactions[0].body;
  EXPECT_EQ(doc.transactions[0].reason_code, "");
  EXPECT_EQ(body["transaction_id"], "TX-1");
  EXPECT_EQ(body["debtor_name"], "Erika Mustermann");
  EXPECT_EQ(body["debtor_agent_bic"], "COBADEFFXXX");
  EXPECT_EQ(body["creditor_agent_bic"], "DEUTDEFF");
  EXPECT_EQ(body["creditor_iban"], "DE02120300000000202051");
  EXPECT_EQ(body["amendment"]["original_mandate_reference"], "M-OLD");
  // An amendment without its details cannot be followed: MD02.
  EXPECT_EQ(doc.transactions[1].reason_code, "MD02");
}

TEST(CreditorIdentifierTest, CheckDigitsAndTheBusinessCode) {
  EXPECT_TRUE(sepa::creditor_id_valid("DE98ZZZ09999999999"));   // the EPC's example
  EXPECT_TRUE(sepa::creditor_id_valid("DE98ABC09999999999"));   // any business code
  EXPECT_FALSE(sepa::creditor_id_valid("DE97ZZZ09999999999"));  // wrong check digits
  EXPECT_FALSE(sepa::creditor_id_valid("DE98ZZZ09999999998"));
  EXPECT_FALSE(sepa::creditor_id_valid("de98zzz09999999999"));
  EXPECT_FALSE(sepa::creditor_id_valid("DE98ZZZ"));
  EXPECT_EQ(sepa::creditor_identity("DE98ABC09999999999"),
            sepa::creditor_identity("DE98ZZZ09999999999"));
  // A blocked creditor stays blocked whatever business code it uses; a blocked mandate of one
  // creditor does not block another creditor's mandate of the same reference.
  MandateRules rules;
  rules.blocked_creditors = {"DE98ZZZ09999999999"};
  DirectDebitDetails d;
  d.creditor_id = "DE98XYZ09999999999";
  d.mandate_reference = "M-1";
  EXPECT_EQ(mandate_rule_refusal(rules, DirectDebitScheme::core, d), sepa::Reason::SL01);
  rules = MandateRules{};
  rules.blocked_creditor_mandates = {{"DE09ZZZ00000000001", "M-1"}};
  EXPECT_EQ(mandate_rule_refusal(rules, DirectDebitScheme::core, d), sepa::Reason::none);
  d.creditor_id = "DE09AAA00000000001";
  EXPECT_EQ(mandate_rule_refusal(rules, DirectDebitScheme::core, d), sepa::Reason::SL01);
  // A block follows its mandate through an amendment of the reference.
  rules = MandateRules{};
  rules.blocked_mandates = {"M-OLD"};
  d.mandate_reference = "M-NEW";
  EXPECT_EQ(mandate_rule_refusal(rules, DirectDebitScheme::core, d), sepa::Reason::none);
  d.original_mandate_reference = "M-OLD";
  EXPECT_EQ(mandate_rule_refusal(rules, DirectDebitScheme::core, d), sepa::Reason::SL01);
}

TEST(CreditorIdentifierTest, ACollectionWithWrongCheckDigitsIsABadRequest) {
  const std::string body =
      R"({"end_to_end_id":"E","mandate_reference":"M","creditor_id":"DE97ZZZ09999999999",)"
      R"("creditor_name":"C","amount":100,"due_date":"2026-12-03","debtor_iban":)"
      R"("DE89370400440532013000"})";
  const auto mapped = map_direct_debit(Body{"application/json", body, ""}, Uint128{1, 1},
                                       1'796'630'400ULL * ns_per_s, DirectDebitPolicy{});
  const Problem* problem = std::get_if<Problem>(&mapped);
  ASSERT_NE(problem, nullptr);
  EXPECT_EQ(problem->field, "creditor_id");
}

// Waits and return periods count TARGET2 business days.
TEST(CollectionCalendarTest, WaitsAndReturnPeriodsCountBusinessDays) {
  DirectDebitPolicy policy;  // settlement 06:00, wait 48 h, margin 4 h
  DirectDebit thursday;
  thursday.due_day = *sepa::parse_date("2026-12-03");  // a Thursday
  schedule_collection(policy, &thursday);
  const std::uint64_t wait_end = thursday.settle_at + thursday.wait_window_ns;
  EXPECT_EQ(sepa::format_date(sepa::day_of_ns(wait_end)), "2026-12-07");  // Monday, not Saturday
  EXPECT_EQ(wait_end % ns_per_day, 6 * ns_per_hour);
  // Core: D+5 business days (Thursday 10th), less the margin.
  EXPECT_EQ(sepa::format_date(sepa::day_of_ns(thursday.latest_deadline)), "2026-12-10");
  DirectDebit b2b = thursday;
  b2b.scheme = DirectDebitScheme::b2b;
  schedule_collection(policy, &b2b);
  // B2B: D+2 business days (Monday 7th) at 06:00 less 4 h: 02:00, before the rulebook's limit.
  EXPECT_EQ(sepa::format_date(sepa::day_of_ns(b2b.latest_deadline)), "2026-12-07");
  EXPECT_EQ(b2b.latest_deadline % ns_per_day, 2 * ns_per_hour);
  const std::uint64_t b2b_wait = std::min(b2b.settle_at + b2b.wait_window_ns, b2b.latest_deadline);
  EXPECT_LE(b2b_wait, b2b.latest_deadline);
  // A long wait never passes the scheme's deadline once the engine clips it.
  policy.wait_ns = 14 * ns_per_day;
  schedule_collection(policy, &b2b);
  EXPECT_LT(
      std::min(b2b.settle_at + b2b.wait_window_ns, b2b.latest_deadline),
      static_cast<std::uint64_t>(*sepa::parse_date("2026-12-07")) * ns_per_day + 6 * ns_per_hour);
}

TEST(IbanTableTest, EveryRegistryCountryHasItsLengthAndOthersAreRefused) {
  EXPECT_TRUE(sepa::iban_valid(sepa::iban_make("VA", "059001123000012345")));
  EXPECT_TRUE(sepa::iban_valid(sepa::iban_make("AL", "202111090000000001234567")));
  EXPECT_TRUE(sepa::iban_valid(sepa::iban_make("MD", "AG000225100013104168")));
  EXPECT_TRUE(sepa::iban_valid(sepa::iban_make("ME", "505000012345678951")));
  EXPECT_TRUE(sepa::iban_valid(sepa::iban_make("MK", "300000000042425")));
  EXPECT_TRUE(sepa::iban_valid(sepa::iban_make("RS", "260005601001611379")));
  EXPECT_FALSE(sepa::iban_valid(sepa::iban_make("VA", "05900112300001234")));     // one short
  EXPECT_FALSE(sepa::iban_valid(sepa::iban_make("ZZ", "12345678901234567890")));  // no country
}

}  // namespace
}  // namespace ledger::http
