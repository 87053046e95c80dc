#include "engine.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "ledger/assert.h"

namespace ledger::engine {
namespace {

constexpr std::uint16_t resolution_flags = flag_post_pending | flag_void_pending;
constexpr std::uint64_t ns_per_s = 1'000'000'000;

bool is_resolution(const Transfer& t) { return (t.flags & resolution_flags) != 0; }

bool one_bit_at_most(std::uint16_t bits) { return (bits & (bits - 1)) == 0; }

// The balance limits after a change, compared in 128 bits so that a ceiling past int64
// (credits_posted + overdraft_limit) simply cannot be exceeded. REQUIRES: totals fit in int64.
bool exceeds_limits(const Account& debit, const Account& credit) {
  const auto wide = [](std::int64_t v) { return static_cast<__int128>(v); };
  if ((debit.flags & debits_must_not_exceed_credits) != 0 &&
      wide(debit.debits_pending) + wide(debit.debits_posted) >
          wide(debit.credits_posted) + wide(debit.overdraft_limit)) {
    return true;
  }
  return (credit.flags & credits_must_not_exceed_debits) != 0 &&
         wide(credit.credits_pending) + wide(credit.credits_posted) >
             wide(credit.debits_posted) + wide(credit.overdraft_limit);
}

Uint128 pan_key(const std::uint8_t (&hash)[32]) {
  Uint128 key;
  for (int i = 0; i < 8; ++i) key.hi = (key.hi << 8) | hash[i];
  for (int i = 8; i < 16; ++i) key.lo = (key.lo << 8) | hash[i];
  return key;
}

// Adds `delta` to *field if the result fits in int64; returns false on overflow.
bool add_into(std::int64_t* field, std::int64_t delta) { return checked_add(*field, delta, field); }

}  // namespace

Engine::Engine(const EngineOptions& options)
    : options_(options),
      accounts_(options.accounts_max),
      transfers_(options.transfers_max),
      account_index_(options.accounts_max),
      transfer_index_(options.transfers_max),
      cards_(options.cards_max),
      velocity_(options.cards_max),
      card_index_(options.cards_max),
      pan_index_(options.cards_max),
      expiries_(options.transfers_max) {
  LEDGER_ASSERT(options.accounts_max > 0 && options.accounts_max < 0xFFFFFFFFu);
  LEDGER_ASSERT(options.transfers_max > 0 && options.transfers_max < 0xFFFFFFFFu);
  undo_.reserve(1024);
}

std::size_t Engine::bytes_per_account() { return sizeof(Account) + 2 * 8; }
std::size_t Engine::bytes_per_transfer() { return sizeof(Transfer) + 2 * 8 + sizeof(Expiry); }

TransferId Engine::expiry_id(TransferId pending_id, std::uint32_t attempt) {
  constexpr std::uint64_t salt_expiry = 0x657870697279ULL;  // "expiry"
  return TransferId{derive_id(pending_id.value, salt_expiry + attempt)};
}

std::uint32_t Engine::account_position(AccountId id) const {
  return account_index_.find(id.value, [this](std::uint32_t p) { return accounts_[p].id.value; });
}

std::uint32_t Engine::transfer_position(TransferId id) const {
  return transfer_index_.find(id.value, [this](std::uint32_t p) { return transfers_[p].id.value; });
}

const Account* Engine::find_account(AccountId id) const {
  const std::uint32_t p = account_position(id);
  return p == IdIndex::not_found ? nullptr : &accounts_[p];
}

const Transfer* Engine::find_transfer(TransferId id) const {
  const std::uint32_t p = transfer_position(id);
  return p == IdIndex::not_found ? nullptr : &transfers_[p];
}

std::uint64_t Engine::next_timestamp() {
  last_timestamp_ = std::max(now_ns_, last_timestamp_ + 1);
  return last_timestamp_;
}

// --- Batches -----------------------------------------------------------------------------

void Engine::apply(const Command* commands, std::size_t count, std::uint64_t now_ns,
                   BatchOutput* out) {
  out->results.clear();
  out->records.clear();
  now_ns_ = std::max(now_ns, now_ns_);
  expire_due(now_ns_, out);
  // Memory-level parallelism: before a group of commands is applied, touch every index slot
  // of the group, then every record, with independent loads that the CPU overlaps (page
  // walks included). Software prefetch did not help on our VM; real loads did (engine_bench).
  constexpr std::size_t group_commands = 8;
  std::size_t touched = 0;
  std::size_t i = 0;
  while (i < count) {
    if (i >= touched) {
      touched = std::min(count, i + group_commands);
      for (std::size_t k = i; k < touched; ++k) touch_slots(commands[k]);
      for (std::size_t k = i; k < touched; ++k) touch_records(commands[k]);
    }
    const Command& command = commands[i];
    const bool linked = command.kind == CommandKind::create_transfer &&
                        (command.body.transfer.flags & flag_linked) != 0;
    if (!linked) {
      apply_one(command, out);
      ++i;
      continue;
    }
    i += apply_chain(commands + i, count - i, out);
  }
  LEDGER_ASSERT(out->results.size() == count);
}

void Engine::touch_slots(const Command& command) {
  if (command.kind != CommandKind::create_transfer) return;
  const Transfer& t = command.body.transfer;
  touch_sink_ += transfer_index_.touch(t.id.value);
  if ((t.flags & resolution_flags) != 0) {
    touch_sink_ += transfer_index_.touch(t.pending_id.value);
  } else {
    touch_sink_ += account_index_.touch(t.debit_account_id.value);
    touch_sink_ += account_index_.touch(t.credit_account_id.value);
  }
}

void Engine::touch_records(const Command& command) {
  if (command.kind != CommandKind::create_transfer) return;
  const Transfer& t = command.body.transfer;
  if ((t.flags & resolution_flags) != 0) {
    const std::uint32_t hold = transfer_position(t.pending_id);
    if (hold != IdIndex::not_found) touch_sink_ += transfers_[hold].timestamp;
    return;
  }
  const std::uint32_t debit = account_position(t.debit_account_id);
  const std::uint32_t credit = account_position(t.credit_account_id);
  if (debit != IdIndex::not_found) touch_sink_ += accounts_[debit].timestamp;
  if (credit != IdIndex::not_found) touch_sink_ += accounts_[credit].timestamp;
}

void Engine::expire_due(std::uint64_t now_ns, BatchOutput* out) {
  while (!expiries_.empty() && expiries_.front().expires_at <= now_ns) {
    std::pop_heap(expiries_.begin(), expiries_.end(), std::greater<>{});
    const Expiry due = expiries_.back();
    expiries_.pop_back();
    if (due.position >= transfers_.size()) continue;  // rolled back
    const Transfer& hold = transfers_[due.position];
    if (hold.timestamp != due.timestamp || hold.pending_state != PendingState::open) continue;
    Transfer expiry;
    expiry.flags = flag_void_pending | flag_expiry;
    expiry.code = TransferCode::expiry;
    expiry.pending_id = hold.id;
    expiry.debit_account_id = hold.debit_account_id;
    expiry.credit_account_id = hold.credit_account_id;
    expiry.currency = hold.currency;
    expiry.amount_effective = hold.amount_effective;
    std::uint32_t attempt = 0;
    do {
      expiry.id = expiry_id(hold.id, attempt++);
    } while (transfer_position(expiry.id) != IdIndex::not_found);
    expiry.timestamp = next_timestamp();
    store_transfer(expiry);
    apply_effects(expiry, positions_of(expiry));
    JournalRecord& record = out->records.emplace_back();
    record.kind = RecordKind::transfer;
    record.value.transfer = expiry;
  }
}

void Engine::apply_one(const Command& command, BatchOutput* out) {
  CommandResult& result = out->results.emplace_back();
  result.kind = command.kind;
  result.tag = command.tag;
  switch (command.kind) {
    case CommandKind::create_account:
      create_account(command, &result, out);
      return;
    case CommandKind::update_account:
      update_account(command, &result, out);
      return;
    case CommandKind::create_transfer: {
      std::uint32_t position = IdIndex::not_found;
      const TransferResult code =
          execute_transfer(command.body.transfer, /*remember=*/true, out, &position);
      result.code = static_cast<std::uint8_t>(code);
      result.value.transfer =
          position != IdIndex::not_found ? transfers_[position] : command.body.transfer;
      return;
    }
    case CommandKind::lookup_account: {
      const Account* account = find_account(command.body.account_id);
      result.code = account == nullptr ? 1 : 0;
      if (account != nullptr) result.value.account = *account;
      return;
    }
    case CommandKind::create_card:
      create_card(command, &result, out);
      return;
    case CommandKind::update_card:
      update_card(command, &result, out);
      return;
    case CommandKind::authorize:
      authorize(command, &result, out);
      return;
    case CommandKind::lookup_card: {
      const Card* card = find_card(command.body.card_id);
      result.code = card == nullptr ? 1 : 0;
      if (card != nullptr) result.value.card = *card;
      return;
    }
    case CommandKind::lookup_transfer: {
      const Transfer* transfer = find_transfer(command.body.transfer_id);
      result.code = transfer == nullptr ? 1 : 0;
      if (transfer != nullptr) result.value.transfer = *transfer;
      return;
    }
  }
  LEDGER_ASSERT(false);
}

void Engine::reject_open_chain(const Command* commands, std::size_t count, BatchOutput* out) {
  for (std::size_t k = 0; k < count; ++k) {
    CommandResult& result = out->results.emplace_back();
    result.kind = CommandKind::create_transfer;
    result.tag = commands[k].tag;
    result.code = static_cast<std::uint8_t>(TransferResult::linked_event_chain_open);
    result.failed_link = static_cast<std::uint32_t>(count - 1);
    result.value.transfer = commands[k].body.transfer;
  }
}

// A linked chain: transfers up to and including the first without flag_linked. All apply or
// none do. On failure the failing link gets its reason, the others linked_event_failed, and
// links not seen before are remembered with those answers. Returns the commands consumed.
std::size_t Engine::apply_chain(const Command* commands, std::size_t count, BatchOutput* out) {
  std::size_t length = 0;
  while (length < count && commands[length].kind == CommandKind::create_transfer &&
         (commands[length].body.transfer.flags & flag_linked) != 0) {
    ++length;
  }
  if (length == count || commands[length].kind != CommandKind::create_transfer) {
    reject_open_chain(commands, length, out);  // the chain never closes: reject, remember none
    return length;
  }
  ++length;  // the closing transfer
  const std::size_t transfers_before = transfers_.size();
  const std::size_t open_pending_before = open_pending_total_;
  const std::size_t records_before = out->records.size();
  undo_.clear();
  undo_active_ = true;
  std::size_t failed = length;
  TransferResult failure = TransferResult::ok;
  chain_codes_.assign(length, TransferResult::ok);
  for (std::size_t k = 0; k < length && failed == length; ++k) {
    std::uint32_t position = IdIndex::not_found;
    chain_codes_[k] =
        execute_transfer(commands[k].body.transfer, /*remember=*/false, out, &position);
    if (chain_codes_[k] != TransferResult::ok && chain_codes_[k] != TransferResult::exists) {
      failed = k;
      failure = chain_codes_[k];
    }
  }
  undo_active_ = false;
  if (failed != length) {
    rollback(transfers_before, open_pending_before);
    out->records.resize(records_before);
    for (std::size_t k = 0; k < length; ++k) {
      const Transfer& input = commands[k].body.transfer;
      TransferResult code = k == failed ? failure : TransferResult::linked_event_failed;
      if (const Transfer* earlier = find_transfer(input.id)) {
        // Seen before this chain: a replayed answer stands (the failing link's is `failure`).
        if (k != failed)
          code = earlier->result == TransferResult::ok ? TransferResult::exists : earlier->result;
      } else if (!input.id.is_zero() && code != TransferResult::transfer_capacity_exhausted &&
                 has_room(input)) {
        remember_rejection(input, code, out);
      }
      chain_codes_[k] = code;
    }
  }
  undo_.clear();
  for (std::size_t k = 0; k < length; ++k) {
    CommandResult& result = out->results.emplace_back();
    result.kind = CommandKind::create_transfer;
    result.tag = commands[k].tag;
    result.code = static_cast<std::uint8_t>(chain_codes_[k]);
    result.failed_link = static_cast<std::uint32_t>(failed == length ? 0 : failed);
    const Transfer* stored = find_transfer(commands[k].body.transfer.id);
    result.value.transfer = stored != nullptr ? *stored : commands[k].body.transfer;
  }
  return length;
}

void Engine::rollback(std::size_t transfers_before, std::size_t open_pending_before) {
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    if (it->is_account) {
      accounts_[it->position] = it->account;
    } else if (it->position < transfers_before) {
      transfers_[it->position].pending_state = it->pending_state;
      transfers_[it->position].amount_effective = it->hold_amount;
    }
  }
  for (std::size_t p = transfers_.size(); p > transfers_before; --p) {
    const Uint128 id = transfers_[p - 1].id.value;
    transfer_index_.erase(id, [this](std::uint32_t q) { return transfers_[q].id.value; });
  }
  transfers_.truncate(transfers_before);
  open_pending_total_ = open_pending_before;
}

