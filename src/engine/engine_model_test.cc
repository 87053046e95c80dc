// Seeded randomized test: millions of random commands, valid and invalid, run through the
// engine and through a deliberately naive reference model (std::map, __int128 balances, whole
// state copied to undo a linked chain). Every result and every balance must agree, and debits
// must equal credits per currency after every batch. The seed is printed; set
// LEDGER_TEST_SEED to reproduce a failure.
#include "engine/engine_model.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "engine/engine.h"
#include "ledger/card_ids.h"
#include "ledger/sepa.h"

namespace ledger::engine {
namespace {

using namespace model;

// ---- The random workload -----------------------------------------------------------------

class Workload {
 public:
  explicit Workload(std::uint64_t seed) : rng_(seed) {}

  std::uint64_t pick(std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng_);
  }
  bool chance(int percent) { return pick(100) < static_cast<std::uint64_t>(percent); }

  AccountId account_id() { return AccountId{{0, pick(14)}}; }  // 0 is invalid; 13 rarely made
  Currency currency() { return chance(90) ? eur_ : usd_; }
  TransferId fresh_id() { return TransferId{{1, ++next_id_}}; }
  TransferId some_hold() {
    if (holds_.empty() || chance(10)) return TransferId{{1, 1 + pick(next_id_ + 1)}};
    return holds_[holds_.size() - 1 - pick(std::min<std::size_t>(holds_.size(), 64))];
  }
  void new_episode() {
    sent_.clear();
    debits_.clear();
    holds_.clear();
    authorizations_.clear();
    follow_ups_.clear();
  }

  std::int64_t amount() {
    switch (pick(10)) {
      case 0:
        return -static_cast<std::int64_t>(pick(5));
      case 1:
        return std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(pick(3));
      case 2:
        return static_cast<std::int64_t>(pick(1'000'000));
      default:
        return 1 + static_cast<std::int64_t>(pick(2000));
    }
  }

  Command make_account() {
    Command c;
    c.kind = CommandKind::create_account;
    c.body.account = Account{};
    c.body.account.id = account_id();
    c.body.account.holder_id = HolderId{{0, pick(3)}};
    c.body.account.currency = chance(97) ? currency() : Currency{};
    c.body.account.kind = static_cast<AccountKind>(pick(3));
    const std::uint64_t f = pick(100);
    c.body.account.flags =
        static_cast<std::uint16_t>(f < 40 ? 0 : (f < 88 ? 1 : (f < 97 ? 2 : pick(8))));
    c.body.account.overdraft_limit = chance(90) ? static_cast<std::int64_t>(pick(500)) : amount();
    return c;
  }

  Command make_update() {
    Command c;
    c.kind = CommandKind::update_account;
    c.body.update = AccountUpdate{};
    c.body.update.id = account_id();
    c.body.update.set_overdraft_limit = chance(50);
    c.body.update.overdraft_limit = chance(90) ? static_cast<std::int64_t>(pick(800)) : -1;
    c.body.update.set_status = !c.body.update.set_overdraft_limit || chance(30);
    const std::uint64_t s = pick(10);
    c.body.update.status =
        s < 6 ? AccountStatus::active : (s < 9 ? AccountStatus::frozen : AccountStatus::closed);
    c.body.update.set_cards_before_direct_debits = chance(25);
    c.body.update.cards_before_direct_debits = chance(50);
    return c;
  }

