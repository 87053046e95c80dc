// Engine: the single-writer, in-memory double-entry state machine. It owns every account,
// transfer, hold and remembered transfer id. Pure: no I/O, no clock, no locks; time enters as
// the batch timestamp, so the same state and the same batches always give the same results.
//
// Thread: one engine thread owns an Engine; nothing here is safe to share.
//
// Checks for create_transfer run in this order and the first failure is the result:
//   id_must_not_be_zero (not remembered); the id exists -> exists (original was accepted),
//   the original rejection, or exists_with_different_<field> in the order flags,
//   debit_account_id, credit_account_id, amount, currency, pending_id, timeout, code,
//   reference_a, reference_b, reference_32 (for post/void, zero debit/credit/currency in the
//   retry are not compared); transfer_capacity_exhausted (not remembered);
//   flags_are_mutually_exclusive (more than one of pending/post/void, or unknown flags);
//   over_capture_requires_post_pending; pending_id_required / pending_id_must_differ (post,
//   void) or pending_id_must_be_zero (others); timeout_reserved_for_pending;
//   amount_must_be_positive (> 0 for single-phase and pending, >= 0 for post and void).
//   Single-phase and pending: accounts_must_be_different, debit_account_not_found,
//   credit_account_not_found, currency_mismatch, account_closed, account_frozen (debit side,
//   unless force), overflow, exceeds_available (unless force).
//   Post and void: pending_not_found, pending_is_not_pending,
//   pending_has_different_debit_account_id, pending_has_different_credit_account_id,
//   currency_mismatch, pending_already_posted / pending_already_voided / pending_expired,
//   amount_exceeds_pending (post above the hold without allow_over_capture, or a void of more
//   than held; a void of less releases that much and keeps the rest open), account_frozen
//   (the part above the hold of an over-capture is a new debit; unless force), overflow,
//   exceeds_available (over-capture beyond the balance, unless force).
// Running totals are 128 bits (Sum): `overflow` needs 2^64 maximal transfers, so in practice
// no sequence of transfers can lock an account.
// Every rejection past the capacity check is remembered: a retry gets the same answer.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/fixed_vector.h"
#include "engine/id_index.h"
#include "ledger/types.h"

namespace ledger::engine {

// Capacities, preallocated (ledgerd sets them from its configuration, whose defaults are in
// ledger/limits.h). Each card also keeps 434 bytes of velocity state.
struct EngineOptions {
  std::size_t accounts_max = limits::accounts_max_default;
  std::size_t transfers_max = limits::transfers_max_default;  // remembered ids, all results
  std::size_t cards_max = limits::cards_max_default;
  std::size_t monitors_max = limits::monitors_max;  // balance monitors ever created
};

struct BatchOutput {
  std::vector<CommandResult> results;  // one per command, in order
  std::vector<JournalRecord> records;  // every change, in order (incl. expiry voids)
  void reserve(std::size_t commands) {
    results.reserve(commands);
    records.reserve(commands * 2);
  }
};

struct CurrencyTotals {
  __int128 debits_posted = 0;
  __int128 credits_posted = 0;
  __int128 debits_pending = 0;
  __int128 credits_pending = 0;
  bool balanced() const {
    return debits_posted == credits_posted && debits_pending == credits_pending;
  }
};

class Engine {
 public:
  explicit Engine(const EngineOptions& options);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Expires holds due at `now_ns`, then applies the commands in order. Clears `out` first.
  // Logical time: each change gets max(now_ns, previous + 1), so timestamps strictly increase.
  void apply(const Command* commands, std::size_t count, std::uint64_t now_ns, BatchOutput* out);

  // Recovery: re-applies a journaled record's effects (no validation, invariants asserted).
  void replay(const JournalRecord& record);
  // Forgets everything (before a reload from PostgreSQL); capacity stays allocated.
  void clear();

