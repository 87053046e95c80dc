// ISO 20022 documents of SEPA direct debits: pacs.003 (the collections the clearing system
// delivers) read with libxml2 into the JSON bodies POST /v1/direct-debits takes, so both paths
// share one validation. Pure: no I/O. Limits: the HTTP body limit bounds the document; DTDs
// and entities are refused before parsing (no entity expansion, no network).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

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
