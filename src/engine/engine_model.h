// The naive reference model of the engine for engine_model_test.cc: std::map state, __int128
// balances, the whole model copied to undo a linked chain, card spending kept per day in a map.
// Written from the rules in docs/engine.md, docs/iso8583.md and docs/direct_debits.md, not from
// the engine's code (collections: every timed step found by scanning all of them, every
// account's waiting collections retried after every command). About 1,000 lines on purpose: one
// struct holds every rule, so that it reads as the rule book the engine is checked against.
#pragma once

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "ledger/card_ids.h"
#include "ledger/sepa.h"

namespace ledger::engine::model {

using R = TransferResult;
using AR = AccountResult;
using CR = CardResult;
using DR = DirectDebitResult;
using DS = DirectDebitStatus;

struct ModelAccount {
  Account spec;  // id, holder, currency, kind, flags, overdraft_limit(_created), reference
  AccountStatus status = AccountStatus::active;
  std::int64_t overdraft = 0;
  __int128 debits_pending = 0, debits_posted = 0, credits_pending = 0, credits_posted = 0;
  int open = 0;
  bool cards_first = false;   // the setting direct_debits_first = false
  std::uint64_t seq = 0;      // creation order (client-created accounts)
  std::uint64_t updated = 0;  // the timestamp of its last change (created or updated)
};

// An incoming SEPA collection (docs/direct_debits.md).
struct ModelDebit {
  DirectDebit spec;  // as received; account_id zero when refused AC01
  DS status = DS::received;
  std::uint8_t reason = 0;
  bool late = false;
  bool at_risk_checked = false;
  std::uint64_t wait_deadline = 0;
  std::uint64_t paid_at = 0;  // when it was debited
  std::int64_t missing = 0;
  std::uint64_t retry_at = 0;  // an engine-made posting found no room: tried again then
  std::uint64_t seq = 0;       // order received
};

struct ModelTransfer {
  Transfer body;  // the request as sent (client flags)
  R result = R::ok;
  std::int64_t effective = 0;
  PendingState state = PendingState::none;
  std::uint64_t timestamp = 0;
  AccountId debit, credit;
  Currency currency;
};

struct Model {
  std::size_t accounts_max = 0;
  std::size_t transfers_max = 0;
  std::size_t cards_max = 0;
  std::map<Uint128, ModelAccount> accounts;
  std::map<Uint128, ModelTransfer> transfers;
  // Card originals by card and network reference (card_ids::reference_alias): the first one.
  std::map<Uint128, Uint128> references;
  // Cards: by id, and the card id of each PAN hash; approved spending per card and UTC day.
  struct Day {
    std::int64_t amount = 0;
    std::int64_t count = 0;
  };
  std::map<Uint128, Card> cards;
  std::map<std::string, Uint128> pans;
  std::map<Uint128, std::map<std::uint32_t, Day>> spending;
  std::map<Uint128, ModelDebit> debits;
  std::uint64_t debit_seq = 0;
  std::uint64_t account_seq = 0;
  std::size_t open_total = 0;
  std::uint64_t now = 0;
  std::uint64_t last = 0;

  std::uint64_t tick() {
    last = std::max(now, last + 1);
    return last;
  }
  // Running totals are 128 bits: sums of int64 amounts never leave them in any run of this
  // test (2^64 maximal transfers would be needed), so `overflow` does not occur.
  static bool fits(__int128 v) { return v != std::numeric_limits<__int128>::min(); }

  AR create_account(const Account& a) {
    if (a.id.is_zero()) return AR::id_must_not_be_zero;
    auto it = accounts.find(a.id.value);
    if (it != accounts.end()) {
      const Account& s = it->second.spec;
      if (s.holder_id != a.holder_id) return AR::exists_with_different_holder_id;
      if (s.currency != a.currency) return AR::exists_with_different_currency;
      if (s.kind != a.kind) return AR::exists_with_different_kind;
      if ((s.flags & 3) != (a.flags & 3)) return AR::exists_with_different_flags;  // 4: a setting
      if (s.overdraft_limit != a.overdraft_limit) return AR::exists_with_different_overdraft_limit;
      if (s.reference != a.reference) return AR::exists_with_different_reference;
      return AR::exists;
    }
    if (a.flags > 6 || (a.flags & 3) == 3) return AR::flags_are_mutually_exclusive;
    if (a.currency.code == 0) return AR::currency_required;
    if (a.overdraft_limit < 0) return AR::overdraft_limit_must_not_be_negative;
    if (accounts.size() >= accounts_max) return AR::account_capacity_exhausted;
    ModelAccount m;
    m.spec = a;
    m.overdraft = a.overdraft_limit;
    m.cards_first = (a.flags & 4) != 0;
    m.seq = ++account_seq;
    m.updated = tick();
    accounts[a.id.value] = m;
    return AR::ok;
  }

  AR update_account(const AccountUpdate& u) {
    auto it = accounts.find(u.id.value);
    if (it == accounts.end()) return AR::account_not_found;
    ModelAccount& m = it->second;
    if (m.status == AccountStatus::closed) return AR::account_closed;
    if (u.set_overdraft_limit && u.overdraft_limit < 0)
      return AR::overdraft_limit_must_not_be_negative;
    if (u.set_status && u.status == AccountStatus::closed) {
      if (m.open != 0 || m.debits_pending != 0 || m.credits_pending != 0) {
        return AR::account_has_pending_transfers;
      }
      if (m.debits_posted != m.credits_posted) return AR::account_balance_not_zero;
    }
    if (u.set_overdraft_limit) m.overdraft = u.overdraft_limit;
    if (u.set_status) m.status = u.status;
    if (u.set_cards_before_direct_debits) m.cards_first = u.cards_before_direct_debits;
    m.updated = tick();
    return AR::ok;
  }

  bool room(const Transfer& t) const {
    const bool resolution = (t.flags & (flag_post_pending | flag_void_pending)) != 0;
    const std::size_t need = resolution ? 1 : ((t.flags & flag_pending) ? 2 : 1);
    return transfers.size() + open_total + need <= transfers_max;
  }

