// Spending spike rules as the REST API manages them (/v1/spike-rules) and the spike watcher
// reads them. The journal component implements the store (journal/read_pool).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ledger/status.h"
#include "ledger/types.h"

namespace ledger {

struct SpikeRule {
  Uint128 id;
  SpikeScope scope = SpikeScope::account;
  Uint128 scope_id;  // zero: every card / account / holder
  SpikeDirection direction = SpikeDirection::out;
  std::uint32_t window_s = 0;
  std::int64_t amount_at_least = 0;
  Currency currency;
  std::uint32_t times_usual_x100 = 0;  // 0: the window's sum alone decides
  std::uint32_t cooldown_s = 0;
  std::string created_at;
  bool same_settings(const SpikeRule& o) const {
    return scope == o.scope && scope_id == o.scope_id && direction == o.direction &&
           window_s == o.window_s && amount_at_least == o.amount_at_least &&
           currency == o.currency && times_usual_x100 == o.times_usual_x100 &&
           cooldown_s == o.cooldown_s;
  }
};

struct SpikeRuleRequest {
  enum class Op : std::uint8_t { create, list, get, remove };
  Op op = Op::list;
  SpikeRule rule;  // create
  Uint128 id;      // get, remove
  std::uint32_t limit = 100;
};

struct SpikeRuleReply {
  bool found = true;      // get, remove: false when no such rule
  bool created = false;   // create: a new rule (false: the same id existed already)
  bool conflict = false;  // create: the id exists with other settings
  std::vector<SpikeRule> rules;
};

// Returns at once; `done` runs later on another thread. false: too busy (503).
class SpikeRuleStore {
 public:
  virtual bool spike_rules(const SpikeRuleRequest& request,
                           std::function<void(Status, SpikeRuleReply)> done) = 0;

 protected:
  ~SpikeRuleStore() = default;
};

std::string_view scope_name(SpikeScope scope);
std::string_view direction_name(SpikeDirection direction);

}  // namespace ledger
