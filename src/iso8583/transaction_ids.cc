#include "iso8583/transaction_ids.h"

#include "ledger/ids.h"

namespace ledger::iso8583 {
namespace {

TransferId derived(TransferId source, std::uint64_t salt) {
  return TransferId{derive_id(source.value, salt)};
}

std::string_view without_leading_zeros(std::string_view text) {
  const auto first = text.find_first_not_of('0');
  return first == std::string_view::npos ? std::string_view{} : text.substr(first);
}

}  // namespace

TransferId authorization_id(std::string_view acquirer, std::string_view stan,
                            std::string_view transmission) {
  Uint128 digest{0x69736F3835383331ULL, 0x61757468ULL};  // "iso85831", "auth"
  for (std::string_view part : {without_leading_zeros(acquirer), stan, transmission}) {
    for (char c : part) {
      digest.hi = mix64(digest.hi ^ static_cast<unsigned char>(c));
      digest.lo = mix64(digest.lo + static_cast<unsigned char>(c) + digest.hi);
    }
    digest.hi = mix64(digest.hi ^ 0x7C);  // separator
  }
  return TransferId{derive_id(digest, 0)};
}

TransferId completion_id(TransferId original) { return derived(original, 0x434F4D504CULL); }
TransferId reversal_id(TransferId original) { return derived(original, 0x5245564552534CULL); }
TransferId late_void_id(TransferId original) { return derived(original, 0x4C41544556ULL); }
TransferId advice_id(TransferId original) { return derived(original, 0x4144564943ULL); }

}  // namespace ledger::iso8583