// --- Card authorizations -----------------------------------------------------------------

namespace {
constexpr std::uint64_t ns_per_day = 86'400ULL * 1'000'000'000ULL;
std::uint32_t day_of(std::uint64_t ts) { return static_cast<std::uint32_t>(ts / ns_per_day); }
bool is_card_spending(const Transfer& t) {
  return t.result == TransferResult::ok &&
         (t.code == TransferCode::card_authorization || t.code == TransferCode::card_financial);
}
}  // namespace

AccountId Engine::settlement_account_id(Currency currency) {
  return AccountId{
      {0x5E771E0000000000ULL | 0x0000008000000000ULL, 0xC0DE000000000000ULL | currency.code}};
}

std::uint32_t Engine::ensure_settlement_account(Currency currency, BatchOutput* out) {
  const AccountId id = settlement_account_id(currency);
  const std::uint32_t existing = account_position(id);
  if (existing != IdIndex::not_found || accounts_.size() >= options_.accounts_max) return existing;
  Account account;
  account.id = id;
  account.currency = currency;
  account.kind = AccountKind::settlement;
  account.timestamp = account.created_timestamp = next_timestamp();
  const auto at = static_cast<std::uint32_t>(accounts_.size());
  account_index_.insert(id.value, at);
  accounts_.push_back(account);
  JournalRecord& record = out->records.emplace_back();
  record.kind = RecordKind::account;
  record.value.account = account;
  return at;
}