  // Incoming SEPA collections: new ones (settling seconds from now, so that the waits and
  // deadlines fall inside an episode), repeats, refunds and refusals. A due day 60 or 400 days
  // back puts a refund out of its window.
  Command make_direct_debit() {
    Command c;
    c.body.direct_debit = DirectDebit{};
    DirectDebit& dd = c.body.direct_debit;
    const std::uint64_t what = pick(100);
    if (debits_.empty() || what < 60) {
      c.kind = CommandKind::receive_direct_debit;
      dd.id = DirectDebitId{{7, chance(2) ? 0 : ++next_debit_}};
      dd.account_id = account_id();
      dd.amount = 1 + static_cast<std::int64_t>(chance(95) ? pick(1500) : pick(1'000'000));
      const std::int64_t today = static_cast<std::int64_t>(now_ / day_ns);
      const std::uint64_t back = pick(10);
      dd.due_day = static_cast<std::int32_t>(today - (back < 7 ? 0 : (back < 9 ? 60 : 400)));
      dd.settle_at = now_ + pick(12) * second_ns + pick(1000);
      if (chance(10)) dd.settle_at += day_ns;  // the day-before check falls in the episode
      dd.wait_window_ns = pick(16) * second_ns;
      dd.latest_deadline = dd.settle_at + pick(24) * second_ns;
      dd.scheme = chance(80) ? DirectDebitScheme::core : DirectDebitScheme::b2b;
      dd.reason = static_cast<std::uint8_t>(chance(5) ? sepa::Reason::MS02 : sepa::Reason::none);
      if (!dd.id.is_zero()) debits_.push_back(dd);
      return c;
    }
    const DirectDebit& earlier =
        debits_[debits_.size() - 1 - pick(std::min<std::size_t>(debits_.size(), 32))];
    dd.id = chance(5) ? DirectDebitId{{7, next_debit_ + 1}} : earlier.id;
    if (what < 70) {  // the same collection again, or with one field changed
      c.kind = CommandKind::receive_direct_debit;
      dd = earlier;
      if (chance(50)) dd.amount += 1;
    } else if (what < 85) {
      c.kind = CommandKind::refund_direct_debit;
      dd.reason = static_cast<std::uint8_t>(chance(50) ? sepa::Reason::MD06 : sepa::Reason::MD01);
    } else if (what < 92) {
      c.kind = CommandKind::reverse_direct_debit;  // a pacs.007 from the creditor's bank
      dd.reason = static_cast<std::uint8_t>(sepa::Reason::AM05);
      dd.amount = chance(90) ? earlier.amount : earlier.amount + 1;
    } else {
      c.kind = CommandKind::refuse_direct_debit;
      dd.reason = static_cast<std::uint8_t>(sepa::Reason::MS02);
    }
    return c;
  }
  void set_now(std::uint64_t now) { now_ = now; }

  // A retry of an earlier transfer, exact or with one field changed (an id conflict).
  Command make_retry() {
    Command c;
    c.kind = CommandKind::create_transfer;
    Transfer& t = c.body.transfer;
    t = sent_[sent_.size() - 1 - pick(std::min<std::size_t>(sent_.size(), 200))];
    t.flags &= static_cast<std::uint16_t>(~flag_linked);
    if (chance(50)) return c;
    switch (pick(11)) {
      case 0:
        t.flags ^= flag_force;
        break;
      case 1:
        t.debit_account_id = account_id();
        break;
      case 2:
        t.credit_account_id = account_id();
        break;
      case 3:
        t.amount = t.amount == std::numeric_limits<std::int64_t>::max() ? 0 : t.amount + 1;
        break;
      case 4:
        t.currency = t.currency == eur_ ? usd_ : eur_;
        break;
      case 5:
        t.pending_id = some_hold();
        break;
      case 6:
        t.timeout_s += 1;
        break;
      case 7:
        t.code = static_cast<TransferCode>((static_cast<int>(t.code) + 1) % 3);
        break;
      case 8:
        t.reference_a += 1;
        break;
      case 9:
        t.reference_b += 1;
        break;
      default:
        t.reference_32 += 1;
        break;
    }
    return c;
  }

