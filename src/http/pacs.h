// ISO 20022 documents of SEPA direct debits and credit transfers (below). Direct debits:
// pacs.003 (the collections the clearing system delivers) read with libxml2 into the JSON bodies
// POST /v1/direct-debits takes, so both paths share one validation. Pure: no I/O. Limits: the HTTP
// body limit bounds the document; DTDs and entities are refused before parsing (no entity
// expansion, no network).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/credit_transfers.h"
#include "ledger/direct_debits.h"

namespace ledger::http::pacs {

struct Transaction {
  std::string end_to_end_id;  // "" when missing
  nlohmann::json body;        // the POST /v1/direct-debits body (with a problem: what was read)
  std::string problem;        // what is wrong with it, in words
  std::string reason_code;    // ISO code of that problem (FF01, AM12, DT01, AM03, AC01)
};

struct Document {
  std::string message_id;  // GrpHdr/MsgId
  std::vector<Transaction> transactions;
};

// false with `error` set when the document is not a pacs.003 this ledger reads (malformed XML,
// a DTD or entity, another message or namespace, no group header, too many transactions).
bool parse_pacs003(std::string_view xml, Document* out, std::string* error);

// A pacs.007 (FIToFIPaymentReversal) from the creditor's bank: each reversal names the
// collection it reverses by its key (creditor identifier, end-to-end id, settlement date).
struct Reversal {
  std::string reversal_id;    // RvslId ("" when missing)
  std::string end_to_end_id;  // OrgnlEndToEndId
  std::string creditor_id;    // OrgnlTxRef/CdtrSchmeId/Id/PrvtId/Othr/Id ("" when missing)
  std::int32_t day = -1;      // OrgnlIntrBkSttlmDt (or OrgnlTxRef/IntrBkSttlmDt)
  std::int64_t amount = 0;    // RvsdIntrBkSttlmAmt (or OrgnlIntrBkSttlmAmt); 0 when missing
  std::string reason_code;    // RvslRsnInf/Rsn/Cd
  std::string problem;        // what is wrong with it, in words ("" when readable)
};
struct ReversalDocument {
  std::string message_id;
  std::vector<Reversal> reversals;
};
// false with `error` for a document that is not a pacs.007 this ledger reads.
bool parse_pacs007(std::string_view xml, ReversalDocument* out, std::string* error);

// What heads an outgoing file: its MsgId (unique per file), the UTC day of the changes it
// holds, when it was written and this bank's BIC (instructing agent, debtor agent, originator
// of the reason).
struct FileHeader {
  std::string message_id;
  std::int32_t day = 0;
  std::uint64_t now_ns = 0;
  std::string bic;
  std::uint32_t compensation_rate_bp = 0;  // refunds (MD06, MD01): yearly, basis points
};
// A file written at `now_ns` (its day is that UTC day).
FileHeader file_header(std::string message_id, std::uint64_t now_ns, std::string bic);

// A refund's compensation (EPC SDD Core): interest on `amount` at `rate_bp` a year (actual/360)
// for the calendar days from the debit to the refund, rounded half up to the cent.
std::int64_t refund_compensation(std::int64_t amount, std::uint32_t rate_bp, std::int32_t days);

// pacs.004.001.09 (PaymentReturn): the collections returned (AM04, AC04, AC06) or refunded
// (MD06, MD01), with their original references, for the clearing system. Valid against
// tests/schemas/pacs.004.001.09.xsd.
std::string write_pacs004(const std::vector<DirectDebitView>& returns, const FileHeader& file);
// pacs.002.001.10 (FIToFIPaymentStatusReport): the collections rejected (RJCT) with their
// reason codes. Valid against tests/schemas/pacs.002.001.10.xsd.
std::string write_pacs002(const std::vector<DirectDebitView>& rejects, const FileHeader& file);

}  // namespace ledger::http::pacs