// Card spending is counted by the UTC day of the transfer: +1 when a card hold or financial
// posting is approved, -1 when the hold is voided (reversal, or an answer sent too late).
void Engine::velocity_add(const Transfer& t, std::int64_t sign, std::int64_t count_delta) {
  if (!is_card_spending(t)) return;
  const std::uint32_t card =
      card_index_.find(Uint128{t.reference_a, t.reference_b},
                       [this](std::uint32_t q) { return cards_[q].id.value; });
  if (card == IdIndex::not_found) return;
  Velocity& v = velocity_[card];
  const std::uint32_t day = day_of(t.timestamp);
  const std::uint32_t slot = day % 31;
  if (v.day[slot] != day) {
    if (sign < 0) return;  // that day has left the window
    v.day[slot] = day;
    v.amount[slot] = 0;
    v.count[slot] = 0;
  }
  std::int64_t updated = 0;
  if (checked_add(v.amount[slot], sign * t.amount_effective, &updated)) v.amount[slot] = updated;
  v.count[slot] =
      static_cast<std::uint16_t>(std::max<std::int64_t>(0, v.count[slot] + count_delta));
}

Engine::Spending Engine::card_spending(CardId id, std::uint64_t now_ns) const {
  Spending spending;
  const std::uint32_t card =
      card_index_.find(id.value, [this](std::uint32_t q) { return cards_[q].id.value; });
  if (card == IdIndex::not_found) return spending;
  const Velocity& v = velocity_[card];
  const std::uint32_t today = day_of(now_ns);
  for (std::uint32_t slot = 0; slot < 31; ++slot) {
    if (v.day[slot] + 30 <= today || v.day[slot] > today || v.count[slot] == 0) continue;
    spending.last_30_days += v.amount[slot];
    if (v.day[slot] == today) {
      spending.today += v.amount[slot];
      spending.count_today += v.count[slot];
    }
  }
  return spending;
}

// The decision order of the card network issue: card, expiry, status, channel and MCC,
// limits, then funds. *approved is the amount to hold or post (less than asked: partial).
TransferResult Engine::decide(const Authorization& a, const Card* card, const Account* account,
                              std::int64_t* approved) const {
  if (card == nullptr) return TransferResult::card_unknown;
  if (card->expiry_yymm < a.today_yymm ||
      (a.expiry_yymm != 0 && a.expiry_yymm != card->expiry_yymm)) {
    return TransferResult::card_expired;
  }
  if (card->status != CardStatus::active || account->status != AccountStatus::active) {
    return TransferResult::card_not_active;
  }
  if ((a.channels & ~card->controls.channels) != 0) return TransferResult::card_channel_not_allowed;
  for (std::uint8_t i = 0; i < card->controls.blocked_mcc_count; ++i) {
    if (card->controls.blocked_mccs[i] == a.mcc) return TransferResult::card_mcc_blocked;
  }
  if (a.currency != account->currency) return TransferResult::currency_mismatch;
  *approved = a.amount;
  if (a.force || a.kind == AuthorizationKind::refund) return TransferResult::ok;
  const CardControls& c = card->controls;
  const Spending spent = card_spending(card->id, now_ns_);
  const auto over = [](std::int64_t used, std::int64_t more, std::int64_t limit) {
    return limit != 0 && static_cast<__int128>(used) + more > limit;
  };
  if (over(0, a.amount, c.per_authorization_limit) || over(spent.today, a.amount, c.daily_limit) ||
      over(spent.last_30_days, a.amount, c.monthly_limit)) {
    return TransferResult::card_limit_exceeded;
  }
  if (c.daily_count_limit != 0 && spent.count_today + 1 > c.daily_count_limit) {
    return TransferResult::card_count_limit_exceeded;
  }
  if ((account->flags & debits_must_not_exceed_credits) != 0) {
    const __int128 available = static_cast<__int128>(account->credits_posted) -
                               account->debits_posted - account->debits_pending +
                               account->overdraft_limit;
    if (available < a.amount) {
      if (!a.partial_allowed || available <= 0) return TransferResult::exceeds_available;
      *approved = static_cast<std::int64_t>(available);
    }
  }
  return TransferResult::ok;
}