  Command make_transfer() {
    if (!sent_.empty() && chance(12)) return make_retry();
    Command c;
    c.kind = CommandKind::create_transfer;
    Transfer& t = c.body.transfer;
    t = Transfer{};
    t.id = chance(1) ? TransferId{} : fresh_id();
    const std::uint64_t shape = pick(100);
    if (shape < 45) {  // single-phase
      t.debit_account_id = account_id();
      t.credit_account_id = account_id();
      t.amount = amount();
      t.currency = currency();
    } else if (shape < 70) {  // hold
      t.flags = flag_pending;
      t.debit_account_id = account_id();
      t.credit_account_id = account_id();
      t.amount = amount();
      t.currency = currency();
      t.timeout_s = chance(50) ? static_cast<std::uint32_t>(pick(20)) : 0;
    } else {  // post or void
      t.flags = chance(60) ? flag_post_pending : flag_void_pending;
      t.pending_id = some_hold();
      t.amount = chance(50) ? 0 : static_cast<std::int64_t>(pick(2500)) - (chance(3) ? 3000 : 0);
      if (t.flags & flag_post_pending && chance(20)) t.flags |= flag_allow_over_capture;
      if (chance(10)) t.debit_account_id = account_id();
      if (chance(10)) t.credit_account_id = account_id();
      if (chance(5)) t.currency = currency();
    }
    if (chance(5)) t.flags |= flag_force;
    if (chance(2)) t.flags |= static_cast<std::uint16_t>(1u << pick(8));  // sometimes invalid
    if (chance(2)) t.timeout_s = static_cast<std::uint32_t>(pick(5));
    if (chance(1)) t.pending_id = some_hold();
    if (chance(1) && !t.pending_id.is_zero()) t.pending_id = t.id;
    t.code = static_cast<TransferCode>(pick(3));
    t.reference_a = pick(3);
    t.reference_b = pick(2);
    t.reference_32 = static_cast<std::uint32_t>(pick(2));
    if (t.flags & flag_pending) holds_.push_back(t.id);
    sent_.push_back(t);
    return c;
  }

  // ---- Cards and card messages -----------------------------------------------------------

  CardId card_id() { return CardId{{0xCA, pick(7)}}; }  // 0 is invalid
  void pan(std::uint8_t (&hash)[32]) { std::memset(hash, static_cast<int>(1 + pick(8)), 32); }
  CardControls controls() {
    CardControls k;
    k.per_authorization_limit = chance(50) ? 0 : static_cast<std::int64_t>(pick(3000));
    k.daily_limit = chance(50) ? 0 : static_cast<std::int64_t>(pick(6000));
    k.monthly_limit = chance(70) ? 0 : static_cast<std::int64_t>(pick(20000));
    k.daily_count_limit = chance(60) ? 0 : static_cast<std::uint32_t>(1 + pick(8));
    k.channels = static_cast<std::uint8_t>(chance(70) ? channels_all : pick(16));
    k.blocked_mcc_count = static_cast<std::uint8_t>(pick(3));
    for (std::uint8_t i = 0; i < k.blocked_mcc_count; ++i)
      k.blocked_mccs[i] = static_cast<std::uint16_t>(mcc());
    return k;
  }
  std::uint16_t mcc() {
    static constexpr std::uint16_t mccs[] = {5411, 5812, 5541, 6011, 7011, 7995};
    return mccs[pick(6)];
  }

  Command make_card() {
    Command c;
    c.kind = CommandKind::create_card;
    c.body.card = Card{};
    c.body.card.id = card_id();
    c.body.card.account_id = account_id();
    pan(c.body.card.pan_hash);
    c.body.card.expiry_yymm = static_cast<std::uint16_t>(chance(90) ? 2812 : 2510);
    c.body.card.controls = controls();
    return c;
  }

  Command make_card_update() {
    Command c;
    c.kind = chance(10) ? CommandKind::lookup_card : CommandKind::update_card;
    if (c.kind == CommandKind::lookup_card) {
      c.body.card_id = card_id();
      return c;
    }
    c.body.card_update = CardUpdate{};
    CardUpdate& u = c.body.card_update;
    u.id = card_id();
    u.set_status = chance(30);
    const std::uint64_t s = pick(20);
    u.status = s < 15 ? CardStatus::active : (s < 19 ? CardStatus::frozen : CardStatus::blocked);
    u.controls.fields = static_cast<std::uint8_t>(pick(32));
    u.controls.values = controls();
    u.controls.channels_on = static_cast<std::uint8_t>(chance(50) ? pick(16) : 0);
    u.controls.channels_off = static_cast<std::uint8_t>(chance(30) ? pick(16) : 0);
    return c;
  }

