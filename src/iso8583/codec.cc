#include "iso8583/codec.h"

#include "ledger/assert.h"
#include "ledger/parse.h"

namespace ledger::iso8583 {
namespace {

using K = FieldKind;

// Index = field number; 0 and 1 (MTI and secondary bitmap) are handled apart.
constexpr FieldSpec specs[129] = {
    /*0*/ {K::numeric, 4},      {K::binary_hex, 8}, {K::llnum, 19},    {K::numeric, 6},
    /*4*/ {K::numeric, 12},     {K::numeric, 12},   {K::numeric, 12},  {K::numeric, 10},
    /*8*/ {K::numeric, 8},      {K::numeric, 8},    {K::numeric, 8},   {K::numeric, 6},
    /*12*/ {K::numeric, 6},     {K::numeric, 4},    {K::numeric, 4},   {K::numeric, 4},
    /*16*/ {K::numeric, 4},     {K::numeric, 4},    {K::numeric, 4},   {K::numeric, 3},
    /*20*/ {K::numeric, 3},     {K::numeric, 3},    {K::numeric, 3},   {K::numeric, 3},
    /*24*/ {K::numeric, 3},     {K::numeric, 2},    {K::numeric, 2},   {K::numeric, 1},
    /*28*/ {K::amount, 9},      {K::amount, 9},     {K::amount, 9},    {K::amount, 9},
    /*32*/ {K::llnum, 11},      {K::llnum, 11},     {K::llchar, 28},   {K::llnum, 37},
    /*36*/ {K::lllchar, 104},   {K::chars, 12},     {K::chars, 6},     {K::chars, 2},
    /*40*/ {K::chars, 3},       {K::chars, 8},      {K::chars, 15},    {K::chars, 40},
    /*44*/ {K::llchar, 25},     {K::llchar, 76},    {K::lllchar, 999}, {K::lllchar, 999},
    /*48*/ {K::lllchar, 999},   {K::chars, 3},      {K::chars, 3},     {K::chars, 3},
    /*52*/ {K::binary_hex, 8},  {K::numeric, 16},   {K::lllchar, 120}, {K::lllchar, 999},
    /*56*/ {K::lllchar, 999},   {K::lllchar, 999},  {K::lllchar, 999}, {K::lllchar, 999},
    /*60*/ {K::lllchar, 999},   {K::lllchar, 999},  {K::lllchar, 999}, {K::lllchar, 999},
    /*64*/ {K::binary_hex, 8},  {K::binary_hex, 1}, {K::numeric, 1},   {K::numeric, 2},
    /*68*/ {K::numeric, 3},     {K::numeric, 3},    {K::numeric, 3},   {K::numeric, 4},
    /*72*/ {K::numeric, 4},     {K::numeric, 6},    {K::numeric, 10},  {K::numeric, 10},
    /*76*/ {K::numeric, 10},    {K::numeric, 10},   {K::numeric, 10},  {K::numeric, 10},
    /*80*/ {K::numeric, 10},    {K::numeric, 10},   {K::numeric, 12},  {K::numeric, 12},
    /*84*/ {K::numeric, 12},    {K::numeric, 12},   {K::numeric, 16},  {K::numeric, 16},
    /*88*/ {K::numeric, 16},    {K::numeric, 16},   {K::numeric, 42},  {K::chars, 1},
    /*92*/ {K::chars, 2},       {K::chars, 6},      {K::chars, 7},     {K::chars, 42},
    /*96*/ {K::binary_hex, 16}, {K::amount, 17},    {K::chars, 25},    {K::llnum, 11},
    /*100*/ {K::llnum, 11},     {K::llchar, 17},    {K::llchar, 28},   {K::llchar, 28},
    /*104*/ {K::lllchar, 100},  {K::lllchar, 999},  {K::lllchar, 999}, {K::lllchar, 999},
    /*108*/ {K::lllchar, 999},  {K::lllchar, 999},  {K::lllchar, 999}, {K::lllchar, 999},
    /*112*/ {K::lllchar, 999},  {K::lllchar, 999},  {K::lllchar, 999}, {K::lllchar, 999},
    /*116*/ {K::lllchar, 999},  {K::lllchar, 999},  {K::lllchar, 999}, {K::lllchar, 999},
    /*120*/ {K::lllchar, 999},  {K::lllchar, 999},  {K::lllchar, 999}, {K::lllchar, 999},
    /*124*/ {K::lllchar, 999},  {K::lllchar, 999},  {K::lllchar, 999}, {K::lllchar, 999},
    /*128*/ {K::binary_hex, 8},
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'); }
bool is_printable(char c) { return c >= 0x20 && c <= 0x7E; }
int hex_value(char c) { return is_digit(c) ? c - '0' : (c >= 'a' ? c - 'a' + 10 : c - 'A' + 10); }

bool all(std::string_view text, bool (*check)(char)) {
  for (char c : text) {
    if (!check(c)) return false;
  }
  return true;
}

// Track 2 (DE35) separates PAN and expiry with '=' (or 'D'): allowed there only.
bool track2_char(char c) { return is_digit(c) || c == '=' || c == 'D' || c == 'd'; }

std::size_t fixed_width(const FieldSpec& spec) {
  return spec.kind == K::binary_hex ? spec.length * 2u : spec.length;
}

}  // namespace

const FieldSpec& field_spec(int field) {
  LEDGER_ASSERT(field >= 2 && field <= 128);
  return specs[field];
}

bool valid_field(int field, std::string_view v, std::string* reason) {
  const FieldSpec& spec = field_spec(field);
  const auto fail = [&](std::string why) {
    *reason = std::move(why);
    return false;
  };
  switch (spec.kind) {
    case K::numeric:
      if (v.size() != spec.length)
        return fail("must be " + std::to_string(spec.length) + " digits");
      return all(v, is_digit) || fail("must be digits only");
    case K::chars:
      if (v.size() != spec.length)
        return fail("must be " + std::to_string(spec.length) + " characters");
      return all(v, is_printable) || fail("must be printable ASCII");
    case K::amount:
      if (v.size() != spec.length)
        return fail("must be C or D and " + std::to_string(spec.length - 1) + " digits");
      return ((v[0] == 'C' || v[0] == 'D') && all(v.substr(1), is_digit)) ||
             fail("must be C or D followed by digits");
    case K::binary_hex:
      if (v.size() != fixed_width(spec))
        return fail("must be " + std::to_string(fixed_width(spec)) + " hex digits");
      return all(v, is_hex) || fail("must be hex digits");
    case K::llnum:
      if (v.size() > spec.length) return fail("longer than " + std::to_string(spec.length));
      return all(v, field == 35 ? track2_char : is_digit) || fail("must be digits only");
    case K::llchar:
    case K::lllchar:
      if (v.size() > spec.length) return fail("longer than " + std::to_string(spec.length));
      return all(v, is_printable) || fail("must be printable ASCII");
  }
  return fail("unknown format");
}

namespace {

// Reads the MTI and the bitmaps; false (with *error) if they cannot be read.
bool decode_header(std::string_view body, BitmapEncoding bitmap_encoding, Message* out,
                   std::bitset<129>* bits, std::size_t* at, DecodeError* error) {
  const auto fail = [&](int field, std::string reason) {
    *error = DecodeError{field, std::move(reason)};
    return false;
  };
  if (body.size() < 4 || !all(body.substr(0, 4), is_digit)) return fail(0, "MTI must be 4 digits");
  out->mti = std::string(body.substr(0, 4));
  *at = 4;
  // Bitmaps: bit 1 of the primary says a secondary follows.
  const std::size_t bitmap_bytes = bitmap_encoding == BitmapEncoding::binary ? 8 : 16;
  for (int part = 0; part < 2; ++part) {
    if (body.size() < *at + bitmap_bytes)
      return fail(part == 0 ? 0 : 1, "frame ends inside the bitmap");
    for (std::size_t byte = 0; byte < 8; ++byte) {
      unsigned value = 0;
      if (bitmap_encoding == BitmapEncoding::binary) {
        value = static_cast<unsigned char>(body[*at + byte]);
      } else {
        const char hi = body[*at + 2 * byte];
        const char lo = body[*at + 2 * byte + 1];
        if (!is_hex(hi) || !is_hex(lo)) return fail(part == 0 ? 0 : 1, "bitmap must be hex digits");
        value = static_cast<unsigned>(hex_value(hi) * 16 + hex_value(lo));
      }
      for (int bit = 0; bit < 8; ++bit) {
        if ((value & (0x80u >> bit)) != 0)
          (*bits)[static_cast<std::size_t>(part * 64 + static_cast<int>(byte) * 8 + bit + 1)] =
              true;
      }
    }
    *at += bitmap_bytes;
    if (part == 0 && !(*bits)[1]) break;
  }
  return true;
}

}  // namespace

bool decode(std::string_view body, BitmapEncoding bitmap_encoding, Message* out,
            DecodeError* error) {
  out->reset();
  *error = DecodeError{};
  std::bitset<129> bits;
  std::size_t at = 0;
  if (!decode_header(body, bitmap_encoding, out, &bits, &at, error)) return false;
  bool valid = true;
  const auto fail = [&](int field, std::string reason) {
    if (valid) *error = DecodeError{field, std::move(reason)};
    valid = false;
  };
  for (int field = 2; field <= 128; ++field) {
    if (!bits[static_cast<std::size_t>(field)]) continue;
    if (field == 65) {
      fail(65, "a tertiary bitmap is not supported");
      return false;  // the fields after it cannot be found
    }
    const FieldSpec& spec = specs[field];
    std::size_t width = fixed_width(spec);
    if (spec.kind == K::llnum || spec.kind == K::llchar || spec.kind == K::lllchar) {
      const std::size_t digits = spec.kind == K::lllchar ? 3 : 2;
      std::uint64_t length = 0;
      if (body.size() < at + digits) {
        fail(field, "frame ends inside the length prefix");
        return false;
      }
      if (!parse_digits(body.substr(at, digits), &length)) {
        fail(field, "length prefix must be digits");
        return false;
      }
      if (length > spec.length) {
        fail(field, "length " + std::to_string(length) + " is above the maximum " +
                        std::to_string(spec.length));
        return false;
      }
      width = static_cast<std::size_t>(length);
      at += digits;
    }
    if (body.size() < at + width) {
      fail(field, "frame ends inside the field");
      return false;
    }
    // A field whose content is wrong but whose extent is known is left out and the rest is
    // read on, so that the answer can still echo DE11 and the other matching fields.
    const std::string_view value = body.substr(at, width);
    std::string reason;
    if (valid_field(field, value, &reason)) {
      out->set(field, std::string(value));
    } else {
      fail(field, reason);
    }
    at += width;
  }
  if (at != body.size()) fail(0, std::to_string(body.size() - at) + " bytes after the last field");
  out->present[1] = bits[1];
  return valid;
}

bool encode(const Message& message, BitmapEncoding bitmap_encoding, std::string* body,
            std::string* error, std::size_t prefix) {
  if (message.mti.size() != 4 || !all(message.mti, is_digit)) {
    *error = "MTI must be 4 digits";
    return false;
  }
  bool secondary = false;
  for (int field = 65; field <= 128; ++field) secondary = secondary || message.has(field);
  body->assign(prefix, '\0');
  body->append(message.mti);
  unsigned char bitmap[16] = {};
  if (secondary) bitmap[0] |= 0x80;
  for (int field = 2; field <= 128; ++field) {
    if (!message.has(field)) continue;
    bitmap[(field - 1) / 8] |= static_cast<unsigned char>(0x80u >> ((field - 1) % 8));
  }
  const std::size_t bitmap_bytes = secondary ? 16 : 8;
  static constexpr char hex[] = "0123456789ABCDEF";
  for (std::size_t i = 0; i < bitmap_bytes; ++i) {
    if (bitmap_encoding == BitmapEncoding::binary) {
      body->push_back(static_cast<char>(bitmap[i]));
    } else {
      body->push_back(hex[bitmap[i] >> 4]);
      body->push_back(hex[bitmap[i] & 0xF]);
    }
  }
  for (int field = 2; field <= 128; ++field) {
    if (!message.has(field)) continue;
    const std::string& value = message.get(field);
    std::string reason;
    if (!valid_field(field, value, &reason)) {
      *error = "DE" + std::to_string(field) + " " + reason;
      return false;
    }
    const FieldSpec& spec = specs[field];
    if (spec.kind == K::llnum || spec.kind == K::llchar) {
      body->push_back(static_cast<char>('0' + value.size() / 10));
      body->push_back(static_cast<char>('0' + value.size() % 10));
    } else if (spec.kind == K::lllchar) {
      body->push_back(static_cast<char>('0' + value.size() / 100));
      body->push_back(static_cast<char>('0' + value.size() / 10 % 10));
      body->push_back(static_cast<char>('0' + value.size() % 10));
    }
    body->append(value);
  }
  if (body->size() - prefix > frame_bytes_max) {
    *error = "the message is larger than " + std::to_string(frame_bytes_max) + " bytes";
    return false;
  }
  return true;
}

}  // namespace ledger::iso8583