void Engine::authorize(const Command& command, CommandResult* result, BatchOutput* out) {
  const Authorization& a = command.body.authorization;
  const Card* card = find_card_by_pan(a.pan_hash);
  const Account* account = card != nullptr ? find_account(card->account_id) : nullptr;
  if (a.kind == AuthorizationKind::balance_inquiry) {  // nothing moves, nothing is journaled
    std::int64_t unused = 0;
    Authorization probe = a;
    probe.amount = 0;
    probe.force = true;
    TransferResult code = decide(probe, card, account, &unused);
    if (code == TransferResult::currency_mismatch) code = TransferResult::ok;
    result->code = static_cast<std::uint8_t>(code);
    if (account != nullptr) result->value.account = *account;
    return;
  }
  Transfer t;
  t.id = a.id;
  t.amount = a.amount;
  t.currency = a.currency;
  if (card != nullptr) {
    t.reference_a = card->id.value.hi;
    t.reference_b = card->id.value.lo;
  }
  const bool refund = a.kind == AuthorizationKind::refund;
  t.code = refund ? TransferCode::card_refund
                  : (a.post_now ? TransferCode::card_financial : TransferCode::card_authorization);
  t.flags = a.post_now || refund ? 0 : flag_pending;
  if (a.force) t.flags |= flag_force;
  t.timeout_s = (t.flags & flag_pending) != 0 ? a.hold_timeout_s : 0;
  const AccountId settlement = settlement_account_id(a.currency);
  t.debit_account_id = refund ? settlement : (account != nullptr ? account->id : AccountId{});
  t.credit_account_id = refund ? (account != nullptr ? account->id : AccountId{}) : settlement;
  std::uint32_t position = transfer_position(a.id);
  if (position != IdIndex::not_found) {  // a repeat: the original answer
    const Transfer& original = transfers_[position];
    result->code = static_cast<std::uint8_t>(
        original.result == TransferResult::ok ? TransferResult::exists : original.result);
    result->value.transfer = original;
    return;
  }
  if (a.id.is_zero() || !has_room(t) || a.amount <= 0 || a.currency.code == 0) {
    result->code = static_cast<std::uint8_t>(
        a.id.is_zero()         ? TransferResult::id_must_not_be_zero
        : a.amount <= 0        ? TransferResult::amount_must_be_positive
        : a.currency.code == 0 ? TransferResult::currency_mismatch
                               : TransferResult::transfer_capacity_exhausted);
    result->value.transfer = t;
    return;
  }
  std::int64_t approved = 0;
  TransferResult code = decide(a, card, account, &approved);
  if (code == TransferResult::ok &&
      ensure_settlement_account(a.currency, out) == IdIndex::not_found) {
    code = TransferResult::transfer_capacity_exhausted;  // no room for the settlement account
  }
  if (code == TransferResult::ok) {
    // Balances must stay inside int64 on both sides.
    Positions at = positions_of(t);
    const Account& d = accounts_[at.debit];
    const Account& c = accounts_[at.credit];
    const bool pending = (t.flags & flag_pending) != 0;
    const auto wide = [](std::int64_t v) { return static_cast<__int128>(v); };
    const __int128 debits = wide(d.debits_pending) + d.debits_posted + approved;
    const __int128 credits = wide(c.credits_pending) + c.credits_posted + approved;
    if (debits > INT64_MAX || credits > INT64_MAX) {
      code = TransferResult::overflow;
    } else {
      t.amount_effective = approved;
      t.result = TransferResult::ok;
      t.timestamp = next_timestamp();
      t.pending_state = pending ? PendingState::open : PendingState::none;
      position = store_transfer(t);
      apply_effects(t, at);
      JournalRecord& record = out->records.emplace_back();
      record.kind = RecordKind::transfer;
      record.value.transfer = t;
      result->code = static_cast<std::uint8_t>(TransferResult::ok);
      result->value.transfer = transfers_[position];
      return;
    }
  }
  position = remember_rejection(t, code, out);
  result->code = static_cast<std::uint8_t>(code);
  result->value.transfer = transfers_[position];
}

// --- Cards -------------------------------------------------------------------------------

const Card* Engine::find_card(CardId id) const {
  const std::uint32_t p =
      card_index_.find(id.value, [this](std::uint32_t q) { return cards_[q].id.value; });
  return p == IdIndex::not_found ? nullptr : &cards_[p];
}

const Card* Engine::find_card_by_pan(const std::uint8_t (&pan_hash)[32]) const {
  const std::uint32_t p = pan_index_.find(
      pan_key(pan_hash), [this](std::uint32_t q) { return pan_key(cards_[q].pan_hash); });
  if (p == IdIndex::not_found || std::memcmp(cards_[p].pan_hash, pan_hash, 32) != 0) return nullptr;
  return &cards_[p];
}

CardResult Engine::check_card(const Card& input) const {
  if (input.id.is_zero()) return CardResult::id_must_not_be_zero;
  if (const Card* existing = find_card(input.id)) {
    if (existing->account_id != input.account_id)
      return CardResult::exists_with_different_account_id;
    if (std::memcmp(existing->pan_hash, input.pan_hash, 32) != 0)
      return CardResult::exists_with_different_pan;
    if (existing->expiry_yymm != input.expiry_yymm) return CardResult::exists_with_different_expiry;
    return CardResult::exists;
  }
  if (find_card_by_pan(input.pan_hash) != nullptr) return CardResult::card_pan_exists;
  const Account* account = find_account(input.account_id);
  if (account == nullptr) return CardResult::card_account_not_found;
  if (account->status == AccountStatus::closed) return CardResult::card_account_closed;
  if (cards_.size() >= cards_.capacity()) return CardResult::card_capacity_exhausted;
  return CardResult::ok;
}