  R existing(const Transfer& t, const ModelTransfer& e) const {
    const Transfer& b = e.body;
    const bool res = (b.flags & (flag_post_pending | flag_void_pending)) != 0;
    if (b.flags != t.flags) return R::exists_with_different_flags;
    if ((!res || !t.debit_account_id.is_zero()) && b.debit_account_id != t.debit_account_id &&
        !(res && e.debit == t.debit_account_id)) {
      return R::exists_with_different_debit_account_id;
    }
    if ((!res || !t.credit_account_id.is_zero()) && b.credit_account_id != t.credit_account_id &&
        !(res && e.credit == t.credit_account_id)) {
      return R::exists_with_different_credit_account_id;
    }
    if (b.amount != t.amount) return R::exists_with_different_amount;
    if ((!res || t.currency.code != 0) && b.currency != t.currency &&
        !(res && e.currency == t.currency)) {
      return R::exists_with_different_currency;
    }
    if (b.pending_id != t.pending_id) return R::exists_with_different_pending_id;
    if (b.timeout_s != t.timeout_s) return R::exists_with_different_timeout;
    if (b.code != t.code) return R::exists_with_different_code;
    if (b.reference_a != t.reference_a) return R::exists_with_different_reference_a;
    if (b.reference_b != t.reference_b) return R::exists_with_different_reference_b;
    if (b.reference_32 != t.reference_32) return R::exists_with_different_reference_32;
    return e.result == R::ok ? R::exists : e.result;
  }

  void remember(const Transfer& t, R result) {
    ModelTransfer m;
    m.body = t;
    m.result = result;
    m.timestamp = tick();
    m.debit = t.debit_account_id;
    m.credit = t.credit_account_id;
    m.currency = t.currency;
    store(m);
  }

  static bool over_limit(const ModelAccount& a, bool debit_side) {
    if (debit_side && (a.spec.flags & debits_must_not_exceed_credits)) {
      return a.debits_pending + a.debits_posted > a.credits_posted + a.overdraft;
    }
    if (!debit_side && (a.spec.flags & credits_must_not_exceed_debits)) {
      return a.credits_pending + a.credits_posted > a.debits_posted + a.overdraft;
    }
    return false;
  }
  static bool all_fit(const ModelAccount& a) {
    return fits(a.debits_pending) && fits(a.debits_posted) && fits(a.credits_pending) &&
           fits(a.credits_posted) && fits(a.debits_pending + a.debits_posted) &&
           fits(a.credits_pending + a.credits_posted);
  }

  // Returns the result; applies the transfer when ok (stores rejections too).
  R transfer(const Transfer& t) {
    if (t.id.is_zero()) return R::id_must_not_be_zero;
    if (auto it = transfers.find(t.id.value); it != transfers.end()) return existing(t, it->second);
    if (!room(t)) return R::transfer_capacity_exhausted;
    const R r = evaluate(t);
    if (r != R::ok) remember(t, r);
    return r;
  }

  R evaluate(const Transfer& t) {
    const int phases = !!(t.flags & flag_pending) + !!(t.flags & flag_post_pending) +
                       !!(t.flags & flag_void_pending);
    if ((t.flags & ~transfer_flags_client) || phases > 1) return R::flags_are_mutually_exclusive;
    const bool post = t.flags & flag_post_pending, voiding = t.flags & flag_void_pending;
    const bool pending = t.flags & flag_pending, force = t.flags & flag_force;
    if ((t.flags & flag_allow_over_capture) && !post) return R::over_capture_requires_post_pending;
    if (post || voiding) {
      if (t.pending_id.is_zero()) return R::pending_id_required;
      if (t.pending_id == t.id) return R::pending_id_must_differ;
    } else if (!t.pending_id.is_zero()) {
      return R::pending_id_must_be_zero;
    }
    if (t.timeout_s != 0 && !pending) return R::timeout_reserved_for_pending;
    if ((post || voiding) ? t.amount < 0 : t.amount <= 0) return R::amount_must_be_positive;
    if (post || voiding) return resolve(t, post, force);
    if (t.debit_account_id == t.credit_account_id) return R::accounts_must_be_different;
    auto d = accounts.find(t.debit_account_id.value);
    if (d == accounts.end()) return R::debit_account_not_found;
    auto c = accounts.find(t.credit_account_id.value);
    if (c == accounts.end()) return R::credit_account_not_found;
    if (t.currency != d->second.spec.currency || t.currency != c->second.spec.currency) {
      return R::currency_mismatch;
    }
    if (d->second.status == AccountStatus::closed || c->second.status == AccountStatus::closed) {
      return R::account_closed;
    }
    if (d->second.status == AccountStatus::frozen && !force) return R::account_frozen;
    ModelAccount nd = d->second, nc = c->second;
    (pending ? nd.debits_pending : nd.debits_posted) += t.amount;
    (pending ? nc.credits_pending : nc.credits_posted) += t.amount;
    if (!all_fit(nd) || !all_fit(nc)) return R::overflow;
    if (!force && (over_limit(nd, true) || over_limit(nc, false))) return R::exceeds_available;
    if (pending) {
      ++nd.open;
      ++nc.open;
      ++open_total;
    }
    d->second = nd;
    c->second = nc;
    ModelTransfer m;
    m.body = t;
    m.effective = t.amount;
    m.state = pending ? PendingState::open : PendingState::none;
    m.timestamp = tick();
    spend(t, m.timestamp, t.amount, 1);
    m.debit = t.debit_account_id;
    m.credit = t.credit_account_id;
    m.currency = t.currency;
    store(m);
    return R::ok;
  }

  R resolve(const Transfer& t, bool post, bool force) {
    auto h = transfers.find(t.pending_id.value);
    if (h == transfers.end()) return R::pending_not_found;
    ModelTransfer& hold = h->second;
    if (!(hold.body.flags & flag_pending) || hold.result != R::ok) return R::pending_is_not_pending;
    if (!t.debit_account_id.is_zero() && t.debit_account_id != hold.debit) {
      return R::pending_has_different_debit_account_id;
    }
    if (!t.credit_account_id.is_zero() && t.credit_account_id != hold.credit) {
      return R::pending_has_different_credit_account_id;
    }
    if (t.currency.code != 0 && t.currency != hold.currency) return R::currency_mismatch;
    if (hold.state == PendingState::posted) return R::pending_already_posted;
    if (hold.state == PendingState::voided) return R::pending_already_voided;
    if (hold.state == PendingState::expired) return R::pending_expired;
    const std::int64_t held = hold.effective;
    const std::int64_t amount = t.amount == 0 ? held : t.amount;
    if (post && amount > held && !(t.flags & flag_allow_over_capture))
      return R::amount_exceeds_pending;
    if (!post && amount > held) return R::amount_exceeds_pending;
    if (post && amount > held && !force &&
        accounts[hold.debit.value].status == AccountStatus::frozen)
      return R::account_frozen;    // the part above the hold is a new debit
    if (!post && amount < held) {  // a partial void: release part, the hold stays open
      spend(hold.body, hold.timestamp, -amount, 0);
      ModelAccount pd = accounts[hold.debit.value], pc = accounts[hold.credit.value];
      pd.debits_pending -= amount;
      pc.credits_pending -= amount;
      accounts[hold.debit.value] = pd;
      accounts[hold.credit.value] = pc;
      hold.effective -= amount;
      ModelTransfer m;
      m.body = t;
      m.effective = amount;
      m.timestamp = tick();
      m.debit = hold.debit;
      m.credit = hold.credit;
      m.currency = hold.currency;
      store(m);
      return R::ok;
    }
    ModelAccount nd = accounts[hold.debit.value], nc = accounts[hold.credit.value];
    nd.debits_pending -= held;
    nc.credits_pending -= held;
    if (post) {
      nd.debits_posted += amount;
      nc.credits_posted += amount;
    }
    if (!all_fit(nd) || !all_fit(nc)) return R::overflow;
    if (post && amount > held && !force && (over_limit(nd, true) || over_limit(nc, false))) {
      return R::exceeds_available;
    }
    --nd.open;
    --nc.open;
    --open_total;
    accounts[hold.debit.value] = nd;
    accounts[hold.credit.value] = nc;
    if (!post && t.code != TransferCode::card_capture)
      spend(hold.body, hold.timestamp, -held, -1);  // a reversal gives it back
    hold.state = post ? PendingState::posted : PendingState::voided;
    ModelTransfer m;
    m.body = t;
    m.effective = amount;
    m.timestamp = tick();
    m.debit = hold.debit;
    m.credit = hold.credit;
    m.currency = hold.currency;
    store(m);
    return R::ok;
  }

