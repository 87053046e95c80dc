// libFuzzer target: the engine fed arbitrary command streams (accounts, single-phase and
// two-phase transfers with arbitrary flags, amounts and ids, linked chains, account updates,
// lookups, time jumps that expire holds; cards, their controls, card authorizations with
// velocity limits, advices, completions and reversals). After every batch it asserts the
// ledger invariants (the state hash covers cards and their velocity):
//   - one result per command;
//   - debits = credits, posted and pending, in every currency (double entry);
//   - replaying the batch's journal records into a second engine gives the same state
//     (recovery from PostgreSQL rebuilds exactly what was acknowledged);
//   - applying the same stream twice gives the same state (determinism).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/engine.h"
#include "ledger/money.h"

using namespace ledger;

namespace {

engine::EngineOptions options() { return engine::EngineOptions{16, 4096, 4}; }

struct Stream {
  explicit Stream(FuzzedDataProvider& in) : in_(in) {}

  AccountId account() { return AccountId{{0, in_.ConsumeIntegralInRange<std::uint64_t>(1, 10)}}; }
  Currency currency() {
    static const Currency eur = *currency_from_alpha("EUR");
    static const Currency usd = *currency_from_alpha("USD");
    return in_.ConsumeBool() ? eur : usd;
  }
  std::int64_t amount() {
    switch (in_.ConsumeIntegralInRange(0, 3)) {
      case 0:
        return in_.ConsumeIntegral<std::int64_t>();  // anything, negative and huge included
      case 1:
        return 0;
      default:
        return in_.ConsumeIntegralInRange<std::int64_t>(1, 5000);
    }
  }
  TransferId earlier() {
    if (ids_.empty() || in_.ConsumeBool())
      return TransferId{{7, in_.ConsumeIntegral<std::uint8_t>()}};
    return ids_[in_.ConsumeIntegralInRange<std::size_t>(0, ids_.size() - 1)];
  }

  CardId card() { return CardId{{0xCA, in_.ConsumeIntegralInRange<std::uint64_t>(0, 4)}}; }
  void pan(std::uint8_t (&hash)[32]) { std::memset(hash, in_.ConsumeIntegralInRange(1, 5), 32); }
  CardControls controls() {
    CardControls k;
    k.per_authorization_limit = in_.ConsumeBool() ? 0 : amount();
    k.daily_limit = in_.ConsumeBool() ? 0 : amount();
    k.monthly_limit = in_.ConsumeBool() ? 0 : amount();
    k.daily_count_limit = in_.ConsumeIntegralInRange<std::uint32_t>(0, 5);
    k.channels = in_.ConsumeIntegral<std::uint8_t>();
    k.blocked_mcc_count = in_.ConsumeIntegralInRange<std::uint8_t>(0, 2);
    for (std::uint8_t i = 0; i < k.blocked_mcc_count; ++i) k.blocked_mccs[i] = mcc();
    return k;
  }
  std::uint16_t mcc() { return in_.ConsumeBool() ? 5812 : 6011; }

  Command card_command() {
    Command c;
    if (in_.ConsumeBool()) {
      c.kind = CommandKind::create_card;
      c.body.card = Card{};
      c.body.card.id = card();
      c.body.card.account_id = account();
      pan(c.body.card.pan_hash);
      c.body.card.expiry_yymm = in_.ConsumeBool() ? 2812 : 2510;
      c.body.card.controls = controls();
      return c;
    }
    c.kind = CommandKind::update_card;
    c.body.card_update = CardUpdate{};
    c.body.card_update.id = card();
    c.body.card_update.set_status = in_.ConsumeBool();
    c.body.card_update.status = static_cast<CardStatus>(in_.ConsumeIntegralInRange(0, 2));
    c.body.card_update.controls.fields = in_.ConsumeIntegral<std::uint8_t>();
    c.body.card_update.controls.values = controls();
    c.body.card_update.controls.channels_on = in_.ConsumeIntegral<std::uint8_t>();
    c.body.card_update.controls.channels_off = in_.ConsumeIntegral<std::uint8_t>();
    return c;
  }

