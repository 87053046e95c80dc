// libFuzzer target: the engine fed arbitrary command streams (accounts, single-phase and
// two-phase transfers with arbitrary flags, amounts and ids, linked chains, account updates,
// lookups, time jumps that expire holds). After every batch it asserts the ledger invariants:
//   - one result per command;
//   - debits = credits, posted and pending, in every currency (double entry);
//   - replaying the batch's journal records into a second engine gives the same state
//     (recovery from PostgreSQL rebuilds exactly what was acknowledged);
//   - applying the same stream twice gives the same state (determinism).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "engine.h"
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

  Command next() {
    Command c;
    switch (in_.ConsumeIntegralInRange(0, 9)) {
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
