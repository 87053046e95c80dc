// SEPA credit transfers (issue 33) against a real ledgerd, a real PostgreSQL and a clearing
// house on a real socket (a local HTTP receiver answering pacs.002): instant transfers out
// settle on ACCP, are released on RJCT and on a time-out (then settled by the status a pacs.028
// learns, never both released and sent); incoming instant payments are credited or refused
// with their ISO reasons, repeats change nothing; the regular cycle (pain.001 in, pain.002 out,
// the cut-off's pacs.008, pacs.002 rejects, pacs.004 returns, incoming files, camt.056
// recalls answered by pacs.004 or camt.029); balances checked after every step.
#include <algorithm>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include "ledger/sepa.h"
#include "support/iso_fixture.h"
#include "support/receiver.h"

namespace ledger::iso_testing::credit_transfers {
namespace {

constexpr std::int64_t day_s = 86400;

// The text of the first <tag>...</tag> in a document ("" when absent).
std::string element(const std::string& xml, const std::string& tag, std::size_t from = 0) {
  const std::size_t start = xml.find("<" + tag + ">", from);
  if (start == std::string::npos) return "";
  const std::size_t begin = start + tag.size() + 2;
  return xml.substr(begin, xml.find("</" + tag + ">", begin) - begin);
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The clearing house's answer to one pacs.008: a pacs.002 for its transaction.
std::string pacs002_for(const std::string& pacs008, const std::string& status,
                        const std::string& reason = "") {
  std::string x =
      "<?xml version=\"1.0\"?><Document "
      "xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10\"><FIToFIPmtStsRpt><GrpHdr><MsgId>"
      "CSM-" +
      element(pacs008, "MsgId").substr(0, 20) +
      "</MsgId><CreDtTm>2026-12-07T12:00:00</CreDtTm></GrpHdr><OrgnlGrpInfAndSts><OrgnlMsgId>" +
      element(pacs008, "MsgId") +
      "</OrgnlMsgId><OrgnlMsgNmId>pacs.008.001.02</OrgnlMsgNmId></OrgnlGrpInfAndSts><TxInfAndSts>"
      "<OrgnlEndToEndId>" +
      element(pacs008, "EndToEndId") + "</OrgnlEndToEndId><OrgnlTxId>" + element(pacs008, "TxId") +
      "</OrgnlTxId><TxSts>" + status + "</TxSts>";
  if (!reason.empty()) x += "<StsRsnInf><Rsn><Cd>" + reason + "</Cd></Rsn></StsRsnInf>";
  return x + "</TxInfAndSts></FIToFIPmtStsRpt></Document>";
}

std::string incoming_pacs008(const std::string& message_id, const std::string& tx_id,
                             const std::string& iban, const std::string& amount,
                             bool instant = true, const std::string& debtor = "Max Mustermann") {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Document "
         "xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08\"><FIToFICstmrCdtTrf><GrpHdr>"
         "<MsgId>" +
         message_id +
         "</MsgId><CreDtTm>2026-12-07T12:00:00</CreDtTm><NbOfTxs>1</NbOfTxs><SttlmInf><SttlmMtd>"
         "CLRG</SttlmMtd></SttlmInf></GrpHdr><CdtTrfTxInf><PmtId><EndToEndId>E2E-" +
         tx_id + "</EndToEndId><TxId>" + tx_id +
         "</TxId></PmtId><PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl>" +
         (instant ? "<LclInstrm><Cd>INST</Cd></LclInstrm>" : "") +
         "</PmtTpInf><IntrBkSttlmAmt Ccy=\"EUR\">" + amount +
         "</IntrBkSttlmAmt><IntrBkSttlmDt>2026-12-07</IntrBkSttlmDt><ChrgBr>SLEV</ChrgBr><Dbtr>"
         "<Nm>" +
         debtor +
         "</Nm></Dbtr><DbtrAcct><Id><IBAN>FR1420041010050500013M02606</IBAN></Id></DbtrAcct>"
         "<DbtrAgt><FinInstnId><BICFI>BNPAFRPPXXX</BICFI></FinInstnId></DbtrAgt><CdtrAgt>"
         "<FinInstnId><BICFI>LEDGDEFFXXX</BICFI></FinInstnId></CdtrAgt><Cdtr><Nm>Erika "
         "Musterfrau</Nm></Cdtr><CdtrAcct><Id><IBAN>" +
         iban +
         "</IBAN></Id></CdtrAcct><RmtInf><Ustrd>Invoice 42</Ustrd></RmtInf></CdtTrfTxInf>"
         "</FIToFICstmrCdtTrf></Document>";
}

class CreditTransfersTest : public IsoTest {
 protected:
  void SetUp() override {}
  void start_with(testing::Env extra) {
    extra["LEDGER_SCT_INST_URL"] =
        "http://127.0.0.1:" + std::to_string(clearing_.port()) + "/sct-inst";
    start(extra);
  }
  testing::HttpReply call(const std::string& method, const std::string& target,
                          const json& body = nullptr) {
    return testing::http_call(server_.http_port(), method, target,
                              body.is_null() ? "" : body.dump(),
                              {{"Authorization", "Bearer " + key_}});
  }
  testing::HttpReply post_xml(const std::string& target, const std::string& xml) {
    return testing::http_call(
        server_.http_port(), "POST", target, xml,
        {{"Authorization", "Bearer " + key_}, {"Content-Type", "application/xml"}});
  }
  json transfer(const std::string& id, std::int64_t amount, const std::string& name, bool instant,
                const std::string& account = uuid(1, 2)) {
    return json{{"id", id},
                {"account_id", account},
                {"creditor", {{"name", name}, {"iban", "FR1420041010050500013M02606"}}},
                {"amount", amount},
                {"currency", "EUR"},
                {"remittance_information", "Invoice 2026-118"},
                {"instant", instant}};
  }
  std::int64_t available(const std::string& account = uuid(1, 2)) {
    return rest("GET", "/v1/accounts/" + account)["balances"]["available"];
  }
  std::int64_t posted(const std::string& account = uuid(1, 2)) {
    return rest("GET", "/v1/accounts/" + account)["balances"]["posted"];
  }
  std::string iban_of(const std::string& account) {
    return rest("GET", "/v1/accounts/" + account)["iban"];
  }
  std::vector<std::string> event_types() {
    const auto reply = call("GET",
                            "/v1/events?limit=1000&types=credit_transfer.accepted,"
                            "credit_transfer.sent,credit_transfer.settled,credit_transfer."
                            "rejected,credit_transfer.returned,credit_transfer.received");
    EXPECT_EQ(reply.status, 200) << reply.body;
    std::vector<std::string> types;
    const json page = json::parse(reply.body);
    for (const json& e : page["events"]) types.push_back(e["type"]);
    return types;
  }

  testing::Receiver clearing_;
};

TEST_F(CreditTransfersTest, InstantOutSettlesOnAccpIsReleasedOnRjctAndNeverBothOnATimeOut) {
  // The clearing house: RJCT AC04 for "Closed Account Ltd", silence past the time-out for
  // "Slow Payee" (then ACCP to the status request), ACCP otherwise.
  clearing_.set_policy([](std::size_t, const testing::ReceivedRequest& r) {
    testing::ReceiverAnswer a;
    a.headers["Content-Type"] = "application/xml";
    if (r.body.find("pacs.028") != std::string::npos) {
      a.body =
          "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10\"><FIToFIPmtStsRpt>"
          "<GrpHdr><MsgId>STS-ANSWER</MsgId></GrpHdr><TxInfAndSts><OrgnlEndToEndId>" +
          element(r.body, "OrgnlEndToEndId") + "</OrgnlEndToEndId><OrgnlTxId>" +
          element(r.body, "OrgnlTxId") +
          "</OrgnlTxId><TxSts>ACCP</TxSts></TxInfAndSts></FIToFIPmtStsRpt></Document>";
      return a;
    }
    if (r.body.find("Slow Payee") != std::string::npos) a.delay = std::chrono::milliseconds(1500);
    a.body =
        pacs002_for(r.body, r.body.find("Closed Account") != std::string::npos ? "RJCT" : "ACCP",
                    r.body.find("Closed Account") != std::string::npos ? "AC04" : "");
    return a;
  });
  start_with({{"LEDGER_SCT_INST_TIMEOUT_MS", "500"}, {"LEDGER_SCT_AUTO_CUTOFF", "off"}});
  ASSERT_EQ(available(), 10000);

  // ACCP: settled, the money left (posted), the pacs.008 said what the customer asked.
  auto reply = call("POST", "/v1/credit-transfers", transfer(uuid(7, 1), 2500, "Acme SARL", true));
  ASSERT_EQ(reply.status, 201) << reply.body;
  json ct = json::parse(reply.body);
  EXPECT_EQ(ct["status"], "settled") << ct.dump(1);
  EXPECT_EQ(ct["payee_check"]["result"], "not_checked");
  EXPECT_EQ(ct["debtor"]["iban"], iban_of(uuid(1, 2)));
  EXPECT_EQ(posted(), 7500);
  EXPECT_EQ(available(), 7500);
  const std::string sent = clearing_.requests().at(0).body;
  EXPECT_NE(sent.find("urn:iso:std:iso:20022:tech:xsd:pacs.008.001.02"), std::string::npos);
  EXPECT_NE(sent.find("<LclInstrm><Cd>INST</Cd></LclInstrm>"), std::string::npos);
  EXPECT_NE(sent.find("<IntrBkSttlmAmt Ccy=\"EUR\">25.00</IntrBkSttlmAmt>"), std::string::npos);
  EXPECT_NE(sent.find("<IBAN>FR1420041010050500013M02606</IBAN>"), std::string::npos);
  EXPECT_NE(sent.find("<Ustrd>Invoice 2026-118</Ustrd>"), std::string::npos);
  EXPECT_EQ(clearing_.requests().at(0).headers["content-type"], "application/xml");

  // The same request again: the stored outcome, nothing sent or posted twice.
  reply = call("POST", "/v1/credit-transfers", transfer(uuid(7, 1), 2500, "Acme SARL", true));
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["status"], "settled");
  EXPECT_EQ(clearing_.requests().size(), 1u);
  EXPECT_EQ(posted(), 7500);
  // The same id with another amount: 409.
  EXPECT_EQ(
      call("POST", "/v1/credit-transfers", transfer(uuid(7, 1), 2600, "Acme SARL", true)).status,
      409);

  // RJCT: rejected with the reason, the hold released.
  reply =
      call("POST", "/v1/credit-transfers", transfer(uuid(7, 2), 1000, "Closed Account Ltd", true));
  ASSERT_EQ(reply.status, 201) << reply.body;
  ct = json::parse(reply.body);
  EXPECT_EQ(ct["status"], "rejected");
  EXPECT_EQ(ct["reason"], "AC04");
  EXPECT_EQ(available(), 7500);
  EXPECT_EQ(posted(), 7500);

  // No answer within 500 ms: the hold released at once and the status asked (pacs.028), which
  // the busy clearing house does not answer in time either: timed_out, nothing debited.
  reply = call("POST", "/v1/credit-transfers", transfer(uuid(7, 3), 1200, "Slow Payee", true));
  ASSERT_EQ(reply.status, 201) << reply.body;
  ct = json::parse(reply.body);
  EXPECT_EQ(ct["status"], "timed_out") << ct.dump(1);
  EXPECT_EQ(ct["reason"], "AB06");
  EXPECT_EQ(available(), 7500);
  EXPECT_EQ(posted(), 7500);
  // Asked again once the clearing house answers: it says ACCP, so the money did leave: debited
  // once (a forced debit), never both released and sent.
  // The clearing house records the first status request only once it has finished with the
  // slow payment: from then on it answers at once.
  ASSERT_GE(clearing_.wait_for(4, std::chrono::milliseconds(3000)).size(), 4u);
  reply = call("POST", "/v1/credit-transfers/" + uuid(7, 3) + "/status-check");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["status"], "settled") << reply.body;
  EXPECT_EQ(posted(), 6300);
  EXPECT_EQ(available(), 6300);
  const auto requests = clearing_.wait_for(5, std::chrono::milliseconds(3000));
  ASSERT_GE(requests.size(), 5u);
  EXPECT_NE(requests[4].body.find("urn:iso:std:iso:20022:tech:xsd:pacs.028.001.03"),
            std::string::npos);
  // A late pacs.002 ACCP for it imported afterwards, and the status asked once more: nothing
  // more is debited.
  reply = post_xml("/v1/credit-transfers/import", pacs002_for(requests[2].body, "ACCP"));
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(call("POST", "/v1/credit-transfers/" + uuid(7, 3) + "/status-check").status, 200);
  EXPECT_EQ(posted(), 6300);