void Engine::create_card(const Command& command, CommandResult* result, BatchOutput* out) {
  const Card& input = command.body.card;
  const CardResult code = check_card(input);
  result->code = static_cast<std::uint8_t>(code);
  if (code == CardResult::ok) {
    Card card = input;
    card.timestamp = card.created_timestamp = next_timestamp();
    const auto at = static_cast<std::uint32_t>(cards_.size());
    cards_.push_back(card);
    card_index_.insert(card.id.value, at);
    pan_index_.insert(pan_key(card.pan_hash), at);
    JournalRecord& record = out->records.emplace_back();
    record.kind = RecordKind::card;
    record.value.card = card;
  }
  const Card* stored = find_card(input.id);
  result->value.card = stored != nullptr ? *stored : input;
}

void Engine::update_card(const Command& command, CommandResult* result, BatchOutput* out) {
  const CardUpdate& update = command.body.card_update;
  const std::uint32_t p =
      card_index_.find(update.id.value, [this](std::uint32_t q) { return cards_[q].id.value; });
  if (p == IdIndex::not_found) {
    result->code = static_cast<std::uint8_t>(CardResult::card_not_found);
    result->value.card = Card{};
    result->value.card.id = update.id;
    return;
  }
  Card& card = cards_[p];
  if (card.status == CardStatus::blocked) {
    result->code = static_cast<std::uint8_t>(CardResult::card_blocked);
  } else {
    if (update.set_status) card.status = update.status;
    if (update.set_controls) card.controls = update.controls;
    card.timestamp = next_timestamp();
    result->code = static_cast<std::uint8_t>(CardResult::ok);
    JournalRecord& record = out->records.emplace_back();
    record.kind = RecordKind::card;
    record.value.card = card;
  }
  result->value.card = card;
}

// --- Accounts ----------------------------------------------------------------------------

AccountResult Engine::check_account(const Account& input) const {
  if (input.id.is_zero()) return AccountResult::id_must_not_be_zero;
  if (const Account* existing = find_account(input.id)) {
    if (existing->holder_id != input.holder_id)
      return AccountResult::exists_with_different_holder_id;
    if (existing->currency != input.currency) return AccountResult::exists_with_different_currency;
    if (existing->kind != input.kind) return AccountResult::exists_with_different_kind;
    if (existing->flags != input.flags) return AccountResult::exists_with_different_flags;
    if (existing->overdraft_limit_created != input.overdraft_limit) {
      return AccountResult::exists_with_different_overdraft_limit;
    }
    if (existing->reference != input.reference)
      return AccountResult::exists_with_different_reference;
    return AccountResult::exists;
  }
  if ((input.flags & ~account_flags_known) != 0 ||
      (input.flags & account_flags_known) == account_flags_known) {
    return AccountResult::flags_are_mutually_exclusive;
  }
  if (input.currency.code == 0) return AccountResult::currency_required;
  if (input.overdraft_limit < 0) return AccountResult::overdraft_limit_must_not_be_negative;
  if (accounts_.size() >= options_.accounts_max) return AccountResult::account_capacity_exhausted;
  return AccountResult::ok;
}

void Engine::create_account(const Command& command, CommandResult* result, BatchOutput* out) {
  const Account& input = command.body.account;
  const AccountResult code = check_account(input);
  result->code = static_cast<std::uint8_t>(code);
  if (code == AccountResult::ok) {
    Account account;
    account.id = input.id;
    account.holder_id = input.holder_id;
    account.currency = input.currency;
    account.kind = input.kind;
    account.flags = input.flags;
    account.overdraft_limit = input.overdraft_limit;
    account.overdraft_limit_created = input.overdraft_limit;
    account.reference = input.reference;
    account.timestamp = next_timestamp();
    account.created_timestamp = account.timestamp;
    account_index_.insert(account.id.value, static_cast<std::uint32_t>(accounts_.size()));
    accounts_.push_back(account);
    JournalRecord& record = out->records.emplace_back();
    record.kind = RecordKind::account;
    record.value.account = account;
  }
  const Account* stored = find_account(input.id);
  result->value.account = stored != nullptr ? *stored : input;
}

AccountResult Engine::check_account_update(const AccountUpdate& update,
                                           const Account& account) const {
  if (account.status == AccountStatus::closed) return AccountResult::account_closed;
  if (update.set_overdraft_limit && update.overdraft_limit < 0) {
    return AccountResult::overdraft_limit_must_not_be_negative;
  }
  if (update.set_status && update.status == AccountStatus::closed) {
    if (account.open_pending != 0 || account.debits_pending != 0 || account.credits_pending != 0) {
      return AccountResult::account_has_pending_transfers;
    }
    if (account.debits_posted != account.credits_posted) {
      return AccountResult::account_balance_not_zero;
    }
  }
  return AccountResult::ok;
}

void Engine::update_account(const Command& command, CommandResult* result, BatchOutput* out) {
  const AccountUpdate& update = command.body.update;
  const std::uint32_t position = account_position(update.id);
  if (position == IdIndex::not_found) {
    result->code = static_cast<std::uint8_t>(AccountResult::account_not_found);
    result->value.account = Account{};
    result->value.account.id = update.id;
    return;
  }
  Account& account = accounts_[position];
  const AccountResult code = check_account_update(update, account);
  result->code = static_cast<std::uint8_t>(code);
  if (code == AccountResult::ok) {
    if (update.set_overdraft_limit) account.overdraft_limit = update.overdraft_limit;
    if (update.set_status) account.status = update.status;
    account.timestamp = next_timestamp();
    JournalRecord& record = out->records.emplace_back();
    record.kind = RecordKind::account;
    record.value.account = account;
  }
  result->value.account = account;
}

