// Incoming SEPA direct debits (types.h: DirectDebit): what the REST edge stores beside the
// engine's state (the clearing system's references, the customer's mandate rules) and the names
// the API, the journal and the event feed share.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/credit_transfers.h"
#include "ledger/sepa.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace ledger {

std::string_view status_name(DirectDebitStatus status);
std::optional<DirectDebitStatus> direct_debit_status_from_name(std::string_view name);
std::string_view change_name(DirectDebitChange change);
std::string_view scheme_name(DirectDebitScheme scheme);  // "core", "b2b"
std::optional<DirectDebitScheme> scheme_from_name(std::string_view name);
std::string_view sequence_name(SequenceType sequence);  // "FRST", "RCUR", "OOFF", "FNAL"
std::optional<SequenceType> sequence_from_name(std::string_view name);

// The clearing system's references of a collection (table direct_debits).
struct DirectDebitDetails {
  std::string end_to_end_id;      // <= 35
  std::string mandate_reference;  // UMR, <= 35
  std::string creditor_id;        // <= 35
  std::string creditor_name;      // <= 70
  std::string debtor_iban;        // empty when the account id was given
  std::string message_id;         // pacs.003 MsgId when imported
  // The rest of what the pacs.003 said (empty when not given), echoed in the pacs.002 and
  // pacs.004 ledgerd writes (OrgnlTxId and OrgnlTxRef).
  std::string transaction_id;      // PmtId/TxId, <= 35
  std::string debtor_name;         // Dbtr/Nm, <= 70
  std::string debtor_agent_bic;    // DbtrAgt/FinInstnId/BICFI
  std::string creditor_agent_bic;  // CdtrAgt/FinInstnId/BICFI
  std::string creditor_iban;       // CdtrAcct/Id/IBAN
  // A mandate amendment (AmdmntInd with AmdmntInfDtls), when the collection carries one: the
  // mandate's former reference and creditor identifier. Read at receipt for the debtor's rules
  // (a block or a registered B2B mandate follows its mandate through the amendment); not stored.
  std::string original_mandate_reference;
  std::string original_creditor_id;
  std::int32_t mandate_signed = -1;  // days since the epoch (-1: not given)
};

// A customer's mandate rules: core collections are allowed unless their creditor or mandate is
// blocked (SL01); b2b collections are refused unless the mandate is registered (MD01).
// Creditors are compared by identity (sepa::creditor_identity: the business code does not
// count).
struct MandateRules {
  std::vector<std::string> blocked_creditors;
  std::vector<std::string> blocked_mandates;  // a mandate reference, whoever the creditor
  struct B2bMandate {
    std::string creditor_id;
    std::string mandate_reference;
  };
  std::vector<B2bMandate> b2b_mandates;
  std::vector<B2bMandate> blocked_creditor_mandates;  // one creditor's mandate
  // The payer's limits (Regulation (EU) 260/2012 art. 5(3)(d)): only these creditors may
  // collect (a whitelist; empty: any), and per creditor (or for all, creditor_id "") an amount
  // per collection and a number of collections per calendar month of the due date (0: none).
  std::vector<std::string> allowed_creditors;
  struct Limit {
    std::string creditor_id;  // "" for every creditor
    std::int64_t max_amount = 0;
    std::uint32_t max_per_month = 0;
  };
  std::vector<Limit> limits;
  // The bank learnt the account holder has died: every collection is refused MD07.
  bool debtor_deceased = false;
};

// The refusal the rules give a collection (none: allowed). `amount`: the collection's;
// `same_creditor_this_month`: the account's other collections from that creditor (by identity)
// due in the same calendar month and not refused, for the periodicity limit.
sepa::Reason mandate_rule_refusal(const MandateRules& rules, DirectDebitScheme scheme,
                                  const DirectDebitDetails& details, std::int64_t amount = 0,
                                  std::uint32_t same_creditor_this_month = 0);

struct DirectDebitView {
  DirectDebit state;  // the latest journaled state
  DirectDebitDetails details;
  std::vector<DirectDebit> history;  // every change, oldest first (get only)
};