  Authorization card_message() {
    Authorization a;
    a.id = chance(1) ? TransferId{} : fresh_id();
    pan(a.pan_hash);
    // The network's reference, from a small pool so that follow-ups find originals by it.
    a.reference =
        chance(30) ? card_ids::reference_key_bit | static_cast<std::uint32_t>(pick(8)) : 0;
    a.amount = chance(90) ? 1 + static_cast<std::int64_t>(pick(1500)) : amount();
    a.currency = chance(3) ? Currency{} : currency();
    a.mcc = mcc();
    a.expiry_yymm = static_cast<std::uint16_t>(chance(90) ? 0 : (chance(50) ? 2812 : 2701));
    a.today_yymm = 2611;
    a.channels = static_cast<std::uint8_t>(chance(60) ? 0 : 1u << pick(4));
    return a;
  }

  Command make_authorization() {
    Command c;
    c.kind = CommandKind::authorize;
    Authorization a = card_message();
    const std::uint64_t kind = pick(20);
    a.kind = kind < 14   ? AuthorizationKind::purchase
             : kind < 16 ? AuthorizationKind::cash
             : kind < 18 ? AuthorizationKind::refund
             : kind < 19 ? AuthorizationKind::verification
                         : AuthorizationKind::balance_inquiry;
    a.partial_allowed = chance(30);
    if (a.kind == AuthorizationKind::purchase && a.amount > 0 && chance(15)) {
      a.cash_back = static_cast<std::int64_t>(
          pick(static_cast<std::uint64_t>(std::min<std::int64_t>(a.amount, 1'000'000) + 1)));
    }
    a.post_now = chance(20);
    a.hold_timeout_s = static_cast<std::uint32_t>(chance(50) ? pick(30) : 7 * 86'400);
    if (!authorizations_.empty() && chance(15)) {  // a repeat, or an advice for it
      a.id = recent_authorization();
      a.force = chance(50);
    } else if (!authorizations_.empty() && chance(25)) {  // an incremental authorization
      a.incremental = true;  // often on the first one, until its slots are full
      a.original = chance(70) ? authorizations_.front() : recent_authorization();
      a.id =
          chance(20) && !follow_ups_.empty() ? follow_ups_[pick(follow_ups_.size())] : fresh_id();
      a.force = chance(20);
      a.post_now = false;
      follow_ups_.push_back(a.id);
    } else if (chance(10)) {
      a.force = true;  // an advice of a new transaction
    }
    if (!a.incremental) authorizations_.push_back(a.id);
    if (!a.post_now && a.kind != AuthorizationKind::refund) holds_.push_back(a.id);
    c.body.authorization = a;
    return c;
  }

  TransferId recent_authorization() {
    return authorizations_[authorizations_.size() - 1 -
                           pick(std::min<std::size_t>(authorizations_.size(), 32))];
  }

  Command make_card_follow_up() {
    Command c;
    c.kind = chance(50) ? CommandKind::card_completion : CommandKind::card_reversal;
    Authorization a = card_message();
    a.original = authorizations_.empty() || chance(10) ? fresh_id() : recent_authorization();
    if (!follow_ups_.empty() && chance(10)) a.id = follow_ups_[pick(follow_ups_.size())];
    follow_ups_.push_back(a.id);
    if (c.kind == CommandKind::card_completion) {
      a.kind = chance(10) ? AuthorizationKind::refund : AuthorizationKind::purchase;
      a.over_capture_pct = static_cast<std::uint16_t>(chance(50) ? 0 : pick(30));
      a.over_capture_max = chance(80) ? 0 : static_cast<std::int64_t>(pick(2000));
      a.amount = chance(5) ? 0 : a.amount;
    } else {
      a.amount = 0;
      a.replacement = chance(50) ? 0 : static_cast<std::int64_t>(pick(1500));
      a.release_only = chance(10);
    }
    c.body.authorization = a;
    return c;
  }

  std::vector<Command> make_batch() {
    std::vector<Command> batch;
    const std::uint64_t size = pick(40);
    for (std::uint64_t i = 0; i < size; ++i) {
      const std::uint64_t kind = pick(100);
      if (kind < 3) {
        batch.push_back(make_account());
      } else if (kind < 5) {
        batch.push_back(make_update());
      } else if (kind < 6) {
        batch.push_back(make_card());
      } else if (kind < 8) {
        batch.push_back(make_card_update());
      } else if (kind < 20) {
        batch.push_back(make_authorization());
      } else if (kind < 26) {
        batch.push_back(make_card_follow_up());
      } else if (kind < 34) {
        batch.push_back(make_direct_debit());
      } else if (kind < 38) {  // a linked chain of 2..5
        const std::uint64_t length = 2 + pick(4);
        for (std::uint64_t k = 0; k < length; ++k) {
          Command c = make_transfer();
          if (k + 1 < length)
            c.body.transfer.flags |= flag_linked;
          else
            c.body.transfer.flags &= static_cast<std::uint16_t>(~flag_linked);
          batch.push_back(c);
        }
      } else {
        batch.push_back(make_transfer());
      }
    }
    if (chance(3)) {  // a chain left open at the end
      Command c = make_transfer();
      c.body.transfer.flags |= flag_linked;
      batch.push_back(c);
    }
    return batch;
  }

 private:
  static constexpr std::uint64_t second_ns = 1'000'000'000;
  static constexpr std::uint64_t day_ns = 86400 * second_ns;
  std::mt19937_64 rng_;
  std::uint64_t next_id_ = 0;
  std::uint64_t next_debit_ = 0;
  std::uint64_t now_ = 0;
  std::vector<DirectDebit> debits_;
  std::vector<Transfer> sent_;
  std::vector<TransferId> holds_;
  std::vector<TransferId> authorizations_;
  std::vector<TransferId> follow_ups_;
  Currency eur_ = *currency_from_alpha("EUR");
  Currency usd_ = *currency_from_alpha("USD");
};

std::uint64_t seed_from_environment() {
  if (const char* text = std::getenv("LEDGER_TEST_SEED")) return std::strtoull(text, nullptr, 10);
  return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

std::size_t commands_from_environment() {
  if (const char* text = std::getenv("LEDGER_MODEL_COMMANDS"))
    return std::strtoull(text, nullptr, 10);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return 200'000;
#else
  return 2'000'000;
#endif
}

// Every transfer the batch named: same stored timestamp, effect and hold state on both sides.
void expect_same_transfers(const Engine& engine, const Model& model,
                           const std::vector<Command>& batch, std::uint64_t seed) {
  for (const Command& c : batch) {
    if (c.kind != CommandKind::create_transfer) continue;
    for (const TransferId id : {c.body.transfer.id, c.body.transfer.pending_id}) {
      const auto it = model.transfers.find(id.value);
      const Transfer* t = engine.find_transfer(id);
      ASSERT_EQ(t != nullptr, it != model.transfers.end()) << "seed=" << seed;
      if (t == nullptr) continue;
      ASSERT_EQ(t->timestamp, it->second.timestamp) << "seed=" << seed;
      ASSERT_EQ(t->amount_effective, it->second.effective) << "seed=" << seed;
      ASSERT_EQ(t->result, it->second.result) << "seed=" << seed;
      ASSERT_EQ(t->pending_state, it->second.state) << "seed=" << seed;
    }
  }
}

// Every collection: the same status, reason, deadline and shortfall on both sides.
void expect_same_debits(const Engine& engine, const Model& model, std::uint64_t seed) {
  ASSERT_EQ(engine.direct_debit_count(), model.debits.size()) << "seed=" << seed;
  for (const auto& [id, m] : model.debits) {
    const DirectDebit* d = engine.find_direct_debit(DirectDebitId{id});
    ASSERT_NE(d, nullptr) << "seed=" << seed;
    ASSERT_EQ(d->status, m.status) << "seed=" << seed << " debit=" << id.lo;
    ASSERT_EQ(d->reason, m.reason) << "seed=" << seed << " debit=" << id.lo;
    ASSERT_EQ(d->late, m.late) << "seed=" << seed << " debit=" << id.lo;
    ASSERT_EQ(d->account_id, m.spec.account_id) << "seed=" << seed;
    ASSERT_EQ(d->wait_deadline, m.wait_deadline) << "seed=" << seed << " debit=" << id.lo;
    ASSERT_EQ(d->missing, m.missing) << "seed=" << seed << " debit=" << id.lo;
  }
}

void expect_same_accounts(const Engine& engine, const Model& model, std::uint64_t seed) {
  ASSERT_EQ(engine.account_count(), model.accounts.size()) << "seed=" << seed;
  for (const auto& [id, m] : model.accounts) {
    const Account* a = engine.find_account(AccountId{id});
    ASSERT_NE(a, nullptr) << "seed=" << seed;
    ASSERT_EQ(a->debits_posted, m.debits_posted) << "seed=" << seed;
    ASSERT_EQ(a->credits_posted, m.credits_posted) << "seed=" << seed;
    ASSERT_EQ(a->debits_pending, m.debits_pending) << "seed=" << seed;
    ASSERT_EQ(a->credits_pending, m.credits_pending) << "seed=" << seed;
    ASSERT_EQ(a->status, m.status) << "seed=" << seed;
    ASSERT_EQ(a->overdraft_limit, m.overdraft) << "seed=" << seed;
  }
  ASSERT_EQ(engine.transfer_count(), model.transfers.size()) << "seed=" << seed;
  ASSERT_EQ(engine.open_pending_count(), model.open_total) << "seed=" << seed;
}

std::string result_name(CommandKind kind, std::uint8_t code) {
  switch (kind) {
    case CommandKind::create_account:
    case CommandKind::update_account:
      return std::string(to_string(static_cast<AR>(code)));
    case CommandKind::create_card:
    case CommandKind::update_card:
      return std::string(to_string(static_cast<CR>(code)));
    case CommandKind::lookup_account:
    case CommandKind::lookup_card:
    case CommandKind::lookup_transfer:
      return code == 0 ? "found" : "not found";
    case CommandKind::receive_direct_debit:
    case CommandKind::refund_direct_debit:
    case CommandKind::refuse_direct_debit:
    case CommandKind::reverse_direct_debit:
      return std::string(to_string(static_cast<DirectDebitResult>(code)));
    default:
      return std::string(to_string(static_cast<R>(code)));
  }
}

// Every card's status and controls, and what its limits see as spent, on both sides.
void expect_same_cards(const Engine& engine, const Model& model, std::uint64_t seed) {
  ASSERT_EQ(engine.card_count(), model.cards.size()) << "seed=" << seed;
  for (const auto& [id, m] : model.cards) {
    const Card* c = engine.find_card(CardId{id});
    ASSERT_NE(c, nullptr) << "seed=" << seed;
    ASSERT_EQ(c->status, m.status) << "seed=" << seed;
    const CardControls& k = c->controls;
    ASSERT_EQ(k.per_authorization_limit, m.controls.per_authorization_limit) << "seed=" << seed;
    ASSERT_EQ(k.daily_limit, m.controls.daily_limit) << "seed=" << seed;
    ASSERT_EQ(k.monthly_limit, m.controls.monthly_limit) << "seed=" << seed;
    ASSERT_EQ(k.daily_count_limit, m.controls.daily_count_limit) << "seed=" << seed;
    ASSERT_EQ(k.channels, m.controls.channels) << "seed=" << seed;
    ASSERT_EQ(k.blocked_mcc_count, m.controls.blocked_mcc_count) << "seed=" << seed;
    for (std::uint8_t i = 0; i < k.blocked_mcc_count; ++i)
      ASSERT_EQ(k.blocked_mccs[i], m.controls.blocked_mccs[i]) << "seed=" << seed;
    const Engine::Spending e = engine.card_spending(CardId{id}, model.now);
    const Engine::Spending w = model.spent(id, model.now);
    ASSERT_EQ(e.today, w.today) << "seed=" << seed;
    ASSERT_EQ(e.last_30_days, w.last_30_days) << "seed=" << seed;
    ASSERT_EQ(e.count_today, w.count_today) << "seed=" << seed;
  }
}

// How the episodes' collections ended, to show the workload reaches every outcome.
struct DebitOutcomes {
  std::map<std::string, std::size_t> counts;
  void count(DirectDebitStatus status, bool late, bool warned) {
    static const char* const names[] = {"received", "refused",  "waiting_for_funds", "paid",
                                        "returned", "refunded", "reversed"};
    std::string name = names[static_cast<int>(status)];
    if (status == DirectDebitStatus::paid) name += late ? " (late)" : " (on time)";
    ++counts[name];
    if (warned && status == DirectDebitStatus::received) ++counts["received, at risk"];
  }
};

// A fresh engine restored from a snapshot of `engine` (the regions copied as bytes, as the
// snapshot file does), checked to hash the same.
std::unique_ptr<Engine> restored(const Engine& engine, const EngineOptions& options) {
  std::vector<Engine::SnapshotRegion> regions;
  std::string encoded;
  engine.snapshot(&regions, &encoded);
  auto copy = std::make_unique<Engine>(options);
  EXPECT_EQ(copy->snapshot_layout(), engine.snapshot_layout());
  copy->clear();
  for (const Engine::SnapshotRegion& region : regions) {
    void* to = copy->restore_region(region.id, region.bytes);
    EXPECT_TRUE(to != nullptr || region.bytes == 0) << "region " << region.id;
    if (to != nullptr && region.bytes > 0) std::memcpy(to, region.data, region.bytes);
  }
  EXPECT_TRUE(copy->restore_encoded(encoded));
  EXPECT_EQ(copy->state_hash(), engine.state_hash());
  return copy;
}

// Runs episodes (fresh engine and model, small capacities) until `commands` have been applied.
// Sets *hash to a hash of every episode's final state. With restore_percent, that share of the
// batches is followed by a snapshot restored into a fresh engine, which carries on instead.
void run_random(std::uint64_t seed, std::size_t commands, bool compare, std::uint64_t* hash,
                std::vector<std::size_t>* seen = nullptr, DebitOutcomes* debit_outcomes = nullptr,
                int restore_percent = 0) {
  Workload workload(seed);
  std::mt19937_64 restore_rng(seed ^ 0x736e6170ULL);  // apart: the workload stays the same
  std::uint64_t combined = 0;
  std::size_t applied = 0;
  while (applied < commands) {
    const EngineOptions options{16, 256 + workload.pick(2048), 5};
    std::unique_ptr<Engine> engine = std::make_unique<Engine>(options);
    Model model;
    model.accounts_max = options.accounts_max;
    model.transfers_max = options.transfers_max;
    model.cards_max = options.cards_max;
    BatchOutput out;
    workload.new_episode();
    std::uint64_t now = 1'000'000'000'000;
    const std::size_t episode_end = applied + options.transfers_max * 5 / 4;
    for (int batch_number = 0; applied < episode_end && applied < commands; ++batch_number) {
      now += workload.chance(10) ? workload.pick(8) * 1'000'000'000 : workload.pick(1000);
      std::vector<Command> batch;
      if (batch_number == 0) {
        for (int n = 0; n < 12; ++n) batch.push_back(workload.make_account());
      }
      workload.set_now(now);
      const std::vector<Command> more = workload.make_batch();
      batch.insert(batch.end(), more.begin(), more.end());
      applied += batch.size();
      engine->apply(batch.data(), batch.size(), now, &out);
      for (const auto& [currency, totals] : engine->totals_by_currency()) {
        ASSERT_TRUE(totals.balanced()) << "seed=" << seed << " currency=" << currency;
      }
      if (!compare) continue;
      model.now = std::max(model.now, now);
      const std::vector<std::uint8_t> expected = model.apply(batch);
      ASSERT_EQ(out.results.size(), expected.size()) << "seed=" << seed;
      for (std::size_t i = 0; i < expected.size(); ++i) {
        const CommandKind kind = batch[i].kind;
        const bool transfer_result =
            kind == CommandKind::create_transfer || kind == CommandKind::authorize ||
            kind == CommandKind::card_completion || kind == CommandKind::card_reversal;
        if (seen != nullptr && transfer_result) ++(*seen)[out.results[i].code];
        ASSERT_EQ(out.results[i].code, expected[i])
            << "seed=" << seed << " batch=" << batch_number << " command=" << i
            << " kind=" << static_cast<int>(kind)
            << " engine=" << result_name(kind, out.results[i].code)
            << " model=" << result_name(kind, expected[i]);
      }
      expect_same_accounts(*engine, model, seed);
      expect_same_cards(*engine, model, seed);
      expect_same_debits(*engine, model, seed);
      expect_same_transfers(*engine, model, batch, seed);
      if (::testing::Test::HasFatalFailure()) return;
      if (restore_percent > 0 &&
          restore_rng() % 100 < static_cast<std::uint64_t>(restore_percent)) {
        engine = restored(*engine, options);
        if (::testing::Test::HasFailure()) return;
      }
    }
    combined = combined * 31 + engine->state_hash();
    if (debit_outcomes != nullptr) {
      for (const auto& [id, d] : model.debits) {
        debit_outcomes->count(d.status, d.late, d.at_risk_checked && d.missing != 0);
      }
    }
  }
  *hash = combined;
  if (compare) std::printf("applied %zu commands\n", applied);
}

TEST(EngineModelTest, AgreesWithTheNaiveModelOnRandomCommands) {
  const std::uint64_t seed = seed_from_environment();
  const std::size_t commands = commands_from_environment();
  std::printf("seed=%llu commands=%zu (rerun with LEDGER_TEST_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), commands,
              static_cast<unsigned long long>(seed));
  std::uint64_t hash = 0;
  std::vector<std::size_t> seen(transfer_result_count, 0);
  DebitOutcomes debits;
  run_random(seed, commands, true, &hash, &seen, &debits);
  // And every way a collection can end (or wait).
  for (const char* name : {"received", "received, at risk", "refused", "waiting_for_funds",
                           "paid (on time)", "paid (late)", "returned", "refunded", "reversed"}) {
    std::printf("  direct debit %-32s %zu\n", name, debits.counts[name]);
    EXPECT_GT(debits.counts[name], 0u) << name << " never happened";
  }
  // The workload must reach every transfer outcome, or this test proves less than it claims.
  for (int code = 0; code < transfer_result_count; ++code) {
    if (code == static_cast<int>(R::overflow)) continue;  // 128-bit totals: cannot happen
    const auto result = static_cast<R>(code);
    std::printf("  %-45s %zu\n", std::string(to_string(result)).c_str(),
                seen[static_cast<std::size_t>(code)]);
    EXPECT_GT(seen[static_cast<std::size_t>(code)], 0u) << to_string(result) << " never happened";
  }
}

// Snapshots: an engine restored from a snapshot after random batches agrees with the model on
// everything that follows (holds, expiries, card spending, monitors, waiting collections).
TEST(EngineModelTest, AnEngineRestoredFromASnapshotCarriesOnIdentically) {
  const std::uint64_t seed = seed_from_environment();
  std::printf("seed=%llu\n", static_cast<unsigned long long>(seed));
  std::uint64_t with = 0, without = 0;
  run_random(seed, 100'000, true, &with, nullptr, nullptr, 5);
  run_random(seed, 100'000, false, &without);
  EXPECT_EQ(with, without) << "seed=" << seed;
}

TEST(EngineModelTest, ASnapshotDoesNotFitAnotherLayoutOrCapacity) {
  const EngineOptions options{16, 256, 5};
  Engine engine(options);
  std::vector<Engine::SnapshotRegion> regions;
  std::string encoded;
  engine.snapshot(&regions, &encoded);
  Engine bigger(EngineOptions{16, 512, 5});
  EXPECT_NE(bigger.snapshot_layout(), engine.snapshot_layout());
  EXPECT_EQ(bigger.restore_region(regions[3].id, regions[3].bytes), nullptr);  // transfer index
  Engine same(options);
  EXPECT_EQ(same.restore_region(99, 8), nullptr);
  EXPECT_FALSE(same.restore_encoded(encoded.substr(0, encoded.size() - 1)));
  std::string wrong_format = encoded;
  wrong_format[0] ^= 1;
  EXPECT_FALSE(same.restore_encoded(wrong_format));
  EXPECT_TRUE(same.restore_encoded(encoded));
}

TEST(EngineModelTest, SameSeedGivesTheSameStateHash) {
  const std::uint64_t seed = seed_from_environment();
  std::printf("seed=%llu\n", static_cast<unsigned long long>(seed));
  std::uint64_t first = 0, second = 0, other = 0;
  run_random(seed, 200'000, false, &first);
  run_random(seed, 200'000, false, &second);
  run_random(seed + 1, 200'000, false, &other);
  EXPECT_EQ(first, second) << "seed=" << seed;
  EXPECT_NE(first, other);
}

}  // namespace
}  // namespace ledger::engine
