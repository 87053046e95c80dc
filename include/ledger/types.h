// The ledger's records, shared by the engine, the journal and the network edges. Fixed-size
// and trivially copyable: they cross the ingress queue and the journal hand-off by value,
// and live in preallocated arrays.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "ledger/ids.h"
#include "ledger/limits.h"
#include "ledger/money.h"
#include "ledger/results.h"

namespace ledger {

enum class AccountKind : std::uint16_t { customer, settlement, fees, suspense, revenue, internal };
enum class AccountStatus : std::uint8_t { active, frozen, closed };

// Account flags (bit set).
inline constexpr std::uint16_t debits_must_not_exceed_credits = 1u << 0;  // no overdraft
inline constexpr std::uint16_t credits_must_not_exceed_debits = 1u << 1;
inline constexpr std::uint16_t account_flags_known = 0x3;  // the two above (exclusive)
// A setting, changeable (PATCH): incoming money stays usable by new card authorizations and
// other debits; collections waiting for funds are paid at their deadline if the balance then
// covers them. Without it (the default) every credit pays the waiting collections first.
inline constexpr std::uint16_t cards_before_direct_debits = 1u << 2;
inline constexpr std::uint16_t account_settings = cards_before_direct_debits;

// Transfer flags (bit set).
inline constexpr std::uint16_t flag_linked = 1u << 0;              // chain with the next transfer
inline constexpr std::uint16_t flag_pending = 1u << 1;             // place a hold
inline constexpr std::uint16_t flag_post_pending = 1u << 2;        // post a hold (fully or partly)
inline constexpr std::uint16_t flag_void_pending = 1u << 3;        // release a hold
inline constexpr std::uint16_t flag_force = 1u << 4;               // network advice: past limits
inline constexpr std::uint16_t flag_allow_over_capture = 1u << 5;  // post more than held
inline constexpr std::uint16_t flag_expiry = 1u << 6;         // engine-made void of an expired hold
inline constexpr std::uint16_t transfer_flags_client = 0x3F;  // flags a client may set

// What kind of money movement a transfer is, for reporting (code in the API).
enum class TransferCode : std::uint16_t {
  internal,
  card_authorization,
  card_capture,
  card_refund,
  card_reversal,
  card_financial,
  fee,
  deposit,
  withdrawal,
  expiry,
  direct_debit,         // engine-made: a SEPA collection paid (customer or suspense -> clearing)
  direct_debit_return,  // engine-made: an unfunded collection returned (clearing -> suspense)
  direct_debit_refund,  // engine-made: a collection refunded (clearing -> customer)
  // SEPA credit transfers (docs/credit-transfers.md), each with its credit transfer's id in
  // reference_a/reference_b; made by the REST edge, never accepted from a client:
  credit_transfer,          // regular SCT out: hold at acceptance, posted when filed (sent)
  credit_transfer_instant,  // SCT Inst out: hold at acceptance, posted on the pacs.002 ACCP
  credit_transfer_reject,   // a sent SCT rejected by the clearing house (clearing -> customer)
  credit_transfer_return,   // returned (pacs.004): clearing -> customer, or customer -> clearing
  credit_transfer_in,       // SCT or SCT Inst received: clearing -> customer
  // Card clearing (docs/card-clearing.md): one engine command per clearing record decides these
  // (reference_a/reference_b: the card's id), never accepted from a client.
  card_clearing,           // a presentment matched to its authorization: its hold posted, or
                           // (the hold already cleared) a further posting customer -> settlement
  card_force_post,         // a presentment without a usable authorization (unknown, expired,
                           // released): customer -> settlement, forced (into overdraft)
  card_clearing_refund,    // a credit presentment (a refund): settlement -> customer
  card_clearing_reversal,  // a presentment reversed: exactly its posting, the other way
  // Disputes (docs/card-clearing.md), made by the REST edge with the dispute's id in
  // reference_a/reference_b: the chargeback claimed (a hold settlement -> disputes), the
  // provisional credit (provisional -> customer), the chargeback filed (the hold posted), the
  // acquirer's second presentment (disputes -> settlement), and the outcome.
  dispute_opened,
  dispute_credit,
  dispute_charged_back,
  dispute_representment,
  dispute_won,   // disputes -> provisional (the provisional credit stands), or -> customer
  dispute_lost,  // customer -> provisional (the provisional credit taken back), or the full
                 // representment of a dispute without provisional credit
};

enum class PendingState : std::uint8_t { none, open, posted, voided, expired };

enum class CardStatus : std::uint8_t { active, frozen, blocked };  // blocked is final

// Channel switches of a card (bit set; a set bit means allowed).
inline constexpr std::uint8_t channel_online = 1u << 0;
inline constexpr std::uint8_t channel_atm = 1u << 1;
inline constexpr std::uint8_t channel_contactless = 1u << 2;
inline constexpr std::uint8_t channel_abroad = 1u << 3;
inline constexpr std::uint8_t channels_all = 0xF;

using limits::card_blocked_mccs_max;

// Card spending limits count approved card spending (holds and single-message postings, less
// what reversals released) by the UTC calendar day of the authorization: "daily" is today's
// UTC date, "monthly" is the last 30 UTC dates including today.
struct CardControls {
  std::int64_t per_authorization_limit = 0;  // minor units; 0: no limit
  std::int64_t daily_limit = 0;              // this UTC day; 0: no limit
  std::int64_t monthly_limit = 0;            // the last 30 UTC days, today included; 0: no limit
  std::uint32_t daily_count_limit = 0;       // authorizations this UTC day; 0: no limit
  std::uint8_t channels = channels_all;
  std::uint8_t blocked_mcc_count = 0;
  std::uint16_t blocked_mccs[card_blocked_mccs_max] = {};
};

// Leading digits of a PAN that are shown and stored (PCI DSS: at most the first six and the
// last four): 6 for PANs of 16 digits or more, fewer for shorter ones, so that at least six
// digits always stay hidden between them and the last four.
inline constexpr std::size_t card_bin_digits_max = 6;
constexpr std::size_t shown_leading_digits(std::size_t pan_length) {
  return pan_length >= 16 ? card_bin_digits_max : pan_length > 10 ? pan_length - 10 : 0;
}

// A payment card. The PAN itself is never stored: only its keyed hash (HMAC-SHA256 with the
// configured secret), its leading digits (shown_leading_digits) and its last four digits.
struct Card {
  CardId id;
  AccountId account_id;
  std::uint8_t pan_hash[32] = {};
  char bin[card_bin_digits_max] = {};  // shown_leading_digits of the PAN, NUL padded
  char last4[4] = {};
  std::uint16_t expiry_yymm = 0;  // e.g. 2812 for December 2028
  CardStatus status = CardStatus::active;
  CardControls controls;
  std::uint64_t timestamp = 0;  // last change
  std::uint64_t created_timestamp = 0;
};

// A change to some of a card's controls: only the fields named in `fields` (control_* bits)
// and the channels named in channels_on / channels_off change; the rest keep their value.
// Merged on the engine thread, so two changes of different controls never undo each other.
inline constexpr std::uint8_t control_per_authorization_limit = 1u << 0;
inline constexpr std::uint8_t control_daily_limit = 1u << 1;
inline constexpr std::uint8_t control_monthly_limit = 1u << 2;
inline constexpr std::uint8_t control_daily_count_limit = 1u << 3;
inline constexpr std::uint8_t control_blocked_mccs = 1u << 4;

struct CardControlsPatch {
  std::uint8_t fields = 0;        // control_* bits: which values below apply
  std::uint8_t channels_on = 0;   // channel_* bits switched on
  std::uint8_t channels_off = 0;  // channel_* bits switched off
  CardControls values;            // the new values of the fields named above
};

// Applies a patch (pure; used by the engine and by card creation at the edge).
void apply_controls_patch(const CardControlsPatch& patch, CardControls* controls);

// Authorization kinds (ISO 8583 DE3 processing code, first two digits: 00 purchase, 09 with
// cash-back and 11 quasi-cash as purchases, 01 cash, 20 refund, 30/31 balance inquiry; a
// purchase of amount 0 is an account verification).
enum class AuthorizationKind : std::uint8_t {
  purchase,
  cash,
  refund,
  balance_inquiry,
  verification
};

// A card-network message, decided by the engine in one command: an authorization (ISO 8583
// 0100/0200, and 0120 advices with `force`), a completion (0220) or a reversal (0400/0420, a
// 0120 that reports the network's decline, and the late rule). The edge has checked the
// Where a card message comes from, as a person reads it (ISO 8583 DE43 name and city, the
// country, the channel): journaled beside the message's transfer for the event feed, never
// used to decide. Text fields are space-trimmed ASCII, NUL padded.
enum class CardChannel : std::uint8_t { unknown, card_present, online, atm, contactless };
struct Merchant {
  char name[25] = {};
  char city[13] = {};
  char country[3] = {};  // DE43 positions 39-40 (alpha-2), else DE19 (numeric, 3 digits)
  CardChannel channel = CardChannel::unknown;
};

// message and hashed the PAN; the engine decides with the card's controls and the
// transaction's transfers (ledger/card_ids.h).
struct Authorization {
  // Authorization: its transfer id, derived from the network's keys (repeats find it).
  // Incremental authorization, reversal: the message's own key (repeats find their slot).
  TransferId id;
  TransferId original;  // completion, reversal, incremental: the authorization referred to
  std::uint8_t pan_hash[32] = {};
  // Authorization: the amount asked (an advice: the amount the network approved).
  // Completion: the final amount. Reversal: unused. In the card account's currency.
  std::int64_t amount = 0;
  std::int64_t replacement = 0;  // reversal: what the transaction comes to now (0: nothing)
  // Purchase with cash-back (DE3 09): the cash part of `amount` (DE54 amount type 40). When
  // the funds cover the purchase but not the cash, the purchase alone is approved (DE39 87).
  std::int64_t cash_back = 0;
  // The network's reference of the transaction (card_ids::reference_key of DE37, DE11 and
  // DE32; 0: none): kept on an authorization, and how a follow-up without DE90 finds it.
  std::uint32_t reference = 0;
  // Completion above the held amount H: allowed up to max(H + H * pct / 100, max).
  std::int64_t over_capture_max = 0;
  std::uint16_t over_capture_pct = 0;
  Currency currency;
  std::uint16_t mcc = 0;          // DE18
  std::uint16_t expiry_yymm = 0;  // DE14 or DE35 (0: not sent)
  std::uint16_t today_yymm = 0;   // the edge's date (the engine reads no clock)
  std::uint8_t channels = 0;      // channel_* bits this authorization uses
  AuthorizationKind kind = AuthorizationKind::purchase;
  bool partial_allowed = false;  // the acquirer supports partial approval
  bool force = false;            // an advice: the network already decided to approve
  bool post_now = false;         // single message (0200, refund): post at once, no hold
  bool incremental = false;      // 0100 adding to `original`'s holds
  bool release_only = false;     // reversal: release holds, never refund a posting
  // Reversal: the deadline rule's (the network was answered 91 at answer_by_ns); its key is
  // card_ids::late_rule_key(answer_by_ns) instead of the message's.
  bool late_rule = false;
  std::uint32_t hold_timeout_s = 0;  // how long an approved hold lives
  // Authorization: when the network's answer is due (the edge's wall clock, ns since the
  // epoch; 0: no deadline). Journaled beside the authorization, so that whoever holds the lease
  // can find approvals that committed after it (late_approvals.h).
  std::uint64_t answer_by_ns = 0;
  Merchant merchant;  // for the journal and the event feed only
};

// One record of a card scheme's clearing file (ISO 8583:1993 1240), as the engine decides it
// (docs/card-clearing.md). The edge has parsed and checked the record and hashed the PAN; the
// engine finds the authorization and posts.
enum class ClearingKind : std::uint8_t {
  presentment,  // a debit presentment (first, or a second presentment outside a dispute)
  refund,       // a credit presentment: the cardholder is credited
  reversal,     // a presentment reversed: `original` is the reversed record's id
};
// How a presentment found its authorization (CommandResult::detail of clear_card).
enum class ClearingMatch : std::uint8_t {
  none,           // no authorization: force posted
  life_cycle,     // by the transaction life cycle id
  approval_code,  // by the card, the approval code, the amount window and the date window
};
// What the posting was (CommandResult::detail2 of clear_card).
enum class ClearingOutcome : std::uint8_t {
  posted,                   // the hold posted with the clearing amount (the rest released)
  posted_beyond_tolerance,  // above the hold beyond the MCC group's tolerance: posted, flagged
  posted_again,             // the authorization's hold was cleared already (a split shipment)
  force_unknown,            // no authorization found
  force_expired,            // its hold expired
  force_released,           // its hold was released (reversed, voided)
  refunded,
  reversed,
  completed_online,  // its authorization was completed by a 0220 already: nothing posted again
};
struct CardClearing {
  TransferId id;        // the record's posting (derived from the acquirer reference data)
  TransferId original;  // reversal: the id of the presentment it reverses
  std::uint8_t pan_hash[32] = {};
  std::uint64_t life_cycle = 0;       // card_ids::life_cycle_key of DE63 (0: none sent)
  std::uint32_t approval_code = 0;    // card_ids::approval_code_value of DE38 (0: none)
  std::int64_t amount = 0;            // cardholder billing amount (the card account's currency)
  std::int64_t over_capture_max = 0;  // the MCC group's tolerance (as for 0220)
  std::uint16_t over_capture_pct = 0;
  Currency currency;
  std::uint16_t mcc = 0;
  std::uint64_t transaction_ns = 0;  // the local transaction date (DE12), start of its day
  std::uint32_t match_days = 30;     // the date window: authorizations up to this many days before
  ClearingKind kind = ClearingKind::presentment;
  Merchant merchant;  // journaled beside the posting for the event feed
};

struct CardUpdate {
  CardId id;
  bool set_status = false;
  CardStatus status = CardStatus::active;
  CardControlsPatch controls;
};

// An account's running totals: 128 bits, so that no sequence of int64 transfers can overflow
// them (2^64 transfers of the largest amount would be needed). Amounts stay int64.
using Sum = __int128;

struct Account {
  AccountId id;
  HolderId holder_id;
  Sum debits_pending = 0;
  Sum debits_posted = 0;
  Sum credits_pending = 0;
  Sum credits_posted = 0;
  std::int64_t overdraft_limit = 0;          // minor units the account may go below zero
  std::int64_t overdraft_limit_created = 0;  // as created (idempotent create compares it)
  std::uint64_t reference = 0;               // caller's own key
  std::uint64_t timestamp = 0;               // logical time of the last change (creation or update)
  std::uint64_t created_timestamp = 0;       // logical time of creation
  Currency currency;
  AccountKind kind = AccountKind::customer;
  std::uint16_t flags = 0;
  AccountStatus status = AccountStatus::active;
  std::uint32_t open_pending = 0;    // holds not yet posted, voided or expired
  std::uint32_t monitors = 0;        // balance monitors watching it (engine state, not journaled)
  std::uint32_t waiting_debits = 0;  // direct debits waiting for funds (engine state)
};

// A balance monitor: watches one balance of one account against a threshold, on the engine
// thread after every command that changes the account. `triggered` is whether the condition
// held after the last change; a crossing (false -> true or true -> false) is journaled as the
// monitor with its new state, and is the event balance_monitor.triggered / .resolved.
enum class BalanceField : std::uint8_t { available, posted, pending };
enum class BalanceOperator : std::uint8_t { less, less_equal, greater, greater_equal };
enum class MonitorChange : std::uint8_t { created, triggered, resolved, deleted };
struct BalanceMonitor {
  MonitorId id;
  AccountId account_id;
  Sum value = 0;                // the balance when the state was last set
  std::int64_t threshold = 0;   // minor units of the account's currency
  std::uint64_t timestamp = 0;  // logical time of the last change (creation, crossing, deletion)
  std::uint64_t created_timestamp = 0;
  Currency currency;  // the account's
  BalanceField field = BalanceField::available;
  BalanceOperator op = BalanceOperator::less;
  MonitorChange change = MonitorChange::created;  // what the last change was
  bool triggered = false;
  bool deleted = false;
};

// A spending spike found by the spike watcher (off the authorization path, from the event
// feed) and journaled through the engine so that its event takes its place in the feed's
// sequence. Not ledger state: recovery skips it.
enum class SpikeScope : std::uint8_t { card, account, holder };
enum class SpikeDirection : std::uint8_t { out, in };
struct SpendingSpike {
  Uint128 rule_id;
  Uint128 key;           // the card, account or holder whose window spiked
  AccountId account_id;  // the account of the transfer that completed the spike
  Sum usual = -1;        // the window's average sum over the trailing 28 days (-1: not asked)
  std::int64_t window_sum = 0;  // minor units moved in the window
  std::int64_t amount_at_least = 0;
  std::uint64_t timestamp = 0;     // given by the engine
  std::uint64_t window_start = 0;  // logical time of the first transfer in the window
  std::uint32_t window_s = 0;
  std::uint32_t count = 0;             // transfers in the window
  std::uint32_t times_usual_x100 = 0;  // the rule's factor, in hundredths (0: none)
  Currency currency;
  SpikeScope scope = SpikeScope::account;
  SpikeDirection direction = SpikeDirection::out;
};

// An incoming SEPA direct debit (a collection) as the engine decides it. The descriptive
// fields (end-to-end id, mandate, creditor) live in PostgreSQL (direct_debits); the engine
// keeps what decides the money: the account, the amount, the dates and the state.
//   received -> paid                      (covered at the due date's settlement time)
//   received -> waiting_for_funds -> paid (a later credit covers it before the deadline)
//                                 -> returned AM04 (still unfunded at the deadline)
//   received -> refused (AC04/AC06 at settlement; or at receipt: AC01, AM05, MS02, MD01, ...)
//   paid -> refunded (MD06 within 8 weeks, MD01 within 13 months; core scheme only)
// Postings (ids derived from the collection's, Engine::direct_debit_transfer_id):
//   paid on time: customer -> clearing. Waiting: suspense -> clearing (the interbank
//   settlement happened), then customer -> suspense when paid late, or clearing -> suspense
//   when returned. Refund: clearing -> customer. Suspense nets to zero per collection.
enum class DirectDebitStatus : std::uint8_t {
  received,
  refused,
  waiting_for_funds,
  paid,
  returned,
  refunded,
  reversed  // the creditor's bank reversed it after settlement (pacs.007): the money is back
};
enum class DirectDebitScheme : std::uint8_t { core, b2b };
enum class SequenceType : std::uint8_t { frst, rcur, ooff, fnal };
// What the last change was (the event it is): direct_debit.<change>.
enum class DirectDebitChange : std::uint8_t {
  received,
  refused,
  at_risk,
  waiting_for_funds,
  paid,
  returned,
  refunded,
  reversed
};
struct DirectDebit {
  DirectDebitId id;
  AccountId account_id;               // zero when the debtor is unknown (refused AC01)
  std::int64_t amount = 0;            // minor units (EUR)
  std::uint64_t settle_at = 0;        // ns: the due date's settlement time
  std::uint64_t wait_window_ns = 0;   // how long an unfunded collection may wait
  std::uint64_t latest_deadline = 0;  // ns: the return deadline less the margin
  std::uint64_t wait_deadline = 0;    // ns: set when it starts waiting (0: not waiting)
  std::uint64_t paid_at = 0;          // logical time of the payment (0: not paid)
  std::uint64_t timestamp = 0;        // logical time of the last change
  std::uint64_t created_timestamp = 0;
  std::int64_t missing = 0;  // waiting_for_funds / at_risk: what the balance lacked
  std::int32_t due_day = 0;  // days since 1970-01-01
  Currency currency;         // EUR
  DirectDebitScheme scheme = DirectDebitScheme::core;
  SequenceType sequence = SequenceType::ooff;
  DirectDebitStatus status = DirectDebitStatus::received;
  DirectDebitChange change = DirectDebitChange::received;
  std::uint8_t reason = 0;       // sepa::Reason (receive: a refusal decided at the edge;
                                 // refund: MD06 or MD01)
  bool at_risk_checked = false;  // the day-before check ran
  bool late = false;             // paid after waiting for funds
};

// One transfer as stored: the body the client sent, the result, and its effect.
struct Transfer {
  TransferId id;
  AccountId debit_account_id;  // for post/void: filled from the pending transfer
  AccountId credit_account_id;
  TransferId pending_id;              // post/void: the hold this resolves
  std::int64_t amount = 0;            // as requested (post: 0 means the full held amount)
  std::int64_t amount_effective = 0;  // what moved: the posted or released amount; 0 if rejected
  std::uint64_t reference_a = 0;
  std::uint64_t reference_b = 0;
  std::uint64_t timestamp = 0;  // logical time, unique and strictly increasing
  std::uint32_t reference_32 = 0;
  std::uint32_t timeout_s = 0;  // pending: seconds until the hold expires (0: never)
  Currency currency;
  std::uint16_t flags = 0;
  TransferCode code = TransferCode::internal;
  TransferResult result = TransferResult::ok;
  PendingState pending_state = PendingState::none;  // for holds: open until resolved
};

struct AccountUpdate {
  AccountId id;
  bool set_overdraft_limit = false;
  bool set_status = false;
  bool set_cards_before_direct_debits = false;
  bool cards_before_direct_debits = false;
  std::int64_t overdraft_limit = 0;
  AccountStatus status = AccountStatus::active;  // active, frozen or closed
};

enum class CommandKind : std::uint8_t {
  create_account,
  update_account,
  create_transfer,
  lookup_account,
  lookup_transfer,
  create_card,
  update_card,
  lookup_card,
  authorize,             // body.authorization: 0100/0200/0120
  card_completion,       // body.authorization: 0220
  card_reversal,         // body.authorization: 0400/0420, or a 0120 reporting a decline
  create_monitor,        // body.monitor: id, account_id, field, op, threshold
  delete_monitor,        // body.monitor_id
  lookup_monitor,        // body.monitor_id
  record_spike,          // body.spike: journal a spending spike (the engine only timestamps it)
  receive_direct_debit,  // body.direct_debit: a new collection (reason: refused at the edge)
  refund_direct_debit,   // body.direct_debit: id and reason (MD06 or MD01)
  lookup_direct_debit,   // body.direct_debit.id
  refuse_direct_debit,   // body.direct_debit: id and reason; only while it is still received
  reverse_direct_debit,  // body.direct_debit: id, amount and reason of a pacs.007; paid only
  clear_card,            // body.clearing: one record of a card clearing file
};

// One request to the engine. `tag` is opaque to the engine and comes back with the result
// (the network layer uses it to find the waiting session).
struct Command {
  CommandKind kind = CommandKind::lookup_account;
  std::uint32_t enqueued_us = 0;  // steady clock, microseconds mod 2^32: queue-wait metric
  std::uint64_t tag = 0;
  union Body {
    Account account;  // create_account: id, holder_id, currency, kind, flags, overdraft, ref
    AccountUpdate update;
    Card card;  // create_card
    CardUpdate card_update;
    CardId card_id;
    Authorization authorization;
    Transfer transfer;  // create_transfer: the client-settable fields
    AccountId account_id;
    TransferId transfer_id;
    BalanceMonitor monitor;
    MonitorId monitor_id;
    SpendingSpike spike;
    DirectDebit direct_debit;
    CardClearing clearing;
    Body() : transfer() {}
  } body;
};

struct CommandResult {
  CommandKind kind = CommandKind::lookup_account;
  std::uint64_t tag = 0;
  std::uint8_t code = 0;          // TransferResult or AccountResult; lookups: 0 found, 1 not found
  std::uint32_t failed_link = 0;  // linked chains: index in the chain of the failing transfer
  // clear_card: the authorization found (zero: none), ClearingMatch and ClearingOutcome.
  TransferId related;
  std::uint8_t detail = 0;
  std::uint8_t detail2 = 0;
  union Value {
    Account account;           // account commands: the account after the command
    Transfer transfer;         // transfer commands: the stored transfer (original on exists)
    Card card;                 // card commands: the card after the command
    BalanceMonitor monitor;    // monitor commands: the monitor after the command
    DirectDebit direct_debit;  // direct debit commands: the collection after the command
    Value() : transfer() {}
  } value;
  TransferResult transfer_result() const { return static_cast<TransferResult>(code); }
  CardResult card_result() const { return static_cast<CardResult>(code); }
  AccountResult account_result() const { return static_cast<AccountResult>(code); }
  MonitorResult monitor_result() const { return static_cast<MonitorResult>(code); }
  DirectDebitResult direct_debit_result() const { return static_cast<DirectDebitResult>(code); }
};

// What the journal must write so that recovery can rebuild the exact state.
// The merchant of a card message, beside the first transfer the message produced (same
// timestamp). Not ledger state: recovery skips it; the event feed reads it.
struct CardMessage {
  TransferId transfer;
  std::uint64_t timestamp = 0;  // the transfer's
  std::uint16_t mcc = 0;
  Merchant merchant;
  std::uint64_t answer_by = 0;  // an authorization's Authorization::answer_by_ns
};

enum class RecordKind : std::uint8_t {
  account,
  transfer,
  card,
  card_message,
  monitor,
  spike,
  direct_debit
};
// An account's balances right after a change, on its normal side (known false: not given, or
// beyond 64 bits).
struct BalanceAfter {
  std::int64_t posted = 0;
  std::int64_t available = 0;
  bool known = false;
};
struct JournalRecord {
  RecordKind kind = RecordKind::transfer;
  union Value {
    Account account;           // account created or updated: its settings (balances are derived)
    Transfer transfer;         // every transfer with its result, accepted or rejected
    Card card;                 // card created or updated
    CardMessage card_message;  // the merchant of a card message
    BalanceMonitor monitor;    // a monitor created, crossing its threshold, or deleted
    SpendingSpike spike;       // a spending spike (the event spending.spike)
    DirectDebit direct_debit;  // a collection received or changed (its postings are transfers)
    Value() : transfer() {}
  } value;
  // The balances of the record's accounts right after it (a: a transfer's debit account or
  // the account a direct debit concerns; b: a transfer's credit account), set by the engine
  // for accepted transfers and direct-debit changes. They go to the record's event (the feed
  // shows them); the record itself is journaled without them (replay derives balances).
  BalanceAfter after_a;
  BalanceAfter after_b;
};

// The record's logical timestamp (unique across records of all kinds but card_message, which
// shares its transfer's).
inline std::uint64_t record_timestamp(const JournalRecord& record) {
  switch (record.kind) {
    case RecordKind::account:
      return record.value.account.timestamp;
    case RecordKind::card:
      return record.value.card.timestamp;
    case RecordKind::card_message:
      return record.value.card_message.timestamp;
    case RecordKind::monitor:
      return record.value.monitor.timestamp;
    case RecordKind::spike:
      return record.value.spike.timestamp;
    case RecordKind::direct_debit:
      return record.value.direct_debit.timestamp;
    case RecordKind::transfer:
      break;
  }
  return record.value.transfer.timestamp;
}

static_assert(std::is_trivially_copyable_v<Account>);
static_assert(std::is_trivially_copyable_v<Card>);
static_assert(std::is_trivially_copyable_v<CardMessage>);
static_assert(std::is_trivially_copyable_v<BalanceMonitor>);
static_assert(std::is_trivially_copyable_v<SpendingSpike>);
static_assert(std::is_trivially_copyable_v<DirectDebit>);
static_assert(std::is_trivially_copyable_v<Transfer>);
static_assert(std::is_trivially_copyable_v<CardClearing>);
static_assert(std::is_trivially_copyable_v<Command>);
static_assert(std::is_trivially_copyable_v<CommandResult>);
static_assert(sizeof(Transfer) <= 160);

}  // namespace ledger
