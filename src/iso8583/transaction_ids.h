// Transfer ids of card transactions, derived from what the network sends so that repeats,
// retransmissions, reversals and completions find the original without a lookup table: an
// authorization by acquirer (DE32), STAN (DE11) and transmission time (DE7), which its
// follow-ups name in DE90. The follow-ups' ids derive from the authorization's
// (ledger/card_ids.h). Also used by bench/loadgen to reconcile.
#pragma once

#include <cstdint>
#include <string_view>

#include "ledger/types.h"

namespace ledger::iso8583 {

// Leading zeros of the acquirer id are ignored (networks pad DE32 differently).
TransferId authorization_id(std::string_view acquirer, std::string_view stan,
                            std::string_view transmission);
// The network's reference of a transaction (card_ids::reference_key_bit set): retrieval
// reference number (DE37), STAN (DE11) and acquirer (DE32), which a reversal without DE90
// carries as its original did. With the card (DE2) it finds the original.
std::uint32_t reference_key(std::string_view acquirer, std::string_view stan, std::string_view rrn);
// The key of one message (a reversal, an incremental authorization, a declining advice): its
// own acquirer, STAN and transmission time, and the amounts it states (DE4, DE95), so a
// retransmission finds what the first one did and a second partial reversal with another
// DE95 is a message of its own even if a client reused the STAN and time.
TransferId message_id(std::string_view mti, std::string_view acquirer, std::string_view stan,
                      std::string_view transmission, std::string_view amount = {},
                      std::string_view replacement = {});

}  // namespace ledger::iso8583