  // More than the balance: refused 422 by the engine's rules, nothing sent.
  reply = call("POST", "/v1/credit-transfers", transfer(uuid(7, 4), 999999, "Acme SARL", true));
  EXPECT_EQ(reply.status, 422) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["code"], "exceeds_available");
  EXPECT_EQ(clearing_.requests().size(), 5u);
  EXPECT_EQ(available(), 6300);

  // Bad input, each field in turn: 400 naming it, nothing held.
  json bad = transfer(uuid(7, 5), 100, "Acme SARL", true);
  bad["creditor"]["iban"] = "FR1520041010050500013M02606";  // check digits
  EXPECT_EQ(json::parse(call("POST", "/v1/credit-transfers", bad).body)["field"], "creditor.iban");
  bad["creditor"]["iban"] = "FR14200410100505000";  // France's length is 27
  EXPECT_EQ(json::parse(call("POST", "/v1/credit-transfers", bad).body)["field"], "creditor.iban");
  bad = transfer(uuid(7, 5), 100, "Acme <!channel> SARL", true);
  EXPECT_EQ(json::parse(call("POST", "/v1/credit-transfers", bad).body)["field"], "creditor.name");
  bad = transfer(uuid(7, 5), 100, "Acme SARL", true);
  bad["currency"] = "USD";
  EXPECT_EQ(json::parse(call("POST", "/v1/credit-transfers", bad).body)["field"], "currency");
  bad = transfer(uuid(7, 5), 100, "Acme SARL", false);
  bad["requested_execution_date"] = "2027-12-25";  // Christmas: TARGET2 is closed
  reply = call("POST", "/v1/credit-transfers", bad);
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(json::parse(reply.body)["field"], "requested_execution_date");
  bad = transfer(uuid(7, 5), 100, "Acme SARL", true);
  bad["remittance_information"] = std::string(141, 'x');
  EXPECT_EQ(json::parse(call("POST", "/v1/credit-transfers", bad).body)["field"],
            "remittance_information");
  EXPECT_EQ(available(), 6300);

