// The ISO 20022 files ledgerd writes for the clearing system, checked the way a clearing system
// checks them: against the schema of their message (tests/schemas, from the published message
// definitions) and for the elements the EPC SDD interbank guideline makes mandatory. Also the
// pacs.003 fields they echo, the creditor identifier, and the calendar of a collection.
#include "http/pacs.h"

#include <gtest/gtest.h>

#include <cstring>
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

// --- SEPA credit transfers ----------------------------------------------------------------

CreditTransferRecord outgoing_transfer(bool with_bic) {
  CreditTransferRecord t;
  t.id = Uint128{0xABCD, 0x1234};
  t.amount = 250'075;
  t.creditor_name = "Acme SARL";
  t.creditor_iban = "FR1420041010050500013M02606";
  t.creditor_bic = with_bic ? "BNPAFRPPXXX" : "";
  t.debtor_name = "Erika Mustermann";
  t.debtor_iban = "DE89370400440532013000";
  t.remittance = "Invoice 2026-118";
  t.end_to_end_id = "INV-2026-118";
  t.transaction_id = "0000abcd000000000000000000001234";
  t.message_id = "SCT20261207-1";
  t.execution_day = *sepa::parse_date("2026-12-07");
  return t;
}

TEST(CreditTransferFilesTest, EveryMessageLedgerdWritesIsValidAgainstItsSchema) {
  std::vector<pacs::CreditEntry> entries(2);
  entries[0].transfer = outgoing_transfer(true);
  entries[1].transfer = outgoing_transfer(false);  // an unknown BIC: Othr/Id NOTPROVIDED
  entries[1].transfer.remittance.clear();
  for (const bool instant : {false, true}) {
    const std::string xml = pacs::write_pacs008(entries, header, instant);
    EXPECT_EQ(testing::xsd_errors(xml, "pacs.008.001.02.xsd"), "") << xml;
    EXPECT_NE(xml.find("<TtlIntrBkSttlmAmt Ccy=\"EUR\">5001.50</TtlIntrBkSttlmAmt>"),
              std::string::npos);
    EXPECT_NE(xml.find("<ChrgBr>SLEV</ChrgBr>"), std::string::npos);
    EXPECT_EQ(xml.find("<LclInstrm><Cd>INST</Cd></LclInstrm>") != std::string::npos, instant);
    EXPECT_EQ(xml.find("<AccptncDtTm>") != std::string::npos, instant);
  }
  entries[0].status = "ACCP";
  entries[1].status = "RJCT";
  entries[1].reason_code = "AC04";
  const std::string answer =
      pacs::write_credit_pacs002(entries, "CSM-1", "pacs.008.001.08", header);
  EXPECT_EQ(testing::xsd_errors(answer, "pacs.002.001.10.xsd"), "") << answer;
  EXPECT_NE(answer.find("<TxSts>RJCT</TxSts><StsRsnInf><Orgtr>"), std::string::npos);
  entries[0].reason_code = "AC01";
  entries[1].reason_code = "FOCR";
  const std::string returns = pacs::write_credit_pacs004(entries, header);
  EXPECT_EQ(testing::xsd_errors(returns, "pacs.004.001.09.xsd"), "") << returns;
  pacs::CreditDocument order;
  order.message_id = "PAIN-1";
  order.message = "pain.001.001.03";
  order.declared_count = 2;
  entries[0].id = "PI-1";
  entries[0].status = "ACCP";
  entries[0].reason_code.clear();
  entries[1].id = "PI-1";
  entries[1].reason_code = "AC01";
  const std::string report = pacs::write_pain002(order, entries, "PART", "", header);
  EXPECT_EQ(testing::xsd_errors(report, "pain.002.001.03.xsd"), "") << report;
  // Recalls out (camt.056), refused recalls (camt.029) and the status request (pacs.028).
  entries[0].reason_code = "DUPL";
  entries[0].id = "R0000abcd000000000000000000001234";
  const std::string recall = pacs::write_camt056(entries, header);
  EXPECT_EQ(testing::xsd_errors(recall, "camt.056.001.08.xsd"), "") << recall;
  EXPECT_NE(recall.find("<CxlRsnInf><Orgtr>"), std::string::npos);
  entries[0].reason_code = "CUST";
  const std::string refusal = pacs::write_camt029(entries, header);
  EXPECT_EQ(testing::xsd_errors(refusal, "camt.029.001.09.xsd"), "") << refusal;
  EXPECT_NE(refusal.find("<TxCxlSts>RJCR</TxCxlSts>"), std::string::npos);
  const std::string asked = pacs::write_pacs028(entries[0].transfer, header);
  EXPECT_EQ(testing::xsd_errors(asked, "pacs.028.001.03.xsd"), "") << asked;
  // A stray element or a bad status is what the schemas refuse.
  std::string wrong = report;
  wrong.replace(wrong.find("<GrpSts>PART</GrpSts>"), 21, "<GrpSts>MAYB</GrpSts>");
  EXPECT_NE(testing::xsd_errors(wrong, "pain.002.001.03.xsd"), "");
  std::string misplaced = pacs::write_pacs008(entries, header, false);
  misplaced.replace(misplaced.find("<ChrgBr>SLEV</ChrgBr>"), 21, "");
  EXPECT_NE(testing::xsd_errors(misplaced, "pacs.008.001.02.xsd"), "");
}

