// How a card number is kept: HMAC-SHA256 of the PAN digits under LEDGER_PAN_SECRET. One
// definition, used where cards are created (REST) and where they are looked up (ISO 8583).
// Targets including this header link OpenSSL::Crypto.
#pragma once

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <string_view>

namespace ledger {

inline void pan_hash(std::string_view secret, std::string_view pan, std::uint8_t (&out)[32]) {
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(pan.data()), pan.size(), out, &length);
}

}  // namespace ledger
