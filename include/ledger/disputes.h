// Card disputes and the accounts of card clearing (docs/card-clearing.md): ids shared by the
// engine (which opens the accounts) and the REST edge (which makes each dispute step).
//
// Accounts, per currency, opened by the engine on first use:
//   card settlement (S): the scheme's side of every card posting (Engine::settlement_account_id);
//   disputes (D): what the scheme owes back for chargebacks;
//   provisional credits (P): what cardholders were credited while their dispute runs.
// A dispute of d, re-presented for r (0 when the acquirer does not answer in time), w = d - r:
//   opened: hold S -> D for d (dispute_opened); provisional credit: P -> customer d;
//   charged back: the hold posted (dispute_charged_back); re-presented: D -> S r;
//   outcome with a provisional credit: D -> P w (dispute_won), customer -> P r (dispute_lost);
//   without: D -> customer w (dispute_won); a full representment is itself dispute_lost.
// D and P net to zero for every dispute once it is decided.
#pragma once

#include <cstdint>

#include "ledger/ids.h"
#include "ledger/money.h"

namespace ledger {

inline AccountId card_settlement_account_id(Currency currency) {
  return AccountId{
      {0x5E771E0000000000ULL | 0x0000008000000000ULL, 0xC0DE000000000000ULL | currency.code}};
}
inline AccountId card_disputes_account_id(Currency currency) {
  return AccountId{
      {0xD15B000000000000ULL | 0x0000008000000000ULL, 0xC0DE000000000000ULL | currency.code}};
}
inline AccountId card_provisional_account_id(Currency currency) {
  return AccountId{
      {0xD15C000000000000ULL | 0x0000008000000000ULL, 0xC0DE000000000000ULL | currency.code}};
}

enum class DisputeStep : std::uint64_t {
  open = 1,       // the hold S -> D
  credit = 2,     // provisional credit
  charge = 3,     // the hold posted: the chargeback filed
  represent = 4,  // D -> S
  won = 5,        // D -> P or D -> customer
  lost = 6,       // customer -> P
};
inline TransferId dispute_step_id(Uint128 dispute, DisputeStep step) {
  return TransferId{derive_id(dispute, 0xD1500000ULL + static_cast<std::uint64_t>(step))};
}

}  // namespace ledger
