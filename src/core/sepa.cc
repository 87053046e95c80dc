#include "ledger/sepa.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

namespace ledger::sepa {

// Howard Hinnant's days_from_civil / civil_from_days.
std::int32_t days_from_civil(int year, unsigned month, unsigned day) {
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}

void civil_from_days(std::int32_t days, int* year, unsigned* month, unsigned* day) {
  const int z = days + 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *day = doy - (153 * mp + 2) / 5 + 1;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = static_cast<int>(yoe) + era * 400 + (*month <= 2 ? 1 : 0);
}

std::optional<std::int32_t> parse_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const auto digits = [&](std::size_t at, std::size_t n, int* out) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      v = v * 10 + (text[i] - '0');
    }
    *out = v;
    return true;
  };
  int y = 0, m = 0, d = 0;
  if (!digits(0, 4, &y) || !digits(5, 2, &m) || !digits(8, 2, &d)) return std::nullopt;
  if (y < 1970 || m < 1 || m > 12 || d < 1) return std::nullopt;
  const std::int32_t days = days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  int y2 = 0;
  unsigned m2 = 0, d2 = 0;
  civil_from_days(days, &y2, &m2, &d2);
  if (y2 != y || static_cast<int>(m2) != m || static_cast<int>(d2) != d) return std::nullopt;
  return days;
}

std::string format_date(std::int32_t days) {
  int y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, &y, &m, &d);
  std::string s(10, '0');
  s[0] = static_cast<char>('0' + y / 1000 % 10);
  s[1] = static_cast<char>('0' + y / 100 % 10);
  s[2] = static_cast<char>('0' + y / 10 % 10);
  s[3] = static_cast<char>('0' + y % 10);
  s[4] = s[7] = '-';
  s[5] = static_cast<char>('0' + m / 10);
  s[6] = static_cast<char>('0' + m % 10);
  s[8] = static_cast<char>('0' + d / 10);
  s[9] = static_cast<char>('0' + d % 10);
  return s;
}

std::int32_t easter_sunday(int year) {
  const int a = year % 19;
  const int b = year / 100;
  const int c = year % 100;
  const int d = b / 4;
  const int e = b % 4;
  const int f = (b + 8) / 25;
  const int g = (b - f + 1) / 3;
  const int h = (19 * a + b - d - g + 15) % 30;
  const int i = c / 4;
  const int k = c % 4;
  const int l = (32 + 2 * e + 2 * i - h - k) % 7;
  const int m = (a + 11 * h + 22 * l) / 451;
  const int month = (h + l - 7 * m + 114) / 31;
  const int day = (h + l - 7 * m + 114) % 31 + 1;
  return days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
}

bool is_business_day(std::int32_t days) {
  const int weekday = ((days % 7) + 7 + 3) % 7;  // 1970-01-01 was a Thursday; 0 = Monday
  if (weekday >= 5) return false;
  int y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, &y, &m, &d);
  if ((m == 1 && d == 1) || (m == 5 && d == 1) || (m == 12 && (d == 25 || d == 26))) return false;
  const std::int32_t easter = easter_sunday(y);
  return days != easter - 2 && days != easter + 1;
}

std::int32_t add_business_days(std::int32_t days, int n) {
  while (!is_business_day(days)) ++days;
  for (int i = 0; i < n; ++i) {
    ++days;
    while (!is_business_day(days)) ++days;
  }
  return days;
}

std::int32_t previous_business_day(std::int32_t days) {
  --days;
  while (!is_business_day(days)) --days;
  return days;
}