// --- Transfers ---------------------------------------------------------------------------

bool Engine::has_room(const Transfer& input) const {
  // Every open hold keeps one slot for the void or post that will resolve it, so expiry can
  // always be journaled. A new hold therefore needs two slots.
  const std::size_t needed = is_resolution(input) ? 1 : ((input.flags & flag_pending) ? 2 : 1);
  return transfers_.size() + open_pending_total_ + needed <= options_.transfers_max;
}

TransferResult Engine::check_existing(const Transfer& input, const Transfer& existing) const {
  const bool resolution = is_resolution(existing);
  if (existing.flags != input.flags) {
    return TransferResult::exists_with_different_flags;
  }
  if ((!resolution || !input.debit_account_id.is_zero()) &&
      existing.debit_account_id != input.debit_account_id) {
    return TransferResult::exists_with_different_debit_account_id;
  }
  if ((!resolution || !input.credit_account_id.is_zero()) &&
      existing.credit_account_id != input.credit_account_id) {
    return TransferResult::exists_with_different_credit_account_id;
  }
  if (existing.amount != input.amount) return TransferResult::exists_with_different_amount;
  if ((!resolution || input.currency.code != 0) && existing.currency != input.currency) {
    return TransferResult::exists_with_different_currency;
  }
  if (existing.pending_id != input.pending_id)
    return TransferResult::exists_with_different_pending_id;
  if (existing.timeout_s != input.timeout_s) return TransferResult::exists_with_different_timeout;
  if (existing.code != input.code) return TransferResult::exists_with_different_code;
  if (existing.reference_a != input.reference_a)
    return TransferResult::exists_with_different_reference_a;
  if (existing.reference_b != input.reference_b)
    return TransferResult::exists_with_different_reference_b;
  if (existing.reference_32 != input.reference_32) {
    return TransferResult::exists_with_different_reference_32;
  }
  return existing.result == TransferResult::ok ? TransferResult::exists : existing.result;
}

// Flags, ids, timeout and amount: everything that needs no account or hold.
TransferResult Engine::check_transfer(const Transfer& input, Transfer* stored,
                                      Positions* at) const {
  const std::uint16_t phase = input.flags & (flag_pending | flag_post_pending | flag_void_pending);
  if ((input.flags & ~transfer_flags_client) != 0 || !one_bit_at_most(phase)) {
    return TransferResult::flags_are_mutually_exclusive;
  }
  const bool resolution = is_resolution(input);
  if ((input.flags & flag_allow_over_capture) != 0 && (input.flags & flag_post_pending) == 0) {
    return TransferResult::over_capture_requires_post_pending;
  }
  if (resolution) {
    if (input.pending_id.is_zero()) return TransferResult::pending_id_required;
    if (input.pending_id == input.id) return TransferResult::pending_id_must_differ;
  } else if (!input.pending_id.is_zero()) {
    return TransferResult::pending_id_must_be_zero;
  }
  if (input.timeout_s != 0 && (input.flags & flag_pending) == 0) {
    return TransferResult::timeout_reserved_for_pending;
  }
  if (resolution ? input.amount < 0 : input.amount <= 0)
    return TransferResult::amount_must_be_positive;
  return resolution ? check_resolution(input, stored, at) : check_single(input, stored, at);
}

TransferResult Engine::check_single(const Transfer& input, Transfer* stored, Positions* at) const {
  if (input.debit_account_id == input.credit_account_id)
    return TransferResult::accounts_must_be_different;
  at->debit = account_position(input.debit_account_id);
  if (at->debit == IdIndex::not_found) return TransferResult::debit_account_not_found;
  at->credit = account_position(input.credit_account_id);
  if (at->credit == IdIndex::not_found) return TransferResult::credit_account_not_found;
  const Account* debit = &accounts_[at->debit];
  const Account* credit = &accounts_[at->credit];
  if (input.currency != debit->currency || input.currency != credit->currency) {
    return TransferResult::currency_mismatch;
  }
  if (debit->status == AccountStatus::closed || credit->status == AccountStatus::closed) {
    return TransferResult::account_closed;
  }
  const bool force = (input.flags & flag_force) != 0;
  if (debit->status == AccountStatus::frozen && !force) return TransferResult::account_frozen;
  const bool pending = (input.flags & flag_pending) != 0;
  Account d = *debit;
  Account c = *credit;
  std::int64_t* debit_field = pending ? &d.debits_pending : &d.debits_posted;
  std::int64_t* credit_field = pending ? &c.credits_pending : &c.credits_posted;
  std::int64_t debits_total = 0;
  std::int64_t credits_total = 0;
  if (!add_into(debit_field, input.amount) || !add_into(credit_field, input.amount) ||
      !checked_add(d.debits_pending, d.debits_posted, &debits_total) ||
      !checked_add(c.credits_pending, c.credits_posted, &credits_total)) {
    return TransferResult::overflow;
  }
  if (!force && exceeds_limits(d, c)) return TransferResult::exceeds_available;
  stored->amount_effective = input.amount;
  return TransferResult::ok;
}

