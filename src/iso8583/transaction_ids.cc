#include "iso8583/transaction_ids.h"

#include <initializer_list>

#include "ledger/card_ids.h"
#include "ledger/ids.h"

namespace ledger::iso8583 {
namespace {

std::string_view without_leading_zeros(std::string_view text) {
  const auto first = text.find_first_not_of('0');
  return first == std::string_view::npos ? std::string_view{} : text.substr(first);
}

TransferId digest_of(Uint128 digest, std::initializer_list<std::string_view> parts) {
  for (std::string_view part : parts) {
    for (char c : part) {
      digest.hi = mix64(digest.hi ^ static_cast<unsigned char>(c));
      digest.lo = mix64(digest.lo + static_cast<unsigned char>(c) + digest.hi);
    }
    digest.hi = mix64(digest.hi ^ 0x7C);  // separator
  }
  return TransferId{derive_id(digest, 0)};
}

}  // namespace

TransferId authorization_id(std::string_view acquirer, std::string_view stan,
                            std::string_view transmission) {
  return digest_of({0x69736F3835383331ULL, 0x61757468ULL},  // "iso85831", "auth"
                   {without_leading_zeros(acquirer), stan, transmission});
}

std::uint32_t reference_key(std::string_view acquirer, std::string_view stan,
                            std::string_view rrn) {
  const TransferId digest = digest_of({0x69736F3835383331ULL, 0x72726EULL},  // "rrn"
                                      {without_leading_zeros(acquirer), stan, rrn});
  return static_cast<std::uint32_t>(digest.value.lo) | card_ids::reference_key_bit;
}

TransferId message_id(std::string_view mti, std::string_view acquirer, std::string_view stan,
                      std::string_view transmission, std::string_view amount,
                      std::string_view replacement) {
  return digest_of(
      {0x69736F3835383331ULL, 0x6D7367ULL},  // "iso85831", "msg"
      {mti.substr(0, 2), without_leading_zeros(acquirer), stan, transmission, amount, replacement});
}

}  // namespace ledger::iso8583