  // Each step is one event of its kind.
  const auto types = event_types();
  EXPECT_EQ(std::count(types.begin(), types.end(), "credit_transfer.accepted"), 3);
  EXPECT_EQ(std::count(types.begin(), types.end(), "credit_transfer.settled"), 2);
  EXPECT_EQ(std::count(types.begin(), types.end(), "credit_transfer.rejected"),
            2);  // RJCT, time-out
  // A transfer sent in error is recalled: a camt.056 in the next cut; the payee's bank refuses
  // one (camt.029) and returns the other (pacs.004: the money back).
  reply = call("POST", "/v1/credit-transfers/" + uuid(7, 1) + "/recall", {{"reason", "DUPL"}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["recall"]["status"], "to_send");
  EXPECT_EQ(
      call("POST", "/v1/credit-transfers/" + uuid(7, 1) + "/recall", {{"reason", "DUPL"}}).status,
      200);  // a repeat
  EXPECT_EQ(
      call("POST", "/v1/credit-transfers/" + uuid(7, 2) + "/recall", {{"reason", "DUPL"}}).status,
      409);  // rejected: nothing left
  EXPECT_EQ(
      call("POST", "/v1/credit-transfers/" + uuid(7, 3) + "/recall", {{"reason", "XXXX"}}).status,
      400);
  ASSERT_EQ(
      call("POST", "/v1/credit-transfers/" + uuid(7, 3) + "/recall", {{"reason", "AM09"}}).status,
      200);
  reply = call("POST", "/v1/credit-transfers/files");
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json cut = json::parse(reply.body)["files"];
  ASSERT_EQ(cut.size(), 1u) << reply.body;
  EXPECT_EQ(cut[0]["kind"], "camt.056");
  EXPECT_EQ(cut[0]["items"], 2);
  const std::string camt056 = call("GET", cut[0]["href"]).body;
  EXPECT_NE(camt056.find("<Cd>DUPL</Cd>"), std::string::npos) << camt056;
  EXPECT_NE(camt056.find("<OrgnlMsgId>INST"), std::string::npos) << camt056;
  const auto tx_of = [&](const std::string& id) {
    return json::parse(call("GET", "/v1/credit-transfers/" + id).body)["transaction_id"]
        .get<std::string>();
  };
  reply = post_xml(
      "/v1/credit-transfers/import",
      "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.029.001.09\"><RsltnOfInvstgtn>"
      "<Assgnmt><Id>ROI-1</Id></Assgnmt><Sts><Conf>RJCR</Conf></Sts><CxlDtls><TxInfAndSts>"
      "<OrgnlTxId>" +
          tx_of(uuid(7, 1)) +
          "</OrgnlTxId><TxCxlSts>RJCR</TxCxlSts><CxlStsRsnInf><Rsn><Cd>CUST</Cd></Rsn>"
          "</CxlStsRsnInf></TxInfAndSts></CxlDtls></RsltnOfInvstgtn></Document>");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["results"][0]["result"], "recall_refused") << reply.body;
  reply = post_xml("/v1/credit-transfers/import",
                   "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.004.001.09\"><PmtRtr>"
                   "<GrpHdr><MsgId>RTN-9</MsgId></GrpHdr><TxInf><RtrId>R9</RtrId><OrgnlTxId>" +
                       tx_of(uuid(7, 3)) +
                       "</OrgnlTxId><RtrRsnInf><Rsn><Cd>FOCR</Cd></Rsn></RtrRsnInf></TxInf>"
                       "</PmtRtr></Document>");
  ASSERT_EQ(reply.status, 200) << reply.body;
  ct = json::parse(call("GET", "/v1/credit-transfers/" + uuid(7, 3)).body);
  EXPECT_EQ(ct["status"], "returned");
  EXPECT_EQ(ct["recall"]["status"], "returned");
  EXPECT_EQ(posted(), 7500);  // the 12.00 back
  EXPECT_EQ(json::parse(call("GET", "/v1/credit-transfers/" + uuid(7, 1)).body)["status"],
            "settled");

