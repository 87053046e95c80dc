// Transfer ids of card transactions, derived from what the network sends so that repeats,
// retransmissions, reversals and completions find the original without a lookup table:
// the authorization's id from (acquirer DE32, STAN DE11, transmission time DE7), and the id
// of each follow-up from the authorization's id. Also used by bench/loadgen to reconcile.
#pragma once

#include <string_view>

#include "ledger/types.h"

namespace ledger::iso8583 {

// Leading zeros of the acquirer id are ignored (networks pad DE32 differently).
TransferId authorization_id(std::string_view acquirer, std::string_view stan,
                            std::string_view transmission);
TransferId completion_id(TransferId original);  // 0220: posts the hold
TransferId reversal_id(TransferId original);    // 0400/0420: voids (or refunds) it
TransferId late_void_id(TransferId original);   // the hold committed after a 91: voided
TransferId advice_id(TransferId original);      // 0120 stand-in decision recorded anew

}  // namespace ledger::iso8583