  // ---- Cards and card-network messages ---------------------------------------------------

  static std::uint32_t day_of(std::uint64_t ts) {
    return static_cast<std::uint32_t>(ts / (86'400ULL * 1'000'000'000ULL));
  }
  static std::string pan_of(const std::uint8_t (&hash)[32]) {
    return std::string(reinterpret_cast<const char*>(hash), 32);
  }

  // Approved card spending: authorizations and single-message postings of a known card count
  // on the UTC day of the transfer; reversals take theirs back (not posts, not expiries).
  void spend(const Transfer& t, std::uint64_t timestamp, std::int64_t amount, int count) {
    if (t.code != TransferCode::card_authorization && t.code != TransferCode::card_financial)
      return;
    const Uint128 card{t.reference_a, t.reference_b};
    if (cards.count(card) == 0) return;
    Day& day = spending[card][day_of(timestamp)];
    std::int64_t total = 0;
    if (checked_add(day.amount, amount, &total)) day.amount = total;
    day.count = std::max<std::int64_t>(0, day.count + count);
  }

  Engine::Spending spent(Uint128 card, std::uint64_t at) const {
    Engine::Spending total;
    const auto it = spending.find(card);
    if (it == spending.end()) return total;
    const std::uint32_t today = day_of(at);
    for (const auto& [day, d] : it->second) {
      if (day > today || day + 30 <= today || d.count == 0) continue;
      total.last_30_days += d.amount;
      if (day == today) {
        total.today += d.amount;
        total.count_today += static_cast<std::uint32_t>(d.count);
      }
    }
    return total;
  }

  // The account first: nothing about card numbers is told for an account that is not there.
  CR create_card(const Card& c) {
    if (c.id.is_zero()) return CR::id_must_not_be_zero;
    const auto account = accounts.find(c.account_id.value);
    if (account == accounts.end()) return CR::card_account_not_found;
    if (auto it = cards.find(c.id.value); it != cards.end()) {
      if (it->second.account_id != c.account_id) return CR::exists_with_different_account_id;
      if (pan_of(it->second.pan_hash) != pan_of(c.pan_hash)) return CR::exists_with_different_pan;
      if (it->second.expiry_yymm != c.expiry_yymm) return CR::exists_with_different_expiry;
      return CR::exists;
    }
    if (account->second.status == AccountStatus::closed) return CR::card_account_closed;
    if (pans.count(pan_of(c.pan_hash)) != 0) return CR::card_pan_exists;
    if (cards.size() >= cards_max) return CR::card_capacity_exhausted;
    cards[c.id.value] = c;
    pans[pan_of(c.pan_hash)] = c.id.value;
    tick();
    return CR::ok;
  }

  CR update_card(const CardUpdate& u) {
    auto it = cards.find(u.id.value);
    if (it == cards.end()) return CR::card_not_found;
    Card& card = it->second;
    if (card.status == CardStatus::blocked) return CR::card_blocked;
    if (u.set_status) card.status = u.status;
    const CardControlsPatch& p = u.controls;
    CardControls& k = card.controls;
    if (p.fields & control_per_authorization_limit)
      k.per_authorization_limit = p.values.per_authorization_limit;
    if (p.fields & control_daily_limit) k.daily_limit = p.values.daily_limit;
    if (p.fields & control_monthly_limit) k.monthly_limit = p.values.monthly_limit;
    if (p.fields & control_daily_count_limit) k.daily_count_limit = p.values.daily_count_limit;
    if (p.fields & control_blocked_mccs) {
      k.blocked_mcc_count = p.values.blocked_mcc_count;
      std::copy_n(p.values.blocked_mccs, card_blocked_mccs_max, k.blocked_mccs);
    }
    k.channels = static_cast<std::uint8_t>((k.channels | p.channels_on) & ~p.channels_off & 0xF);
    tick();
    return CR::ok;
  }

  static R repeat(const ModelTransfer& original) {
    return original.result == R::ok ? R::exists : original.result;
  }

  // The decision order: card, (unless forced) expiry, status, channel, MCC, then currency,
  // then (all checks) limits, count and funds.
  enum class Checks { existence, card, all };
  R decide(const Authorization& a, const Card* card, const ModelAccount* account, Checks checks,
           std::int64_t* approved) const {
    if (card == nullptr) return R::card_unknown;
    if (checks != Checks::existence) {
      if (card->expiry_yymm < a.today_yymm ||
          (a.expiry_yymm != 0 && a.expiry_yymm != card->expiry_yymm))
        return R::card_expired;
      if (card->status != CardStatus::active || account->status != AccountStatus::active)
        return R::card_not_active;
      if ((a.channels & ~card->controls.channels) != 0) return R::card_channel_not_allowed;
      for (std::uint8_t i = 0; i < card->controls.blocked_mcc_count; ++i)
        if (card->controls.blocked_mccs[i] == a.mcc) return R::card_mcc_blocked;
    }
    if (a.currency != account->spec.currency) return R::currency_mismatch;
    *approved = a.amount;
    if (checks != Checks::all) return R::ok;
    const CardControls& k = card->controls;
    const Engine::Spending s = spent(card->id.value, now);
    const auto over = [](__int128 used, __int128 more, std::int64_t limit) {
      return limit != 0 && used + more > limit;
    };
    if (over(0, a.amount, k.per_authorization_limit) || over(s.today, a.amount, k.daily_limit) ||
        over(s.last_30_days, a.amount, k.monthly_limit)) {
      return R::card_limit_exceeded;
    }
    if (k.daily_count_limit != 0 && s.count_today + 1 > k.daily_count_limit)
      return R::card_count_limit_exceeded;
    if (account->spec.flags & debits_must_not_exceed_credits) {
      const __int128 available = account->credits_posted - account->debits_posted -
                                 account->debits_pending + account->overdraft;
      if (available < a.amount) {
        const std::int64_t purchase = a.amount - a.cash_back;
        if (a.cash_back > 0 && purchase > 0 && available >= purchase) {
          *approved = purchase;
        } else if (!a.partial_allowed || available <= 0) {
          return R::exceeds_available;
        } else {
          *approved = static_cast<std::int64_t>(available);
        }
      }
    }
    return R::ok;
  }

