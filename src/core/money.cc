#include "ledger/money.h"

#include <algorithm>
#include <array>

#include "ledger/assert.h"

namespace ledger {
namespace {

// Active ISO 4217 codes, sorted by alpha code (binary search), with numeric code and exponent.
constexpr CurrencyInfo currency_table[] = {
    {"AED", 784, 2}, {"AFN", 971, 2}, {"ALL", 8, 2},   {"AMD", 51, 2},  {"ANG", 532, 2},
    {"AOA", 973, 2}, {"ARS", 32, 2},  {"AUD", 36, 2},  {"AWG", 533, 2}, {"AZN", 944, 2},
    {"BAM", 977, 2}, {"BBD", 52, 2},  {"BDT", 50, 2},  {"BGN", 975, 2}, {"BHD", 48, 3},
    {"BIF", 108, 0}, {"BMD", 60, 2},  {"BND", 96, 2},  {"BOB", 68, 2},  {"BRL", 986, 2},
    {"BSD", 44, 2},  {"BTN", 64, 2},  {"BWP", 72, 2},  {"BYN", 933, 2}, {"BZD", 84, 2},
    {"CAD", 124, 2}, {"CDF", 976, 2}, {"CHF", 756, 2}, {"CLP", 152, 0}, {"CNY", 156, 2},
    {"COP", 170, 2}, {"CRC", 188, 2}, {"CUP", 192, 2}, {"CVE", 132, 2}, {"CZK", 203, 2},
    {"DJF", 262, 0}, {"DKK", 208, 2}, {"DOP", 214, 2}, {"DZD", 12, 2},  {"EGP", 818, 2},
    {"ERN", 232, 2}, {"ETB", 230, 2}, {"EUR", 978, 2}, {"FJD", 242, 2}, {"FKP", 238, 2},
    {"GBP", 826, 2}, {"GEL", 981, 2}, {"GHS", 936, 2}, {"GIP", 292, 2}, {"GMD", 270, 2},
    {"GNF", 324, 0}, {"GTQ", 320, 2}, {"GYD", 328, 2}, {"HKD", 344, 2}, {"HNL", 340, 2},
    {"HTG", 332, 2}, {"HUF", 348, 2}, {"IDR", 360, 2}, {"ILS", 376, 2}, {"INR", 356, 2},
    {"IQD", 368, 3}, {"IRR", 364, 2}, {"ISK", 352, 0}, {"JMD", 388, 2}, {"JOD", 400, 3},
    {"JPY", 392, 0}, {"KES", 404, 2}, {"KGS", 417, 2}, {"KHR", 116, 2}, {"KMF", 174, 0},
    {"KPW", 408, 2}, {"KRW", 410, 0}, {"KWD", 414, 3}, {"KYD", 136, 2}, {"KZT", 398, 2},
    {"LAK", 418, 2}, {"LBP", 422, 2}, {"LKR", 144, 2}, {"LRD", 430, 2}, {"LSL", 426, 2},
    {"LYD", 434, 3}, {"MAD", 504, 2}, {"MDL", 498, 2}, {"MGA", 969, 2}, {"MKD", 807, 2},
    {"MMK", 104, 2}, {"MNT", 496, 2}, {"MOP", 446, 2}, {"MRU", 929, 2}, {"MUR", 480, 2},
    {"MVR", 462, 2}, {"MWK", 454, 2}, {"MXN", 484, 2}, {"MYR", 458, 2}, {"MZN", 943, 2},
    {"NAD", 516, 2}, {"NGN", 566, 2}, {"NIO", 558, 2}, {"NOK", 578, 2}, {"NPR", 524, 2},
    {"NZD", 554, 2}, {"OMR", 512, 3}, {"PAB", 590, 2}, {"PEN", 604, 2}, {"PGK", 598, 2},
    {"PHP", 608, 2}, {"PKR", 586, 2}, {"PLN", 985, 2}, {"PYG", 600, 0}, {"QAR", 634, 2},
    {"RON", 946, 2}, {"RSD", 941, 2}, {"RUB", 643, 2}, {"RWF", 646, 0}, {"SAR", 682, 2},
    {"SBD", 90, 2},  {"SCR", 690, 2}, {"SDG", 938, 2}, {"SEK", 752, 2}, {"SGD", 702, 2},
    {"SHP", 654, 2}, {"SLE", 925, 2}, {"SOS", 706, 2}, {"SRD", 968, 2}, {"SSP", 728, 2},
    {"STN", 930, 2}, {"SYP", 760, 2}, {"SZL", 748, 2}, {"THB", 764, 2}, {"TJS", 972, 2},
    {"TMT", 934, 2}, {"TND", 788, 3}, {"TOP", 776, 2}, {"TRY", 949, 2}, {"TTD", 780, 2},
    {"TWD", 901, 2}, {"TZS", 834, 2}, {"UAH", 980, 2}, {"UGX", 800, 0}, {"USD", 840, 2},
    {"UYU", 858, 2}, {"UZS", 860, 2}, {"VES", 928, 2}, {"VND", 704, 0}, {"VUV", 548, 0},
    {"WST", 882, 2}, {"XAF", 950, 0}, {"XCD", 951, 2}, {"XOF", 952, 0}, {"XPF", 953, 0},
    {"YER", 886, 2}, {"ZAR", 710, 2}, {"ZMW", 967, 2}, {"ZWL", 932, 2}};

constexpr std::uint32_t pack(std::string_view alpha) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(alpha[0])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(alpha[1])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(alpha[2]));
}