// --- SEPA credit transfers (docs/credit-transfers.md) ---------------------------------------
namespace ledger::http::pacs {

// One credit transfer as a message carries it: a CdtTrfTxInf of a pacs.008, or a payment of a
// pain.001 (with its payment information's debtor, date and type).
struct CreditTransaction {
  std::string payment_info_id;  // pain.001 PmtInfId
  std::string instruction_id;   // PmtId/InstrId
  std::string end_to_end_id;    // PmtId/EndToEndId
  std::string transaction_id;   // PmtId/TxId (pacs.008)
  std::int64_t amount = 0;      // minor units
  std::int32_t day = -1;        // pacs.008 IntrBkSttlmDt (-2: not given); pain.001 ReqdExctnDt
  bool instant = false;         // PmtTpInf/LclInstrm/Cd INST
  std::string debtor_name, debtor_iban, debtor_bic;
  std::string creditor_name, creditor_iban, creditor_bic;
  std::string remittance;   // RmtInf/Ustrd
  std::string reason_code;  // refused as read: FF01 (format), AC01 (IBAN), AM12 (amount), ...
  std::string problem;      // that refusal in words
};
struct CreditDocument {
  std::string message_id;  // GrpHdr/MsgId
  std::string message;     // the root's namespace version: "pacs.008.001.02", "pain.001.001.03"
  std::vector<CreditTransaction> transactions;
  // pain.001 group checks: NbOfTxs and CtrlSum as given (-1: absent) against what was read.
  std::int64_t declared_count = -1;
  std::int64_t declared_sum = -1;
  std::int64_t read_sum = 0;
};
// false with `error` for a document that is not a pacs.008 (any version) this ledger reads.
bool parse_pacs008(std::string_view xml, CreditDocument* out, std::string* error);
// false with `error` for a document that is not a pain.001 (any version) this ledger reads.
bool parse_pain001(std::string_view xml, CreditDocument* out, std::string* error);

// One status of a pacs.002 (what the clearing house says of a credit transfer ledgerd sent),
// one return of a pacs.004, or one recall of a camt.056.
struct CreditStatus {
  std::string original_message_id;  // OrgnlMsgId (a group's, when the entry gives none)
  std::string end_to_end_id;        // OrgnlEndToEndId
  std::string transaction_id;       // OrgnlTxId
  std::string status;               // pacs.002: ACCP, ACSC, ACSP, ACWC, RJCT, PDNG; camt.029
  std::string reason_code;          // StsRsnInf/Rsn/Cd, RtrRsnInf/Rsn/Cd, CxlRsnInf/Rsn/Cd
  std::string id;                   // pacs.002 StsId, pacs.004 RtrId, camt.056 CxlId
  std::int64_t amount = 0;          // pacs.004 RtrdIntrBkSttlmAmt, camt.056 OrgnlIntrBkSttlmAmt
  std::string problem;              // unreadable entry, in words
};
struct CreditStatusDocument {
  std::string message_id;
  std::string message;  // "pacs.002.001.10", "pacs.004.001.09", "camt.056.001.08", ...
  std::vector<CreditStatus> entries;
};
// pacs.002, pacs.004, camt.056 or camt.029, told apart by the root's namespace. false with
// `error` for anything else. camt.029: status is TxCxlSts (RJCR), reason CxlStsRsnInf/Rsn/Cd.
bool parse_credit_status(std::string_view xml, CreditStatusDocument* out, std::string* error);

// The references of a credit transfer ledgerd writes into a message.
struct CreditEntry {
  CreditTransferRecord transfer;
  std::string status;       // pacs.002 / pain.002 / camt.029: ACCP, RJCT, RJCR, ...
  std::string reason_code;  // of a rejection, return or refused recall
  std::string id;           // StsId, RtrId or the recall's CxlId
};

// pacs.008.001.02 (FIToFICustomerCreditTransfer): regular SCT out at the cut-off (SttlmMtd
// CLRG) or one SCT Inst (LclInstrm INST, with its acceptance time).
std::string write_pacs008(const std::vector<CreditEntry>& transfers, const FileHeader& file,
                          bool instant);
// pacs.002.001.10: ledgerd's answer to an incoming SCT Inst pacs.008 (ACCP or RJCT per
// transaction; `original_message`: "pacs.008.001.02", ...).
std::string write_credit_pacs002(const std::vector<CreditEntry>& answers,
                                 const std::string& original_message_id,
                                 const std::string& original_message, const FileHeader& file);
// pacs.004.001.09: incoming credit transfers returned (unknown or closed account, a recall the
// customer accepted).
std::string write_credit_pacs004(const std::vector<CreditEntry>& returns, const FileHeader& file);
// camt.056.001.08 (FIToFIPaymentCancellationRequest): recalls of transfers this bank sent
// (CxlId: each entry's id; reason: its reason_code, DUPL, TECH, FRAD, CUST, AM09 or AC03).
std::string write_camt056(const std::vector<CreditEntry>& recalls, const FileHeader& file);
// camt.029.001.09 (ResolutionOfInvestigation): recalls the customer refused (RJCR).
std::string write_camt029(const std::vector<CreditEntry>& refusals, const FileHeader& file);
// pacs.028.001.03 (FIToFIPaymentStatusRequest): the status of an instant transfer whose answer
// did not come in time.
std::string write_pacs028(const CreditTransferRecord& transfer, const FileHeader& file);
// pain.002.001.03 (CustomerPaymentStatusReport): the answer to a customer's pain.001, payment
// by payment; `group_status` ACCP, PART or RJCT, `group_reason` for a whole refusal.
std::string write_pain002(const CreditDocument& order, const std::vector<CreditEntry>& answers,
                          const std::string& group_status, const std::string& group_reason,
                          const FileHeader& file);

// The SEPA Latin character set (EPC guidelines: a-z A-Z 0-9 / - ? : ( ) . , ' + space).
bool sepa_text(std::string_view text);

}  // namespace ledger::http::pacs