  const Account* find_account(AccountId id) const;
  const Card* find_card(CardId id) const;
  // Cards are found by the keyed hash of their PAN (HMAC-SHA256, 32 bytes).
  const Card* find_card_by_pan(const std::uint8_t (&pan_hash)[32]) const;
  std::size_t card_count() const { return cards_.size(); }
  const Transfer* find_transfer(TransferId id) const;
  const BalanceMonitor* find_monitor(MonitorId id) const;
  const DirectDebit* find_direct_debit(DirectDebitId id) const;
  std::size_t direct_debit_count() const { return direct_debits_.size(); }
  // The earliest time at which the engine has work of its own (a hold to expire, a collection
  // to settle, check or return); UINT64_MAX: none. The pipeline ticks the engine then.
  std::uint64_t next_due_ns() const;
  std::size_t monitor_count() const { return monitors_.size(); }
  std::size_t account_count() const { return accounts_.size(); }
  std::size_t transfer_count() const { return transfers_.size(); }
  std::size_t open_pending_count() const { return open_pending_total_; }
  std::uint64_t last_timestamp() const { return last_timestamp_; }
  const EngineOptions& options() const { return options_; }

  std::map<std::uint32_t, CurrencyTotals> totals_by_currency() const;
  std::uint64_t state_hash() const;
  // Bytes preallocated per account and per remembered transfer id (arrays plus index slots).
  static std::size_t bytes_per_account();
  static std::size_t bytes_per_transfer();

  // The id of the engine-made void that releases an expired hold (deterministic).
  static TransferId expiry_id(TransferId pending_id, std::uint32_t attempt);
  // The card network's settlement account for a currency (created on first use).
  static AccountId settlement_account_id(Currency currency);
  // The SEPA clearing settlement and suspense accounts of direct debits (EUR; created on
  // first use), and the ids of a collection's postings (see DirectDebit in types.h).
  // The reject cut-off of a collection: the day before its settlement, at the settlement time.
  static std::uint64_t reject_cutoff(const DirectDebit& dd);
  static AccountId direct_debit_clearing_account_id();
  static AccountId direct_debit_suspense_account_id();
  enum class DebitPosting : std::uint8_t {
    paid = 1,
    funded,
    paid_late,
    returned,
    refunded,
    reversed
  };
  static TransferId direct_debit_transfer_id(DirectDebitId id, DebitPosting posting);
  // Approved card spending of a card: today (UTC day of `now_ns`) and the last 30 days.
  struct Spending {
    std::int64_t today = 0;
    std::int64_t last_30_days = 0;
    std::uint32_t count_today = 0;
  };
  Spending card_spending(CardId id, std::uint64_t now_ns) const;

  // Snapshots (snapshot.cc; docs/durability.md, "Snapshots"): the whole state as raw memory
  // regions (the arrays and the index tables, written as they are) plus a small encoded part
  // (counters, timers, the maps of monitors and waiting collections). Taken between batches.
  struct SnapshotRegion {
    std::uint32_t id = 0;
    const void* data = nullptr;
    std::size_t bytes = 0;
  };
  void snapshot(std::vector<SnapshotRegion>* regions, std::string* encoded) const;
  // Restoring: clear(), then restore_region() for each region (nullptr: unknown or does not
  // fit this engine: give up), then restore_encoded() (false: malformed). The caller then
  // checks state_hash() against the snapshot's before trusting it.
  void* restore_region(std::uint32_t id, std::size_t bytes);
  bool restore_encoded(std::string_view encoded);
  // What the raw regions depend on: the layout of every stored struct, the index tables'
  // sizes and the capacities. A snapshot with another fingerprint is never restored.
  std::uint64_t snapshot_layout() const;

 private:
  // What a linked chain changed, to put back if a later link fails.
  struct Undo {
    enum class Kind : std::uint8_t { account, hold, velocity } kind;
    std::uint32_t position;      // of the account, the hold, or the card (velocity)
    Account account;             // account: the account before the change
    PendingState pending_state;  // hold: its state before the change
    std::int64_t hold_amount;    // hold: its held amount
    std::uint32_t slot;          // velocity: the day slot and what it held
    std::uint32_t day;
    std::int64_t amount;
    std::uint16_t count;
  };

