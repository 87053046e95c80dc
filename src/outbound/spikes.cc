#include "outbound/spikes.h"

#include <algorithm>

#include "ledger/limits.h"
#include "ledger/units.h"

namespace ledger::outbound {
namespace {

bool is_card_code(TransferCode code) {
  return code == TransferCode::card_authorization || code == TransferCode::card_financial ||
         code == TransferCode::card_refund;
}

}  // namespace

std::optional<Movement> movement_of(const Event& event) {
  if (event.record.kind != RecordKind::transfer) return std::nullopt;
  if (event.type != EventType::card_authorization_approved &&
      event.type != EventType::transfer_created && event.type != EventType::transfer_pending) {
    return std::nullopt;
  }
  const Transfer& t = event.record.value.transfer;
  if (t.result != TransferResult::ok || t.amount_effective <= 0) return std::nullopt;
  Movement m;
  m.ts = t.timestamp;
  m.amount = t.amount_effective;
  m.currency = t.currency;
  m.out_of = t.debit_account_id;
  m.into = t.credit_account_id;
  if (is_card_code(t.code)) m.card = Uint128{t.reference_a, t.reference_b};
  return m;
}

void SpikeEvaluator::set_rules(const std::vector<SpikeRule>& rules) {
  std::map<Uint128, RuleState> next;
  holder_rules_ = false;
  for (const SpikeRule& rule : rules) {
    RuleState& state = next[rule.id];
    const auto old = rules_.find(rule.id);
    if (old != rules_.end() && old->second.rule.same_settings(rule)) {
      state.windows = std::move(old->second.windows);
    }
    state.rule = rule;
    holder_rules_ = holder_rules_ || rule.scope == SpikeScope::holder;
  }
  rules_ = std::move(next);
}

std::uint64_t SpikeEvaluator::longest_window_s() const {
  std::uint64_t longest = 0;
  for (const auto& [id, state] : rules_) {
    longest =
        std::max<std::uint64_t>(longest, std::max(state.rule.window_s, state.rule.cooldown_s));
  }
  return longest;
}

std::size_t SpikeEvaluator::tracked_keys() const {
  std::size_t n = 0;
  for (const auto& [id, state] : rules_) n += state.windows.size();
  return n;
}

void SpikeEvaluator::observe(const Movement& m, const std::function<Uint128(AccountId)>& holder_of,
                             std::vector<SpikeCandidate>* out) {
  for (auto& [id, state] : rules_) {
    const SpikeRule& rule = state.rule;
    if (rule.currency != m.currency) continue;
    const AccountId account = rule.direction == SpikeDirection::out ? m.out_of : m.into;
    if (account.is_zero()) continue;
    Uint128 key;
    switch (rule.scope) {
      case SpikeScope::card:
        // A card pays out (authorizations) and takes in (refunds) through its own account.
        key = m.card;
        break;
      case SpikeScope::account:
        key = account.value;
        break;
      case SpikeScope::holder:
        key = holder_of(account);
        break;
    }
    if (key.is_zero()) continue;
    if (!rule.scope_id.is_zero() && key != rule.scope_id) continue;
    add(state, key, account, m, out);
  }
}

void SpikeEvaluator::add(RuleState& state, Uint128 key, AccountId account, const Movement& m,
                         std::vector<SpikeCandidate>* out) {
  const SpikeRule& rule = state.rule;
  auto it = state.windows.find(key);
  if (it == state.windows.end()) {
    if (state.windows.size() >= limits::spike_keys_per_rule_max) {
      // Full: forget windows that went quiet, then refuse the new key if still full.
      const std::uint64_t horizon =
          m.ts > std::uint64_t{rule.window_s} * ns_per_s ? m.ts - rule.window_s * ns_per_s : 0;
      for (auto w = state.windows.begin(); w != state.windows.end();) {
        const bool stale = w->second.entries.empty() || w->second.entries.back().first < horizon;
        w = stale && w->second.quiet_until <= m.ts ? state.windows.erase(w) : std::next(w);
      }
      if (state.windows.size() >= limits::spike_keys_per_rule_max) {
        ++dropped_keys_;
        return;
      }
    }
    it = state.windows.emplace(key, Window{}).first;
  }
  Window& w = it->second;
  const std::uint64_t span = std::uint64_t{rule.window_s} * ns_per_s;
  while (!w.entries.empty() && w.entries.front().first + span <= m.ts) {
    w.sum -= w.entries.front().second;
    w.entries.pop_front();
  }
  if (w.entries.size() >= limits::spike_window_entries_max) {  // bound memory: merge the oldest
    const auto oldest = w.entries.front();
    w.entries.pop_front();
    w.entries.front().second += oldest.second;
    w.entries.front().first = oldest.first;
  }
  w.entries.emplace_back(m.ts, m.amount);
  w.sum += m.amount;
  if (w.sum < rule.amount_at_least || m.ts < w.quiet_until) return;
  SpikeCandidate& c = out->emplace_back();
  SpendingSpike& s = c.spike;
  s.rule_id = rule.id;
  s.key = key;
  s.account_id = account;
  s.window_sum = w.sum;
  s.amount_at_least = rule.amount_at_least;
  s.window_start = w.entries.front().first;
  s.window_s = rule.window_s;
  s.count = static_cast<std::uint32_t>(w.entries.size());
  s.times_usual_x100 = rule.times_usual_x100;
  s.currency = rule.currency;
  s.scope = rule.scope;
  s.direction = rule.direction;
  c.times_usual_x100 = rule.times_usual_x100;
  // Offered once: until the caller says fired or rejected, not again within the window.
  w.quiet_until = m.ts + span;
}

void SpikeEvaluator::fired(Uint128 rule, Uint128 key, std::uint64_t ts) {
  const auto it = rules_.find(rule);
  if (it == rules_.end()) return;
  const SpikeRule& r = it->second.rule;
  Window& w = it->second.windows[key];
  w.quiet_until =
      std::max(w.quiet_until, ts + std::uint64_t{std::max(r.window_s, r.cooldown_s)} * ns_per_s);
}

void SpikeEvaluator::rejected(Uint128 rule, Uint128 key, std::uint64_t ts) {
  const auto it = rules_.find(rule);
  if (it == rules_.end()) return;
  const std::uint64_t pause = std::max<std::uint64_t>(10, it->second.rule.window_s / 10);
  it->second.windows[key].quiet_until = ts + pause * ns_per_s;
}

}  // namespace ledger::outbound
