// The transfers of one card transaction, found from the authorization's id without a lookup
// table: every follow-up (the network's stand-in approval, incremental holds, the completion,
// each reversal) is stored under an id derived from the original's, so the engine can list a
// transaction's transfers by id and recovery needs nothing but the journal. Incremental
// authorizations and reversals take the next free slot; the message that made each one is
// kept as a 32-bit key in reference_32, so a repeat of it finds the slot it took.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ledger/ids.h"
#include "ledger/limits.h"

namespace ledger::card_ids {

inline constexpr std::uint64_t salt_completion = 0x434F4D504CULL;  // "COMPL"
inline constexpr std::uint64_t salt_advice = 0x4144564943ULL;      // "ADVIC"
inline constexpr std::uint64_t salt_late = 0x4C41544556ULL;        // "LATEV"
inline constexpr std::uint64_t salt_incremental = 0x494E4352000ULL;
inline constexpr std::uint64_t salt_reversal = 0x5245560000ULL;
inline constexpr std::uint64_t salt_part = 0x5041525400ULL;

inline TransferId derived(TransferId source, std::uint64_t salt) {
  return TransferId{derive_id(source.value, salt)};
}
// 0220: posts the transaction's holds (or is itself a forced posting).
inline TransferId completion(TransferId original) { return derived(original, salt_completion); }
// A new decision for an authorization whose first one no longer holds money: the network's
// stand-in approval of what we declined, or a repeat after the hold was released.
inline TransferId advice(TransferId original) { return derived(original, salt_advice); }
// Incremental authorization k (0 .. card_incrementals_max - 1) of the original.
inline TransferId incremental(TransferId original, std::uint32_t k) {
  return derived(original, salt_incremental + k);
}
// Reversal k (0 .. card_reversals_max - 1) of the original: full, partial, or the late rule.
inline TransferId reversal(TransferId original, std::uint32_t k) {
  return derived(original, salt_reversal + k);
}
// The further transfers one command makes (a completion voiding other holds, a reversal
// releasing several): part j >= 1 of the command whose first transfer is `first`.
inline TransferId part(TransferId first, std::uint32_t j) { return derived(first, salt_part + j); }
// The key of the message that made a slot's transfer (kept in reference_32): the top bit
// clear, so it is never taken for a reference key.
inline std::uint32_t message_key(TransferId message) {
  const std::uint64_t folded = mix64(message.value.hi ^ mix64(message.value.lo));
  return (static_cast<std::uint32_t>(folded ^ (folded >> 32)) & 0x7FFF'FFFFu) | 1u;  // never 0
}
// An authorization's reference key (kept in reference_32 of the original): the top bit set.
inline constexpr std::uint32_t reference_key_bit = 0x8000'0000u;
inline bool is_reference_key(std::uint32_t key) { return (key & reference_key_bit) != 0; }
// Where the reference index finds an original: the card and the reference key together.
inline Uint128 reference_alias(std::uint64_t card_hi, std::uint64_t card_lo, std::uint32_t key) {
  return derive_id(Uint128{card_hi, card_lo}, 0x5245460000000000ULL | key);
}
// The message key of the late rule's reversal of `transfer` (an answer sent as 91).
inline TransferId late_reversal_message(TransferId transfer) {
  return derived(transfer, salt_late);
}
// The key a late-rule reversal keeps in reference_32, from the deadline at which the network
// was answered 91 (answer_by): one reversal per deadline, so that a repeat of it changes
// nothing and a later deadline's reverses what a repeat decided anew meanwhile. Even, so no
// message_key (always odd) is ever taken for it: the event feed tells a late-rule reversal
// from the network's by it.
inline std::uint32_t late_rule_key(std::uint64_t answer_by) {
  const std::uint64_t folded = mix64(answer_by ^ salt_late);
  const std::uint32_t key = static_cast<std::uint32_t>(folded ^ (folded >> 32)) & 0x7FFF'FFFEu;
  return key == 0 ? 2u : key;
}
inline bool is_late_rule_key(std::uint32_t key) {
  return key != 0 && (key & 1u) == 0 && (key & 0x8000'0000u) == 0;
}

// The approval code (ISO 8583 DE38) of an authorization: 6 characters of this alphabet, the
// least significant digit first, from the transfer's id. Clearing records carry it back.
inline constexpr char approval_alphabet[] = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
inline constexpr std::uint32_t approval_modulus = 34u * 34u * 34u * 34u * 34u * 34u;
inline std::uint32_t approval_code_value(TransferId id) {
  return static_cast<std::uint32_t>((id.value.lo ^ id.value.hi) % approval_modulus);
}
inline void approval_code_text(std::uint32_t value, char (&out)[6]) {
  for (char& c : out) {
    c = approval_alphabet[value % 34];
    value /= 34;
  }
}
// DE38 text back to its value; 0 when it is not 6 characters of the alphabet (a code from
// elsewhere cannot match one of ours, but 0 is also "none").
inline std::uint32_t approval_code_parse(const char* text, std::size_t size) {
  if (size != 6) return 0;
  std::uint32_t value = 0;
  for (std::size_t i = 6; i-- > 0;) {
    std::uint32_t digit = 34;
    for (std::uint32_t d = 0; d < 34; ++d) {
      if (approval_alphabet[d] == text[i]) digit = d;
    }
    if (digit == 34) return 0;
    value = value * 34 + digit;
  }
  return value;
}
// The transaction life cycle id of an authorization: 16 hex digits of a 64-bit key of its id,
// sent in the 0110 (DE63) and carried back by the clearing record (DE63).
inline std::uint64_t life_cycle_key(TransferId id) {
  const std::uint64_t key = mix64(id.value.hi ^ mix64(id.value.lo ^ 0x4C4946454359ULL));
  return key == 0 ? 1 : key;
}
// Where a clearing record finds an authorization (Engine, clearing index): by life cycle key,
// or by card and approval code.
inline Uint128 life_cycle_alias(std::uint64_t key) { return Uint128{key, 0x4C43000000000000ULL}; }
inline Uint128 approval_alias(std::uint64_t card_hi, std::uint64_t card_lo, std::uint32_t code) {
  return derive_id(Uint128{card_hi, card_lo}, 0x4150500000000000ULL | code);
}

}  // namespace ledger::card_ids