  void store(const ModelTransfer& m) {
    transfers[m.body.id.value] = m;
    const Transfer& t = m.body;
    if (card_ids::is_reference_key(t.reference_32) && (t.reference_a | t.reference_b) != 0 &&
        (t.code == TransferCode::card_authorization || t.code == TransferCode::card_financial ||
         t.code == TransferCode::card_refund)) {
      references.emplace(card_ids::reference_alias(t.reference_a, t.reference_b, t.reference_32),
                         t.id.value);
    }
  }
  TransferId find_original(const Authorization& a) const {
    if (a.reference == 0 || find(a.original) != nullptr) return a.original;
    const auto pan = pans.find(pan_of(a.pan_hash));
    if (pan == pans.end()) return a.original;
    const auto r =
        references.find(card_ids::reference_alias(pan->second.hi, pan->second.lo, a.reference));
    if (r == references.end()) return a.original;
    const Transfer& t = transfers.at(r->second).body;
    const AccountId settlement = Engine::settlement_account_id(t.currency);
    if (t.debit_account_id != settlement && t.credit_account_id != settlement) return a.original;
    return t.id;
  }

  const ModelTransfer* find(TransferId id) const {
    auto it = transfers.find(id.value);
    return it == transfers.end() ? nullptr : &it->second;
  }
  static bool open_hold(const ModelTransfer* t) {
    return t != nullptr && t->result == R::ok && (t->body.flags & flag_pending) &&
           t->state == PendingState::open;
  }
  static bool posting(const ModelTransfer* t) {
    return t != nullptr && t->result == R::ok &&
           !(t->body.flags & (flag_pending | flag_post_pending | flag_void_pending));
  }
  // The transaction's slots (ledger/card_ids.h), listed the naive way.
  std::vector<TransferId> slots(TransferId original, bool reversals) const {
    std::vector<TransferId> ids;
    const std::uint32_t max =
        reversals ? limits::card_reversals_max : limits::card_incrementals_max;
    for (std::uint32_t k = 0; k < max; ++k) {
      const TransferId id =
          reversals ? card_ids::reversal(original, k) : card_ids::incremental(original, k);
      if (!find(id)) break;
      ids.push_back(id);
    }
    return ids;
  }
  std::vector<TransferId> open_holds(TransferId original) const {
    std::vector<TransferId> holds;
    for (TransferId id : {original, card_ids::advice(original)})
      if (open_hold(find(id))) holds.push_back(id);
    for (TransferId id : slots(original, false))
      if (open_hold(find(id))) holds.push_back(id);
    return holds;
  }
  __int128 refunded(TransferId original) const {
    __int128 total = 0;
    for (TransferId id : slots(original, true))
      if (posting(find(id))) total += find(id)->effective;
    return total;
  }
  bool released(const ModelTransfer& t) const {
    if (t.result != R::ok) return false;
    if (t.body.flags & flag_pending)
      return t.state == PendingState::voided || t.state == PendingState::expired;
    return posting(&t) && refunded(t.body.id) >= t.effective;
  }

  R check_only(const Authorization& a) {
    const Card* card = nullptr;
    if (auto p = pans.find(pan_of(a.pan_hash)); p != pans.end()) card = &cards.at(p->second);
    const ModelAccount* account = card ? &accounts.at(card->account_id.value) : nullptr;
    std::int64_t unused = 0;
    Authorization probe = a;
    probe.amount = 0;
    const R r = decide(probe, card, account, Checks::card, &unused);
    return r == R::currency_mismatch && a.kind != AuthorizationKind::refund ? R::ok : r;
  }

  R authorize(Authorization a) {
    if (a.kind == AuthorizationKind::balance_inquiry || a.kind == AuthorizationKind::verification ||
        (a.kind == AuthorizationKind::refund && !a.post_now)) {
      return check_only(a);
    }
    std::uint32_t key = card_ids::is_reference_key(a.reference) ? a.reference : 0;
    if (a.incremental) {
      a.original = find_original(a);
      key = card_ids::message_key(a.id);
      const std::vector<TransferId> taken = slots(a.original, false);
      const ModelTransfer* declined = nullptr;
      for (TransferId id : taken) {
        const ModelTransfer* slot = find(id);
        if (slot->body.reference_32 != key) continue;
        if (slot->result == R::ok) return repeat(*slot);
        declined = slot;
      }
      if (declined != nullptr && !a.force) return repeat(*declined);
      if (taken.size() == limits::card_incrementals_max) return R::card_transaction_full;
      a.id = card_ids::incremental(a.original, static_cast<std::uint32_t>(taken.size()));
    } else if (const ModelTransfer* first = find(a.id)) {
      const bool approved = first->result == R::ok;
      if ((approved && !released(*first)) || (!approved && !a.force)) return repeat(*first);
      a.id = card_ids::advice(a.id);
      key = 0;
      if (const ModelTransfer* again = find(a.id)) {
        if (again->result == R::ok && released(*again)) return R::card_transaction_full;
        return repeat(*again);
      }
    }
    const Card* card = nullptr;
    if (auto p = pans.find(pan_of(a.pan_hash)); p != pans.end()) card = &cards.at(p->second);
    const ModelAccount* account = card ? &accounts.at(card->account_id.value) : nullptr;
    const bool refund = a.kind == AuthorizationKind::refund;
    Transfer t;
    t.id = a.id;
    t.amount = a.amount;
    t.currency = a.currency;
    t.reference_32 = key;
    if (card != nullptr) {
      t.reference_a = card->id.value.hi;
      t.reference_b = card->id.value.lo;
    }
    t.code = refund
                 ? TransferCode::card_refund
                 : (a.post_now ? TransferCode::card_financial : TransferCode::card_authorization);
    t.flags =
        static_cast<std::uint16_t>((a.post_now ? 0 : flag_pending) | (a.force ? flag_force : 0));
    t.timeout_s = (t.flags & flag_pending) ? a.hold_timeout_s : 0;
    const AccountId settlement = Engine::settlement_account_id(a.currency);
    const AccountId holder = card != nullptr ? card->account_id : AccountId{};
    t.debit_account_id = refund ? settlement : holder;
    t.credit_account_id = refund ? holder : settlement;
    if (a.id.is_zero()) return R::id_must_not_be_zero;
    if (a.amount <= 0) return R::amount_must_be_positive;
    if (a.currency.code == 0) return R::currency_mismatch;
    if (!room(t)) return R::transfer_capacity_exhausted;
    std::int64_t approved = 0;
    R r = decide(a, card, account,
                 a.force  ? Checks::existence
                 : refund ? Checks::card
                          : Checks::all,
                 &approved);
    if (r == R::ok && accounts.count(settlement.value) == 0) {
      if (accounts.size() >= accounts_max) {
        r = R::transfer_capacity_exhausted;
      } else {
        ModelAccount m;
        m.spec.id = settlement;
        m.spec.currency = a.currency;
        m.spec.kind = AccountKind::settlement;
        accounts[settlement.value] = m;
        tick();
      }
    }
    if (r != R::ok) {
      remember(t, r);
      return r;
    }
    const bool pending = (t.flags & flag_pending) != 0;
    ModelAccount& d = accounts[t.debit_account_id.value];
    ModelAccount& c = accounts[t.credit_account_id.value];
    (pending ? d.debits_pending : d.debits_posted) += approved;
    (pending ? c.credits_pending : c.credits_posted) += approved;
    if (pending) {
      ++d.open;
      ++c.open;
      ++open_total;
    }
    ModelTransfer m;
    m.body = t;
    m.effective = approved;
    m.state = pending ? PendingState::open : PendingState::none;
    m.timestamp = tick();
    m.debit = t.debit_account_id;
    m.credit = t.credit_account_id;
    m.currency = t.currency;
    store(m);
    spend(t, m.timestamp, approved, 1);
    return R::ok;
  }