std::string pacs008_with(const std::string& tx) {
  return "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.008.001.02\"><FIToFICstmrCdtTrf>"
         "<GrpHdr><MsgId>M-1</MsgId><NbOfTxs>1</NbOfTxs></GrpHdr><CdtTrfTxInf>" +
         tx + "</CdtTrfTxInf></FIToFICstmrCdtTrf></Document>";
}

// Every field of an incoming pacs.008 wrong in turn: each gets its ISO reason.
TEST(CreditTransferReadingTest, EachWrongFieldOfAPacs008HasItsReason) {
  const std::string good =
      "<PmtId><EndToEndId>E2E-1</EndToEndId><TxId>TX-1</TxId></PmtId><IntrBkSttlmAmt "
      "Ccy=\"EUR\">12.34</IntrBkSttlmAmt><IntrBkSttlmDt>2026-12-07</IntrBkSttlmDt><Dbtr><Nm>Max "
      "Mustermann</Nm></Dbtr><DbtrAcct><Id><IBAN>FR1420041010050500013M02606</IBAN></Id>"
      "</DbtrAcct><DbtrAgt><FinInstnId><BIC>BNPAFRPPXXX</BIC></FinInstnId></DbtrAgt><CdtrAgt>"
      "<FinInstnId><BICFI>LEDGDEFFXXX</BICFI></FinInstnId></CdtrAgt><Cdtr><Nm>Erika "
      "Musterfrau</Nm></Cdtr><CdtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></CdtrAcct>"
      "<RmtInf><Ustrd>Invoice 42</Ustrd></RmtInf>";
  pacs::CreditDocument doc;
  std::string error;
  ASSERT_TRUE(pacs::parse_pacs008(pacs008_with(good), &doc, &error)) << error;
  ASSERT_EQ(doc.transactions.size(), 1u);
  const pacs::CreditTransaction& t = doc.transactions[0];
  EXPECT_EQ(t.reason_code, "") << t.problem;
  EXPECT_EQ(t.amount, 1234);
  EXPECT_EQ(t.debtor_bic, "BNPAFRPPXXX");
  EXPECT_EQ(t.creditor_bic, "LEDGDEFFXXX");
  EXPECT_EQ(t.remittance, "Invoice 42");
  const struct {
    const char* from;
    const char* to;
    const char* reason;
  } cases[] = {
      {"<EndToEndId>E2E-1</EndToEndId>", "", "FF01"},
      {"E2E-1", "E2E-1-WITH-FAR-TOO-MANY-CHARACTERS-X", "FF01"},
      {"E2E-1", "E2E/{1}", "FF01"},
      {"12.34", "12.345", "AM12"},
      {"12.34", "0.00", "AM12"},
      {"12.34", "1000000000.00", "AM12"},
      {"Ccy=\"EUR\"", "Ccy=\"USD\"", "AM03"},
      {"2026-12-07", "2026-13-07", "DT01"},
      {"<Nm>Erika Musterfrau</Nm>", "<Nm>Erika & Co</Nm>", ""},  // malformed XML: whole refusal
      {"<Nm>Erika Musterfrau</Nm>", "<Nm>Erika ~ Musterfrau</Nm>", "FF01"},
      {"<Nm>Erika Musterfrau</Nm>", "", "FF01"},
      {"DE89370400440532013000", "DE88370400440532013000", "AC01"},  // check digits
      {"DE89370400440532013000", "DE8937040044053201300", "AC01"},   // Germany is 22
      {"FR1420041010050500013M02606", "FR1420041010050500013M0260", "AC02"},
      {"<Ustrd>Invoice 42</Ustrd>", "<Ustrd>Invoice #42</Ustrd>", "FF01"},
  };
  for (const auto& c : cases) {
    std::string tx = good;
    tx.replace(tx.find(c.from), std::strlen(c.from), c.to);
    pacs::CreditDocument d;
    std::string why;
    const bool read = pacs::parse_pacs008(pacs008_with(tx), &d, &why);
    if (std::string(c.reason).empty()) {
      EXPECT_FALSE(read) << c.to;
      continue;
    }
    ASSERT_TRUE(read) << c.to << ": " << why;
    EXPECT_EQ(d.transactions.at(0).reason_code, c.reason)
        << c.from << " -> " << c.to << ": " << d.transactions.at(0).problem;
  }
  // No settlement date at all: the day it arrives (not a refusal).
  std::string undated = good;
  undated.replace(undated.find("<IntrBkSttlmDt>2026-12-07</IntrBkSttlmDt>"), 40, "");
  ASSERT_TRUE(pacs::parse_pacs008(pacs008_with(undated), &doc, &error));
  EXPECT_EQ(doc.transactions.at(0).reason_code, "");
  // Whole documents refused: DTDs and entities, another message, no transaction.
  for (const std::string& bad :
       {std::string("<!DOCTYPE d [<!ENTITY x \"y\">]>") + pacs008_with(good),
        std::string("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.009.001.08\"/>"),
        std::string("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.008.001.02\">"
                    "<FIToFICstmrCdtTrf><GrpHdr><MsgId>M</MsgId></GrpHdr></FIToFICstmrCdtTrf>"
                    "</Document>")}) {
    EXPECT_FALSE(pacs::parse_pacs008(bad, &doc, &error)) << bad;
  }
}

