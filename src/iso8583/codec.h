// ISO 8583:1987 codec in the common ASCII dialect (field formats of jPOS's ISO87APackager:
// numerics as ASCII digits, LLVAR/LLLVAR with ASCII length prefixes, binary fields as ASCII
// hex), MTI as 4 ASCII digits, and a binary bitmap (primary, optional secondary) or, as a
// listener option, an ASCII-hex bitmap. Frames carry a 2-byte big-endian length prefix; this
// codec handles the body after it. Pure (no I/O), fuzzed and unit-tested. docs/iso8583.md.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/limits.h"

namespace ledger::iso8583 {

enum class FieldKind : std::uint8_t {
  numeric,     // fixed length, ASCII digits
  chars,       // fixed length, printable ASCII
  amount,      // fixed length: 'C' or 'D' then digits
  binary_hex,  // fixed number of bytes, sent as twice as many ASCII hex digits
  llnum,       // 2-digit length, then up to max digits
  llchar,      // 2-digit length, then up to max printable characters
  lllchar,     // 3-digit length, then up to max printable characters
};

struct FieldSpec {
  FieldKind kind;
  std::uint16_t length;  // fixed length, or the maximum for variable fields (bytes for binary)
};

// REQUIRES: 2 <= field <= 128.
const FieldSpec& field_spec(int field);

enum class BitmapEncoding : std::uint8_t { binary, ascii_hex };

inline constexpr std::size_t frame_bytes_max = limits::iso8583_frame_bytes_max;

struct Message {
  std::string mti;  // 4 digits, e.g. "0100"
  std::bitset<129> present;
  std::array<std::string, 129> fields;  // fields[n] is DE n as text (binary fields: hex)

  bool has(int field) const { return present[static_cast<std::size_t>(field)]; }
  const std::string& get(int field) const { return fields[static_cast<std::size_t>(field)]; }
  void set(int field, std::string value) {
    present[static_cast<std::size_t>(field)] = true;
    fields[static_cast<std::size_t>(field)] = std::move(value);
  }
  void clear(int field) {
    present[static_cast<std::size_t>(field)] = false;
    fields[static_cast<std::size_t>(field)].clear();
  }
  // As a new Message, keeping the strings' storage: only the fields present are touched (a
  // Message is 129 strings; building and moving a new one cost more than decoding into it).
  void reset() {
    mti.clear();
    for (std::size_t field = 0; field < present.size(); ++field) {
      if (present[field]) fields[field].clear();
    }
    present.reset();
  }
};

struct DecodeError {
  int field = 0;  // 0: MTI or bitmap
  std::string reason;
};

// Decodes a frame body. On failure *error names the first field at fault and why, and *out
// keeps the MTI (if readable) and every field that could be read and is valid: a field with
// wrong content but a known extent is left out and decoding goes on; a length prefix or an
// extent that cannot be read stops it. So an answer can still echo DE11 and the others.
bool decode(std::string_view body, BitmapEncoding bitmap, Message* out, DecodeError* error);

// Checks a field value against its format (what decode accepts). false with a reason.
bool valid_field(int field, std::string_view value, std::string* reason);

// Encodes a message (every present field must be valid). Returns false with a reason.
// `prefix` bytes (zeros) come first in *body, room for a length header, so that a frame is
// built in one buffer; the body limit counts only what follows them.
bool encode(const Message& message, BitmapEncoding bitmap, std::string* body, std::string* error,
            std::size_t prefix = 0);

}  // namespace ledger::iso8583