  Command card_message() {
    Command c;
    const int kind = in_.ConsumeIntegralInRange(0, 3);
    c.kind = kind <= 1   ? CommandKind::authorize
             : kind == 2 ? CommandKind::card_completion
                         : CommandKind::card_reversal;
    Authorization& a = c.body.authorization;
    a = Authorization{};
    a.id = in_.ConsumeIntegralInRange(0, 10) == 0 ? earlier() : TransferId{{1, ++next_id_}};
    a.original = earlier();
    pan(a.pan_hash);
    a.amount = amount();
    a.replacement = in_.ConsumeBool() ? 0 : amount();
    a.currency = currency();
    a.mcc = mcc();
    a.expiry_yymm = in_.ConsumeBool() ? 0 : 2812;
    a.today_yymm = 2611;
    a.channels = in_.ConsumeIntegral<std::uint8_t>();
    a.kind = static_cast<AuthorizationKind>(in_.ConsumeIntegralInRange(0, 4));
    a.partial_allowed = in_.ConsumeBool();
    a.force = in_.ConsumeBool();
    a.post_now = in_.ConsumeBool();
    a.over_capture_pct = static_cast<std::uint16_t>(in_.ConsumeIntegralInRange(0, 50));
    a.over_capture_max = in_.ConsumeBool() ? 0 : amount();
    a.incremental = in_.ConsumeBool();
    a.release_only = in_.ConsumeBool();
    a.hold_timeout_s = in_.ConsumeIntegralInRange<std::uint32_t>(0, 3);
    ids_.push_back(a.id);
    return c;
  }

  Command next() {
    Command c;
    switch (in_.ConsumeIntegralInRange(0, 12)) {
      case 10:
        return card_command();
      case 11:
      case 12:
        return card_message();
      case 0: {
        c.kind = CommandKind::create_account;
        c.body.account = Account{};
        c.body.account.id = account();
        c.body.account.holder_id = HolderId{{0, 1}};
        c.body.account.currency = currency();
        c.body.account.kind = static_cast<AccountKind>(in_.ConsumeIntegralInRange(0, 3));
        c.body.account.flags = in_.ConsumeIntegral<std::uint16_t>();
        c.body.account.overdraft_limit = in_.ConsumeBool() ? 0 : amount();
        return c;
      }
      case 1: {
        c.kind = CommandKind::update_account;
        c.body.update = AccountUpdate{};
        c.body.update.id = account();
        c.body.update.set_overdraft_limit = in_.ConsumeBool();
        c.body.update.overdraft_limit = amount();
        c.body.update.set_status = in_.ConsumeBool();
        c.body.update.status = static_cast<AccountStatus>(in_.ConsumeIntegralInRange(0, 3));
        return c;
      }
      case 2:
        c.kind = CommandKind::lookup_transfer;
        c.body.transfer_id = earlier();
        return c;
      default: {
        c.kind = CommandKind::create_transfer;
        Transfer& t = c.body.transfer;
        t = Transfer{};
        t.id = in_.ConsumeIntegralInRange(0, 20) == 0 ? earlier() : TransferId{{1, ++next_id_}};
        t.flags = static_cast<std::uint16_t>(in_.ConsumeIntegral<std::uint8_t>() &
                                             (in_.ConsumeBool() ? 0x3F : 0x06));
        if ((t.flags & (flag_post_pending | flag_void_pending)) != 0) {
          t.pending_id = earlier();
          if (in_.ConsumeBool()) t.debit_account_id = account();
        } else {
          t.debit_account_id = account();
          t.credit_account_id = account();
          t.currency = currency();
        }
        t.amount = amount();
        t.timeout_s = in_.ConsumeIntegralInRange<std::uint32_t>(0, 3);
        t.code = static_cast<TransferCode>(in_.ConsumeIntegralInRange(0, 9));
        ids_.push_back(t.id);
        return c;
      }
    }
  }

 private:
  FuzzedDataProvider& in_;
  std::vector<TransferId> ids_;
  std::uint64_t next_id_ = 0;
};

void check_balanced(const engine::Engine& engine) {
  for (const auto& [currency, totals] : engine.totals_by_currency()) {
    if (!totals.balanced()) std::abort();
  }
}

std::uint64_t run(const std::uint8_t* data, std::size_t size, engine::Engine& engine,
                  engine::Engine& replica) {
  FuzzedDataProvider in(data, size);
  Stream stream(in);
  engine.clear();
  replica.clear();
  std::uint64_t now = 1'800'000'000'000'000'000ULL;
  engine::BatchOutput out;
  std::vector<Command> batch;
  while (in.remaining_bytes() > 0) {
    batch.clear();
    const std::size_t n = in.ConsumeIntegralInRange<std::size_t>(0, 24);
    for (std::size_t i = 0; i < n && in.remaining_bytes() > 0; ++i) batch.push_back(stream.next());
    now += in.ConsumeIntegralInRange<std::uint64_t>(1, 5'000'000'000ULL);  // up to 5 s later
    out.results.clear();
    out.records.clear();
    engine.apply(batch.data(), batch.size(), now, &out);
    if (out.results.size() != batch.size()) std::abort();
    check_balanced(engine);
    for (const JournalRecord& record : out.records) replica.replay(record);
    check_balanced(replica);
    if (replica.state_hash() != engine.state_hash()) std::abort();
  }
  return engine.state_hash();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static engine::Engine engine(options());
  static engine::Engine replica(options());
  const std::uint64_t first = run(data, size, engine, replica);
  if (run(data, size, engine, replica) != first) std::abort();
  return 0;
}
