#include "app/spike_watcher.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <unordered_map>

#include "journal/event_reader.h"
#include "journal/pg.h"
#include "journal/spike_sql.h"
#include "ledger/limits.h"
#include "ledger/money.h"
#include "ledger/thread_name.h"
#include "ledger/units.h"
#include "outbound/spikes.h"

namespace ledger {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint64_t trailing_ns = 28 * ns_per_day;

std::string signed_text(std::uint64_t v) { return std::to_string(static_cast<std::int64_t>(v)); }

std::uint64_t wall_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// Waits for one command's durable answer; outlives the waiter if the answer comes late.
struct Waiter final : Completion {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  Outcome outcome = Outcome::unavailable;
  std::shared_ptr<Waiter> self;
  void complete(const CommandResult&, Outcome o) override {
    std::shared_ptr<Waiter> keep = std::move(self);
    {
      std::lock_guard lock(mutex);
      done = true;
      outcome = o;
    }
    done_cv.notify_all();
  }
};

}  // namespace

struct SpikeWatcher::Impl {
  std::string url;
  CommandSink& sink;
  std::thread thread;
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::atomic<std::uint64_t> found{0};
  std::atomic<std::uint64_t> lag{0};
  std::atomic<std::uint64_t> failures{0};

  pg::Conn conn;
  outbound::SpikeEvaluator evaluator;
  std::vector<SpikeRule> rules;
  bool started = false;  // windows rebuilt for the current rules
  std::uint64_t cursor = 0;
  std::map<Uint128, Uint128> holder_cache;

  Impl(std::string u, CommandSink& s) : url(std::move(u)), sink(s) {}

  bool sleep_for(std::chrono::milliseconds ms) {
    std::unique_lock lock(mutex);
    return !wake.wait_for(lock, ms, [this] { return stopping; });
  }

  bool number(const std::string& sql, const std::vector<std::string>& params, std::int64_t* out) {
    pg::Result rows;
    if (!pg::exec_params(conn.get(), sql, params, &rows).ok() || PQntuples(rows.get()) != 1) {
      return false;
    }
    return pg::number(rows.get(), 0, 0, out);
  }

  std::uint64_t last_seq() {
    std::int64_t seq = 0;
    return number("SELECT coalesce(max(seq), 0) FROM events", {}, &seq)
               ? static_cast<std::uint64_t>(seq)
               : cursor;
  }

