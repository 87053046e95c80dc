#include "ledger/ids.h"

namespace ledger {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr bool is_dash_position(std::size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

}  // namespace

std::optional<Uint128> parse_uuid(std::string_view text) {
  if (text.size() != uuid_text_bytes) return std::nullopt;
  Uint128 value;
  int nibbles = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (is_dash_position(i)) {
      if (text[i] != '-') return std::nullopt;
      continue;
    }
    const int nibble = hex_value(text[i]);
    if (nibble < 0) return std::nullopt;
    std::uint64_t& half = nibbles < 16 ? value.hi : value.lo;
    half = (half << 4) | static_cast<std::uint64_t>(nibble);
    ++nibbles;
  }
  return value;
}

void format_uuid(Uint128 value, char* out) {
  static constexpr char digits[] = "0123456789abcdef";
  int nibble = 0;
  for (std::size_t i = 0; i < uuid_text_bytes; ++i) {
    if (is_dash_position(i)) {
      out[i] = '-';
      continue;
    }
    const std::uint64_t half = nibble < 16 ? value.hi : value.lo;
    const int shift = 60 - 4 * (nibble % 16);
    out[i] = digits[(half >> shift) & 0xF];
    ++nibble;
  }
}

std::string format_uuid(Uint128 value) {
  std::string text(uuid_text_bytes, '\0');
  format_uuid(value, text.data());
  return text;
}

}  // namespace ledger
