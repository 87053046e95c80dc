// Engine apply rate and ingress queue throughput (Google Benchmark). Figures go in the
// README; nothing here is asserted. Run: build/release/bench/engine_bench
#include <benchmark/benchmark.h>

#include <cmath>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/mpsc_queue.h"

namespace ledger::engine {
namespace {

constexpr std::size_t accounts_default = 1'000'000;
std::size_t accounts = accounts_default;  // the CacheResident variant shrinks it
constexpr std::size_t batch_size = 8'192;
constexpr std::size_t batches_per_run = 600;  // ~4.9M transfers per benchmark

AccountId account_id(std::uint64_t n) { return AccountId{{0xA, n + 1}}; }

// An engine with 1M accounts without balance limits, so every generated transfer is accepted.
std::unique_ptr<Engine> make_engine(std::size_t transfers) {
  auto engine = std::make_unique<Engine>(EngineOptions{accounts, transfers, 16});
  const Currency eur = *currency_from_alpha("EUR");
  std::vector<Command> commands(batch_size);
  BatchOutput out;
  for (std::size_t first = 0; first < accounts; first += batch_size) {
    const std::size_t n = std::min(batch_size, accounts - first);
    for (std::size_t i = 0; i < n; ++i) {
      commands[i].kind = CommandKind::create_account;
      commands[i].body.account = Account{};
      commands[i].body.account.id = account_id(first + i);
      commands[i].body.account.currency = eur;
    }
    engine->apply(commands.data(), n, 1, &out);
  }
  return engine;
}

// Zipf(s=1) over `n` ranks by inverse transform on a precomputed CDF.
class Zipf {
 public:
  explicit Zipf(std::size_t n) : cdf_(n) {
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) cdf_[i] = (sum += 1.0 / static_cast<double>(i + 1));
    for (double& c : cdf_) c /= sum;
  }
  std::size_t operator()(std::mt19937_64& rng) const {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<std::size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

enum class Mix { uniform, zipf };

void fill_single(std::vector<Command>* commands, std::uint64_t* next_id, std::mt19937_64& rng,
                 Mix mix, const Zipf& zipf) {
  const Currency eur = *currency_from_alpha("EUR");
  for (Command& c : *commands) {
    c.kind = CommandKind::create_transfer;
    c.body.transfer = Transfer{};
    Transfer& t = c.body.transfer;
    t.id = TransferId{{0xB, ++*next_id}};
    std::size_t debit = mix == Mix::zipf ? zipf(rng) : rng() % accounts;
    std::size_t credit = rng() % accounts;
    if (credit == debit) credit = (credit + 1) % accounts;
    t.debit_account_id = account_id(debit);
    t.credit_account_id = account_id(credit);
    t.amount = 1 + static_cast<std::int64_t>(rng() % 10'000);
    t.currency = eur;
  }
}

void run_single(benchmark::State& state, Mix mix) {
  const auto engine = make_engine(batch_size * batches_per_run + 16);
  static const Zipf zipf(accounts_default);
  std::mt19937_64 rng(42);
  std::uint64_t next_id = 0;
  std::vector<std::vector<Command>> batches(batches_per_run, std::vector<Command>(batch_size));
  for (auto& batch : batches) fill_single(&batch, &next_id, rng, mix, zipf);
  BatchOutput out;
  out.reserve(batch_size);
  std::size_t b = 0;
  std::uint64_t now = 1'000'000'000;
  for (auto _ : state) {
    engine->apply(batches[b].data(), batch_size, now += 1000, &out);
    benchmark::DoNotOptimize(out.results.data());
    ++b;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(b * batch_size));
  state.counters["bytes_per_account"] = static_cast<double>(Engine::bytes_per_account());
  state.counters["bytes_per_transfer_id"] = static_cast<double>(Engine::bytes_per_transfer());
}

void BM_SinglePhaseUniform(benchmark::State& state) { run_single(state, Mix::uniform); }
// The same with 10k accounts, whose records and index fit in cache: the compute ceiling,
// against which the 1M-account figure shows what memory (cache and TLB misses) costs.
void BM_SinglePhaseCacheResident(benchmark::State& state) {
  accounts = 10'000;
  run_single(state, Mix::uniform);
  accounts = accounts_default;
}
void BM_SinglePhaseZipfHot(benchmark::State& state) { run_single(state, Mix::zipf); }

// Each iteration: a batch of holds, then a batch posting them (two transfers per item).
void BM_PendingThenPost(benchmark::State& state) {
  const auto engine = make_engine(batch_size * batches_per_run + 16);
  std::mt19937_64 rng(7);
  std::uint64_t next_id = 0;
  const std::size_t pairs = batches_per_run / 2;
  std::vector<std::vector<Command>> holds(pairs, std::vector<Command>(batch_size));
  std::vector<std::vector<Command>> posts(pairs, std::vector<Command>(batch_size));
  static const Zipf zipf(2);
  for (std::size_t p = 0; p < pairs; ++p) {
    fill_single(&holds[p], &next_id, rng, Mix::uniform, zipf);
    for (std::size_t i = 0; i < batch_size; ++i) {
      holds[p][i].body.transfer.flags = flag_pending;
      Transfer& post = posts[p][i].body.transfer;
      posts[p][i].kind = CommandKind::create_transfer;
      post = Transfer{};
      post.id = TransferId{{0xC, ++next_id}};
      post.pending_id = holds[p][i].body.transfer.id;
      post.flags = flag_post_pending;
    }
  }
  BatchOutput out;
  out.reserve(batch_size);
  std::size_t p = 0;
  std::uint64_t now = 1'000'000'000;
  for (auto _ : state) {
    engine->apply(holds[p].data(), batch_size, now += 1000, &out);
    engine->apply(posts[p].data(), batch_size, now += 1000, &out);
    ++p;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(p * batch_size * 2));
}

// Two producer threads push commands; the benchmark thread drains (the engine's role).
void BM_QueueTwoProducers(benchmark::State& state) {
  constexpr std::size_t per_producer = 2'000'000;
  std::uint64_t total = 0;
  for (auto _ : state) {
    MpscQueue<Command> queue(16'384);
    std::vector<std::thread> producers;
    for (int p = 0; p < 2; ++p) {
      producers.emplace_back([&] {
        Command c;
        c.kind = CommandKind::lookup_account;
        for (std::size_t i = 0; i < per_producer;) {
          if (queue.try_push(c)) {
            ++i;
          } else {
            std::this_thread::yield();
          }
        }
      });
    }
    std::size_t received = 0;
    Command c;
    while (received < 2 * per_producer) {
      if (queue.try_pop(&c)) {
        ++received;
        continue;
      }
      std::this_thread::yield();
    }
    for (auto& t : producers) t.join();
    total += received;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(total));
}

BENCHMARK(BM_SinglePhaseUniform)->Iterations(batches_per_run)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SinglePhaseCacheResident)->Iterations(batches_per_run)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SinglePhaseZipfHot)->Iterations(batches_per_run)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PendingThenPost)->Iterations(batches_per_run / 2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_QueueTwoProducers)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ledger::engine

BENCHMARK_MAIN();
