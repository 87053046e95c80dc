// The engine unit tests' fixture (engine_test.cc, engine_cards_test.cc): an engine with small
// capacities, helpers to open accounts, move money and read balances, and every journal
// record kept for replay checks.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "engine/engine.h"

namespace ledger::engine::testing {

inline constexpr std::int64_t max64 = std::numeric_limits<std::int64_t>::max();
inline constexpr std::uint64_t second_ns = 1'000'000'000;
using R = TransferResult;
using AR = AccountResult;

inline AccountId acct(std::uint64_t n) { return AccountId{{0, n}}; }
inline TransferId tid(std::uint64_t n) { return n == 0 ? TransferId{} : TransferId{{7, n}}; }

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : engine_(EngineOptions{64, 256, 16}) {}

  Currency eur_ = *currency_from_alpha("EUR");
  Currency usd_ = *currency_from_alpha("USD");
  Engine engine_;
  BatchOutput out_;
  std::uint64_t now_ = 1'000 * second_ns;
  std::vector<JournalRecord> journal_;  // every record so far, for replay checks

  void run(const std::vector<Command>& commands) {
    engine_.apply(commands.data(), commands.size(), now_, &out_);
    journal_.insert(journal_.end(), out_.records.begin(), out_.records.end());
  }

  AR open(std::uint64_t n, std::uint16_t flags = debits_must_not_exceed_credits,
          std::int64_t overdraft = 0, Currency currency = {}) {
    Command c;
    c.kind = CommandKind::create_account;
    c.body.account = Account{};
    c.body.account.id = acct(n);
    c.body.account.holder_id = HolderId{{0, 99}};
    c.body.account.currency = currency.code == 0 ? eur_ : currency;
    c.body.account.flags = flags;
    c.body.account.overdraft_limit = overdraft;
    run({c});
    return out_.results[0].account_result();
  }

  static Transfer single(std::uint64_t id, std::uint64_t debit, std::uint64_t credit,
                         std::int64_t amount, Currency currency) {
    Transfer t;
    t.id = tid(id);
    t.debit_account_id = acct(debit);
    t.credit_account_id = acct(credit);
    t.amount = amount;
    t.currency = currency;
    return t;
  }
  Transfer single(std::uint64_t id, std::uint64_t debit, std::uint64_t credit,
                  std::int64_t amount) {
    return single(id, debit, credit, amount, eur_);
  }
  Transfer hold(std::uint64_t id, std::uint64_t debit, std::uint64_t credit, std::int64_t amount,
                std::uint32_t timeout_s = 0) {
    Transfer t = single(id, debit, credit, amount);
    t.flags = flag_pending;
    t.timeout_s = timeout_s;
    return t;
  }
  static Transfer resolve(std::uint64_t id, std::uint64_t pending, std::uint16_t flag,
                          std::int64_t amount = 0) {
    Transfer t;
    t.id = tid(id);
    t.pending_id = tid(pending);
    t.flags = flag;
    t.amount = amount;
    return t;
  }
  static Command command(const Transfer& t) {
    Command c;
    c.kind = CommandKind::create_transfer;
    c.body.transfer = t;
    return c;
  }
  R apply(const Transfer& t) {
    run({command(t)});
    return out_.results[0].transfer_result();
  }
  const Account& account(std::uint64_t n) { return *engine_.find_account(acct(n)); }
  Sum available(std::uint64_t n) {
    const Account& a = account(n);
    return a.credits_posted - a.debits_posted - a.debits_pending + a.overdraft_limit;
  }
  AR update(std::uint64_t n, std::optional<std::int64_t> overdraft,
            std::optional<AccountStatus> status) {
    Command c;
    c.kind = CommandKind::update_account;
    c.body.update = AccountUpdate{};
    c.body.update.id = acct(n);
    c.body.update.set_overdraft_limit = overdraft.has_value();
    c.body.update.overdraft_limit = overdraft.value_or(0);
    c.body.update.set_status = status.has_value();
    c.body.update.status = status.value_or(AccountStatus::active);
    run({c});
    return out_.results[0].account_result();
  }
  // A funded customer account n (balance `amount`) drawn from an unlimited settlement account 1.
  void fund(std::uint64_t n, std::int64_t amount, std::uint64_t transfer_id) {
    ASSERT_EQ(apply(single(transfer_id, 1, n, amount)), R::ok);
  }
  void SetUpAccounts() {
    ASSERT_EQ(open(1, 0), AR::ok);  // settlement: no limits
    ASSERT_EQ(open(2), AR::ok);     // customer: no overdraft
    ASSERT_EQ(open(3), AR::ok);
  }
  void expect_balanced() {
    for (const auto& [code, totals] : engine_.totals_by_currency()) {
      EXPECT_TRUE(totals.balanced()) << "currency " << code;
    }
  }
};

}  // namespace ledger::engine::testing
