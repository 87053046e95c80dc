// The REST API as a pure translator (no sockets, no coroutines): a request's path, query and
// body become one engine command (or a read query), or a Problem naming the field at fault;
// an engine or reader result becomes the answer. The route files (accounts_routes.cc, ...)
// only read, call and write. Fuzzed (tests/fuzz/json_fuzz.cc) and unit-tested
// (mapping_test.cc).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "http/json_mapping.h"
#include "http/message.h"
#include "ledger/audit.h"
#include "ledger/card_rules.h"
#include "ledger/credit_transfers.h"
#include "ledger/direct_debits.h"
#include "ledger/key_store.h"
#include "ledger/reader.h"
#include "ledger/sink.h"
#include "ledger/spikes.h"
#include "ledger/types.h"
#include "ledger/webhooks.h"
#include "outbound/destination.h"

namespace ledger::http {

using Query = std::map<std::string, std::string>;

// A value, or the problem to answer instead.
template <typename T>
using Mapped = std::variant<T, Problem>;
template <typename T>
const Problem* problem_of(const Mapped<T>& mapped) {
  return std::get_if<Problem>(&mapped);
}

// What the mapping reads of a request besides path and query.
struct Body {
  std::string_view content_type;
  std::string_view text;
  std::string_view idempotency_key;  // "" when absent
};

// "a=1&b=x%20y" -> {a: "1", b: "x y"}. false on malformed percent-encoding, a repeated key, or
// a name or value that is not UTF-8 text without control characters (*bad names it).
bool parse_query(std::string_view target, Query* out, std::string* bad = nullptr);
// "/v1/accounts/x?y" -> {"v1", "accounts", "x"}.
std::vector<std::string_view> split_path(std::string_view target);
// A bounded label for metrics: the path with ids replaced ("/v1/accounts/{id}/transfers");
// "other" for anything that is not a route of this API.
std::string route_label(std::string_view target);

// Ids the API derives when a client omits them, so that blind retries stay idempotent.
Uint128 id_from_key(std::string_view idempotency_key);
Uint128 derived_id(Uint128 source, std::string_view purpose);

// --- Common ------------------------------------------------------------------------------
Mapped<Uint128> path_id(std::string_view text, std::string_view what);
Problem method_not_allowed(std::string_view allow);
Problem route_not_found(std::string_view target);
Problem not_found(std::string_view what, Uint128 id);
Problem unavailable(CallStatus status);  // busy, commit timeout, ledger unavailable: 503
Problem read_failed();                   // the history store did not answer: 503
Problem bad_request(const BadRequest& error);

// --- Accounts ----------------------------------------------------------------------------
Mapped<Command> map_create_account(const Body& body, Uint128 fresh_id);
Mapped<Command> map_update_account(Uint128 id, const Body& body);
Command map_close_account(Uint128 id);
Command lookup_account(Uint128 id);
Response account_answer(const CommandResult& result, bool creating, unsigned version);
// The same, with the account's IBAN (GET /v1/accounts/{id}, creation).
Response account_answer(const CommandResult& result, bool creating, unsigned version,
                        const std::string& iban);
// The optional "iban" of POST /v1/accounts, normalized ("" when absent).
Mapped<std::string> map_account_iban(const Body& body);
Mapped<AccountListQuery> map_list_accounts(const Query& query);
Response accounts_answer(const AccountList& list, const std::vector<CommandResult>& accounts,
                         unsigned version);
Mapped<HistoryQuery> map_history(Uint128 account, const Query& query);
// `current`: each transfer of the page as the engine holds it now (its state, what is held).
Response history_answer(const HistoryPage& page, const std::vector<CommandResult>& current,
                        unsigned version);
struct StatementRequest {
  StatementQuery query;
  bool csv = false;
};
Mapped<StatementRequest> map_statement(Uint128 account, const Query& query);
Response statement_answer(const StatementRequest& request, const Account& account,
                          const Statement& statement, unsigned version);

// --- Transfers ---------------------------------------------------------------------------
Mapped<Command> map_create_transfer(const Body& body);
struct Batch {
  std::vector<Command> commands;
  bool atomic = false;
};
Mapped<Batch> map_batch(const Body& body);
// POST /v1/transfers/{id}/post and /void. Without an `id` in the body, the id is derived from
// the hold and the request's content: a retry of the same request is idempotent, a corrected
// one (another amount) is a new request.
Mapped<Command> map_resolve(Uint128 pending_id, const Body& body, bool post);
Command lookup_transfer(Uint128 id);
Response transfer_answer(const CommandResult& result, bool resolution, unsigned version);
Response batch_answer(const Batch& batch, const std::vector<CommandResult>& results,
                      unsigned version);

// --- Cards -------------------------------------------------------------------------------
Mapped<Command> map_create_card(const Body& body, std::string_view pan_secret, Uint128 fresh_id);
Mapped<Command> map_update_card(Uint128 id, const Body& body);
Command lookup_card(Uint128 id);
Response card_answer(const CommandResult& result, bool creating, unsigned version);

// --- Direct debits -------------------------------------------------------------------------
struct DirectDebitPolicy {
  std::uint64_t settlement_minute = 6 * 60;  // minutes after 00:00 UTC on the due date
  std::uint64_t wait_ns = 48ULL * 3600 * 1'000'000'000;
  std::uint64_t margin_ns = 4ULL * 3600 * 1'000'000'000;
  std::string iban_country = "DE";  // generated IBANs: country and bank code
  std::string iban_bank_code = "10010010";
  std::string bic = "LEDGDEFFXXX";         // this bank: the debtor agent in the files it writes
  std::uint32_t compensation_rate_bp = 0;  // a refund's compensation: yearly rate, basis points
};
// SEPA credit transfers (docs/credit-transfers.md): the outbound endpoints and the scheme's
// parameters (LEDGER_SCT_*, LEDGER_VOP_*).
// /v1/card-clearing and /v1/disputes (docs/card-clearing.md).
struct CardClearingPolicy {
  iso8583::CardRules card_rules = iso8583::default_card_rules();  // over-clearing tolerance
  std::uint32_t match_days = 30;  // an authorization up to this many days before the sale
  // Clearing records posted per second by one import (0: as fast as the ledger takes them).
  std::uint32_t import_records_per_second = 0;
  // The chargeback time limit per dispute reason, days from the processing date.
  std::map<std::string, std::uint32_t> chargeback_days = {{"fraud", 120},
                                                          {"not_received", 120},
                                                          {"not_as_described", 120},
                                                          {"duplicate", 120},
                                                          {"amount", 120}};
  std::uint32_t representment_days = 45;             // the acquirer's window after the chargeback
  std::uint32_t chargeback_cutoff_minute = 18 * 60;  // the daily chargeback file (UTC)
  bool auto_cutoff = true;
};
struct CreditTransferPolicy {
  std::string inst_url;  // empty: instant transfers out answer 503
  std::string inst_token;
  std::uint32_t inst_timeout_ms = 10'000;
  std::int64_t inst_max_amount = 10'000'000;
  std::uint32_t cutoff_minute = 14 * 60;
  std::string vop_url;  // empty: no payee check (not_checked)
  std::string vop_token;
};
// /v1/credit-transfers (docs/credit-transfers.md, credit_transfers_mapping.cc).
struct OutgoingCreditTransfer {
  CreditTransferRecord ct;
  bool confirm_payee = false;
  bool date_given = false;
};
// POST /v1/credit-transfers {id, account_id, creditor: {name, iban, bic?}, amount, currency,
// remittance_information?, end_to_end_id?, instant, requested_execution_date?, confirm_payee?}.
Mapped<OutgoingCreditTransfer> map_credit_transfer(const Body& body, Uint128 fresh_id);
struct RecallDecision {
  bool accept = false;
  std::string reason;  // a refusal's (CUST by default)
};
// POST /v1/credit-transfers/{id}/recall {reason}: DUPL, TECH, FRAD, CUST, AM09 or AC03.
Mapped<std::string> map_recall_request(const Body& body);
// POST /v1/credit-transfers/{id}/recall-decision {accept, reason?}.
Mapped<RecallDecision> map_recall_decision(const Body& body);
nlohmann::json credit_transfer_json(const CreditTransferRecord& c);
// What a retry under the same id must repeat.
std::string credit_request_digest(const CreditTransferRecord& c);
// An id for a key (an incoming transfer's instructing bank and transaction id, a pain.001
// payment's account and end-to-end id): FNV-1a two ways, version 8 (custom).
Uint128 credit_key_id(std::string_view key);
// A UUID's 32 hex digits (fits Max35Text).
std::string compact_uuid(Uint128 id);
// An engine refusal as an ISO 20022 reason code (AM04, AC04, AC06, AC01, AG01; MS03 else).
std::string iso_reason_of(TransferResult r);

struct DirectDebitInput {
  DirectDebit collection;  // id, account (or zero with an IBAN), amount, due day, scheme, times
  DirectDebitDetails details;
  bool id_given = false;  // the client named it (id or Idempotency-Key), else a fresh id
};
// The settlement time, wait window and latest deadline of a collection from its due day.
void schedule_collection(const DirectDebitPolicy& policy, DirectDebit* dd);
// POST /v1/direct-debits {id?, end_to_end_id, mandate_reference, mandate_signature_date?,
// creditor_id, creditor_name, scheme?, sequence_type?, amount, currency?, due_date, account_id |
// debtor_iban}. `now_ns` is the ledger's clock (due dates in the past are refused).
Mapped<DirectDebitInput> map_direct_debit(const Body& body, Uint128 fresh_id, std::uint64_t now_ns,
                                          const DirectDebitPolicy& policy);
// A transaction of an imported document refused for its format: what can be read of it (each
// field kept when valid; otherwise NOTPROVIDED, amount 0, the due date today), so that the
// refusal is stored and reported in the day's pacs.002 with the references it had.
DirectDebitInput map_refused_direct_debit(const nlohmann::json& body, Uint128 fresh_id,
                                          std::uint64_t now_ns, const DirectDebitPolicy& policy);
nlohmann::json direct_debit_change_json(const DirectDebit& dd);
nlohmann::json direct_debit_json(const DirectDebitView& view);  // the contract's collection
Mapped<MandateRules> map_mandate_rules(const Body& body);

// Verification of Payee (docs/payee-verification.md). PUT /v1/accounts/{id}/holder-name:
// {"holder_name"}, 1 to 140 characters of UTF-8 text without control characters.
Mapped<std::string> map_holder_name(const Body& body);
// POST /v1/payee-verifications: {"iban", "name"}; the IBAN normalized (spaces removed, upper
// case) and checked (ISO 13616), the name as map_holder_name's.
struct PayeeCheck {
  std::string iban;
  std::string name;
};
Mapped<PayeeCheck> map_payee_check(const Body& body);
nlohmann::json mandate_rules_json(AccountId account, const MandateRules& rules);

// --- Balance monitors ---------------------------------------------------------------------
// POST /v1/balance-monitors {id?, account_id, field, operator, threshold}.
Mapped<Command> map_create_monitor(const Body& body, Uint128 fresh_id);
Command monitor_command(CommandKind kind, Uint128 id);  // delete_monitor, lookup_monitor
Mapped<MonitorListQuery> map_list_monitors(const Query& query);
Response monitor_answer(const CommandResult& result, bool creating, unsigned version);
Response monitors_answer(const std::vector<BalanceMonitor>& monitors, unsigned version);

// --- Spike rules ---------------------------------------------------------------------------
// POST /v1/spike-rules {id?, scope, scope_id?, direction?, window_s, amount_at_least, currency,
// times_usual?, cooldown_s?}.
Mapped<SpikeRule> map_create_spike_rule(const Body& body, Uint128 fresh_id);
nlohmann::json spike_rule_json(const SpikeRule& rule);
Response spike_rule_answer(const SpikeRuleReply& reply, bool creating, unsigned version);
Response spike_rules_answer(const SpikeRuleReply& reply, unsigned version);

// --- API keys (admin) ---------------------------------------------------------------------
// POST /v1/keys {name, scope, expires_in_days?}: name, scope and expiry of a new key (the
// key itself, its hash and prefix are added by the route).
Mapped<NewApiKey> map_create_key(const Body& body);
// `key`: the new key's text, shown this once (creation only); "" otherwise.
Response key_answer(const ApiKeyRecord& record, std::string_view key, unsigned version);
Response keys_answer(const std::vector<ApiKeyRecord>& keys, unsigned version);

// --- Audit -------------------------------------------------------------------------------
Mapped<AuditQuery> map_audit_query(const Query& query);

// GET /v1/events: the feed after a cursor, waiting up to wait_ms for a first event.
struct EventsRequest {
  EventQuery query;
  std::uint32_t wait_ms = 0;
};
Mapped<EventsRequest> map_events_query(const Query& query);
Response events_answer(const EventPage& page, unsigned version);

// /v1/webhook-subscriptions (docs/events.md).
struct WebhookContext {
  std::string seal_key;  // 32 bytes (LEDGER_WEBHOOK_KEY); empty: subscriptions cannot be made
  outbound::Allowlist allowlist;
};
// secret: the new whsec_ secret, shown once in the answer.
Mapped<WebhookRequest> map_create_subscription(const Body& body, const WebhookContext& w,
                                               Uint128 fresh_id, std::string* secret);
Mapped<WebhookRequest> map_update_subscription(Uint128 id, const Body& body,
                                               const WebhookContext& w);
Mapped<WebhookRequest> map_replay(Uint128 id, const Body& body);
nlohmann::json subscription_json(const WebhookSubscription& subscription);
nlohmann::json delivery_json(const WebhookDelivery& delivery);
Response audit_answer(const AuditPage& page, unsigned version);

}  // namespace ledger::http