namespace {

// IBAN lengths of the SEPA countries (EPC409-09, the SEPA country list).
struct CountryLength {
  char code[3];
  std::uint8_t length;
};
// The IBAN registry (SWIFT, ISO 13616): every country that has IBANs and their length.
// Another country code has no IBAN.
constexpr std::array<CountryLength, 89> lengths = {{
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
    {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
    {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
    {"GT", 28}, {"HN", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26},
    {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20},
    {"LU", 20}, {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20},
    {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24},
    {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25},
    {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
    {"YE", 30},
}};

// The remainder mod 97 of the IBAN with its first four characters moved to the end and
// letters as 10..35 (ISO 7064 MOD 97-10).
int mod97(std::string_view rearranged) {
  int r = 0;
  for (const char ch : rearranged) {
    if (ch >= '0' && ch <= '9') {
      r = (r * 10 + (ch - '0')) % 97;
    } else {
      r = (r * 100 + (ch - 'A' + 10)) % 97;
    }
  }
  return r;
}

bool upper_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); }

}  // namespace

std::size_t iban_length(std::string_view country) {
  for (const CountryLength& l : lengths) {
    if (country == l.code) return l.length;
  }
  return 0;
}

std::optional<std::string> normalize_iban(std::string_view text) {
  std::string out;
  if (text.size() > 64) return std::nullopt;
  for (const char c : text) {
    if (c == ' ') continue;
    const char u = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    if (!upper_alnum(u)) return std::nullopt;
    out.push_back(u);
  }
  return out;
}

bool iban_valid(std::string_view iban) {
  if (iban.size() < 15 || iban.size() > 34) return false;
  if (iban[0] < 'A' || iban[0] > 'Z' || iban[1] < 'A' || iban[1] > 'Z') return false;
  if (iban[2] < '0' || iban[2] > '9' || iban[3] < '0' || iban[3] > '9') return false;
  for (const char c : iban) {
    if (!upper_alnum(c)) return false;
  }
  if (iban.size() != iban_length(iban.substr(0, 2))) return false;  // 0: no such country
  std::string rearranged(iban.substr(4));
  rearranged.append(iban.substr(0, 4));
  return mod97(rearranged) == 1;
}

bool creditor_id_valid(std::string_view id) {
  if (id.size() < 8 || id.size() > 35) return false;
  if (id[0] < 'A' || id[0] > 'Z' || id[1] < 'A' || id[1] > 'Z') return false;
  if (id[2] < '0' || id[2] > '9' || id[3] < '0' || id[3] > '9') return false;
  for (const char c : id) {
    if (!upper_alnum(c)) return false;
  }
  std::string rearranged(id.substr(7));
  rearranged.append(id.substr(0, 4));
  return mod97(rearranged) == 1;
}

std::string creditor_identity(std::string_view id) {
  if (id.size() < 8) return std::string(id);
  std::string out(id.substr(0, 4));
  out.append(id.substr(7));
  return out;
}

bool bic_valid(std::string_view bic) {
  if (bic.size() != 8 && bic.size() != 11) return false;
  for (std::size_t i = 0; i < bic.size(); ++i) {
    const char c = bic[i];
    const bool letter = c >= 'A' && c <= 'Z';
    if (i < 6 ? !letter : !upper_alnum(c)) return false;
  }
  return true;
}

std::string iban_make(std::string_view country, std::string_view bban) {
  std::string rearranged(bban);
  rearranged.append(country).append("00");
  const int check = 98 - mod97(rearranged);
  std::string iban(country);
  iban.push_back(static_cast<char>('0' + check / 10));
  iban.push_back(static_cast<char>('0' + check % 10));
  iban.append(bban);
  return iban;
}

namespace {
constexpr std::string_view reason_names[] = {"",     "AM04", "AM05", "MS02", "MD01", "MD06",
                                             "AC01", "AC04", "AC06", "AM03", "FF01", "AM12",
                                             "DT01", "SL01", "MD02", "MD07", "AG01", "MS03"};
constexpr std::string_view reason_texts[] = {
    "",
    "insufficient funds",
    "duplicate collection",
    "refused by the debtor (blocked creditor or mandate; now SL01)",
    "no valid mandate (or unauthorised transaction)",
    "refund requested by the debtor",
    "unknown account",
    "account closed",
    "account blocked",
    "currency not allowed",
    "invalid format (a missing or malformed element)",
    "invalid amount",
    "invalid date",
    "refused by the debtor's own rules (a blocked creditor or mandate, a limit)",
    "mandate information missing or inconsistent",
    "debtor deceased",
    "transaction forbidden on this account",
    "reason not specified",
};
static_assert(std::size(reason_names) == reason_count && std::size(reason_texts) == reason_count);
}  // namespace

std::string_view reason_name(Reason reason) {
  const auto i = static_cast<std::size_t>(reason);
  return i < std::size(reason_names) ? reason_names[i] : std::string_view{};
}

std::optional<Reason> reason_from_name(std::string_view name) {
  for (std::size_t i = 1; i < std::size(reason_names); ++i) {
    if (reason_names[i] == name) return static_cast<Reason>(i);
  }
  return std::nullopt;
}

std::string_view reason_text(Reason reason) {
  const auto i = static_cast<std::size_t>(reason);
  return i < std::size(reason_texts) ? reason_texts[i] : std::string_view{};
}

// --- Verification of Payee: name matching ------------------------------------------------

namespace {

// The ASCII spelling of a Latin letter with a diacritic (U+00C0..U+017F, and the Romanian
// comma-below letters), lower case; "" for a code point not folded here. Signs (x, /) are
// spaces.
std::string_view latin_fold(std::uint32_t cp) {
  static constexpr std::string_view latin1[64] = {
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",   // C0
      "d", "n", "o", "o", "o", "o", "o",  " ", "o", "u", "u", "u", "u", "y", "th", "ss",  // D0
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",   // E0
      "d", "n", "o", "o", "o", "o", "o",  " ", "o", "u", "u", "u", "u", "y", "th", "y"};  // F0
  if (cp >= 0xC0 && cp <= 0xFF) return latin1[cp - 0xC0];
  struct Range {
    std::uint32_t first, last;
    std::string_view ascii;
  };
  static constexpr Range extended[] = {
      {0x100, 0x105, "a"}, {0x106, 0x10D, "c"},  {0x10E, 0x111, "d"}, {0x112, 0x11B, "e"},
      {0x11C, 0x123, "g"}, {0x124, 0x127, "h"},  {0x128, 0x131, "i"}, {0x132, 0x133, "ij"},
      {0x134, 0x135, "j"}, {0x136, 0x138, "k"},  {0x139, 0x142, "l"}, {0x143, 0x14B, "n"},
      {0x14C, 0x151, "o"}, {0x152, 0x153, "oe"}, {0x154, 0x159, "r"}, {0x15A, 0x161, "s"},
      {0x162, 0x167, "t"}, {0x168, 0x173, "u"},  {0x174, 0x175, "w"}, {0x176, 0x178, "y"},
      {0x179, 0x17E, "z"}, {0x17F, 0x17F, "s"},  {0x218, 0x219, "s"}, {0x21A, 0x21B, "t"}};
  for (const Range& r : extended) {
    if (cp >= r.first && cp <= r.last) return r.ascii;
  }
  return {};
}

// Company legal forms across the SEPA countries, as normalize_name() leaves them ("G.m.b.H."
// and "S.A.S." become "gmbh" and "sas"; "& Co. KG" becomes "co" and "kg").
bool legal_form(std::string_view word) {
  static constexpr std::string_view forms[] = {
      "ab",           "ag",  "aps", "as",   "asa",     "bv",   "co",   "corp", "corporation",
      "cv",           "dd",  "doo", "eg",   "ev",      "eurl", "gbr",  "gmbh", "inc",
      "incorporated", "kft", "kg",  "kgaa", "limited", "llc",  "llp",  "ltd",  "mbh",
      "nv",           "ohg", "oy",  "oyj",  "plc",     "sa",   "sapa", "sarl", "sas",
      "sasu",         "sc",  "sca", "sci",  "scs",     "se",   "sl",   "slu",  "snc",
      "sp",           "spa", "sro", "srl",  "ug",      "vof",  "zoo",  "zrt"};
  for (const std::string_view form : forms) {
    if (word == form) return true;
  }
  return false;
}

// Optimal string alignment distance (Levenshtein plus swapping two neighbours).
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    before.swap(previous);
    previous.swap(current);
  }
  return previous[b.size()];
}