  // And it survives a restart: the same outcome read back.
  server_.stop(SIGKILL);
  ASSERT_TRUE(server_.start(env_)) << server_.output();
  EXPECT_EQ(json::parse(call("GET", "/v1/credit-transfers/" + uuid(7, 3)).body)["status"],
            "returned");
  EXPECT_EQ(posted(), 7500);
}

TEST_F(CreditTransfersTest, IncomingInstantPaymentsAreCreditedOrRefusedWithTheirIsoReasons) {
  start_with({{"LEDGER_SCT_INST_MAX_AMOUNT", "5000000"}});
  const std::string iban = iban_of(uuid(1, 2));
  ASSERT_FALSE(iban.empty());
  const auto answer = [&](const std::string& xml) {
    const auto reply = post_xml("/v1/credit-transfers/instant-payments", xml);
    EXPECT_EQ(reply.status, 200) << reply.body;
    const std::string status = element(reply.body, "TxSts");
    const std::string reason = element(reply.body, "Cd");
    return reason.empty() ? status : status + " " + reason;
  };
  EXPECT_EQ(answer(incoming_pacs008("M1", "TX1", iban, "12.34")), "ACCP");
  EXPECT_EQ(posted(), 11234);
  // The clearing house sends it again (a lost answer): the same answer, credited once.
  EXPECT_EQ(answer(incoming_pacs008("M1", "TX1", iban, "12.34")), "ACCP");
  EXPECT_EQ(posted(), 11234);
  // The same transaction reference with other content: a duplicate.
  EXPECT_EQ(answer(incoming_pacs008("M2", "TX1", iban, "99.00")), "RJCT DUPL");
  // A valid IBAN no account has; an invalid one; over the limit; three decimals; not euro.
  EXPECT_EQ(answer(incoming_pacs008("M3", "TX3", "DE89370400440532013000", "1.00")), "RJCT AC01");
  EXPECT_EQ(answer(incoming_pacs008("M4", "TX4", "DE88370400440532013000", "1.00")), "RJCT AC01");
  EXPECT_EQ(answer(incoming_pacs008("M5", "TX5", iban, "50000.01")), "RJCT AM23");
  EXPECT_EQ(answer(incoming_pacs008("M6", "TX6", iban, "1.001")), "RJCT AM12");
  std::string usd = incoming_pacs008("M7", "TX7", iban, "1.00");
  usd.replace(usd.find("Ccy=\"EUR\""), 9, "Ccy=\"USD\"");
  EXPECT_EQ(answer(usd), "RJCT AM03");
  std::string odd_name = incoming_pacs008("M9", "TX9", iban, "1.00", true, "Max Mustermann");
  odd_name.replace(odd_name.find("Max Mustermann"), 14, "Max Mustermann {x}");
  EXPECT_EQ(answer(odd_name), "RJCT FF01");
  // A frozen account: AC06. Then closed... frozen suffices for the reason table.
  rest("PATCH", "/v1/accounts/" + uuid(1, 2), {{"status", "frozen"}});
  EXPECT_EQ(answer(incoming_pacs008("M10", "TX10", iban, "1.00")), "RJCT AC06");
  rest("PATCH", "/v1/accounts/" + uuid(1, 2), {{"status", "active"}});
  // A settlement account's IBAN: not a payment account, AG01.
  EXPECT_EQ(answer(incoming_pacs008("M11", "TX11", iban_of(uuid(1, 1)), "1.00")), "RJCT AG01");
  EXPECT_EQ(posted(), 11234);
  // Malformed XML, DTDs and entities, another message: 400 with a pacs.002 RJCT FF01 beside.
  for (const std::string& bad :
       {std::string("<Document><unclosed>"),
        std::string("<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x \"y\">]><Document "
                    "xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08\"/>"),
        std::string("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.003.001.08\"/>")}) {
    const auto reply = post_xml("/v1/credit-transfers/instant-payments", bad);
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_NE(reply.body.find("FF01"), std::string::npos) << reply.body;
  }
  EXPECT_EQ(posted(), 11234);
  const auto types = event_types();
  EXPECT_EQ(std::count(types.begin(), types.end(), "credit_transfer.received"), 1);
  // 200 more, one after another: every one credited once, the answer times printed.
  std::vector<double> ms;
  for (int i = 0; i < 200; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(
        answer(incoming_pacs008("L" + std::to_string(i), "LT" + std::to_string(i), iban, "0.01")),
        "ACCP");
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("incoming instant answer: median %.2f ms, p99 %.2f ms (200 sequential)\n", ms[100],
              ms[197]);
  EXPECT_EQ(posted(), 11434);
}

TEST_F(CreditTransfersTest, RegularCycleFilesAtTheCutOffWithRejectsReturnsAndRecalls) {
  start_with({{"LEDGER_CLOCK", "manual"},
              {"LEDGER_SCT_CUTOFF", "14:00"},
              {"LEDGER_SCT_AUTO_CUTOFF", "off"}});
  const std::string admin = clock_key();
  const auto now_s = [&] {
    const auto reply = testing::http_call(server_.http_port(), "GET", "/v1/test-clock", "",
                                          {{"Authorization", "Bearer " + admin}});
    return static_cast<std::int64_t>(json::parse(reply.body)["now_unix_seconds"]);
  };
  const auto advance_to = [&](std::int64_t unix_s) {
    const auto reply = testing::http_call(server_.http_port(), "POST", "/v1/test-clock/advance",
                                          json{{"seconds", unix_s - now_s()}}.dump(),
                                          {{"Authorization", "Bearer " + admin}});
    ASSERT_EQ(reply.status, 200) << reply.body;
  };
  // The next TARGET2 business day after today: the execution date asked for.
  const std::int32_t day =
      sepa::add_business_days(static_cast<std::int32_t>(now_s() / day_s) + 1, 0);
  const std::string date = sepa::format_date(day);

  json a = transfer(uuid(7, 10), 3000, "Stadtwerke Musterstadt", false);
  a["requested_execution_date"] = date;
  a["end_to_end_id"] = "INV-1";
  auto reply = call("POST", "/v1/credit-transfers", a);
  ASSERT_EQ(reply.status, 201) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["status"], "accepted");
  EXPECT_EQ(available(), 7000);  // held
  EXPECT_EQ(posted(), 10000);
  // Another id, the same end-to-end id from the same account: a duplicate.
  a["id"] = uuid(7, 11);
  EXPECT_EQ(call("POST", "/v1/credit-transfers", a).status, 409);

  // A pain.001.001.03 from the business customer: two payments, one with a bad IBAN.
  const std::string iban = iban_of(uuid(1, 2));
  const std::string pain =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Document "
      "xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\"><CstmrCdtTrfInitn><GrpHdr>"
      "<MsgId>PAIN-1</MsgId><CreDtTm>2026-12-07T09:00:00</CreDtTm><NbOfTxs>2</NbOfTxs><CtrlSum>"
      "30.00</CtrlSum><InitgPty><Nm>Muster GmbH</Nm></InitgPty></GrpHdr><PmtInf><PmtInfId>PI-1"
      "</PmtInfId><PmtMtd>TRF</PmtMtd><PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf>"
      "<ReqdExctnDt>" +
      date + "</ReqdExctnDt><Dbtr><Nm>Muster GmbH</Nm></Dbtr><DbtrAcct><Id><IBAN>" + iban +
      "</IBAN></Id></DbtrAcct><DbtrAgt><FinInstnId><BIC>LEDGDEFFXXX</BIC></FinInstnId></DbtrAgt>"
      "<CdtTrfTxInf><PmtId><EndToEndId>PAY-1</EndToEndId></PmtId><Amt><InstdAmt Ccy=\"EUR\">"
      "10.00</InstdAmt></Amt><Cdtr><Nm>Lieferant AG</Nm></Cdtr><CdtrAcct><Id><IBAN>"
      "DE89370400440532013000</IBAN></Id></CdtrAcct><RmtInf><Ustrd>Order 7</Ustrd></RmtInf>"
      "</CdtTrfTxInf><CdtTrfTxInf><PmtId><EndToEndId>PAY-2</EndToEndId></PmtId><Amt><InstdAmt "
      "Ccy=\"EUR\">20.00</InstdAmt></Amt><Cdtr><Nm>Broken AG</Nm></Cdtr><CdtrAcct><Id><IBAN>"
      "DE88370400440532013000</IBAN></Id></CdtrAcct></CdtTrfTxInf></PmtInf></CstmrCdtTrfInitn>"
      "</Document>";
  reply = post_xml("/v1/credit-transfers/payment-orders", pain);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.body.find("pain.002.001.03"), std::string::npos);
  EXPECT_EQ(element(reply.body, "GrpSts"), "PART");
  EXPECT_EQ(count_of(reply.body, "<TxSts>ACCP</TxSts>"), 1u);
  EXPECT_EQ(count_of(reply.body, "<TxSts>RJCT</TxSts>"), 1u);
  EXPECT_NE(reply.body.find("<Cd>AC01</Cd>"), std::string::npos);
  EXPECT_EQ(available(), 6000);
  // The same file again: nothing held twice.
  reply = post_xml("/v1/credit-transfers/payment-orders", pain);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(available(), 6000);
  // A control sum that does not add up: the whole file refused (AM10).
  std::string wrong = pain;
  wrong.replace(wrong.find("30.00"), 5, "31.00");
  reply = post_xml("/v1/credit-transfers/payment-orders", wrong);
  EXPECT_EQ(element(reply.body, "GrpSts"), "RJCT");
  EXPECT_NE(reply.body.find("AM10"), std::string::npos);

  // Before the execution day's cut-off: nothing to file.
  reply = call("POST", "/v1/credit-transfers/files");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_TRUE(json::parse(reply.body)["files"].empty()) << reply.body;
  // After it: one pacs.008 with both transfers, the money leaves (posted).
  advance_to(day * day_s + 14 * 3600 + 60);
  reply = call("POST", "/v1/credit-transfers/files");
  ASSERT_EQ(reply.status, 200) << reply.body;
  json files = json::parse(reply.body)["files"];
  ASSERT_EQ(files.size(), 1u) << reply.body;
  EXPECT_EQ(files[0]["kind"], "pacs.008");
  EXPECT_EQ(files[0]["items"], 2);
  EXPECT_EQ(files[0]["total"], 4000);
  const std::string file = call("GET", files[0]["href"]).body;
  EXPECT_EQ(count_of(file, "<CdtTrfTxInf>"), 2u);
  EXPECT_EQ(element(file, "IntrBkSttlmDt"), date);
  EXPECT_EQ(file.find("<LclInstrm>"), std::string::npos);
  EXPECT_EQ(posted(), 6000);
  EXPECT_EQ(available(), 6000);
  // Cut again: nothing twice.
  EXPECT_TRUE(json::parse(call("POST", "/v1/credit-transfers/files").body)["files"].empty());
  EXPECT_EQ(json::parse(call("GET", "/v1/credit-transfers/" + uuid(7, 10)).body)["status"], "sent");

  // The clearing house rejects INV-1 (pacs.002) and returns PAY-1 (pacs.004): money back.
  const std::string tx1 =
      json::parse(call("GET", "/v1/credit-transfers/" + uuid(7, 10)).body)["transaction_id"];
  std::string rejects =
      "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10\"><FIToFIPmtStsRpt>"
      "<GrpHdr><MsgId>CSM-RJ-1</MsgId></GrpHdr><TxInfAndSts><OrgnlEndToEndId>INV-1"
      "</OrgnlEndToEndId><OrgnlTxId>" +
      tx1 +
      "</OrgnlTxId><TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf>"
      "</TxInfAndSts></FIToFIPmtStsRpt></Document>";
  reply = post_xml("/v1/credit-transfers/import", rejects);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["results"][0]["result"], "rejected");
  EXPECT_EQ(posted(), 9000);
  reply = post_xml("/v1/credit-transfers/import", rejects);  // the same file twice
  EXPECT_EQ(json::parse(reply.body)["already_imported"], true);
  EXPECT_EQ(posted(), 9000);
  const std::size_t pay1 = file.find("<EndToEndId>PAY-1</EndToEndId>");
  ASSERT_NE(pay1, std::string::npos);
  const std::string tx2 = element(file, "TxId", pay1);
  reply = post_xml("/v1/credit-transfers/import",
                   "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.004.001.09\"><PmtRtr>"
                   "<GrpHdr><MsgId>CSM-RT-1</MsgId></GrpHdr><TxInf><RtrId>R1</RtrId>"
                   "<OrgnlEndToEndId>PAY-1</OrgnlEndToEndId><OrgnlTxId>" +
                       tx2 +
                       "</OrgnlTxId><RtrdIntrBkSttlmAmt Ccy=\"EUR\">10.00</RtrdIntrBkSttlmAmt>"
                       "<RtrRsnInf><Rsn><Cd>AC01</Cd></Rsn></RtrRsnInf></TxInf></PmtRtr>"
                       "</Document>");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["results"][0]["result"], "returned");
  EXPECT_EQ(posted(), 10000);
  EXPECT_EQ(available(), 10000);

  // An incoming regular file: one to this account, one to an unknown IBAN (returned in the
  // next file, AC01); then a recall of the first, accepted by the customer.
  reply = post_xml("/v1/credit-transfers/import",
                   incoming_pacs008("IN-1", "ITX1", iban, "5.00", false));
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json in1 = json::parse(reply.body)["results"][0];
  EXPECT_EQ(in1["result"], "received");
  reply = post_xml("/v1/credit-transfers/import",
                   incoming_pacs008("IN-2", "ITX2", "DE89370400440532013000", "7.00", false));
  EXPECT_EQ(json::parse(reply.body)["results"][0]["reason"], "AC01");
  EXPECT_EQ(posted(), 10500);
  reply = post_xml("/v1/credit-transfers/import",
                   "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.056.001.08\">"
                   "<FIToFIPmtCxlReq><Assgnmt><Id>RCL-1</Id></Assgnmt><Undrlyg><TxInf><CxlId>C1"
                   "</CxlId><OrgnlEndToEndId>E2E-ITX1</OrgnlEndToEndId><OrgnlTxId>ITX1</OrgnlTxId>"
                   "<CxlRsnInf><Rsn><Cd>DUPL</Cd></Rsn></CxlRsnInf></TxInf></Undrlyg>"
                   "</FIToFIPmtCxlReq></Document>");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["results"][0]["result"], "recall_requested");
  reply = call(
      "POST", "/v1/credit-transfers/" + std::string(in1["credit_transfer_id"]) + "/recall-decision",
      {{"accept", true}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(posted(), 10000);
  advance_to(day * day_s + 15 * 3600);
  reply = call("POST", "/v1/credit-transfers/files");
  files = json::parse(reply.body)["files"];
  ASSERT_EQ(files.size(), 1u) << reply.body;
  EXPECT_EQ(files[0]["kind"], "pacs.004");
  EXPECT_EQ(files[0]["items"], 2);
  const std::string returns = call("GET", files[0]["href"]).body;
  EXPECT_NE(returns.find("<Cd>AC01</Cd>"), std::string::npos);
  EXPECT_NE(returns.find("<Cd>FOCR</Cd>"), std::string::npos);
  // Every step was an event.
  const auto types = event_types();
  EXPECT_EQ(std::count(types.begin(), types.end(), "credit_transfer.accepted"), 2);
  EXPECT_EQ(std::count(types.begin(), types.end(), "credit_transfer.sent"), 2);
  EXPECT_EQ(std::count(types.begin(), types.end(), "credit_transfer.rejected"), 1);
  EXPECT_EQ(std::count(types.begin(), types.end(), "credit_transfer.returned"), 2);
  EXPECT_EQ(std::count(types.begin(), types.end(), "credit_transfer.received"), 1);
}

TEST_F(CreditTransfersTest, TheCutOffCutsTheDaysFileOnItsOwn) {
  start_with({{"LEDGER_CLOCK", "manual"}, {"LEDGER_SCT_CUTOFF", "14:00"}});
  const std::string admin = testing::create_api_key(env_, "admin");
  const auto clock = [&](const std::string& method, const std::string& target, const json& body) {
    return testing::http_call(server_.http_port(), method, target,
                              body.is_null() ? "" : body.dump(),
                              {{"Authorization", "Bearer " + admin}});
  };
  for (int i = 0; i < 100 && clock("GET", "/v1/test-clock", nullptr).status == 401; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const auto now_s = [&] {
    return static_cast<std::int64_t>(
        json::parse(clock("GET", "/v1/test-clock", nullptr).body)["now_unix_seconds"]);
  };
  const std::int32_t day =
      sepa::add_business_days(static_cast<std::int32_t>(now_s() / day_s) + 1, 0);
  json a = transfer(uuid(7, 30), 1500, "Stadtwerke Musterstadt", false);
  a["requested_execution_date"] = sepa::format_date(day);
  ASSERT_EQ(call("POST", "/v1/credit-transfers", a).status, 201);
  // A minute past the execution day's cut-off: within about 10 s the file is cut, without a call.
  const auto advanced = clock("POST", "/v1/test-clock/advance",
                              {{"seconds", day * day_s + 14 * 3600 + 60 - now_s()}});
  ASSERT_EQ(advanced.status, 200) << advanced.body;
  std::string status;
  for (int i = 0; i < 150 && status != "sent"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = json::parse(call("GET", "/v1/credit-transfers/" + uuid(7, 30)).body)["status"];
  }
  EXPECT_EQ(status, "sent");
  EXPECT_EQ(posted(), 8500);
  const json files = json::parse(
      call("GET", "/v1/credit-transfers/files?date=" + sepa::format_date(day)).body)["files"];
  ASSERT_EQ(files.size(), 1u) << files.dump();
  EXPECT_EQ(files[0]["kind"], "pacs.008");
  EXPECT_EQ(files[0]["items"], 1);
}

TEST_F(CreditTransfersTest, ThePayeesBankChecksTheNameFirstAndTheClientConfirms) {
  // The payee's bank: a no_match for "Acme Ltd", a close_match for "ACME SARL." (holding "Acme
  // SARL"), a match otherwise; the instant clearing house says ACCP.
  testing::Receiver payee_bank([](std::size_t, const testing::ReceivedRequest& r) {
    testing::ReceiverAnswer a;
    a.headers["Content-Type"] = "application/json";
    const json asked = json::parse(r.body);
    const std::string name = asked["name"];
    json answer{{"iban", asked["iban"]}};
    if (name == "Acme Ltd") {
      answer["result"] = "no_match";
    } else if (name == "ACME SARL.") {
      answer["result"] = "close_match";
      answer["matched_name"] = "Acme SARL";
    } else {
      answer["result"] = "match";
    }
    a.body = answer.dump();
    return a;
  });
  clearing_.set_policy([](std::size_t, const testing::ReceivedRequest& r) {
    testing::ReceiverAnswer a;
    a.body = pacs002_for(r.body, "ACCP");
    return a;
  });
  start_with({{"LEDGER_VOP_URL", "http://127.0.0.1:" + std::to_string(payee_bank.port()) + "/vop"},
              {"LEDGER_VOP_TOKEN", "vop-secret"}});
  // No match: nothing held, the result shown, the client must confirm.
  auto reply = call("POST", "/v1/credit-transfers", transfer(uuid(7, 40), 1000, "Acme Ltd", true));
  ASSERT_EQ(reply.status, 409) << reply.body;
  json problem = json::parse(reply.body);
  EXPECT_EQ(problem["code"], "payee_confirmation_required");
  EXPECT_EQ(problem["payee_check"]["result"], "no_match");
  EXPECT_FALSE(problem["payee_check"].contains("matched_name"));
  EXPECT_EQ(available(), 10000);
  EXPECT_EQ(clearing_.requests().size(), 0u);
  const auto asked = payee_bank.requests();
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].headers.at("authorization"), "Bearer vop-secret");
  EXPECT_EQ(json::parse(asked[0].body)["iban"], "FR1420041010050500013M02606");
  // Confirmed: sent, and the transfer records what the payee's bank said.
  json confirmed = transfer(uuid(7, 40), 1000, "Acme Ltd", true);
  confirmed["confirm_payee"] = true;
  reply = call("POST", "/v1/credit-transfers", confirmed);
  ASSERT_EQ(reply.status, 201) << reply.body;
  json ct = json::parse(reply.body);
  EXPECT_EQ(ct["status"], "settled");
  EXPECT_EQ(ct["payee_check"]["result"], "no_match");
  EXPECT_EQ(available(), 9000);
  // A close match shows the name the payee's bank holds.
  reply = call("POST", "/v1/credit-transfers", transfer(uuid(7, 41), 500, "ACME SARL.", true));
  ASSERT_EQ(reply.status, 409) << reply.body;
  problem = json::parse(reply.body);
  EXPECT_EQ(problem["payee_check"]["result"], "close_match");
  EXPECT_EQ(problem["payee_check"]["matched_name"], "Acme SARL");
  // A match goes straight through.
  reply = call("POST", "/v1/credit-transfers", transfer(uuid(7, 42), 500, "Acme SARL", true));
  ASSERT_EQ(reply.status, 201) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["payee_check"]["result"], "match");
  EXPECT_EQ(available(), 8500);
}