TEST(CreditTransferReadingTest, Pain001GroupChecksAndStatusMessagesAreRead) {
  const std::string pain =
      "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.09\"><CstmrCdtTrfInitn>"
      "<GrpHdr><MsgId>P-1</MsgId><NbOfTxs>2</NbOfTxs><CtrlSum>30.5</CtrlSum></GrpHdr><PmtInf>"
      "<PmtInfId>PI-1</PmtInfId><PmtMtd>TRF</PmtMtd><PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl>"
      "<LclInstrm><Cd>INST</Cd></LclInstrm></PmtTpInf><ReqdExctnDt><Dt>2026-12-08</Dt>"
      "</ReqdExctnDt><Dbtr><Nm>Muster GmbH</Nm></Dbtr><DbtrAcct><Id><IBAN>"
      "DE89370400440532013000</IBAN></Id></DbtrAcct><CdtTrfTxInf><PmtId><EndToEndId>A"
      "</EndToEndId></PmtId><Amt><InstdAmt Ccy=\"EUR\">10.50</InstdAmt></Amt><Cdtr><Nm>Acme"
      "</Nm></Cdtr><CdtrAcct><Id><IBAN>FR1420041010050500013M02606</IBAN></Id></CdtrAcct>"
      "</CdtTrfTxInf><CdtTrfTxInf><PmtId><EndToEndId>B</EndToEndId></PmtId><Amt><InstdAmt "
      "Ccy=\"EUR\">20</InstdAmt></Amt><Cdtr><Nm>Beta</Nm></Cdtr><CdtrAcct><Id><IBAN>"
      "FR1420041010050500013M02606</IBAN></Id></CdtrAcct></CdtTrfTxInf></PmtInf>"
      "</CstmrCdtTrfInitn></Document>";
  pacs::CreditDocument doc;
  std::string error;
  ASSERT_TRUE(pacs::parse_pain001(pain, &doc, &error)) << error;
  EXPECT_EQ(doc.message, "pain.001.001.09");
  EXPECT_EQ(doc.declared_count, 2);
  EXPECT_EQ(doc.declared_sum, 3050);
  EXPECT_EQ(doc.read_sum, 3050);
  ASSERT_EQ(doc.transactions.size(), 2u);
  EXPECT_TRUE(doc.transactions[0].instant);
  EXPECT_EQ(doc.transactions[0].day, *sepa::parse_date("2026-12-08"));
  EXPECT_EQ(doc.transactions[1].amount, 2000);
  EXPECT_EQ(doc.transactions[1].reason_code, "");
  // pacs.002 (a whole file rejected, and one transaction), pacs.004 and camt.056.
  pacs::CreditStatusDocument status;
  ASSERT_TRUE(pacs::parse_credit_status(
      "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.002.001.03\"><FIToFIPmtStsRpt>"
      "<GrpHdr><MsgId>S</MsgId></GrpHdr><OrgnlGrpInfAndSts><OrgnlMsgId>SCT-1</OrgnlMsgId>"
      "<GrpSts>RJCT</GrpSts><StsRsnInf><Rsn><Cd>FF01</Cd></Rsn></StsRsnInf></OrgnlGrpInfAndSts>"
      "</FIToFIPmtStsRpt></Document>",
      &status, &error))
      << error;
  ASSERT_EQ(status.entries.size(), 1u);
  EXPECT_EQ(status.entries[0].original_message_id, "SCT-1");
  EXPECT_EQ(status.entries[0].status, "RJCT");
  EXPECT_EQ(status.entries[0].reason_code, "FF01");
  ASSERT_TRUE(pacs::parse_credit_status(
      "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.056.001.08\"><FIToFIPmtCxlReq>"
      "<Assgnmt><Id>A-1</Id></Assgnmt><Undrlyg><TxInf><CxlId>C-1</CxlId><OrgnlGrpInf>"
      "<OrgnlMsgId>M-9</OrgnlMsgId><OrgnlMsgNmId>pacs.008</OrgnlMsgNmId></OrgnlGrpInf>"
      "<OrgnlEndToEndId>E</OrgnlEndToEndId><OrgnlTxId>T</OrgnlTxId><OrgnlIntrBkSttlmAmt "
      "Ccy=\"EUR\">5.00</OrgnlIntrBkSttlmAmt><CxlRsnInf><Rsn><Cd>DUPL</Cd></Rsn></CxlRsnInf>"
      "</TxInf></Undrlyg></FIToFIPmtCxlReq></Document>",
      &status, &error))
      << error;
  EXPECT_EQ(status.message, "camt.056.001.08");
  ASSERT_EQ(status.entries.size(), 1u);
  EXPECT_EQ(status.entries[0].id, "C-1");
  EXPECT_EQ(status.entries[0].original_message_id, "M-9");
  EXPECT_EQ(status.entries[0].reason_code, "DUPL");
  EXPECT_EQ(status.entries[0].amount, 500);
  EXPECT_FALSE(pacs::parse_credit_status(
      "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.004.001.09\"><PmtRtr><GrpHdr>"
      "<MsgId>R</MsgId></GrpHdr></PmtRtr></Document>",
      &status, &error));  // no transaction
  EXPECT_FALSE(pacs::parse_credit_status("<Document/>", &status, &error));
}

}  // namespace
}  // namespace ledger::http