  void expire_due(std::uint64_t now_ns, BatchOutput* out);
  void apply_one(const Command& command, BatchOutput* out);
  std::size_t apply_chain(const Command* commands, std::size_t count, BatchOutput* out);
  void reject_open_chain(const Command* commands, std::size_t count, BatchOutput* out);

  // The transfers of one card transaction (ledger/card_ids.h), as positions (not_found:
  // none). Holds lists the open ones in order: the original, the stand-in, the increments.
  struct CardTransaction {
    std::uint32_t root = 0;
    std::uint32_t advice = 0;
    std::uint32_t capture = 0;
    std::uint32_t incrementals[limits::card_incrementals_max] = {};
    std::uint32_t incremental_count = 0;  // slots taken: the next free slot
    std::uint32_t reversals[limits::card_reversals_max] = {};
    std::uint32_t reversal_count = 0;
    std::uint32_t holds[2 + limits::card_incrementals_max] = {};
    std::uint32_t hold_count = 0;
    Sum held = 0;  // sum of the open holds (128 bits: holds are int64 each)
  };
  // How much of the card checks an authorization meets: existence and currency only (the
  // network's forced decisions), the card's own checks (refunds, inquiries, verifications),
  // or all of them with limits and funds.
  enum class CardChecks : std::uint8_t { existence, card, all };