const CurrencyInfo* find_alpha(std::string_view alpha) {
  const auto* end = std::end(currency_table);
  const auto* it = std::lower_bound(std::begin(currency_table), end, alpha,
                                    [](const CurrencyInfo& info, std::string_view key) {
                                      return std::string_view(info.alpha) < key;
                                    });
  if (it == end || std::string_view(it->alpha) != alpha) return nullptr;
  return it;
}

}  // namespace

std::optional<Currency> currency_from_alpha(std::string_view alpha) {
  if (alpha.size() != 3 || find_alpha(alpha) == nullptr) return std::nullopt;
  return Currency{pack(alpha)};
}

std::optional<Currency> currency_from_numeric(std::uint16_t numeric) {
  for (const CurrencyInfo& info : currency_table) {
    if (info.numeric == numeric) return Currency{pack(info.alpha)};
  }
  return std::nullopt;
}

const CurrencyInfo& currency_info(Currency currency) {
  const char alpha[3] = {static_cast<char>((currency.code >> 16) & 0xFF),
                         static_cast<char>((currency.code >> 8) & 0xFF),
                         static_cast<char>(currency.code & 0xFF)};
  const CurrencyInfo* info = find_alpha(std::string_view(alpha, 3));
  LEDGER_ASSERT(info != nullptr);
  return *info;
}

std::string_view currency_alpha(Currency currency) { return currency_info(currency).alpha; }

std::string decimal_text(__int128 value) {
  if (value == 0) return "0";
  const bool negative = value < 0;
  auto magnitude = negative ? static_cast<unsigned __int128>(-(value + 1)) + 1
                            : static_cast<unsigned __int128>(value);
  std::string digits;
  while (magnitude > 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  }
  if (negative) digits.insert(digits.begin(), '-');
  return digits;
}

bool parse_decimal128(std::string_view text, __int128* out) {
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty() || text.size() > 39) return false;
  const auto limit =
      static_cast<unsigned __int128>(~static_cast<unsigned __int128>(0) >> 1) + (negative ? 1 : 0);
  unsigned __int128 magnitude = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    const auto digit = static_cast<unsigned>(c - '0');
    if (magnitude > (limit - digit) / 10) return false;
    magnitude = magnitude * 10 + digit;
  }
  *out = negative ? static_cast<__int128>(~magnitude + 1) : static_cast<__int128>(magnitude);
  return true;
}

}  // namespace ledger