// The instant clearing house over https: ledgerd verifies its certificate (and host name)
// before sending a payment; one it does not trust gets nothing, and the hold is released.
class TlsClearingHouse {
 public:
  TlsClearingHouse() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    char path[] = "/tmp/ledgerd-csm-XXXXXX";
    dir_ = mkdtemp(path);
    cert_ = dir_ + "/cert.pem";
    const std::string key = dir_ + "/key.pem";
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext "
        "subjectAltName=IP:127.0.0.1 -keyout " +
        key + " -out " + cert_ + " >/dev/null 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << "openssl (Debian package openssl) failed";
    context_.use_certificate_chain_file(cert_);
    context_.use_private_key_file(key, asio::ssl::context::pem);
    acceptor_.non_blocking(true);
    thread_ = std::thread([this] { run(); });
  }
  ~TlsClearingHouse() {
    stopping_ = true;
    thread_.join();
    std::filesystem::remove_all(dir_);
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  const std::string& cert() const { return cert_; }
  int answered() const { return answered_.load(); }

 private:
  void run() {
    namespace bhttp = boost::beast::http;
    while (!stopping_) {
      asio::ip::tcp::socket socket(io_);
      boost::system::error_code error;
      acceptor_.accept(socket, error);
      if (error) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      socket.non_blocking(false);
      timeval tv{5, 0};
      setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      asio::ssl::stream<asio::ip::tcp::socket> tls(std::move(socket), context_);
      tls.handshake(asio::ssl::stream_base::server, error);
      if (error) continue;  // the client did not trust us
      boost::beast::flat_buffer buffer;
      bhttp::request<bhttp::string_body> request;
      bhttp::read(tls, buffer, request, error);
      if (error) continue;
      bhttp::response<bhttp::string_body> response{bhttp::status::ok, 11};
      response.set(bhttp::field::content_type, "application/xml");
      response.body() = pacs002_for(request.body(), "ACCP");
      response.keep_alive(false);
      response.prepare_payload();
      bhttp::write(tls, response, error);
      if (!error) ++answered_;
      tls.shutdown(error);
    }
  }
  asio::io_context io_;
  asio::ssl::context context_{asio::ssl::context::tls_server};
  asio::ip::tcp::acceptor acceptor_;
  std::string dir_, cert_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> answered_{0};
  std::thread thread_;
};