// Collapses runs of white space and trims: the form two names are compared in for "match".
std::string collapse_spaces(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (space) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

std::vector<std::string> normalize_name(std::string_view name) {
  // Fold to lower-case ASCII letters and digits; everything else separates words.
  std::string folded;
  for (std::size_t i = 0; i < name.size();) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x80) {
      folded.push_back(std::isalnum(c) != 0 ? static_cast<char>(std::tolower(c)) : ' ');
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    std::size_t length = 0;
    if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1Fu;
      length = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0Fu;
      length = 3;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07u;
      length = 4;
    } else {  // not a lead byte: a separator
      folded.push_back(' ');
      ++i;
      continue;
    }
    if (i + length > name.size()) break;
    for (std::size_t k = 1; k < length; ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(name[i + k]) & 0x3Fu);
    }
    const std::string_view ascii = latin_fold(cp);
    if (!ascii.empty()) {
      folded.append(ascii);
    } else {
      folded.append(name.substr(i, length));  // another script: compared as written
    }
    i += length;
  }
  std::vector<std::string> words;
  std::string word;
  std::string letters;  // a run of one-letter words: an abbreviation written with dots
  const auto end_letters = [&] {
    if (!letters.empty()) words.push_back(std::move(letters));
    letters.clear();
  };
  const auto end_word = [&] {
    if (word.empty()) return;
    if (word.size() == 1) {
      letters.append(word);
    } else {
      end_letters();
      words.push_back(word);
    }
    word.clear();
  };
  for (const char c : folded) {
    if (c == ' ') {
      end_word();
    } else {
      word.push_back(c);
    }
  }
  end_word();
  end_letters();
  std::vector<std::string> kept;
  for (const std::string& w : words) {
    if (!legal_form(w)) kept.push_back(w);
  }
  if (kept.empty()) kept = words;  // a name that is only a legal form keeps it
  std::sort(kept.begin(), kept.end());
  return kept;
}

NameMatch match_payee_name(std::string_view given, std::string_view held) {
  const std::string a = collapse_spaces(given);
  const std::string b = collapse_spaces(held);
  if (a.empty() || b.empty()) return NameMatch::no_match;
  if (a == b) return NameMatch::match;
  const std::vector<std::string> x = normalize_name(a);
  const std::vector<std::string> y = normalize_name(b);
  if (x.empty() || y.empty()) return NameMatch::no_match;
  if (x == y) return NameMatch::close_match;
  std::string joined_x, joined_y;
  for (const std::string& w : x) joined_x.append(w).push_back(' ');
  for (const std::string& w : y) joined_y.append(w).push_back(' ');
  const std::size_t shorter = std::min(joined_x.size(), joined_y.size()) - 1;
  const std::size_t allowed = shorter >= 20 ? 2 : shorter >= 6 ? 1 : 0;
  if (allowed > 0 && edit_distance(joined_x, joined_y) <= allowed) return NameMatch::close_match;
  return NameMatch::no_match;
}

std::string_view name_match_name(NameMatch m) {
  switch (m) {
    case NameMatch::match:
      return "match";
    case NameMatch::close_match:
      return "close_match";
    case NameMatch::no_match:
      return "no_match";
  }
  return "no_match";
}

}  // namespace ledger::sepa
