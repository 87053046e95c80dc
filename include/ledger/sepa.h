// SEPA direct debits: the TARGET2 calendar, IBANs (ISO 13616), the ISO 20022 reason codes and
// the names the API, the journal and the event feed share. Pure functions, no clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/units.h"

namespace ledger::sepa {

// --- Dates: days since 1970-01-01 (UTC), proleptic Gregorian ------------------------------
std::int32_t days_from_civil(int year, unsigned month, unsigned day);
void civil_from_days(std::int32_t days, int* year, unsigned* month, unsigned* day);
// "YYYY-MM-DD" (exactly, a real date, years 1970..9999); nullopt otherwise.
std::optional<std::int32_t> parse_date(std::string_view text);
std::string format_date(std::int32_t days);
// Easter Sunday of a Gregorian year (anonymous Gregorian algorithm), as days.
std::int32_t easter_sunday(int year);

// TARGET2 is closed on Saturdays, Sundays, 1 January, Good Friday, Easter Monday, 1 May,
// 25 and 26 December.
bool is_business_day(std::int32_t days);
// The n-th business day after `days` (n >= 0; n == 0: `days` itself if a business day, else
// the next one).
std::int32_t add_business_days(std::int32_t days, int n);
// The business day before `days` (strictly before).
std::int32_t previous_business_day(std::int32_t days);

inline std::int32_t day_of_ns(std::uint64_t ns) {
  return static_cast<std::int32_t>(ns / ns_per_day);
}

// --- IBAN (ISO 13616) -------------------------------------------------------------------------
// Upper-cases and removes spaces; nullopt if anything but letters, digits and spaces remain.
std::optional<std::string> normalize_iban(std::string_view text);
// A normalized IBAN: two letters, two check digits, an alphanumeric BBAN, the length of its
// country in the IBAN registry (a country without IBANs is refused), and mod 97 == 1.
bool iban_valid(std::string_view iban);
// The IBAN length of a country in the IBAN registry (0: it has no IBANs).
std::size_t iban_length(std::string_view country);
// The IBAN of `country` (two upper-case letters) and `bban` (upper-case alphanumerics) with
// its check digits.
std::string iban_make(std::string_view country, std::string_view bban);

// A BIC (ISO 9362): 4 letters (institution), 2 letters (country), 2 letters or digits
// (location), optionally 3 letters or digits (branch).
bool bic_valid(std::string_view bic);

// A SEPA creditor identifier (EPC262-08): a country code, two check digits, a 3-character
// creditor business code (any letters or digits, chosen by the creditor, not part of its
// identity) and a national identifier of up to 28 letters or digits; the check digits are
// ISO 7064 MOD 97-10 over the national identifier and the country code. Upper case.
bool creditor_id_valid(std::string_view id);
// What identifies the creditor: the identifier without its business code (characters 5-7),
// so that "DE98ZZZ09999999999" and "DE98ABC09999999999" are the same creditor.
std::string creditor_identity(std::string_view id);

// --- Collections ------------------------------------------------------------------------------
// The SEPA maximum for one collection: 999,999,999.99 EUR.
inline constexpr std::int64_t amount_max = 99'999'999'999;
// ISO 20022 external reason codes (the EPC SDD rulebooks' R-transaction codes).
// Stored as numbers (direct_debit_events.reason): append, never reorder. MS02, AM03, AM12 and
// DT01 are kept to read collections journaled before they were replaced (by SL01, AG01 and
// FF01): ledgerd no longer gives them.
enum class Reason : std::uint8_t {
  none,
  AM04,
  AM05,
  MS02,
  MD01,
  MD06,
  AC01,
  AC04,
  AC06,
  AM03,
  FF01,  // invalid file format (a missing or malformed element)
  AM12,  // invalid amount
  DT01,  // invalid date
  SL01,  // specific service offered by the debtor bank: the debtor's blocks and limits
  MD02,  // missing mandatory mandate information (an amendment that cannot be followed)
  MD07,  // debtor deceased
  AG01,  // transaction forbidden on this account (not a euro payment account)
  MS03   // reason not specified
};
inline constexpr int reason_count = static_cast<int>(Reason::MS03) + 1;
std::string_view reason_name(Reason reason);  // "" for none
std::optional<Reason> reason_from_name(std::string_view name);
std::string_view reason_text(Reason reason);  // in words, for people

// --- Verification of Payee (EPC VOP scheme): the name a payer gives against the holder's ---
// docs/payee-verification.md gives the rules with examples:
// - match: the same text once white space is trimmed and collapsed;
// - close_match: the same words once case, accents (Latin letters folded to ASCII: e, ss, ae),
//   punctuation, legal-form words (GmbH, SAS, SARL, Ltd, S.p.A., ...; dotted abbreviations
//   joined) and word order are set aside; or within one typing error (an insertion, deletion,
//   substitution or swap of neighbours) for names of 6 characters or more, two for 20 or more;
// - no_match: anything else, an empty name included.
enum class NameMatch : std::uint8_t { match, close_match, no_match };
NameMatch match_payee_name(std::string_view given, std::string_view held);
std::string_view name_match_name(NameMatch match);  // "match", "close_match", "no_match"
// The words a name is compared by for close_match: folded, legal forms removed (unless that
// leaves none), sorted.
std::vector<std::string> normalize_name(std::string_view name);

}  // namespace ledger::sepa
