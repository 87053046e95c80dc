// libFuzzer target: the ISO 8583 decoder on arbitrary frames, both bitmap encodings. A frame
// that decodes must encode again, and the re-encoded bytes must decode to the same message
// (so whatever ledgerd accepts it can also answer). Never crashes, never reads out of bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "iso8583/codec.h"

using ledger::iso8583::BitmapEncoding;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const BitmapEncoding bitmap : {BitmapEncoding::binary, BitmapEncoding::ascii_hex}) {
    ledger::iso8583::Message message;
    ledger::iso8583::DecodeError error;
    if (!ledger::iso8583::decode(body, bitmap, &message, &error)) continue;
    std::string encoded;
    std::string encode_error;
    if (!ledger::iso8583::encode(message, bitmap, &encoded, &encode_error)) std::abort();
    ledger::iso8583::Message again;
    if (!ledger::iso8583::decode(encoded, bitmap, &again, &error)) std::abort();
    std::string encoded_again;
    if (!ledger::iso8583::encode(again, bitmap, &encoded_again, &encode_error)) std::abort();
    if (encoded != encoded_again || again.mti != message.mti) std::abort();
  }
  return 0;
}