TransferResult Engine::check_resolution(const Transfer& input, Transfer* stored,
                                        Positions* at) const {
  at->hold = transfer_position(input.pending_id);
  if (at->hold == IdIndex::not_found) return TransferResult::pending_not_found;
  const Transfer& hold = transfers_[at->hold];
  if ((hold.flags & flag_pending) == 0 || hold.result != TransferResult::ok) {
    return TransferResult::pending_is_not_pending;
  }
  if (!input.debit_account_id.is_zero() && input.debit_account_id != hold.debit_account_id) {
    return TransferResult::pending_has_different_debit_account_id;
  }
  if (!input.credit_account_id.is_zero() && input.credit_account_id != hold.credit_account_id) {
    return TransferResult::pending_has_different_credit_account_id;
  }
  if (input.currency.code != 0 && input.currency != hold.currency) {
    return TransferResult::currency_mismatch;
  }
  if (hold.pending_state == PendingState::posted) return TransferResult::pending_already_posted;
  if (hold.pending_state == PendingState::voided) return TransferResult::pending_already_voided;
  if (hold.pending_state == PendingState::expired) return TransferResult::pending_expired;
  LEDGER_ASSERT(hold.pending_state == PendingState::open);
  stored->debit_account_id = hold.debit_account_id;
  stored->credit_account_id = hold.credit_account_id;
  stored->currency = hold.currency;
  if ((input.flags & flag_void_pending) != 0) {  // amount 0: all; less than held: a part
    if (input.amount > hold.amount_effective) return TransferResult::amount_exceeds_pending;
    stored->amount_effective = input.amount == 0 ? hold.amount_effective : input.amount;
    at->debit = account_position(hold.debit_account_id);
    at->credit = account_position(hold.credit_account_id);
    return TransferResult::ok;
  }
  const std::int64_t held = hold.amount_effective;
  const std::int64_t posted = input.amount == 0 ? held : input.amount;
  if (posted > held && (input.flags & flag_allow_over_capture) == 0) {
    return TransferResult::amount_exceeds_pending;
  }
  at->debit = account_position(hold.debit_account_id);
  at->credit = account_position(hold.credit_account_id);
  Account d = accounts_[at->debit];
  Account c = accounts_[at->credit];
  std::int64_t debits_total = 0;
  std::int64_t credits_total = 0;
  if (!add_into(&d.debits_pending, -held) || !add_into(&d.debits_posted, posted) ||
      !add_into(&c.credits_pending, -held) || !add_into(&c.credits_posted, posted) ||
      !checked_add(d.debits_pending, d.debits_posted, &debits_total) ||
      !checked_add(c.credits_pending, c.credits_posted, &credits_total)) {
    return TransferResult::overflow;
  }
  if (posted > held && (input.flags & flag_force) == 0 && exceeds_limits(d, c)) {
    return TransferResult::exceeds_available;
  }
  stored->amount_effective = posted;
  return TransferResult::ok;
}

TransferResult Engine::execute_transfer(const Transfer& input, bool remember, BatchOutput* out,
                                        std::uint32_t* position) {
  if (input.id.is_zero()) return TransferResult::id_must_not_be_zero;
  *position = transfer_position(input.id);
  if (*position != IdIndex::not_found) return check_existing(input, transfers_[*position]);
  if (!has_room(input)) return TransferResult::transfer_capacity_exhausted;
  Transfer stored = input;  // flags as sent: only valid ones can pass check_transfer
  stored.amount_effective = 0;
  stored.pending_state = PendingState::none;
  Positions at;
  const TransferResult code = check_transfer(input, &stored, &at);
  if (code != TransferResult::ok) {
    if (remember) *position = remember_rejection(input, code, out);
    return code;
  }
  stored.result = TransferResult::ok;
  stored.timestamp = next_timestamp();
  if ((stored.flags & flag_pending) != 0) stored.pending_state = PendingState::open;
  *position = store_transfer(stored);
  apply_effects(stored, at);
  JournalRecord& record = out->records.emplace_back();
  record.kind = RecordKind::transfer;
  record.value.transfer = stored;
  return TransferResult::ok;
}

std::uint32_t Engine::remember_rejection(const Transfer& input, TransferResult result,
                                         BatchOutput* out) {
  Transfer stored = input;
  stored.amount_effective = 0;
  stored.pending_state = PendingState::none;
  stored.result = result;
  stored.timestamp = next_timestamp();
  const std::uint32_t position = store_transfer(stored);
  JournalRecord& record = out->records.emplace_back();
  record.kind = RecordKind::transfer;
  record.value.transfer = stored;
  return position;
}

std::uint32_t Engine::store_transfer(const Transfer& transfer) {
  LEDGER_ASSERT(transfers_.size() < options_.transfers_max);
  const auto position = static_cast<std::uint32_t>(transfers_.size());
  transfers_.push_back(transfer);
  transfer_index_.insert(transfer.id.value, position);
  if (transfer.pending_state == PendingState::open && transfer.timeout_s != 0) {
    const std::uint64_t expires_at =
        transfer.timestamp + std::uint64_t{transfer.timeout_s} * ns_per_s;
    expiries_.push_back(Expiry{expires_at, transfer.timestamp, position});
    std::push_heap(expiries_.begin(), expiries_.end(), std::greater<>{});
  }
  return position;
}

Account& Engine::account_at(std::uint32_t position) {
  touch_account(position);
  return accounts_[position];
}

void Engine::touch_account(std::uint32_t position) {
  if (!undo_active_) return;
  Undo& undo = undo_.emplace_back();
  undo.is_account = true;
  undo.position = position;
  undo.account = accounts_[position];
}

void Engine::set_hold(std::uint32_t position, PendingState state, std::int64_t amount) {
  if (undo_active_) {
    Undo& undo = undo_.emplace_back();
    undo.is_account = false;
    undo.position = position;
    undo.pending_state = transfers_[position].pending_state;
    undo.hold_amount = transfers_[position].amount_effective;
  }
  transfers_[position].pending_state = state;
  transfers_[position].amount_effective = amount;
}

Engine::Positions Engine::positions_of(const Transfer& t) const {
  Positions at;
  at.debit = account_position(t.debit_account_id);
  at.credit = account_position(t.credit_account_id);
  if (is_resolution(t)) at.hold = transfer_position(t.pending_id);
  return at;
}

