// 128-bit identifiers with distinct types, so an account id can never be passed as a
// transfer id. UUID text (8-4-4-4-12 hex) at the edges.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ledger {

struct Uint128 {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  constexpr auto operator<=>(const Uint128&) const = default;
  constexpr bool is_zero() const { return hi == 0 && lo == 0; }
};

// The splitmix64 finalizer: a fast, well-spread 64-bit mix.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return x;
}

// A 64-bit mix of both halves, for hash tables.
constexpr std::uint64_t hash_u128(Uint128 value) {
  return mix64(value.hi ^ (value.lo * 0x9E3779B97F4A7C15ULL));
}

// A deterministic id derived from another and a purpose (salt): the expiry void of a hold,
// the post or void of a hold, a card-network reversal. Marked as a UUID version 8.
constexpr Uint128 derive_id(Uint128 source, std::uint64_t salt) {
  const std::uint64_t hi = mix64(source.hi ^ mix64(source.lo + salt));
  const std::uint64_t lo = mix64(source.lo ^ mix64(hi + salt));
  return Uint128{(hi & ~0xF000ULL) | 0x8000ULL, (lo & ~(0xC0ULL << 56)) | (0x80ULL << 56)};
}

template <typename Tag>
struct Id128 {
  Uint128 value;
  constexpr auto operator<=>(const Id128&) const = default;
  constexpr bool is_zero() const { return value.is_zero(); }
};

using AccountId = Id128<struct AccountIdTag>;
using TransferId = Id128<struct TransferIdTag>;
using HolderId = Id128<struct HolderIdTag>;
using CardId = Id128<struct CardIdTag>;
using MonitorId = Id128<struct MonitorIdTag>;
using DirectDebitId = Id128<struct DirectDebitIdTag>;

inline constexpr std::size_t uuid_text_bytes = 36;

// Parses canonical UUID text, hex digits in either case. Returns nullopt on any deviation.
std::optional<Uint128> parse_uuid(std::string_view text);
// Lower-case canonical text; `out` must hold uuid_text_bytes characters (no terminator).
void format_uuid(Uint128 value, char* out);
std::string format_uuid(Uint128 value);

template <typename Tag>
std::string to_string(Id128<Tag> id) {
  return format_uuid(id.value);
}

}  // namespace ledger
