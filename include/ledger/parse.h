// Non-throwing parsing of text that comes from outside: network fields, query values,
// configuration, rows read back from PostgreSQL. Every function returns false (leaving *out
// alone) on anything but the exact form it names, never throws and never reads past `text`.
#pragma once

#include <charconv>
#include <cstdint>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace ledger {

// The whole text as a decimal number of type T: integers as std::from_chars reads them (an
// optional '-' for signed types; no '+', spaces or prefixes), doubles in plain or scientific
// form. Out of T's range is false.
template <typename T>
[[nodiscard]] bool parse_number(std::string_view text, T* out) {
  static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>);
  if (text.empty()) return false;
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return false;
  *out = value;
  return true;
}

// ASCII digits only (1 to 19 of them), as an unsigned value: card-network numeric fields,
// which are never signed.
[[nodiscard]] inline bool parse_digits(std::string_view text, std::uint64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  *out = value;
  return true;
}

}  // namespace ledger