  // 0220: the open holds resolved together (the first posted with the final amount, the
  // others released), within the over-capture tolerance; no hold, or a refund: a forced
  // posting of its own.
  R complete(Authorization a) {
    a.original = find_original(a);
    const TransferId id = card_ids::completion(a.original);
    if (const ModelTransfer* again = find(id)) return repeat(*again);
    const std::vector<TransferId> holds = open_holds(a.original);
    if (a.kind == AuthorizationKind::refund || holds.empty()) {
      if (a.kind != AuthorizationKind::refund && posting(find(a.original)))
        return R::pending_is_not_pending;
      Authorization p = a;
      p.id = id;
      p.force = true;
      p.post_now = true;
      p.incremental = false;
      return authorize(p);
    }
    __int128 held = 0;
    for (TransferId h : holds) held += find(h)->effective;
    if (a.amount > held &&
        a.amount > std::max<__int128>(held + held * a.over_capture_pct / 100, a.over_capture_max))
      return R::over_capture_beyond_tolerance;
    R first = R::ok;
    for (std::size_t i = 0; i < holds.size(); ++i) {
      Transfer t;
      t.id = i == 0 ? id : card_ids::part(id, static_cast<std::uint32_t>(i));
      t.pending_id = holds[i];
      t.code = TransferCode::card_capture;
      if (i == 0 && a.amount > 0) {
        t.flags = flag_post_pending;
        t.amount = a.amount;
        if (a.amount > find(holds[0])->effective) t.flags |= flag_allow_over_capture | flag_force;
      } else {
        t.flags = flag_void_pending;
      }
      const R r = transfer(t);
      if (i == 0) first = r;
      if (r != R::ok) return r;
    }
    return first;
  }

  // 0400/0420: open holds released down to the replacement (latest first); otherwise what
  // was posted, less earlier reversals, given back down to it. Each in the next slot.
  R reverse(Authorization a) {
    const std::uint32_t key =
        a.late_rule ? card_ids::late_rule_key(a.answer_by_ns) : card_ids::message_key(a.id);
    a.original = find_original(a);
    const std::vector<TransferId> taken = slots(a.original, true);
    for (TransferId id : taken)
      if (find(id)->body.reference_32 == key) return repeat(*find(id));
    if (!find(a.original) && !find(card_ids::advice(a.original))) return R::pending_not_found;
    if (taken.size() == limits::card_reversals_max) return R::card_transaction_full;
    const TransferId id = card_ids::reversal(a.original, static_cast<std::uint32_t>(taken.size()));
    const std::vector<TransferId> holds = open_holds(a.original);
    if (!holds.empty()) {
      __int128 held = 0;
      for (TransferId h : holds) held += find(h)->effective;
      __int128 release = held - std::max<std::int64_t>(a.replacement, 0);
      if (release <= 0) return R::nothing_to_reverse;
      R first = R::ok;
      std::uint32_t j = 0;
      for (auto h = holds.rbegin(); h != holds.rend() && release > 0; ++h, ++j) {
        const std::int64_t amount = find(*h)->effective;
        const auto part = static_cast<std::int64_t>(std::min<__int128>(release, amount));
        Transfer t;
        t.id = j == 0 ? id : card_ids::part(id, j);
        t.pending_id = *h;
        t.flags = flag_void_pending;
        t.amount = part == amount ? 0 : part;
        t.code = TransferCode::card_reversal;
        t.reference_32 = key;
        release -= part;
        const R r = transfer(t);
        if (j == 0) first = r;
        if (r != R::ok) return r;
      }
      return first;
    }
    if (a.release_only) return R::nothing_to_reverse;
    const ModelTransfer* posted = nullptr;
    __int128 total = 0;
    const ModelTransfer* capture = find(card_ids::completion(a.original));
    if (capture != nullptr && capture->result == R::ok) {
      posted = capture;
      total += capture->effective;
    }
    for (TransferId source : {a.original, card_ids::advice(a.original)}) {
      if (!posting(find(source))) continue;
      if (posted == nullptr) posted = find(source);
      total += find(source)->effective;
    }
    if (posted == nullptr) return R::nothing_to_reverse;
    const auto back = static_cast<std::int64_t>(
        std::min<__int128>(total - refunded(a.original) - std::max<std::int64_t>(a.replacement, 0),
                           std::numeric_limits<std::int64_t>::max()));
    if (back <= 0) return R::nothing_to_reverse;
    Transfer t;
    t.id = id;
    t.debit_account_id = posted->credit;
    t.credit_account_id = posted->debit;
    t.amount = back;
    t.currency = posted->currency;
    t.flags = flag_force;
    t.code = TransferCode::card_reversal;
    t.reference_a = posted->body.reference_a;
    t.reference_b = posted->body.reference_b;
    t.reference_32 = key;
    return transfer(t);
  }

