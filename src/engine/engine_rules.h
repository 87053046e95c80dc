// Small rules shared by the engine's source files (engine.cc, transfers.cc, cards.cc,
// replay.cc). Internal to the engine: not part of its interface.
#pragma once

#include <cstdint>

#include "ledger/types.h"
#include "ledger/units.h"

namespace ledger::engine::rules {

inline constexpr std::uint16_t resolution_flags = flag_post_pending | flag_void_pending;

inline bool is_resolution(const Transfer& t) { return (t.flags & resolution_flags) != 0; }

inline bool one_bit_at_most(std::uint16_t bits) { return (bits & (bits - 1)) == 0; }

// The balance limits after a change. REQUIRES: the totals are far from the 128-bit bounds
// (they are: each is a sum of int64 amounts).
inline bool exceeds_limits(const Account& debit, const Account& credit) {
  if ((debit.flags & debits_must_not_exceed_credits) != 0 &&
      debit.debits_pending + debit.debits_posted > debit.credits_posted + debit.overdraft_limit) {
    return true;
  }
  return (credit.flags & credits_must_not_exceed_debits) != 0 &&
         credit.credits_pending + credit.credits_posted >
             credit.debits_posted + credit.overdraft_limit;
}

// The first 16 bytes of a PAN hash: the key of the PAN index.
inline Uint128 pan_key(const std::uint8_t (&hash)[32]) {
  Uint128 key;
  for (int i = 0; i < 8; ++i) key.hi = (key.hi << 8) | hash[i];
  for (int i = 8; i < 16; ++i) key.lo = (key.lo << 8) | hash[i];
  return key;
}

// Adds `delta` to a running total if the result fits; returns false (unchanged) otherwise.
[[nodiscard]] inline bool add_into(Sum* field, Sum delta) {
  return checked_add(*field, delta, field);
}

// The UTC day number of a logical timestamp (card velocity counts by day).
inline std::uint32_t day_of(std::uint64_t ts) {
  return static_cast<std::uint32_t>(ts / ns_per_day);
}

inline bool is_card_spending(const Transfer& t) {
  return t.result == TransferResult::ok &&
         (t.code == TransferCode::card_authorization || t.code == TransferCode::card_financial);
}

}  // namespace ledger::engine::rules