struct DirectDebitRequest {
  // IBANs (table account_ibans): iban_of an account (generated from the bank code when it has
  // none), assign_iban (one given at account creation), account_of_iban.
  enum class Op : std::uint8_t {
    receive,
    get,
    list,
    get_rules,
    put_rules,
    iban_of,
    assign_iban,
    account_of_iban,
    // Outgoing files: the changes of `day` of `changes` no earlier file of `file_kind` holds
    // (items, oldest first), the file count of that day and the latest file's MsgId and
    // document; then store_file records a new file (`message_id`, `document`) and the changes
    // it holds (`change_ts`). store_file fails when one of them is in another file already.
    unfiled_changes,
    store_file,
    get_file,  // the stored file `message_id` of `file_kind`
    // The collection (not a duplicate) of `day` with this end-to-end id and, when
    // details.creditor_id is given, this creditor (by identity): reply.existing (zero: none;
    // zero too when several match without a creditor).
    find_by_key,
    // Verification of Payee: set_holder_name records `holder_name` for `account` (which has an
    // IBAN: reply.account_found false otherwise); payee_of_iban answers the account `iban`
    // names and its holder name (reply.holder_name_known).
    set_holder_name,
    payee_of_iban,
    // SEPA credit transfers (table credit_transfers, credit_transfer_sql.cc):
    // ct_insert stores `credit_transfer` unless its id or (direction, dedup_key) is there
    // already (reply.inserted; reply.credit_transfers: the row stored or found);
    // ct_update writes its status, reason, message id, payee check, account and recall fields;
    // ct_get (by `id` of credit_transfer) and ct_find (by direction and transaction id, else
    // end-to-end id) answer it; ct_list an account's (newest first, `limit`);
    // ct_due what the next file holds (status accepted regular out with an execution date up to
    // `day`, return_due, recall *_due);
    // ct_store_file records file `message_id` (`file_name` kind, `document`, `day`) and moves
    // `ids` on (accepted -> sent, return_due -> returned, recall *_due -> its answer) in one
    // transaction (reply.file_conflict: the MsgId is taken); ct_get_file, ct_list_files (of
    // `day`); ct_mark_imported records an imported file (reply.inserted false: seen before).
    ct_insert,
    ct_update,
    ct_get,
    ct_find,
    ct_list,
    ct_due,
    ct_store_file,
    ct_get_file,
    ct_list_files,
    ct_mark_imported,
    // ct_receive: an incoming credit transfer in one job: the account its creditor IBAN names
    // and, from the journaled account, the refusal that decides (AC01 unknown, AC04 closed,
    // AC06 frozen, AG01 not a euro customer account: status refused when instant, return_due
    // when regular; else received), then ct_insert with an asynchronous commit (the engine's
    // COMMIT of the credit, which follows it, flushes the WAL past it).
    ct_receive,
    // Card clearing and disputes (journal/clearing_sql.h): card_op names the statement,
    // card_args is its JSON argument; reply.card_rows the JSON rows it answers.
    card_sql
  };
  Op op = Op::get;
  // receive: the collection as mapped (id, amount, due day, scheme, account or IBAN).
  DirectDebit collection;
  DirectDebitDetails details;
  bool duplicate = false;                   // receive: store it as a duplicate of an existing key
  DirectDebitId id;                         // get
  AccountId account;                        // list, rules
  std::optional<DirectDebitStatus> status;  // list
  std::uint64_t after = 0;                  // list: cursor (created_ts)
  std::uint32_t limit = 100;
  MandateRules rules;               // put_rules
  std::string iban;                 // assign_iban, account_of_iban
  std::int32_t day = 0;             // unfiled_changes, find_by_key: UTC day, days since 1970
  std::uint32_t changes = 0;        // unfiled_changes: bits 1 << DirectDebitChange
  std::string iban_country = "DE";  // iban_of: generated IBANs
  std::string iban_bank_code = "10010010";
  int file_kind = 0;                     // 0 pacs.004 returns, 1 pacs.002 rejects
  std::string message_id;                // store_file, get_file
  std::string document;                  // store_file
  std::vector<std::uint64_t> change_ts;  // store_file
  std::string holder_name;               // set_holder_name
  CreditTransferRecord credit_transfer;  // ct_*
  std::vector<Uint128> ids;              // ct_store_file
  std::string file_name;                 // ct_*file*: the kind ("pacs.008", "in:pacs.002", ...)
  std::uint32_t file_items = 0;          // ct_mark_imported: the entries the file held
  std::string card_op;                   // card_sql
  std::string card_args;                 // card_sql: JSON
  std::string card_expect;               // card_sql file_store_out: the disputes it must move
};

struct DirectDebitReply {
  // receive: whether the row was stored under the key; when not, the key's existing id.
  bool stored = false;
  DirectDebitId existing;
  AccountId account;  // receive: the account the IBAN names (zero: unknown)
  bool account_found = false;
  MandateRules rules;                  // receive (of that account), get_rules, put_rules
  std::vector<DirectDebitView> items;  // get (one, with history), list
  std::uint64_t next_after = 0;        // list: 0 when no more
  std::string iban;                    // iban_of, assign_iban: the account's IBAN
  bool iban_taken = false;  // assign_iban: another account has it, or this one has another
  // receive: the account's collections from this creditor (identity) due in the same calendar
  // month, not refused (stored before this one).
  std::uint32_t same_creditor_this_month = 0;
  std::uint32_t files_that_day = 0;  // unfiled_changes
  std::string message_id;            // unfiled_changes: the day's latest file; get_file
  std::string document;              // unfiled_changes: its document; get_file
  bool file_conflict = false;        // store_file: a change is in another file already
  std::string holder_name;           // payee_of_iban
  bool holder_name_known = false;    // payee_of_iban
  bool inserted = false;             // ct_insert, ct_mark_imported
  std::vector<CreditTransferRecord> credit_transfers;  // ct_*
  struct FileEntry {
    std::string message_id;
    std::string kind;
    std::string day;
    std::uint32_t items = 0;
    std::string created_at;
  };
  std::vector<FileEntry> files;        // ct_list_files
  std::vector<std::string> card_rows;  // card_sql: one JSON text per row
};

class DirectDebitStore {
 public:
  virtual bool direct_debits(const DirectDebitRequest& request,
                             std::function<void(Status, DirectDebitReply)> done) = 0;

 protected:
  ~DirectDebitStore() = default;
};

}  // namespace ledger