  CardTransaction card_transaction(TransferId original) const;
  TransferId find_original(const Authorization& a) const;
  void index_reference(const Transfer& t, std::uint32_t position);
  void unindex_reference(std::uint32_t position);
  bool money_released(const Transfer& t) const;
  void authorize(const Authorization& a, CommandResult* result, BatchOutput* out);
  void check_card_only(const Authorization& a, CommandResult* result) const;
  void complete_card(const Authorization& a, CommandResult* result, BatchOutput* out);
  void reverse_card(const Authorization& a, CommandResult* result, BatchOutput* out);
  // key: the reversal message's (or the late rule's), kept in reference_32.
  void refund_posting(const Authorization& a, const CardTransaction& x, TransferId id,
                      std::uint32_t key, CommandResult* result, BatchOutput* out);
  void answer_repeat(const Transfer& original, CommandResult* result) const;
  // Card clearing (clearing.cc).
  void clear_card(const CardClearing& c, CommandResult* result, BatchOutput* out);
  std::uint32_t find_cleared_authorization(const CardClearing& c, const Card& card,
                                           ClearingMatch* how);
  void catch_up_clearing_index();
  bool record_card_transfer(Transfer t, std::int64_t approved, BatchOutput* out,
                            CommandResult* result);
  void execute_card_transfer(const Transfer& t, CommandResult* result, BatchOutput* out);
  bool execute_part(const Transfer& t, bool first, CommandResult* result, BatchOutput* out);
  TransferResult decide(const Authorization& a, const Card* card, const Account* account,
                        CardChecks checks, std::int64_t* approved) const;
  std::uint32_t ensure_settlement_account(Currency currency, BatchOutput* out);
  void velocity_add(const Transfer& t, std::int64_t sign, std::int64_t count_delta);
  void create_card(const Command& command, CommandResult* result, BatchOutput* out);
  void update_card(const Command& command, CommandResult* result, BatchOutput* out);
  CardResult check_card(const Card& input) const;
  void create_account(const Command& command, CommandResult* result, BatchOutput* out);
  void update_account(const Command& command, CommandResult* result, BatchOutput* out);
  AccountResult check_account(const Account& input) const;
  AccountResult check_account_update(const AccountUpdate& update, const Account& account) const;
  // Balance monitors (monitors.cc). Changes to a watched account mark it; after each command
  // (and after expiries) evaluate_monitors journals every monitor whose condition flipped.
  void create_monitor(const Command& command, CommandResult* result, BatchOutput* out);
  void delete_monitor(const Command& command, CommandResult* result, BatchOutput* out);
  MonitorResult check_monitor(const BalanceMonitor& input) const;
  void mark_watched(std::uint32_t account_position) {
    const Account& a = accounts_[account_position];
    if (a.monitors == 0 && a.waiting_debits == 0) return;
    mark_watched_slow(account_position);
  }
  void mark_watched_slow(std::uint32_t account_position);
  // After each command and after the engine's own timed work: pay waiting collections the
  // change covers, then evaluate monitors (which then see the payments).
  void stamp_balances(BatchOutput* out, std::size_t* from);
  void after_change(BatchOutput* out) {
    if (!debit_dirty_.empty()) retry_waiting_debits(out);
    if (!monitor_dirty_.empty()) evaluate_monitors(out);
  }
  void evaluate_monitors(BatchOutput* out);
  // Direct debits (direct_debits.cc).
  void receive_direct_debit(const Command& command, CommandResult* result, BatchOutput* out);
  void refund_direct_debit(const Command& command, CommandResult* result, BatchOutput* out);
  void reverse_direct_debit(const Command& command, CommandResult* result, BatchOutput* out);
  void refuse_direct_debit(const Command& command, CommandResult* result, BatchOutput* out);
  void run_direct_debit_timers(BatchOutput* out);
  void retry_waiting_debits(BatchOutput* out);
  bool pay_waiting_direct_debit(std::uint32_t position, BatchOutput* out);
  bool settle_direct_debit(std::uint32_t position, BatchOutput* out);
  bool return_direct_debit(std::uint32_t position, BatchOutput* out);
  bool post_direct_debit(std::uint32_t position, DebitPosting posting, BatchOutput* out);
  void journal_direct_debit(DirectDebit& dd, DirectDebitChange change, BatchOutput* out);
  void schedule_direct_debit(std::uint32_t position);
  void unschedule_direct_debit(std::uint32_t position);
  void add_waiting(std::uint32_t position);
  void remove_waiting(std::uint32_t position);
  // An engine-made account (settlement, clearing, suspense), created and journaled on first
  // use; not_found when the account store is full.
  std::uint32_t ensure_internal_account(AccountId id, AccountKind kind, Currency currency,
                                        BatchOutput* out);
  std::uint32_t direct_debit_position(DirectDebitId id) const;
  void attach_monitor(std::uint32_t monitor_position);
  void detach_monitor(std::uint32_t monitor_position);
  std::uint32_t monitor_position(MonitorId id) const;

  // Array positions found while checking a transfer, reused to apply it.
  struct Positions {
    std::uint32_t debit = IdIndex::not_found;
    std::uint32_t credit = IdIndex::not_found;
    std::uint32_t hold = IdIndex::not_found;
  };

  // Returns the result; on ok the transfer is stored, indexed, applied and journaled. A
  // rejection is remembered only if `remember` (a chain remembers its rejections after the
  // rollback, so that rolled-back attempts use no logical time).
  // *position is the stored transfer's (new or existing), or not_found.
  TransferResult execute_transfer(const Transfer& input, bool remember, BatchOutput* out,
                                  std::uint32_t* position);
  TransferResult check_transfer(const Transfer& input, Transfer* stored, Positions* at) const;
  TransferResult check_single(const Transfer& input, Transfer* stored, Positions* at) const;
  TransferResult check_resolution(const Transfer& input, Transfer* stored, Positions* at) const;
  // Loads a command's index slots, then its records, ahead of applying it (see apply()).
  void touch_slots(const Command& command);
  void touch_records(const Command& command);
  TransferResult check_existing(const Transfer& input, const Transfer& existing) const;
  std::uint32_t remember_rejection(const Transfer& input, TransferResult result, BatchOutput* out);
  bool has_room(const Transfer& input) const;