TEST_F(CreditTransfersTest, TheInstantClearingHouseIsReachedOverVerifiedHttps) {
  TlsClearingHouse csm;
  const std::string url = "https://127.0.0.1:" + std::to_string(csm.port()) + "/sct-inst";
  // ledgerd trusts the clearing house's certificate (OpenSSL's SSL_CERT_FILE).
  start({{"LEDGER_SCT_INST_URL", url},
         {"SSL_CERT_FILE", csm.cert()},
         {"LEDGER_SCT_INST_TIMEOUT_MS", "2000"}});
  auto reply = call("POST", "/v1/credit-transfers", transfer(uuid(7, 50), 700, "Acme SARL", true));
  ASSERT_EQ(reply.status, 201) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["status"], "settled") << reply.body;
  EXPECT_EQ(csm.answered(), 1);
  EXPECT_EQ(posted(), 9300);
  // Without that trust the handshake fails: nothing is sent, the hold is released.
  server_.stop(SIGTERM);
  env_["SSL_CERT_FILE"] = "/nonexistent/ca.pem";  // trusts nothing
  ASSERT_TRUE(server_.start(env_)) << server_.output();
  reply = call("POST", "/v1/credit-transfers", transfer(uuid(7, 51), 800, "Acme SARL", true));
  ASSERT_EQ(reply.status, 201) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["status"], "timed_out") << reply.body;
  EXPECT_EQ(csm.answered(), 1);
  EXPECT_EQ(available(), 9300);
  EXPECT_EQ(posted(), 9300);
}

}  // namespace
}  // namespace ledger::iso_testing::credit_transfers
