// The spike evaluator: sliding windows of money moved per rule and per card / account /
// holder, fed from the event feed in seq order (off the authorization path: the spike watcher
// reads committed events). Pure: no I/O, no clock; time is the events' logical timestamps.
//
// What counts as money moved: approved card authorizations (holds and single-message
// postings; refunds are money in), single-phase transfers and holds placed. Completions, posts,
// voids, expiries and reversals are not counted again. Out of an account is its debit side, in
// is its credit side.
//
// A (rule, key) whose window sum reaches amount_at_least is a candidate; after a spike is
// journaled for it, the next one waits max(window_s, cooldown_s). A candidate the caller
// rejects (its usual check) is not offered again for a tenth of the window (at least 10 s).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "ledger/reader.h"
#include "ledger/spikes.h"

namespace ledger::outbound {

// Money moved by one event, as the evaluator counts it.
struct Movement {
  std::uint64_t ts = 0;
  std::int64_t amount = 0;
  Currency currency;
  AccountId out_of;  // debit side
  AccountId into;    // credit side
  Uint128 card;      // zero: not a card payment
};
// REQUIRES nothing; nullopt for events that move no new money.
std::optional<Movement> movement_of(const Event& event);

struct SpikeCandidate {
  SpendingSpike spike;  // all but timestamp and usual filled in
  std::uint32_t times_usual_x100 = 0;
};

class SpikeEvaluator {
 public:
  // Rules replace the current ones; windows of rules that stay are kept.
  void set_rules(const std::vector<SpikeRule>& rules);
  bool has_holder_rules() const { return holder_rules_; }
  std::uint64_t longest_window_s() const;

  // One movement: appends the candidates it makes. holder_of maps an account to its holder
  // (asked only when a holder rule exists; zero when unknown).
  void observe(const Movement& m, const std::function<Uint128(AccountId)>& holder_of,
               std::vector<SpikeCandidate>* out);
  // A spike was journaled (or found journaled at start) for (rule, key) at ts.
  void fired(Uint128 rule, Uint128 key, std::uint64_t ts);
  // The caller's usual check refused the candidate at ts.
  void rejected(Uint128 rule, Uint128 key, std::uint64_t ts);

  std::size_t tracked_keys() const;
  std::uint64_t dropped_keys() const { return dropped_keys_; }

 private:
  struct Window {
    std::deque<std::pair<std::uint64_t, std::int64_t>> entries;  // (ts, amount)
    std::int64_t sum = 0;
    std::uint64_t quiet_until = 0;  // no candidate before this ts
  };
  struct RuleState {
    SpikeRule rule;
    std::map<Uint128, Window> windows;
  };
  void add(RuleState& state, Uint128 key, AccountId account, const Movement& m,
           std::vector<SpikeCandidate>* out);

  std::map<Uint128, RuleState> rules_;
  bool holder_rules_ = false;
  std::uint64_t dropped_keys_ = 0;
};

}  // namespace ledger::outbound