  // One command that is not a transfer: its result code.
  std::uint8_t other(const Command& c) {
    switch (c.kind) {
      case CommandKind::create_account:
        return static_cast<std::uint8_t>(create_account(c.body.account));
      case CommandKind::update_account:
        return static_cast<std::uint8_t>(update_account(c.body.update));
      case CommandKind::create_card:
        return static_cast<std::uint8_t>(create_card(c.body.card));
      case CommandKind::update_card:
        return static_cast<std::uint8_t>(update_card(c.body.card_update));
      case CommandKind::lookup_card:
        return cards.count(c.body.card_id.value) ? 0 : 1;
      case CommandKind::lookup_account:
        return accounts.count(c.body.account_id.value) ? 0 : 1;
      case CommandKind::lookup_transfer:
        return transfers.count(c.body.transfer_id.value) ? 0 : 1;
      case CommandKind::authorize:
        return static_cast<std::uint8_t>(authorize(c.body.authorization));
      case CommandKind::card_completion:
        return static_cast<std::uint8_t>(complete(c.body.authorization));
      case CommandKind::card_reversal:
        return static_cast<std::uint8_t>(reverse(c.body.authorization));
      case CommandKind::create_monitor:  // not generated: engine_test checks monitors
      case CommandKind::delete_monitor:
      case CommandKind::lookup_monitor:
      case CommandKind::record_spike:
      case CommandKind::receive_direct_debit:
        return static_cast<std::uint8_t>(receive_debit(c.body.direct_debit));
      case CommandKind::refund_direct_debit:
        return static_cast<std::uint8_t>(refund_debit(c.body.direct_debit));
      case CommandKind::refuse_direct_debit:
        return static_cast<std::uint8_t>(refuse_debit(c.body.direct_debit));
      case CommandKind::reverse_direct_debit:
        return static_cast<std::uint8_t>(reverse_debit(c.body.direct_debit));
      case CommandKind::lookup_direct_debit:
        return 0;
      case CommandKind::clear_card:  // not generated: engine_cards_test and clearing tests
        return 0;
      case CommandKind::create_transfer:
        break;
    }
    return static_cast<std::uint8_t>(transfer(c.body.transfer));
  }

  // ---- Incoming SEPA direct debits ----

  static constexpr std::uint64_t second_ns = 1'000'000'000;
  static constexpr std::uint64_t day_ns = 86400 * second_ns;
  static Currency eur() { return *currency_from_alpha("EUR"); }

  // Available: posted less pending plus the overdraft, on the account's normal side.
  static __int128 available(const ModelAccount& a) {
    const bool credit_normal = (a.spec.flags & credits_must_not_exceed_debits) != 0;
    const __int128 posted =
        credit_normal ? a.debits_posted - a.credits_posted : a.credits_posted - a.debits_posted;
    const __int128 pending = credit_normal ? a.credits_pending : a.debits_pending;
    return posted - pending + a.overdraft;
  }

  DR receive_debit(const DirectDebit& in) {
    if (in.id.is_zero()) return DR::id_must_not_be_zero;
    if (auto it = debits.find(in.id.value); it != debits.end()) {
      const DirectDebit& e = it->second.spec;
      const bool same = e.account_id == in.account_id && e.amount == in.amount &&
                        e.due_day == in.due_day && e.scheme == in.scheme;
      return same ? DR::exists : DR::exists_with_different_fields;
    }
    ModelDebit d;
    d.spec = in;
    auto reason = static_cast<sepa::Reason>(in.reason);
    if (reason == sepa::Reason::none) {
      auto a = accounts.find(in.account_id.value);
      if (a == accounts.end() || a->second.spec.kind != AccountKind::customer) {
        reason = sepa::Reason::AC01;
      } else if (a->second.spec.currency != eur()) {
        reason = sepa::Reason::AG01;
      } else if (a->second.status == AccountStatus::closed) {
        reason = sepa::Reason::AC04;
      } else if (a->second.status == AccountStatus::frozen) {
        reason = sepa::Reason::AC06;
      }
    }
    if (reason == sepa::Reason::AC01) d.spec.account_id = AccountId{};
    d.reason = static_cast<std::uint8_t>(reason);
    d.status = reason == sepa::Reason::none ? DS::received : DS::refused;
    d.seq = ++debit_seq;
    debits[in.id.value] = d;
    tick();
    return DR::ok;
  }

  // The last day a refund may be asked: 56 days after the due date (MD06), or the same day 13
  // months later, clipped to that month's end (MD01).
  static std::int32_t refund_last_day(std::int32_t due, bool unauthorised) {
    if (!unauthorised) return due + 56;
    int y = 0;
    unsigned m = 0, d = 0;
    sepa::civil_from_days(due, &y, &m, &d);
    int month = static_cast<int>(m) + 13;  // 14..25
    int year = y + (month - 1) / 12;
    month = (month - 1) % 12 + 1;
    // Days in that month: the first of the next month less the first of this one.
    const std::int32_t first = sepa::days_from_civil(year, static_cast<unsigned>(month), 1);
    const std::int32_t next =
        month == 12 ? sepa::days_from_civil(year + 1, 1, 1)
                    : sepa::days_from_civil(year, static_cast<unsigned>(month + 1), 1);
    const auto last = static_cast<unsigned>(next - first);
    return first + static_cast<std::int32_t>(std::min(d, last)) - 1;
  }

  DR refund_debit(const DirectDebit& in) {
    auto it = debits.find(in.id.value);
    if (it == debits.end()) return DR::direct_debit_not_found;
    ModelDebit& d = it->second;
    if (d.status == DS::refunded) return DR::ok;  // refunded once; a repeat says so
    if (d.status != DS::paid) return DR::direct_debit_not_paid;
    if (d.spec.scheme == DirectDebitScheme::b2b) return DR::refund_not_allowed_for_b2b;
    const bool md01 = static_cast<sepa::Reason>(in.reason) == sepa::Reason::MD01;
    // From the debit: the due date, or the day a waiting collection was paid.
    const auto debited = std::max<std::int64_t>(
        d.spec.due_day, d.paid_at != 0 ? static_cast<std::int64_t>(d.paid_at / day_ns) : 0);
    if (static_cast<std::int64_t>(now / day_ns) >
        refund_last_day(static_cast<std::int32_t>(debited), md01)) {
      return DR::refund_period_over;
    }
    if (!post_debit(d, Engine::DebitPosting::refunded)) return DR::direct_debit_capacity_exhausted;
    d.status = DS::refunded;
    d.reason = static_cast<std::uint8_t>(md01 ? sepa::Reason::MD01 : sepa::Reason::MD06);
    d.retry_at = 0;
    tick();
    return DR::ok;
  }

