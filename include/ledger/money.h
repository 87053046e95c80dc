// Money is an integer count of minor units (docs/architecture.md, invariant 4). No floating
// point; every operation is checked and overflow is reported, never wrapped.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ledger {

struct Amount {
  std::int64_t units = 0;
  constexpr auto operator<=>(const Amount&) const = default;
};

// Returns false (and leaves *out unchanged) on int64 overflow.
[[nodiscard]] constexpr bool checked_add(std::int64_t a, std::int64_t b, std::int64_t* out) {
  std::int64_t result = 0;
  if (__builtin_add_overflow(a, b, &result)) return false;
  *out = result;
  return true;
}
[[nodiscard]] constexpr bool checked_sub(std::int64_t a, std::int64_t b, std::int64_t* out) {
  std::int64_t result = 0;
  if (__builtin_sub_overflow(a, b, &result)) return false;
  *out = result;
  return true;
}

// The same for 128-bit running totals (a sum of int64 amounts).
[[nodiscard]] constexpr bool checked_add(__int128 a, __int128 b, __int128* out) {
  __int128 result = 0;
  if (__builtin_add_overflow(a, b, &result)) return false;
  *out = result;
  return true;
}

// ISO 4217 currency, packed as three upper-case ASCII letters (code 0 means "none").
struct Currency {
  std::uint32_t code = 0;
  constexpr auto operator<=>(const Currency&) const = default;
};

struct CurrencyInfo {
  char alpha[4];          // "EUR"
  std::uint16_t numeric;  // 978 (ISO 8583 DE49)
  std::uint8_t exponent;  // minor-unit digits: 2 for EUR, 0 for JPY, 3 for KWD
};

// nullopt unless `alpha` is an active ISO 4217 code in upper case.
// Decimal text of a 128-bit sum ("-1234"), and back (an optional '-' and 1 to 39 digits;
// false on anything else or out of range).
std::string decimal_text(__int128 value);
bool parse_decimal128(std::string_view text, __int128* out);

std::optional<Currency> currency_from_alpha(std::string_view alpha);
std::optional<Currency> currency_from_numeric(std::uint16_t numeric);
// REQUIRES: currency came from one of the lookups above.
const CurrencyInfo& currency_info(Currency currency);
std::string_view currency_alpha(Currency currency);

}  // namespace ledger
