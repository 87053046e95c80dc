// The card lifecycle against a naive model of the cardholder's money: random sequences of
// ISO 8583 messages per transaction (authorizations with partial and cross-currency amounts,
// repeats, incremental authorizations, stand-in advices with each approving DE39 and with
// declines, completions under, equal and over the hold by MCC group, full, partial and
// repeated reversals before and after capture, single-message postings and refunds,
// verifications, the late rule and hold expiry) go through the real translator and the real
// engine. After every message the account's posted balance and held amount equal the model's,
// and every answer is the one the network will settle on. Seed: LEDGER_TEST_SEED.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "iso8583/transaction_ids.h"
#include "iso8583/translate.h"
#include "ledger/card_ids.h"
#include "ledger/pan_hash.h"
#include "ledger/parse.h"

namespace ledger::iso8583 {
namespace {

constexpr char card_pan[] = "4000056655665556";
constexpr std::uint64_t second_ns = 1'000'000'000;
constexpr std::int64_t funds = 200'000;

struct Mcc {
  std::uint16_t code;
  int percent;           // over-capture tolerance (default rules)
  std::int64_t maximum;  // fuel: the dispenser maximum
};
constexpr Mcc mccs[] = {{5411, 0, 0}, {5812, 20, 0}, {7011, 15, 0}, {5542, 0, 17'500}};

// A hold of a transaction: order 0 the original, 1 the stand-in (or a repeat decided anew),
// 2 + k the k-th incremental authorization (the order in which the engine lists them).
struct Hold {
  int order = 0;
  std::int64_t amount = 0;  // held now (partial reversals lower it)
  std::int64_t asked = 0;
  bool open = true;
  bool captured = false;  // posted by the completion (not released)
};

// One card transaction as the model sees it: only amounts, no ids.
struct Txn {
  std::string stan;  // the original's DE11 and DE7
  std::string transmission;
  Mcc mcc{};
  bool cross_currency = false;
  bool single = false;  // 0200: posted at once
  bool refund = false;  // money to the cardholder
  bool root_exists = false;
  bool root_approved = false;
  std::string root_code;  // what a repeat of the original is answered
  bool root_captured = false;
  std::int64_t root_posted = 0;  // single: what the original posted
  bool advice_used = false;      // the stand-in slot (or a repeat decided anew)
  std::string advice_code;
  std::vector<Hold> holds;
  std::int64_t postings = 0;  // posted by the original, the stand-in and the completion
  std::int64_t refunded = 0;  // given back by reversals (the late rule included)
  bool completed = false;
  // Declining advices seen (by DE4: one with the same keys and amount is a retransmission).
  std::vector<std::int64_t> declining_advices;
  int reversals = 0;
  int incrementals = 0;

  std::int64_t held() const {
    std::int64_t total = 0;
    for (const Hold& h : holds) total += h.open ? h.amount : 0;
    return total;
  }
  void add_hold(int order, std::int64_t amount, std::int64_t asked) {
    holds.push_back(Hold{order, amount, asked, true, false});
    std::stable_sort(holds.begin(), holds.end(),
                     [](const Hold& x, const Hold& y) { return x.order < y.order; });
  }
  // A repeat of a hold's decision answers with what that hold approved now: 10 when less
  // than was asked (a partial approval, or a partial reversal since).
  std::string repeat_code(int order) const {
    for (const Hold& h : holds) {
      if (h.order == order) return h.amount < h.asked ? "10" : "00";
    }
    return "none";
  }
  bool root_open() const {
    return !holds.empty() && holds.front().order == 0 && holds.front().open;
  }
  // The stand-in slot's hold released (reversed, expired), not captured.
  bool advice_released() const {
    for (const Hold& h : holds) {
      if (h.order == 1) return !h.open && !h.captured;
    }
    return false;
  }
  // The original approved but its money gone again: a repeat or an advice is decided anew.
  bool root_released() const {
    if (!root_approved) return false;
    if (single) return refunded >= root_posted;
    return !root_open() && !root_captured;
  }
};

class LifecycleModel {
 public:
  explicit LifecycleModel(std::uint64_t seed) : random_(seed), seed_(seed) {
    options_.pan_secret = "lifecycle-test-secret-lifecycle-test";
    options_.home_country = "276";
    provision();
  }

  void run(int steps) {
    for (step_ = 0; step_ < steps && !::testing::Test::HasFailure(); ++step_) {
      const int kind = pick(100);
      if (kind < 22 || txns_.empty()) {
        authorize(chance(20));
      } else if (kind < 30) {
        repeat();
      } else if (kind < 36) {
        advice();
      } else if (kind < 42) {
        incremental();
      } else if (kind < 58) {
        complete();
      } else if (kind < 74) {
        reverse();
      } else if (kind < 80) {
        refund(chance(50));
      } else if (kind < 84) {
        verify();
      } else if (kind < 86) {
        expire();
      } else {
        authorize(true);
      }
      check_money();
    }
  }

 private:
  int pick(int n) { return static_cast<int>(random_() % static_cast<std::uint64_t>(n)); }
  bool chance(int percent) { return pick(100) < percent; }
  std::int64_t amount() { return 1 + pick(chance(10) ? 60'000 : 5'000); }
  std::string where() const {
    return "seed=" + std::to_string(seed_) + " step=" + std::to_string(step_);
  }

  std::int64_t held_total() const {
    std::int64_t total = 0;
    for (const Txn& t : txns_) total += t.held();
    return total;
  }
  std::int64_t available() const { return balance_ - held_total(); }

  void provision() {
    const Currency eur = *currency_from_alpha("EUR");
    Command c[4];
    for (int i = 0; i < 2; ++i) {
      c[i].kind = CommandKind::create_account;
      c[i].body.account = Account{};
      c[i].body.account.id = AccountId{{1, static_cast<std::uint64_t>(i + 1)}};
      c[i].body.account.holder_id = HolderId{{2, 1}};
      c[i].body.account.currency = eur;
      c[i].body.account.flags = i == 0 ? 0 : debits_must_not_exceed_credits;
    }
    c[2].kind = CommandKind::create_transfer;
    c[2].body.transfer = Transfer{};
    c[2].body.transfer.id = TransferId{{3, 1}};
    c[2].body.transfer.debit_account_id = AccountId{{1, 1}};
    c[2].body.transfer.credit_account_id = AccountId{{1, 2}};
    c[2].body.transfer.amount = funds;
    c[2].body.transfer.currency = eur;
    c[3].kind = CommandKind::create_card;
    c[3].body.card = Card{};
    c[3].body.card.id = CardId{{4, 1}};
    c[3].body.card.account_id = AccountId{{1, 2}};
    c[3].body.card.expiry_yymm = 2812;
    pan_hash(options_.pan_secret, card_pan, c[3].body.card.pan_hash);
    engine::BatchOutput out;
    engine_.apply(c, 4, now_, &out);
    balance_ = funds;
  }

  std::string next_stan() {
    char text[8];
    std::snprintf(text, sizeof text, "%06d", ++stan_ % 1'000'000);
    return text;
  }
  std::string next_transmission() {
    char text[16];
    std::snprintf(text, sizeof text, "11%08d", ++transmission_ % 100'000'000);
    return text;
  }
  static std::string amount12(std::int64_t v) {
    char text[24];
    std::snprintf(text, sizeof text, "%012lld", static_cast<long long>(v));
    return text;
  }

  // A message of transaction t in its amounts: DE4/DE49, or DE4 in USD and DE6/DE51 in EUR.
  Message message(const std::string& mti, const Txn& t, std::int64_t amount,
                  const std::string& processing) {
    Message m;
    m.mti = mti;
    m.set(2, card_pan);
    m.set(3, processing);
    if (t.cross_currency) {
      m.set(4, amount12(amount * 11 / 10));
      m.set(49, "840");
      m.set(6, amount12(amount));
      m.set(51, "978");
    } else {
      m.set(4, amount12(amount));
      m.set(49, "978");
    }
    m.set(7, t.transmission);
    m.set(11, t.stan);
    m.set(14, "2812");
    m.set(18, std::to_string(t.mcc.code));
    m.set(22, "051");
    m.set(32, "00012345");
    m.set(37, "RRN" + t.stan + "000");
    m.set(41, "TERM0001");
    return m;
  }
  // DE90 naming t's original (a follow-up with its own STAN and transmission time).
  Message follow_up(const std::string& mti, const Txn& t, std::int64_t amount,
                    const std::string& processing) {
    Message m = message(mti, t, amount, processing);
    m.set(90, "0100" + t.stan + t.transmission + "00000012345" + std::string(11, '0'));
    m.set(11, next_stan());
    m.set(7, next_transmission());
    return m;
  }

  Message send(const Message& request) {
    Translation t = translate(request, options_, 2611);
    if (std::getenv("LEDGER_TEST_TRACE") != nullptr) {
      std::fprintf(stderr, "step %d %s DE3=%s DE4=%s DE11=%s DE39=%s held=%lld balance=%lld\n",
                   step_, request.mti.c_str(), request.get(3).c_str(), request.get(4).c_str(),
                   request.get(11).c_str(), request.has(39) ? request.get(39).c_str() : "-",
                   static_cast<long long>(held_total()), static_cast<long long>(balance_));
    }
    if (t.purpose != Purpose::none) {
      engine::BatchOutput out;
      engine_.apply(&t.command, 1, now_, &out);
      EXPECT_EQ(out.results.size(), 1u) << where();
      finish(out.results[0], &t);
    }
    EXPECT_EQ(t.reply.mti, response_mti(request.mti)) << where();
    return t.reply;
  }
  void expect_code(const Message& reply, const std::string& code, const char* what) {
    EXPECT_EQ(reply.has(39) ? reply.get(39) : "none", code) << what << " " << where();
  }

  // The funds decision: all of it, the purchase without its cash-back, a partial approval,
  // or 51.
  std::pair<std::string, std::int64_t> decide(std::int64_t asked, bool partial,
                                              std::int64_t cash_back = 0) const {
    const std::int64_t free = available();
    if (asked <= free) return {"00", asked};
    if (cash_back > 0 && asked - cash_back > 0 && asked - cash_back <= free)
      return {"87", asked - cash_back};
    if (partial && free > 0) return {"10", free};
    return {"51", 0};
  }

  void authorize(bool single) {
    Txn t;
    t.stan = next_stan();
    t.transmission = next_transmission();
    t.mcc = mccs[pick(4)];
    t.cross_currency = chance(20);
    t.single = single;
    const bool cash = single && chance(30);
    const bool with_cash_back = !cash && !t.cross_currency && chance(15);
    const std::int64_t asked = amount();
    const std::int64_t cash_back = with_cash_back ? 1 + pick(static_cast<int>(asked)) - 1 : 0;
    Message m = message(single ? "0200" : "0100", t, asked,
                        cash             ? "010000"
                        : with_cash_back ? "090000"
                                         : "000000");
    if (with_cash_back) m.set(54, "0040978D" + amount12(cash_back));
    const bool partial = chance(50);
    if (partial) m.set(48, "R610510000");
    const auto [code, approved] = decide(asked, partial, cash_back);
    const Message reply = send(m);
    expect_code(reply, code, "authorization");
    t.root_exists = true;
    t.root_code = code;
    t.root_approved = approved > 0;
    if (t.root_approved) {
      if (single) {
        balance_ -= approved;
        t.root_posted = approved;
        t.postings += approved;
      } else {
        t.add_hold(0, approved, asked);
      }
      if (code == "10" || code == "87") {
        EXPECT_EQ(reply.get(t.cross_currency ? 6 : 4), amount12(approved)) << where();
      }
    }
    txns_.push_back(t);
    if (t.root_approved && chance(10)) late_rule(txns_.back());
  }

  // The answer came too late (91): the pipeline reverses what the authorization did.
  void late_rule(Txn& t) {
    Command c;
    c.kind = CommandKind::card_reversal;
    c.body.authorization = Authorization{};
    c.body.authorization.original = authorization_id("00012345", t.stan, t.transmission);
    c.body.authorization.id = card_ids::late_reversal_message(c.body.authorization.original);
    c.body.authorization.late_rule = true;
    c.body.authorization.answer_by_ns = 1'000 + std::stoull(t.stan);
    engine::BatchOutput out;
    engine_.apply(&c, 1, now_, &out);
    EXPECT_EQ(out.results[0].transfer_result(), TransferResult::ok) << where();
    ++t.reversals;
    if (t.single) {
      balance_ += t.root_posted;
      t.refunded += t.root_posted;
    } else {
      t.holds.front().open = false;
    }
  }

  Txn& any() {
    const int recent = std::min<int>(static_cast<int>(txns_.size()), 16);
    return txns_[txns_.size() - 1 - static_cast<std::size_t>(pick(recent))];
  }

  // A new decision under the stand-in slot (a repeat or an advice after ours was released).
  std::string decide_anew(Txn& t, std::int64_t asked, bool force) {
    const auto [code, approved] =
        force ? std::pair<std::string, std::int64_t>{"00", asked} : decide(asked, false);
    t.advice_used = true;
    t.advice_code = code;
    if (approved > 0 && t.single && !force) {
      balance_ -= approved;
      t.postings += approved;
    } else if (approved > 0) {
      t.add_hold(1, approved, asked);
    }
    return code;
  }

  // 0101: the original's decision again, or (its money released since) a new one.
  void repeat() {
    Txn& t = any();
    if (t.refund || !t.root_exists) return;
    const std::int64_t asked = chance(50) ? 100 : 200;
    const Message m = message(t.single ? "0201" : "0101", t, asked, "000000");
    std::string code;
    if (!t.root_approved) {
      code = t.root_code;
    } else if (!t.root_released()) {
      code = t.single ? t.root_code : t.repeat_code(0);
    } else if (t.advice_used) {
      code = t.single || t.advice_code != "00" ? t.advice_code : t.repeat_code(1);
      // The stand-in slot's money released too: no slot left for another decision, and an
      // approval must hold money: 65, never 00 with nothing held.
      if (!t.single && t.advice_code == "00" && t.advice_released()) code = "65";
    } else {
      code = decide_anew(t, asked, false);
    }
    if (code == "87") code = "10";  // the repeat carries no cash-back: less than asked is 10
    expect_code(send(m), code, "repeat");
  }

  // 0120: the network decided in our place.
  void advice() {
    static const char* approvals[] = {"00", "08", "10", "11", "87"};
    const bool approving = chance(80);
    const std::int64_t value = 1 + pick(3'000);
    if (chance(30)) {  // a transaction we never saw
      Txn t;
      t.stan = next_stan();
      t.transmission = next_transmission();
      t.mcc = mccs[pick(4)];
      Message m = message("0120", t, value, "000000");
      m.set(39, approving ? approvals[pick(5)] : "05");
      expect_code(send(m), "00", "advice of an unknown transaction");
      if (!approving) return;
      t.root_exists = true;
      t.root_approved = true;
      t.root_code = "00";
      t.add_hold(0, value, value);
      txns_.push_back(t);
      return;
    }
    Txn& t = any();
    if (t.single || t.refund || !t.root_exists || (!approving && t.reversals >= 12)) return;
    Message m = message(chance(20) ? "0121" : "0120", t, value, "000000");
    m.set(39, approving ? approvals[pick(5)] : "05");
    if (approving) {
      const bool stands = t.root_approved && !t.root_released();
      if (!stands && !t.advice_used) (void)decide_anew(t, value, true);
    } else if (std::find(t.declining_advices.begin(), t.declining_advices.end(), value) ==
               t.declining_advices.end()) {
      for (Hold& h : t.holds) h.open = false;  // declined: whatever we hold is released
      t.declining_advices.push_back(value);
      ++t.reversals;
    }
    expect_code(send(m), "00", "advice");
  }

  void incremental() {
    Txn& t = any();
    if (t.single || t.refund || !t.root_exists || t.incrementals >= 6 || t.completed) return;
    const std::int64_t asked = amount();
    Message m = follow_up("0100", t, asked, "000000");
    const auto [code, approved] = decide(asked, false);
    if (approved > 0) t.add_hold(2 + t.incrementals, approved, asked);
    ++t.incrementals;
    expect_code(send(m), code, "incremental");
    if (chance(30)) expect_code(send(m), code, "incremental repeat");  // finds its slot
  }

  // 0220: the final amount, under, equal or over what is held.
  void complete() {
    Txn& t = any();
    if (t.refund || t.single || t.completed) return;
    const std::int64_t held = t.held();
    const int shape = pick(5);
    const std::int64_t value = held == 0    ? 1 + pick(3'000)
                               : shape == 0 ? std::max<std::int64_t>(1, held / 2)
                               : shape == 1 ? held
                               : shape == 2 ? held + held / 10 + 1
                               : shape == 3 ? held + held / 4 + 1
                                            : std::max<std::int64_t>(held + 1, 17'000);
    const Message m = follow_up("0220", t, value, "000000");
    std::string code = "00";
    if (held > 0 && value > held &&
        value > std::max(held + held * t.mcc.percent / 100, t.mcc.maximum)) {
      code = "13";
    }
    if (code == "00") {
      balance_ -= value;
      t.postings += value;
      t.completed = true;
      bool first = true;
      for (Hold& h : t.holds) {
        if (!h.open) continue;
        if (first && h.order == 0) t.root_captured = true;
        first = false;
        h.open = false;
        h.captured = true;
      }
    }
    expect_code(send(m), code, "completion");
    if (code == "00" && chance(20)) expect_code(send(m), "00", "completion repeat");
  }

  // 0400/0420: the transaction comes to DE95 (or nothing).
  void reverse() {
    Txn& t = any();
    if (t.reversals >= 12) return;
    ++t.reversals;
    const std::int64_t held = t.held();
    const std::int64_t outstanding = t.postings - t.refunded;
    Message m = follow_up(chance(50) ? "0400" : "0420", t, held + outstanding + 1,
                          t.refund ? "200000" : "000000");
    if (chance(30)) {  // no DE90: found by card, RRN, STAN and acquirer, as networks match
      m.clear(90);
      m.set(11, t.stan);
    }
    std::int64_t to = 0;
    const std::int64_t base = held > 0 ? held : outstanding;
    if (chance(50) && base > 1) {
      const std::int64_t wanted = pick(static_cast<int>(std::min<std::int64_t>(base, 1'000'000)));
      // DE95 is in the transaction currency; the translator bills it at DE6/DE4.
      const std::int64_t transaction = t.cross_currency ? wanted * 11 / 10 : wanted;
      m.set(95, amount12(transaction) + std::string(30, '0'));
      to = transaction;
      if (t.cross_currency) {
        std::uint64_t de4 = 0, de6 = 0;
        (void)parse_digits(m.get(4), &de4);
        (void)parse_digits(m.get(6), &de6);
        to = static_cast<std::int64_t>(
            (static_cast<unsigned __int128>(transaction) * de6 + de4 / 2) / de4);
      }
    }
    if (!t.root_exists) {
      // Nothing of it is in the ledger under the original's id (an orphan refund completion).
    } else if (held > 0) {
      std::int64_t release = held - to;
      for (auto h = t.holds.rbegin(); h != t.holds.rend() && release > 0; ++h) {
        if (!h->open) continue;
        const std::int64_t part = std::min(release, h->amount);
        if (part == h->amount) {
          h->open = false;  // released whole: the hold keeps the amount it had
        } else {
          h->amount -= part;
        }
        release -= part;
      }
    } else {
      const std::int64_t back = outstanding - to;
      if (back > 0) {
        t.refunded += back;
        balance_ += t.refund ? -back : back;
      }
    }
    expect_code(send(m), "00", "reversal");
    if (chance(20)) expect_code(send(m), "00", "reversal repeat");  // changes nothing more
  }

  // Refunds: a 0100 moves no money; a 0200, or an orphan 0220, credits.
  void refund(bool as_completion) {
    Txn t;
    t.stan = next_stan();
    t.transmission = next_transmission();
    t.mcc = mccs[0];
    t.refund = true;
    t.single = true;
    const std::int64_t value = 1 + pick(2'000);
    expect_code(send(message("0100", t, value, "200000")), "00", "refund authorization");
    const Message m =
        as_completion ? follow_up("0220", t, value, "200000") : message("0200", t, value, "200000");
    expect_code(send(m), "00", "refund");
    balance_ += value;
    t.root_exists = !as_completion;
    t.root_approved = true;
    t.root_code = "00";
    t.root_posted = value;
    t.postings = value;
    t.completed = true;
    txns_.push_back(t);
  }

  void verify() {
    Txn t;
    t.stan = next_stan();
    t.transmission = next_transmission();
    t.mcc = mccs[0];
    expect_code(send(message("0100", t, 0, "000000")), "85", "verification");
  }

  // A month passes: every hold has expired (7 days, 30 for lodging).
  void expire() {
    now_ += 31ULL * 86'400 * second_ns;
    engine::BatchOutput out;
    engine_.apply(nullptr, 0, now_, &out);
    for (Txn& t : txns_) {
      for (Hold& h : t.holds) h.open = false;
    }
  }

  void check_money() {
    const Account* account = engine_.find_account(AccountId{{1, 2}});
    ASSERT_NE(account, nullptr);
    const __int128 posted = account->credits_posted - account->debits_posted;
    EXPECT_EQ(static_cast<std::int64_t>(posted), balance_) << "posted balance " << where();
    EXPECT_EQ(static_cast<std::int64_t>(account->debits_pending), held_total())
        << "held " << where();
    for (const auto& [currency, totals] : engine_.totals_by_currency()) {
      EXPECT_TRUE(totals.balanced()) << where();
    }
  }

  std::mt19937_64 random_;
  std::uint64_t seed_;
  int step_ = 0;
  TranslateOptions options_;
  engine::Engine engine_{engine::EngineOptions{16, 400'000, 4}};
  std::uint64_t now_ = 1'000 * second_ns;
  std::vector<Txn> txns_;
  std::int64_t balance_ = 0;
  int stan_ = 0;
  int transmission_ = 0;
};

std::uint64_t seed() {
  if (const char* text = std::getenv("LEDGER_TEST_SEED")) return std::strtoull(text, nullptr, 10);
  return std::random_device{}();
}

TEST(CardLifecycleTest, CardholderMoneyEqualsTheNaiveModelAfterEveryMessage) {
  const std::uint64_t first = seed();
  std::printf("seed=%llu (rerun with LEDGER_TEST_SEED=%llu)\n",
              static_cast<unsigned long long>(first), static_cast<unsigned long long>(first));
  for (std::uint64_t run = 0; run < 40 && !::testing::Test::HasFailure(); ++run) {
    LifecycleModel model(first + run);
    model.run(400);
  }
}

}  // namespace
}  // namespace ledger::iso8583