  // The creditor's bank reverses a paid collection (pacs.007): clearing -> customer, any
  // scheme, no window, the whole amount only.
  DR reverse_debit(const DirectDebit& in) {
    auto it = debits.find(in.id.value);
    if (it == debits.end()) return DR::direct_debit_not_found;
    ModelDebit& d = it->second;
    if (d.status == DS::reversed) return DR::ok;
    if (d.status != DS::paid) return DR::direct_debit_not_paid;
    if (in.amount != 0 && in.amount != d.spec.amount) return DR::exists_with_different_fields;
    if (!post_debit(d, Engine::DebitPosting::reversed)) return DR::direct_debit_capacity_exhausted;
    d.status = DS::reversed;
    d.reason = in.reason;
    d.retry_at = 0;
    tick();
    return DR::ok;
  }

  DR refuse_debit(const DirectDebit& in) {
    auto it = debits.find(in.id.value);
    if (it == debits.end()) return DR::direct_debit_not_found;
    ModelDebit& d = it->second;
    // Refused until the reject cut-off (the day before settlement, at the settlement time).
    if (d.status != DS::received || now >= cutoff(d)) return DR::direct_debit_already_settled;
    d.status = DS::refused;
    d.reason = in.reason;
    d.retry_at = 0;
    tick();
    return DR::ok;
  }

  // An engine-made account (clearing, suspense) when first needed; false when full.
  bool ensure_internal(AccountId id, AccountKind kind) {
    if (accounts.count(id.value) != 0) return true;
    if (accounts.size() >= accounts_max) return false;
    ModelAccount m;
    m.spec.id = id;
    m.spec.currency = eur();
    m.spec.kind = kind;
    accounts[id.value] = m;
    tick();
    return true;
  }

  // One posting of a collection; false when the transfer store or the accounts are full.
  bool post_debit(const ModelDebit& d, Engine::DebitPosting posting) {
    using P = Engine::DebitPosting;
    const AccountId clearing = Engine::direct_debit_clearing_account_id();
    const AccountId suspense = Engine::direct_debit_suspense_account_id();
    const TransferId id = Engine::direct_debit_transfer_id(d.spec.id, posting);
    if (transfers.size() + open_total + 1 > transfers_max || transfers.count(id.value) != 0) {
      return false;
    }
    if (!ensure_internal(clearing, AccountKind::settlement) ||
        !ensure_internal(suspense, AccountKind::suspense)) {
      return false;
    }
    AccountId debit = d.spec.account_id, credit = clearing;
    if (posting == P::funded) debit = suspense;
    if (posting == P::paid_late) credit = suspense;
    if (posting == P::returned) debit = clearing, credit = suspense;
    if (posting == P::refunded || posting == P::reversed)
      debit = clearing, credit = d.spec.account_id;
    accounts[debit.value].debits_posted += d.spec.amount;
    accounts[credit.value].credits_posted += d.spec.amount;
    ModelTransfer m;
    m.body.id = id;
    m.body.amount = d.spec.amount;
    m.effective = d.spec.amount;
    m.timestamp = tick();
    m.debit = debit;
    m.credit = credit;
    m.currency = eur();
    store(m);
    return true;
  }

  // When the collection next needs the engine (UINT64_MAX: never).
  static std::uint64_t debit_time(const ModelDebit& d) {
    if (d.retry_at != 0) return d.retry_at;
    if (d.status == DS::received) {
      return !d.at_risk_checked && d.spec.settle_at > day_ns ? d.spec.settle_at - day_ns
                                                             : d.spec.settle_at;
    }
    return d.status == DS::waiting_for_funds ? d.wait_deadline
                                             : std::numeric_limits<std::uint64_t>::max();
  }

  static std::uint64_t cutoff(const ModelDebit& d) {
    return d.spec.settle_at > day_ns ? d.spec.settle_at - day_ns : 0;
  }

  bool pay_late(ModelDebit& d) {
    if (!post_debit(d, Engine::DebitPosting::paid_late)) return false;
    d.status = DS::paid;
    d.late = true;
    d.paid_at = now;
    d.missing = 0;
    tick();
    return true;
  }

  // The timed work at the start of a batch, earliest first (then the order received).
  void debit_timers() {
    for (;;) {
      ModelDebit* due = nullptr;
      for (auto& [id, d] : debits) {
        const std::uint64_t at = debit_time(d);
        if (at > now) continue;
        if (due == nullptr || at < debit_time(*due) || (at == debit_time(*due) && d.seq < due->seq))
          due = &d;
      }
      if (due == nullptr) return;
      ModelDebit& d = *due;
      const bool retry = d.retry_at != 0;
      d.retry_at = 0;
      ModelAccount& a = accounts.at(d.spec.account_id.value);
      const __int128 have = available(a);
      const auto lacking = [&] {
        return static_cast<std::int64_t>(d.spec.amount - std::max<__int128>(have, 0));
      };
      if (d.status == DS::received && !retry && !d.at_risk_checked && d.spec.settle_at > day_ns) {
        d.at_risk_checked = true;  // the day before: the reject cut-off, and a warning
        if (a.status != AccountStatus::active && a.updated < cutoff(d)) {
          d.status = DS::refused;  // closed or frozen before the cut-off: rejected
          d.reason = static_cast<std::uint8_t>(
              a.status == AccountStatus::closed ? sepa::Reason::AC04 : sepa::Reason::AC06);
          tick();
        } else if (now < d.spec.settle_at && have < d.spec.amount) {
          d.missing = lacking();
          tick();
        }
      } else if (d.status == DS::received) {
        if (a.status != AccountStatus::active) {
          // Settled between the banks already: funded from suspense and returned at once.
          if (transfers.size() + open_total + 2 > transfers_max ||
              !post_debit(d, Engine::DebitPosting::funded)) {
            d.retry_at = now + second_ns;
            continue;
          }
          post_debit(d, Engine::DebitPosting::returned);
          d.status = DS::returned;
          d.reason = static_cast<std::uint8_t>(
              a.status == AccountStatus::closed ? sepa::Reason::AC04 : sepa::Reason::AC06);
          tick();
        } else if (have >= d.spec.amount) {
          if (!post_debit(d, Engine::DebitPosting::paid)) {
            d.retry_at = now + second_ns;
            continue;
          }
          d.status = DS::paid;
          d.paid_at = now;
          tick();
        } else {
          if (!post_debit(d, Engine::DebitPosting::funded)) {
            d.retry_at = now + second_ns;
            continue;
          }
          d.status = DS::waiting_for_funds;
          d.missing = lacking();
          d.wait_deadline =
              std::max(std::min(d.spec.settle_at + d.spec.wait_window_ns, d.spec.latest_deadline),
                       d.spec.settle_at);
          tick();
        }
      } else if (d.status == DS::waiting_for_funds) {
        // The deadline: paid if it is covered now (cards first), else returned AM04.
        if (a.status == AccountStatus::active && have >= d.spec.amount) {
          if (!pay_late(d)) d.retry_at = now + second_ns;
        } else if (post_debit(d, Engine::DebitPosting::returned)) {
          d.status = DS::returned;
          d.reason =
              static_cast<std::uint8_t>(a.status == AccountStatus::closed   ? sepa::Reason::AC04
                                        : a.status == AccountStatus::frozen ? sepa::Reason::AC06
                                                                            : sepa::Reason::AM04);
          tick();
        } else {
          d.retry_at = now + second_ns;
        }
      }
    }
  }