  // The first seq whose event is at or after `ts` (events are in timestamp order).
  std::uint64_t first_seq_at(std::uint64_t ts, std::uint64_t last) {
    std::uint64_t lo =
        last > limits::spike_rebuild_events_max ? last - limits::spike_rebuild_events_max + 1 : 1;
    std::uint64_t hi = last + 1;
    while (lo < hi) {
      const std::uint64_t mid = lo + (hi - lo) / 2;
      std::int64_t at = 0;
      if (!number("SELECT ts FROM events WHERE seq = $1", {signed_text(mid)}, &at)) return last + 1;
      if (static_cast<std::uint64_t>(at) < ts) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  // Rules changed from none to some (or at start): where to read from, and past spikes.
  void begin() {
    const std::uint64_t now = wall_ns();
    const std::uint64_t longest = evaluator.longest_window_s() * ns_per_s;
    const std::uint64_t last = last_seq();
    if (!started && cursor == 0) {  // at start: rebuild the windows
      const std::uint64_t first = first_seq_at(now > longest ? now - longest : 0, last);
      cursor = first > 0 ? first - 1 : 0;
    } else if (cursor == 0) {
      cursor = last;
    }
    (void)spike_sql::visit_spikes(
        conn.get(),
        std::string("SELECT ") + spike_sql::event_columns + " FROM spike_events WHERE ts >= $1",
        {signed_text(now > longest ? now - longest : 0)},
        [this](const SpendingSpike& s) { evaluator.fired(s.rule_id, s.key, s.timestamp); });
    started = true;
  }

  Uint128 holder_of(AccountId account) {
    const auto it = holder_cache.find(account.value);
    if (it != holder_cache.end()) return it->second;
    pg::Result rows;
    Uint128 holder;
    if (pg::exec_params(conn.get(), "SELECT holder_id FROM accounts WHERE id = $1",
                        {format_uuid(account.value)}, &rows)
            .ok() &&
        PQntuples(rows.get()) == 1) {
      if (const auto parsed = parse_uuid(PQgetvalue(rows.get(), 0, 0))) holder = *parsed;
    }
    if (!holder.is_zero()) {
      if (holder_cache.size() >= limits::spike_keys_per_rule_max) holder_cache.clear();
      holder_cache.emplace(account.value, holder);
    }
    return holder;
  }

  // The window's average sum over the trailing 28 days before it; -1 if it cannot be read.
  Sum usual(const SpendingSpike& s, std::uint64_t at) {
    const std::uint64_t window = std::uint64_t{s.window_s} * ns_per_s;
    if (window >= trailing_ns) return 0;
    const std::uint64_t from = at > trailing_ns ? at - trailing_ns : 0;
    const std::uint64_t to = at > window ? at - window : 0;
    const char* side =
        s.direction == SpikeDirection::out ? "debit_account_id" : "credit_account_id";
    std::string sql =
        "SELECT coalesce(sum(amount_effective), 0) FROM transfers WHERE result = 0 "
        "AND (flags & 12) = 0 AND code NOT IN (2, 4, 9) AND currency = $1 AND ts >= "
        "$2 AND ts < $3 AND ";
    std::vector<std::string> params{std::string(currency_alpha(s.currency)), signed_text(from),
                                    signed_text(to)};
    switch (s.scope) {
      case SpikeScope::account:
        sql.append(side).append(" = $4");
        params.push_back(format_uuid(s.key));
        break;
      case SpikeScope::card:
        sql.append(side).append(
            " = $4 AND reference_a = $5 AND reference_b = $6 AND code IN (1, 3, 5)");
        params.push_back(format_uuid(s.account_id.value));
        params.push_back(signed_text(s.key.hi));
        params.push_back(signed_text(s.key.lo));
        break;
      case SpikeScope::holder:
        sql.append(side).append(" IN (SELECT id FROM accounts WHERE holder_id = $4)");
        params.push_back(format_uuid(s.key));
        break;
    }
    pg::Result rows;
    if (!pg::exec_params(conn.get(), sql, params, &rows).ok() || PQntuples(rows.get()) != 1) {
      return -1;
    }
    Sum total = 0;
    if (!parse_decimal128(PQgetvalue(rows.get(), 0, 0), &total)) return -1;
    const std::uint64_t periods = (trailing_ns - window) / window;
    return total / static_cast<Sum>(periods == 0 ? 1 : periods);
  }

  void consider(outbound::SpikeCandidate candidate, std::uint64_t at) {
    SpendingSpike& s = candidate.spike;
    if (candidate.times_usual_x100 != 0) {
      s.usual = usual(s, at);
      if (s.usual < 0 || static_cast<Sum>(s.window_sum) * 100 <
                             static_cast<Sum>(candidate.times_usual_x100) * s.usual) {
        evaluator.rejected(s.rule_id, s.key, at);
        return;
      }
    }
    Command command;
    command.kind = CommandKind::record_spike;
    command.body.spike = s;
    auto waiter = std::make_shared<Waiter>();
    waiter->self = waiter;
    if (!sink.submit(command, waiter.get())) {
      waiter->self.reset();
      failures.fetch_add(1, std::memory_order_relaxed);
      evaluator.rejected(s.rule_id, s.key, at);
      return;
    }
    std::unique_lock lock(waiter->mutex);
    const bool answered = waiter->done_cv.wait_for(lock, std::chrono::seconds(10),
                                                   [&waiter] { return waiter->done; });
    if (answered && waiter->outcome == Outcome::durable) {
      evaluator.fired(s.rule_id, s.key, at);
      found.fetch_add(1, std::memory_order_relaxed);
    } else {
      failures.fetch_add(1, std::memory_order_relaxed);
      evaluator.rejected(s.rule_id, s.key, at);
    }
  }

  void run() {
    auto rules_loaded = Clock::time_point{};
    std::vector<outbound::SpikeCandidate> candidates;
    while (!stopping) {
      if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
        conn.reset();
        if (!pg::connect(url, &conn).ok()) {
          if (!sleep_for(std::chrono::seconds(1))) return;
          continue;
        }
        (void)pg::exec(conn.get(), "SET statement_timeout = " +
                                       std::to_string(limits::db_read_statement_timeout_ms));
      }
      if (Clock::now() - rules_loaded >= std::chrono::seconds(1)) {
        std::vector<SpikeRule> loaded;
        if (!spike_sql::live_rules(conn.get(), &loaded).ok()) {
          conn.reset();
          continue;
        }
        rules_loaded = Clock::now();
        rules = std::move(loaded);
        evaluator.set_rules(rules);
        if (!rules.empty() && !started) begin();
      }
      if (rules.empty()) {  // nothing to evaluate: keep up with the feed, cheaply
        cursor = last_seq();
        started = started || cursor > 0;
        lag.store(0, std::memory_order_relaxed);
        if (!sleep_for(std::chrono::milliseconds(200))) return;
        continue;
      }
      EventQuery q;
      q.after = cursor;
      q.limit = 1000;
      q.types = 1u << static_cast<unsigned>(EventType::card_authorization_approved) |
                1u << static_cast<unsigned>(EventType::transfer_created) |
                1u << static_cast<unsigned>(EventType::transfer_pending);
      EventPage page;
      if (!read_events(conn.get(), q, &page).ok()) {
        conn.reset();
        continue;
      }
      for (const Event& e : page.events) {
        const auto m = outbound::movement_of(e);
        if (!m) continue;
        candidates.clear();
        evaluator.observe(
            *m, [this](AccountId a) { return holder_of(a); }, &candidates);
        for (outbound::SpikeCandidate& c : candidates) consider(c, m->ts);
      }
      cursor = page.next_after;
      lag.store(page.last_seq > cursor ? page.last_seq - cursor : 0, std::memory_order_relaxed);
      if (page.events.empty() && cursor >= page.last_seq) {
        if (!sleep_for(std::chrono::milliseconds(limits::events_poll_interval_ms))) return;
      }
    }
  }
};

SpikeWatcher::SpikeWatcher(std::string database_url, CommandSink& sink)
    : impl_(std::make_unique<Impl>(std::move(database_url), sink)) {}

SpikeWatcher::~SpikeWatcher() { stop(); }

void SpikeWatcher::start() {
  impl_->thread = std::thread([this] {
    name_this_thread("ledgerd-spikes");
    impl_->run();
  });
}

void SpikeWatcher::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void SpikeWatcher::register_metrics(metrics::Registry& registry) {
  registry.add_counter("ledgerd_spikes_found_total",
                       "Spending spikes found by the spike watcher and journaled.", {},
                       [this] { return static_cast<double>(impl_->found.load()); });
  registry.add_counter("ledgerd_spike_journal_failures_total",
                       "Spikes the watcher could not journal (retried after a pause).", {},
                       [this] { return static_cast<double>(impl_->failures.load()); });
  registry.add_gauge("ledgerd_spike_watcher_lag_events",
                     "Committed events the spike watcher has not read yet.", {},
                     [this] { return static_cast<double>(impl_->lag.load()); });
}

}  // namespace ledger