  std::uint32_t store_transfer(const Transfer& transfer);
  // A transfer the engine makes itself (an expiry, a collection's posting), already decided:
  // timestamped, stored, applied and journaled.
  void record_engine_transfer(Transfer& t, BatchOutput* out);
  void apply_effects(const Transfer& transfer, const Positions& at);
  Positions positions_of(const Transfer& transfer) const;
  Account& account_at(std::uint32_t position);
  void touch_account(std::uint32_t position);
  // A hold's state and held amount (a partial void shrinks it); undone with a failed chain.
  void set_hold(std::uint32_t position, PendingState state, std::int64_t amount);
  void rollback(std::size_t transfers_before, std::size_t open_pending_before);

  std::uint32_t account_position(AccountId id) const;
  std::uint32_t transfer_position(TransferId id) const;
  std::uint64_t next_timestamp();

  EngineOptions options_;
  FixedVector<Account> accounts_;
  FixedVector<Transfer> transfers_;
  IdIndex account_index_;
  IdIndex transfer_index_;
  // Card authorizations by card and the network's reference (card_ids::reference_alias): how
  // a follow-up without DE90 finds its original.
  IdIndex reference_index_;
  FixedVector<Card> cards_;
  // Per card (same position): approved amounts and counts per UTC day, 31 days in a ring.
  struct Velocity {
    std::uint32_t day[31];
    std::int64_t amount[31];
    std::uint16_t count[31];
  };
  FixedVector<Velocity> velocity_;
  IdIndex card_index_;
  IdIndex pan_index_;  // first 16 bytes of the PAN hash -> card
  struct Expiry {
    std::uint64_t expires_at;
    std::uint64_t timestamp;  // of the hold: identifies it even if its slot was rolled back
    std::uint32_t position;
    bool operator>(const Expiry& other) const {
      return expires_at != other.expires_at ? expires_at > other.expires_at
                                            : timestamp > other.timestamp;
    }
  };
  FixedVector<Expiry> expiries_;          // min-heap by expiry time
  FixedVector<BalanceMonitor> monitors_;  // every monitor ever created (deleted ones too)
  IdIndex monitor_index_;
  // Live monitors by account position (allocates only when a monitor is created).
  std::unordered_map<std::uint32_t, std::vector<std::uint32_t>> account_monitors_;
  std::vector<std::uint32_t> monitor_dirty_;  // watched accounts changed by this command
  // Direct debits: every collection ever received (refused ones too), by id; the timers of
  // the live ones (time, position; an entry is stale when the collection's next time
  // differs); waiting collections by account position, in payment order.
  struct Uint128Hash {
    std::size_t operator()(const Uint128& v) const { return mix64(v.hi ^ mix64(v.lo)); }
  };
  std::vector<DirectDebit> direct_debits_;
  std::unordered_map<Uint128, std::uint32_t, Uint128Hash> direct_debit_index_;
  std::set<std::pair<std::uint64_t, std::uint32_t>> debit_timers_;
  std::unordered_map<std::uint32_t, std::vector<std::uint32_t>> waiting_debits_;
  std::vector<std::uint32_t> debit_dirty_;  // accounts with waiting collections changed
  std::vector<Undo> undo_;                  // active while a linked chain is applied
  // Card authorizations by life cycle id and by card and approval code (clearing.cc): derived
  // state, built from transfers_ when clearing records arrive (up to clearing_indexed_), never
  // snapshotted.
  std::unordered_map<Uint128, std::uint32_t, Uint128Hash> clearing_index_;
  std::size_t clearing_indexed_ = 0;
  std::vector<TransferResult> chain_codes_;
  bool undo_active_ = false;
  std::size_t open_pending_total_ = 0;
  std::uint64_t now_ns_ = 0;
  std::uint64_t touch_sink_ = 0;  // keeps the touching loads from being optimized away
  std::uint64_t last_timestamp_ = 0;
};

}  // namespace ledger::engine