  // After each command and after the timed work: every active account that pays collections
  // first pays its waiting ones the balance covers, oldest due date first, all or nothing.
  void retry_waiting() {
    std::vector<std::pair<std::uint64_t, Uint128>> order;
    for (const auto& [id, a] : accounts) order.emplace_back(a.seq, id);
    std::sort(order.begin(), order.end());
    for (const auto& [seq, account_id] : order) {
      ModelAccount& a = accounts[account_id];
      if (a.cards_first) continue;
      // Again while a pass paid something: on an account whose normal side is credit, a
      // payment raises the available balance.
      for (bool paid = true; paid;) {
        paid = false;
        std::vector<ModelDebit*> waiting;
        for (auto& [id, d] : debits) {
          if (d.status == DS::waiting_for_funds && d.spec.account_id.value == account_id) {
            waiting.push_back(&d);
          }
        }
        std::sort(waiting.begin(), waiting.end(), [](const ModelDebit* x, const ModelDebit* y) {
          return x->spec.due_day != y->spec.due_day ? x->spec.due_day < y->spec.due_day
                                                    : x->seq < y->seq;
        });
        for (ModelDebit* d : waiting) {
          if (a.status != AccountStatus::active) break;
          if (available(a) < d->spec.amount) continue;
          if (!pay_late(*d)) break;
          d->retry_at = 0;
          paid = true;
        }
      }
    }
  }

  void expire() {
    for (;;) {
      const ModelTransfer* due = nullptr;
      std::uint64_t due_at = 0;
      for (const auto& [id, m] : transfers) {
        if (m.state != PendingState::open || m.body.timeout_s == 0) continue;
        const std::uint64_t at = m.timestamp + std::uint64_t{m.body.timeout_s} * 1'000'000'000;
        if (at > now) continue;
        if (due == nullptr || at < due_at || (at == due_at && m.timestamp < due->timestamp)) {
          due = &m;
          due_at = at;
        }
      }
      if (due == nullptr) return;
      ModelTransfer& hold = transfers[due->body.id.value];
      accounts[hold.debit.value].debits_pending -= hold.effective;
      accounts[hold.credit.value].credits_pending -= hold.effective;
      --accounts[hold.debit.value].open;
      --accounts[hold.credit.value].open;
      --open_total;
      hold.state = PendingState::expired;
      TransferId id;
      std::uint32_t attempt = 0;
      do {
        id = Engine::expiry_id(hold.body.id, attempt++);
      } while (transfers.count(id.value) != 0);
      ModelTransfer m;
      m.body.id = id;
      m.body.flags = flag_void_pending | flag_expiry;
      m.body.pending_id = hold.body.id;
      m.effective = hold.effective;
      m.timestamp = tick();
      m.debit = hold.debit;
      m.credit = hold.credit;
      store(m);
    }
  }

  // A batch: expiry, then each command; linked chains evaluated on a copy of the whole model.
  std::vector<std::uint8_t> apply(const std::vector<Command>& commands) {
    expire();
    debit_timers();
    retry_waiting();
    std::vector<std::uint8_t> codes;
    for (std::size_t i = 0; i < commands.size(); retry_waiting()) {
      const Command& c = commands[i];
      if (c.kind != CommandKind::create_transfer) {
        codes.push_back(other(c));
      } else if (!(c.body.transfer.flags & flag_linked)) {
        codes.push_back(static_cast<std::uint8_t>(transfer(c.body.transfer)));
      } else {
        std::size_t end = i;
        while (end < commands.size() && commands[end].kind == CommandKind::create_transfer &&
               (commands[end].body.transfer.flags & flag_linked)) {
          ++end;
        }
        if (end == commands.size() || commands[end].kind != CommandKind::create_transfer) {
          for (std::size_t k = i; k < end; ++k)
            codes.push_back(static_cast<std::uint8_t>(R::linked_event_chain_open));
          i = end;
          continue;
        }
        ++end;
        chain(commands, i, end, &codes);
        i = end;
        continue;
      }
      ++i;
    }
    return codes;
  }

  void chain(const std::vector<Command>& commands, std::size_t begin, std::size_t end,
             std::vector<std::uint8_t>* codes) {
    const Model before = *this;
    std::size_t failed = end;
    R failure = R::ok;
    std::vector<R> results;
    for (std::size_t k = begin; k < end; ++k) {
      // Evaluate on the live model but without remembering rejections (undone anyway).
      const Transfer& t = commands[k].body.transfer;
      R r;
      if (t.id.is_zero()) {
        r = R::id_must_not_be_zero;
      } else if (auto it = transfers.find(t.id.value); it != transfers.end()) {
        r = existing(t, it->second);
      } else if (!room(t)) {
        r = R::transfer_capacity_exhausted;
      } else {
        r = evaluate(t);
      }
      results.push_back(r);
      if (r != R::ok && r != R::exists) {
        failed = k;
        failure = r;
        break;
      }
    }
    if (failed == end) {
      for (R r : results) codes->push_back(static_cast<std::uint8_t>(r));
      return;
    }
    const std::uint64_t last_seen = last;
    *this = before;
    last = last_seen;  // timestamps are never reused
    for (std::size_t k = begin; k < end; ++k) {
      const Transfer& t = commands[k].body.transfer;
      R code = k == failed ? failure : R::linked_event_failed;
      if (auto it = transfers.find(t.id.value); it != transfers.end()) {
        if (k != failed) code = it->second.result == R::ok ? R::exists : it->second.result;
      } else if (!t.id.is_zero() && code != R::transfer_capacity_exhausted && room(t)) {
        remember(t, code);
      }
      codes->push_back(static_cast<std::uint8_t>(code));
    }
  }
};

}  // namespace ledger::engine::model
