// SEPA credit transfers (docs/credit-transfers.md): what the REST edge keeps beside the
// engine's transfers (table credit_transfers) and the ids and accounts both share.
//
// The money: one engine transfer per step, each with the credit transfer's id in reference_a
// (hi) and reference_b (lo):
//   out, regular: accepted = a hold customer -> SCT clearing (id: the credit transfer's);
//     sent = that hold posted when the day's file is cut; a pacs.002 reject or a pacs.004
//     return afterwards = clearing -> customer (credit_transfer_reject / _return).
//   out, instant: accepted = the hold; ACCP = the hold posted (settled); RJCT or no answer in
//     time = the hold voided (rejected); an ACCP learnt later (pacs.028) for a voided hold = a
//     forced debit customer -> clearing, so money is never both released and sent.
//   in: received = clearing -> customer (credit_transfer_in); a recall the customer accepts =
//     customer -> clearing (credit_transfer_return).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/ids.h"
#include "ledger/types.h"

namespace ledger {

// The SCT clearing account (EUR, kind settlement): the clearing house's side of every credit
// transfer. The engine opens it on the first credit-transfer posting.
inline AccountId sct_clearing_account_id() {
  return AccountId{
      {0x5C7C000000000000ULL | 0x0000008000000000ULL, 0xC1EA000000000000ULL | 0x534354}};
}

inline bool is_credit_transfer_code(TransferCode code) {
  return code >= TransferCode::credit_transfer && code <= TransferCode::credit_transfer_in;
}

// The engine transfer of each later step of a credit transfer (the hold's id is its own).
enum class CreditStep : std::uint64_t {
  settle = 1,   // post the hold (sent or settled)
  release = 2,  // void the hold (rejected)
  reject = 3,   // clearing -> customer after it was sent
  ret = 4,      // a return (either way)
  force = 5,    // a late ACCP after the hold was released
  credit = 6,   // incoming: clearing -> customer
};
inline TransferId credit_transfer_step_id(Uint128 credit_transfer, CreditStep step) {
  return TransferId{derive_id(credit_transfer, 0xC7000000ULL + static_cast<std::uint64_t>(step))};
}

// One row of table credit_transfers.
struct CreditTransferRecord {
  Uint128 id;
  bool outgoing = true;
  bool instant = false;
  AccountId account;  // zero: an incoming transfer for an unknown IBAN
  std::int64_t amount = 0;
  std::string currency = "EUR";
  std::string creditor_name;
  std::string creditor_iban;
  std::string creditor_bic;
  std::string debtor_name;
  std::string debtor_iban;
  std::string debtor_bic;
  std::string remittance;
  std::string end_to_end_id;
  std::string transaction_id;
  std::string dedup_key;
  std::int32_t execution_day = 0;  // days since 1970-01-01
  // out: accepted, refused, sent, settled, rejected, returned; in: received, refused,
  // returned, return_due (a return to put in the next file); instant out while it waits for its
  // answer: sending.
  std::string status;
  std::string reason;  // ISO 20022 reason code (AC01, AM04, ...), or a ledger reason word
  std::string payee_check;
  std::string payee_matched_name;
  std::string message_id;
  std::string request_digest;
  // A recall (camt.056) of an incoming transfer: requested, then returned or refused (each
  // *_due until the next file carries the answer).
  std::string recall_status;
  std::string recall_id;
  std::string recall_reason;
  std::string created_at;  // RFC 3339
  std::string updated_at;
};

}  // namespace ledger