// The only place balances change. Checked transfers never overflow here; replayed ones are
// asserted not to.
void Engine::apply_effects(const Transfer& t, const Positions& at) {
  if (t.result != TransferResult::ok) return;
  LEDGER_ASSERT(at.debit != IdIndex::not_found && at.credit != IdIndex::not_found);
  Account& debit = account_at(at.debit);
  Account& credit = account_at(at.credit);
  const std::int64_t amount = t.amount_effective;
  LEDGER_ASSERT(amount >= 0);
  if ((t.flags & flag_pending) != 0) {
    LEDGER_ASSERT(add_into(&debit.debits_pending, amount) &&
                  add_into(&credit.credits_pending, amount));
    ++debit.open_pending;
    ++credit.open_pending;
    ++open_pending_total_;
    velocity_add(t, +1, +1);
    return;
  }
  if (!is_resolution(t)) {
    LEDGER_ASSERT(add_into(&debit.debits_posted, amount) &&
                  add_into(&credit.credits_posted, amount));
    velocity_add(t, +1, +1);
    return;
  }
  const std::uint32_t hold_position = at.hold;
  LEDGER_ASSERT(hold_position != IdIndex::not_found);
  const Transfer& hold = transfers_[hold_position];
  LEDGER_ASSERT(hold.pending_state == PendingState::open);
  const std::int64_t held = hold.amount_effective;
  const bool partial_release = (t.flags & flag_void_pending) != 0 && amount < held;
  if (partial_release) {  // the hold stays open with what remains
    LEDGER_ASSERT(add_into(&debit.debits_pending, -amount) &&
                  add_into(&credit.credits_pending, -amount));
    Transfer released = hold;
    released.amount_effective = amount;
    velocity_add(released, -1, 0);
    set_hold(hold_position, PendingState::open, held - amount);
    return;
  }
  LEDGER_ASSERT(add_into(&debit.debits_pending, -held) && add_into(&credit.credits_pending, -held));
  PendingState state = PendingState::voided;
  if ((t.flags & (flag_post_pending | flag_expiry)) == 0) velocity_add(hold, -1, -1);  // reversed
  if ((t.flags & flag_post_pending) != 0) {
    LEDGER_ASSERT(add_into(&debit.debits_posted, amount) &&
                  add_into(&credit.credits_posted, amount));
    state = PendingState::posted;
  } else if ((t.flags & flag_expiry) != 0) {
    state = PendingState::expired;
  }
  set_hold(hold_position, state, held);
  LEDGER_ASSERT(debit.open_pending > 0 && credit.open_pending > 0 && open_pending_total_ > 0);
  --debit.open_pending;
  --credit.open_pending;
  --open_pending_total_;
}

// --- Recovery and invariants -------------------------------------------------------------

void Engine::replay(const JournalRecord& record) {
  if (record.kind == RecordKind::card) {
    const Card& c = record.value.card;
    const std::uint32_t position =
        card_index_.find(c.id.value, [this](std::uint32_t p) { return cards_[p].id.value; });
    if (position == IdIndex::not_found) {
      const auto at = static_cast<std::uint32_t>(cards_.size());
      cards_.push_back(c);
      card_index_.insert(c.id.value, at);
      pan_index_.insert(pan_key(c.pan_hash), at);
    } else {
      cards_[position] = c;
    }
    last_timestamp_ = std::max(last_timestamp_, c.timestamp);
    return;
  }
  if (record.kind == RecordKind::account) {
    const Account& a = record.value.account;
    const std::uint32_t position = account_position(a.id);
    if (position == IdIndex::not_found) {
      LEDGER_ASSERT(accounts_.size() < options_.accounts_max);
      Account account = a;
      account.debits_pending = account.debits_posted = 0;
      account.credits_pending = account.credits_posted = 0;
      account.open_pending = 0;
      account_index_.insert(a.id.value, static_cast<std::uint32_t>(accounts_.size()));
      accounts_.push_back(account);
    } else {
      Account& account = accounts_[position];
      account.overdraft_limit = a.overdraft_limit;
      account.status = a.status;
      account.timestamp = a.timestamp;
    }
    last_timestamp_ = std::max(last_timestamp_, a.timestamp);
    return;
  }
  Transfer t = record.value.transfer;
  LEDGER_ASSERT(transfer_position(t.id) == IdIndex::not_found);
  t.pending_state = (t.result == TransferResult::ok && (t.flags & flag_pending) != 0)
                        ? PendingState::open
                        : PendingState::none;
  store_transfer(t);
  if (t.result == TransferResult::ok) apply_effects(t, positions_of(t));
  last_timestamp_ = std::max(last_timestamp_, t.timestamp);
  now_ns_ = std::max(now_ns_, t.timestamp);
}

void Engine::clear() {
  for (Velocity* v = velocity_.begin(); v != velocity_.begin() + cards_.size(); ++v)
    *v = Velocity{};
  cards_.truncate(0);
  card_index_.clear();
  pan_index_.clear();
  accounts_.truncate(0);
  transfers_.truncate(0);
  expiries_.truncate(0);
  account_index_.clear();
  transfer_index_.clear();
  undo_.clear();
  open_pending_total_ = 0;
  now_ns_ = 0;
  last_timestamp_ = 0;
}

std::map<std::uint32_t, CurrencyTotals> Engine::totals_by_currency() const {
  std::map<std::uint32_t, CurrencyTotals> totals;
  for (const Account& a : accounts_) {
    CurrencyTotals& t = totals[a.currency.code];
    t.debits_posted += a.debits_posted;
    t.credits_posted += a.credits_posted;
    t.debits_pending += a.debits_pending;
    t.credits_pending += a.credits_pending;
  }
  return totals;
}

std::uint64_t Engine::state_hash() const {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  const auto add = [&hash](std::uint64_t value) { hash = mix64(hash ^ value) * 0x100000001b3ULL; };
  for (const Account& a : accounts_) {
    add(a.id.value.hi);
    add(a.id.value.lo);
    add(static_cast<std::uint64_t>(a.debits_pending));
    add(static_cast<std::uint64_t>(a.debits_posted));
    add(static_cast<std::uint64_t>(a.credits_pending));
    add(static_cast<std::uint64_t>(a.credits_posted));
    add(static_cast<std::uint64_t>(a.overdraft_limit));
    add(static_cast<std::uint64_t>(a.status));
  }
  for (const Transfer& t : transfers_) {
    add(t.id.value.hi);
    add(t.id.value.lo);
    add(t.timestamp);
    add(static_cast<std::uint64_t>(t.amount_effective));
    add(static_cast<std::uint64_t>(t.result));
    add(static_cast<std::uint64_t>(t.pending_state));
  }
  return hash;
}

}  // namespace ledger::engine
