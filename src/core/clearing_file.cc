#include "ledger/clearing_file.h"

#include <array>
#include <cstdio>

#include "ledger/money.h"
#include "ledger/parse.h"

namespace ledger::clearing {
namespace {

enum class F : std::uint8_t { none, n, ans, llnum, llans, lllans, cd };
struct Spec {
  F kind = F::none;
  std::uint16_t length = 0;
};

// The ISO 8583:1993 fields ledgerd reads (docs/card-clearing.md); a record with any other
// field is set aside (its extent is unknown, but the RDW still bounds the record).
constexpr std::array<Spec, 129> make_specs() {
  std::array<Spec, 129> s{};
  s[2] = {F::llnum, 19};
  s[3] = {F::n, 6};
  s[4] = {F::n, 12};
  s[5] = {F::n, 12};
  s[6] = {F::n, 12};
  s[9] = {F::n, 8};
  s[10] = {F::n, 8};
  s[11] = {F::n, 6};
  s[12] = {F::n, 12};
  s[14] = {F::n, 4};
  s[22] = {F::ans, 12};
  s[23] = {F::n, 3};
  s[24] = {F::n, 3};
  s[25] = {F::n, 4};
  s[26] = {F::n, 4};
  s[30] = {F::n, 24};
  s[31] = {F::llans, 23};
  s[32] = {F::llnum, 11};
  s[33] = {F::llnum, 11};
  s[37] = {F::ans, 12};
  s[38] = {F::ans, 6};
  s[40] = {F::n, 3};
  s[41] = {F::ans, 8};
  s[42] = {F::ans, 15};
  s[43] = {F::llans, 99};
  s[48] = {F::lllans, 999};
  s[49] = {F::n, 3};
  s[50] = {F::n, 3};
  s[51] = {F::n, 3};
  s[54] = {F::lllans, 120};
  s[62] = {F::lllans, 999};
  s[63] = {F::lllans, 999};
  s[71] = {F::n, 8};
  s[72] = {F::lllans, 999};
  s[73] = {F::n, 6};
  s[74] = {F::n, 10};
  s[75] = {F::n, 10};
  s[76] = {F::n, 10};
  s[77] = {F::n, 10};
  s[86] = {F::n, 16};
  s[87] = {F::n, 16};
  s[88] = {F::n, 16};
  s[89] = {F::n, 16};
  s[93] = {F::llnum, 11};
  s[94] = {F::llnum, 11};
  s[95] = {F::llans, 10};
  s[97] = {F::cd, 17};
  s[100] = {F::llnum, 11};
  for (int f = 123; f <= 127; ++f) s[static_cast<std::size_t>(f)] = {F::lllans, 999};
  return s;
}
constexpr std::array<Spec, 129> specs = make_specs();

// EBCDIC (code page 037) for the printable ASCII characters.
constexpr std::array<unsigned char, 128> make_to_ebcdic() {
  std::array<unsigned char, 128> t{};
  const char* letters_upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const unsigned char upper[26] = {0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9,
                                   0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9,
                                   0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9};
  for (int i = 0; i < 26; ++i) {
    t[static_cast<std::size_t>(letters_upper[i])] = upper[i];
    t[static_cast<std::size_t>(letters_upper[i] - 'A' + 'a')] =
        static_cast<unsigned char>(upper[i] - 0x40);
  }
  for (int d = 0; d < 10; ++d)
    t[static_cast<std::size_t>('0' + d)] = static_cast<unsigned char>(0xF0 + d);
  const char* punct = " .<(+|&!$*);-/,%_>?:#@'=\"\\[]^{}~`";
  const unsigned char codes[] = {0x40, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F, 0x50, 0x5A, 0x5B, 0x5C, 0x5D,
                                 0x5E, 0x60, 0x61, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x7A, 0x7B, 0x7C,
                                 0x7D, 0x7E, 0x7F, 0xE0, 0xBA, 0xBB, 0xB0, 0xC0, 0xD0, 0xA1, 0x79};
  for (std::size_t i = 0; punct[i] != 0; ++i) t[static_cast<std::size_t>(punct[i])] = codes[i];
  return t;
}
constexpr std::array<unsigned char, 128> to_ebcdic = make_to_ebcdic();

constexpr std::array<char, 256> make_from_ebcdic() {
  std::array<char, 256> t{};
  for (std::size_t a = 0x20; a < 0x7F; ++a) {
    if (to_ebcdic[a] != 0) t[to_ebcdic[a]] = static_cast<char>(a);
  }
  return t;
}
constexpr std::array<char, 256> from_ebcdic = make_from_ebcdic();

bool digit(char c) { return c >= '0' && c <= '9'; }
bool printable(char c) { return c >= 0x20 && c <= 0x7E; }
bool all_digits(std::string_view v) {
  for (char c : v) {
    if (!digit(c)) return false;
  }
  return true;
}
bool all_printable(std::string_view v) {
  for (char c : v) {
    if (!printable(c)) return false;
  }
  return true;
}

std::uint32_t be32(std::string_view b, std::size_t at) {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) << 24) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 3]));
}

// Decodes one record (the bytes inside its RDW). False with the reason; *out keeps what was
// read before the failure.
bool decode_record(std::string_view raw, Charset charset, Message* out, std::string* error) {
  const auto fail = [&](std::string why) {
    *error = std::move(why);
    return false;
  };
  if (raw.size() < 12) return fail("shorter than an MTI and a bitmap");
  std::string text(raw);
  if (charset == Charset::ebcdic) {
    for (std::size_t i = 0; i < 4; ++i) text[i] = from_ebcdic[static_cast<unsigned char>(raw[i])];
  }
  if (!all_digits(std::string_view(text).substr(0, 4))) return fail("MTI must be 4 digits");
  out->mti = text.substr(0, 4);
  std::bitset<129> bits;
  std::size_t at = 4;
  const auto read_bitmap = [&](int first) {
    for (int byte = 0; byte < 8; ++byte) {
      const auto b = static_cast<unsigned char>(raw[at + static_cast<std::size_t>(byte)]);
      for (int bit = 0; bit < 8; ++bit) {
        if ((b & (0x80 >> bit)) != 0) bits[static_cast<std::size_t>(first + byte * 8 + bit)] = true;
      }
    }
    at += 8;
  };
  read_bitmap(1);
  if (bits[1]) {
    if (raw.size() < at + 8) return fail("secondary bitmap cut short");
    read_bitmap(65);
  }
  if (charset == Charset::ebcdic) {
    for (std::size_t i = at; i < raw.size(); ++i) {
      const char c = from_ebcdic[static_cast<unsigned char>(raw[i])];
      text[i] = c == 0 ? '\x01' : c;  // not printable: refused below as such
    }
  }
  const std::string_view body(text);
  for (int field = 2; field <= 128; ++field) {
    if (!bits[static_cast<std::size_t>(field)]) continue;
    if (field == 65) return fail("DE65 (tertiary bitmap) is not supported");
    const Spec& spec = specs[static_cast<std::size_t>(field)];
    const std::string de = "DE" + std::to_string(field);
    std::size_t length = spec.length;
    switch (spec.kind) {
      case F::none:
        return fail(de + " is not in the fields ledgerd reads");
      case F::llnum:
      case F::llans:
      case F::lllans: {
        const std::size_t digits = spec.kind == F::lllans ? 3 : 2;
        std::uint64_t n = 0;
        if (at + digits > body.size() || !parse_digits(body.substr(at, digits), &n)) {
          return fail(de + ": length prefix unreadable");
        }
        if (n > spec.length) return fail(de + ": longer than " + std::to_string(spec.length));
        length = static_cast<std::size_t>(n);
        at += digits;
        break;
      }
      default:
        break;
    }
    if (at + length > body.size()) return fail(de + ": runs past the end of the record");
    const std::string_view v = body.substr(at, length);
    at += length;
    const bool numeric = spec.kind == F::n || spec.kind == F::llnum;
    if (numeric && !all_digits(v)) return fail(de + ": must be digits");
    if (!numeric && !all_printable(v)) return fail(de + ": must be printable characters");
    if (spec.kind == F::cd && ((v[0] != 'C' && v[0] != 'D') || !all_digits(v.substr(1)))) {
      return fail(de + ": must be C or D and 16 digits");
    }
    out->set(field, std::string(v));
  }
  if (at != body.size()) return fail("the fields end before the record does");
  return true;
}

std::uint64_t number(const Message& m, int field) {
  std::uint64_t v = 0;
  if (m.has(field)) (void)parse_digits(m.get(field), &v);
  return v;
}

std::string trimmed(std::string_view v) {
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  return std::string(v);
}

bool known_currency(std::uint64_t code) {
  return code > 0 && code <= 999 && currency_from_numeric(static_cast<std::uint16_t>(code));
}

// The record's meaning, and why it cannot be used (set aside) when so.
void interpret(Record* r) {
  const Message& m = r->message;
  r->mti = m.mti;
  r->function_code = static_cast<std::uint16_t>(number(m, 24));
  const auto aside = [r](std::string why) {
    if (r->set_aside.empty()) r->set_aside = std::move(why);
  };
  if (!m.has(24)) aside("DE24 (function code) is missing");
  const bool reversal_pds =
      m.has(48) && !pds(m.get(48), "0025").empty() && pds(m.get(48), "0025")[0] == 'R';
  if (m.mti == "1644") {
    switch (r->function_code) {
      case 697:
        r->kind = RecordKind::header;
        break;
      case 695:
        r->kind = RecordKind::trailer;
        break;
      case 685:
      case 688:
        r->kind = RecordKind::position;
        break;
      default:
        r->kind = RecordKind::unknown;
        aside("1644 function code " + std::to_string(r->function_code) + " is not known");
    }
    return;
  }
  if (m.mti == "1240") {
    switch (r->function_code) {
      case 200:
        r->kind = reversal_pds ? RecordKind::presentment_reversal : RecordKind::first_presentment;
        break;
      case 205:
      case 282:
        r->kind = reversal_pds ? RecordKind::presentment_reversal : RecordKind::second_presentment;
        r->partial = r->function_code == 282;
        break;
      case 400:
        r->kind = RecordKind::presentment_reversal;
        break;
      default:
        r->kind = RecordKind::unknown;
        aside("1240 function code " + std::to_string(r->function_code) + " is not known");
    }
  } else if (m.mti == "1442") {
    switch (r->function_code) {
      case 450:
      case 451:
        r->kind = RecordKind::chargeback;
        break;
      case 453:
      case 454:
        r->kind = RecordKind::chargeback;
        r->partial = true;
        break;
      default:
        r->kind = RecordKind::unknown;
        aside("1442 function code " + std::to_string(r->function_code) + " is not known");
    }
  } else {
    r->kind = RecordKind::unknown;
    aside("MTI " + m.mti + " is not a clearing message ledgerd reads (1240, 1442, 1644)");
  }
  if (m.has(2)) r->pan = m.get(2);
  r->credit = m.has(3) && m.get(3).substr(0, 2) == "20";
  r->amount = number(m, 4);
  r->currency = static_cast<std::uint16_t>(std::min<std::uint64_t>(number(m, 49), 0xFFFF));
  r->reconciliation_amount = m.has(5) ? number(m, 5) : r->amount;
  r->reconciliation_currency = m.has(50) ? static_cast<std::uint16_t>(number(m, 50)) : r->currency;
  r->billing_amount = m.has(6) ? number(m, 6) : r->amount;
  r->billing_currency = m.has(51) ? static_cast<std::uint16_t>(number(m, 51)) : r->currency;
  if (m.has(9)) r->reconciliation_rate = m.get(9);
  if (m.has(10)) r->billing_rate = m.get(10);
  if (m.has(38)) r->approval_code = m.get(38);
  if (m.has(31)) r->acquirer_reference = trimmed(m.get(31));
  if (m.has(63)) r->life_cycle = trimmed(m.get(63));
  r->mcc = static_cast<std::uint16_t>(number(m, 26));
  if (m.has(43)) {
    // ISO 8583:1993 DE43: name\street\city\postcode region country, or free text.
    std::vector<std::string> parts;
    std::string current;
    for (char c : m.get(43)) {
      if (c == '\\') {
        parts.push_back(trimmed(current));
        current.clear();
      } else {
        current.push_back(c);
      }
    }
    parts.push_back(trimmed(current));
    const std::string& whole = m.get(43);
    if (parts.size() == 1 && whole.size() >= 38 && whole.size() <= 40) {
      // The card-network layout (ISO 8583:1987 DE43): name 25, city 13, country 2.
      parts = {trimmed(std::string_view(whole).substr(0, 25)),
               trimmed(std::string_view(whole).substr(25, 13)),
               trimmed(std::string_view(whole).substr(38))};
      r->merchant_name = parts[0];
      r->merchant_city = parts[1];
      r->merchant_country = parts[2];
      parts.clear();
    }
    if (!parts.empty()) r->merchant_name = parts[0];
    if (parts.size() >= 3) {
      r->merchant_city = parts[2];
    } else if (parts.size() == 2) {
      r->merchant_city = parts[1];
    }
    if (parts.size() >= 4) {
      const std::string& last = parts.back();
      if (last.size() >= 3) r->merchant_country = last.substr(last.size() - 3);
    }
  }
  if (m.has(12)) r->local_time = m.get(12);
  if (m.has(73)) r->processing_date = m.get(73);
  if (m.has(25)) r->reason_code = m.get(25);
  if (m.has(30)) (void)parse_digits(std::string_view(m.get(30)).substr(0, 12), &r->original_amount);
  if (r->kind == RecordKind::unknown) return;
  if (!m.has(2)) aside("DE2 (card number) is missing");
  if (!m.has(4)) aside("DE4 (transaction amount) is missing");
  if (!m.has(49)) aside("DE49 (transaction currency) is missing");
  if (!m.has(31)) aside("DE31 (acquirer reference data) is missing");
  if (m.has(49) && !known_currency(number(m, 49))) {
    aside("DE49 " + m.get(49) + " is not an ISO 4217 currency");
  }
  if (m.has(50) && !known_currency(number(m, 50))) {
    aside("DE50 " + m.get(50) + " is not an ISO 4217 currency");
  }
  if (m.has(51) && !known_currency(number(m, 51))) {
    aside("DE51 " + m.get(51) + " is not an ISO 4217 currency");
  }
  if (m.has(6) != m.has(51)) aside("DE6 and DE51 (cardholder billing) come together");
  if (r->amount == 0 && m.has(4)) aside("DE4 is zero");
  if (m.has(12)) {
    const std::string_view t = m.get(12);
    const int month = (t[2] - '0') * 10 + (t[3] - '0');
    const int day = (t[4] - '0') * 10 + (t[5] - '0');
    if (month < 1 || month > 12 || day < 1 || day > 31) aside("DE12 is not a date (YYMMDDhhmmss)");
  }
}

void read_totals(const Message& m, Totals* t) {
  if (m.has(48)) {
    const std::string count = pds(m.get(48), "0306");
    const std::string sum = pds(m.get(48), "0301");
    std::uint64_t v = 0;
    if (!count.empty() && parse_digits(count, &v)) {
      t->has_count = true;
      t->messages = v;
    }
    if (!sum.empty() && parse_digits(sum, &v)) {
      t->has_checksum = true;
      t->checksum = v;
    }
  }
  t->has_credits = m.has(74);
  t->has_debits = m.has(76);
  t->has_credits_amount = m.has(86);
  t->has_debits_amount = m.has(88);
  t->has_iso = t->has_credits || t->has_debits || t->has_credits_amount || t->has_debits_amount;
  t->credits = number(m, 74);
  t->debits = number(m, 76);
  t->credits_amount = number(m, 86);
  t->debits_amount = number(m, 88);
  if (m.has(97)) {
    t->has_net = true;
    std::uint64_t v = 0;
    (void)parse_digits(std::string_view(m.get(97)).substr(1), &v);
    const auto magnitude = static_cast<std::int64_t>(std::min<std::uint64_t>(v, INT64_MAX));
    t->net = m.get(97)[0] == 'D' ? magnitude : -magnitude;
  }
}

std::string text_of(std::uint64_t v) { return std::to_string(v); }

}  // namespace

std::string pds(std::string_view de48, std::string_view tag) {
  std::size_t at = 0;
  while (at + 7 <= de48.size()) {
    std::uint64_t length = 0;
    if (!all_digits(de48.substr(at, 4)) || !parse_digits(de48.substr(at + 4, 3), &length) ||
        at + 7 + length > de48.size()) {
      return {};
    }
    if (de48.substr(at, 4) == tag) return std::string(de48.substr(at + 7, length));
    at += 7 + length;
  }
  return {};
}

void add_pds(std::string* de48, std::string_view tag, std::string_view data) {
  char length[8];
  std::snprintf(length, sizeof length, "%03zu", data.size());
  de48->append(tag);
  de48->append(length);
  de48->append(data);
}

bool is_credit(const Record& r) {
  switch (r.kind) {
    case RecordKind::first_presentment:
    case RecordKind::second_presentment:
      return r.credit;
    case RecordKind::presentment_reversal:
      return !r.credit;  // a debit presentment undone gives the issuer its money back
    case RecordKind::chargeback:
      return true;
    default:
      return false;
  }
}

File read_file(std::string_view bytes) {
  File file;
  const auto refuse = [&file](std::string why) {
    file.refused = std::move(why);
    return file;
  };
  if (bytes.size() < 4) return refuse("the file is empty or shorter than one record");
  // The layout of the first RDW decides the file's.
  const bool ibm = bytes[0] != 0 || bytes[1] != 0;
  file.framing = ibm ? Framing::ibm_vb : Framing::rdw;
  std::vector<std::string_view> raws;
  std::size_t at = 0;
  while (at < bytes.size()) {
    if (at + 4 > bytes.size()) {
      return refuse("truncated: " + std::to_string(bytes.size() - at) + " bytes after record " +
                    std::to_string(raws.size()) + " are less than a record descriptor word");
    }
    std::size_t length = 0;
    if (ibm) {
      const std::uint32_t word = be32(bytes, at);
      if ((word & 0xFFFF) != 0) {
        return refuse("record " + std::to_string(raws.size() + 1) +
                      ": the record descriptor word's last two bytes must be zero");
      }
      length = (word >> 16);
      if (length < 4) {
        return refuse("record " + std::to_string(raws.size() + 1) +
                      ": the record descriptor word counts fewer than its own 4 bytes");
      }
      length -= 4;
    } else {
      length = be32(bytes, at);
    }
    if (length == 0 || length > record_bytes_max) {
      return refuse("record " + std::to_string(raws.size() + 1) + ": length " +
                    std::to_string(length) + " is not between 1 and " +
                    std::to_string(record_bytes_max));
    }
    if (at + 4 + length > bytes.size()) {
      return refuse("truncated: record " + std::to_string(raws.size() + 1) + " says " +
                    std::to_string(length) + " bytes, " + std::to_string(bytes.size() - at - 4) +
                    " are left");
    }
    raws.push_back(bytes.substr(at + 4, length));
    at += 4 + length;
    if (raws.size() > records_max) return refuse("more than 1000000 records");
  }
  const auto ch0 = static_cast<unsigned char>(raws[0][0]);
  file.charset = ch0 >= 0xF0 && ch0 <= 0xF9 ? Charset::ebcdic : Charset::ascii;
  bool header_seen = false;
  bool trailer_seen = false;
  for (std::size_t i = 0; i < raws.size(); ++i) {
    Record r;
    r.index = static_cast<std::uint32_t>(i + 1);
    std::string error;
    const bool decoded = decode_record(raws[i], file.charset, &r.message, &error);
    const std::string where = "record " + std::to_string(i + 1);
    if (!decoded) {
      // Its amount cannot be read, so the totals cannot be checked: the whole file.
      return refuse(where + " cannot be read: " + error);
    }
    interpret(&r);
    if (trailer_seen) return refuse(where + " follows the trailer");
    if (i == 0 && r.kind != RecordKind::header) {
      return refuse("the first record is not a file header (1644, function code 697)");
    }
    if (r.kind == RecordKind::header) {
      if (header_seen) return refuse(where + " is a second file header");
      header_seen = true;
      const Message& m = r.message;
      if (m.has(48)) file.file_id = pds(m.get(48), "0105");
      if (file.file_id.empty() && m.has(71)) {
        file.file_id = m.get(71) + (m.has(73) ? "-" + m.get(73) : std::string());
      }
      if (m.has(73)) file.processing_date = m.get(73);
      if (m.has(50)) file.currency = static_cast<std::uint16_t>(number(m, 50));
    } else if (r.kind == RecordKind::trailer) {
      trailer_seen = true;
      read_totals(r.message, &file.trailer);
      if (r.message.has(50)) file.currency = static_cast<std::uint16_t>(number(r.message, 50));
    }
    file.counted.messages += 1;
    file.counted.checksum += number(r.message, 4);
    if (r.kind == RecordKind::header || r.kind == RecordKind::trailer ||
        r.kind == RecordKind::position) {
      continue;
    }
    if (r.kind != RecordKind::unknown) {
      if (is_credit(r)) {
        file.counted.credits += 1;
        file.counted.credits_amount += r.reconciliation_amount;
        file.counted.credits_transaction_amount += r.amount;
      } else {
        file.counted.debits += 1;
        file.counted.debits_amount += r.reconciliation_amount;
        file.counted.debits_transaction_amount += r.amount;
      }
    }
    file.records.push_back(std::move(r));
  }
  if (!trailer_seen) return refuse("no file trailer (1644, function code 695): truncated");
  if (file.processing_date.empty()) {
    for (const Record& r : file.records) {
      if (!r.processing_date.empty()) {
        file.processing_date = r.processing_date;
        break;
      }
    }
  }
  const Totals& t = file.trailer;
  const Totals& c = file.counted;
  if (!t.has_count && !t.has_credits && !t.has_debits) {
    return refuse("the trailer states no message count (PDS 0306, or DE74/DE76)");
  }
  const auto differ = [&](const char* what, std::uint64_t stated, std::uint64_t counted) {
    return refuse(std::string("the trailer's ") + what + " is " + text_of(stated) +
                  ", the file holds " + text_of(counted));
  };
  // PDS 0306 counts every message, header and trailer included; a count of the records between
  // them is taken too.
  if (t.has_count && t.messages != c.messages && t.messages + 2 != c.messages) {
    return differ("message count (PDS 0306)", t.messages, c.messages);
  }
  if (t.has_checksum && t.checksum != c.checksum) {
    return differ("amount checksum (PDS 0301)", t.checksum, c.checksum);
  }
  // Each total the trailer states, in reconciliation amounts (DE5, else DE4) or in transaction
  // amounts (DE4): the trailer's own choice, as long as one of them adds up.
  if (t.has_credits && t.credits != c.credits) {
    return differ("number of credits (DE74)", t.credits, c.credits);
  }
  if (t.has_debits && t.debits != c.debits) {
    return differ("number of debits (DE76)", t.debits, c.debits);
  }
  if (t.has_credits_amount && t.credits_amount != c.credits_amount &&
      t.credits_amount != c.credits_transaction_amount) {
    return differ("credits amount (DE86)", t.credits_amount, c.credits_amount);
  }
  if (t.has_debits_amount && t.debits_amount != c.debits_amount &&
      t.debits_amount != c.debits_transaction_amount) {
    return differ("debits amount (DE88)", t.debits_amount, c.debits_amount);
  }
  if (t.has_net) {
    const auto net =
        static_cast<std::int64_t>(c.debits_amount) - static_cast<std::int64_t>(c.credits_amount);
    const auto net_transaction = static_cast<std::int64_t>(c.debits_transaction_amount) -
                                 static_cast<std::int64_t>(c.credits_transaction_amount);
    if (net != t.net && net_transaction != t.net) {
      return refuse("the trailer's net amount (DE97) is " + std::to_string(t.net) +
                    " (debits less credits), the file's records net " + std::to_string(net));
    }
  }
  return file;
}

bool encode(const Message& message, Charset charset, std::string* out, std::string* error) {
  out->clear();
  if (message.mti.size() != 4 || !all_digits(message.mti)) {
    *error = "MTI must be 4 digits";
    return false;
  }
  std::string text = message.mti;
  unsigned char bitmap[16] = {};
  bool secondary = false;
  for (int f = 65; f <= 128; ++f) secondary = secondary || message.has(f);
  if (secondary) bitmap[0] |= 0x80;
  std::string fields;
  for (int f = 2; f <= 128; ++f) {
    if (!message.has(f)) continue;
    const Spec& spec = specs[static_cast<std::size_t>(f)];
    const std::string& v = message.get(f);
    const std::string de = "DE" + std::to_string(f);
    if (spec.kind == F::none) {
      *error = de + " is not in the fields ledgerd writes";
      return false;
    }
    const bool variable = spec.kind == F::llnum || spec.kind == F::llans || spec.kind == F::lllans;
    if (variable ? v.size() > spec.length : v.size() != spec.length) {
      *error = de + ": wrong length";
      return false;
    }
    if ((spec.kind == F::n || spec.kind == F::llnum) ? !all_digits(v) : !all_printable(v)) {
      *error = de + ": wrong characters";
      return false;
    }
    if (variable) {
      char prefix[8];
      std::snprintf(prefix, sizeof prefix, spec.kind == F::lllans ? "%03zu" : "%02zu", v.size());
      fields += prefix;
    }
    fields += v;
    bitmap[(f - 1) / 8] |= static_cast<unsigned char>(0x80 >> ((f - 1) % 8));
  }
  if (charset == Charset::ebcdic) {
    for (char& c : text) c = static_cast<char>(to_ebcdic[static_cast<unsigned char>(c) & 0x7F]);
    for (char& c : fields) c = static_cast<char>(to_ebcdic[static_cast<unsigned char>(c) & 0x7F]);
  }
  *out = text;
  out->append(reinterpret_cast<const char*>(bitmap), secondary ? 16 : 8);
  *out += fields;
  if (out->size() > record_bytes_max) {
    *error = "longer than " + std::to_string(record_bytes_max) + " bytes";
    return false;
  }
  return true;
}

std::string frame(const std::vector<std::string>& records, Framing framing) {
  std::string file;
  for (const std::string& r : records) {
    const std::size_t n = framing == Framing::rdw ? r.size() : r.size() + 4;
    if (framing == Framing::rdw) {
      file.push_back(static_cast<char>((n >> 24) & 0xFF));
      file.push_back(static_cast<char>((n >> 16) & 0xFF));
      file.push_back(static_cast<char>((n >> 8) & 0xFF));
      file.push_back(static_cast<char>(n & 0xFF));
    } else {
      file.push_back(static_cast<char>((n >> 8) & 0xFF));
      file.push_back(static_cast<char>(n & 0xFF));
      file.push_back('\0');
      file.push_back('\0');
    }
    file += r;
  }
  return file;
}

bool write_file(const std::string& file_id, const std::string& processing_date,
                const std::vector<Message>& records, Charset charset, Framing framing,
                std::string* out, std::string* error) {
  std::vector<std::string> encoded;
  encoded.reserve(records.size() + 2);
  const auto add = [&](const Message& m) {
    std::string bytes;
    if (!encode(m, charset, &bytes, error)) return false;
    encoded.push_back(std::move(bytes));
    return true;
  };
  const auto digits = [](std::uint64_t v, int width) {
    char text[32];
    std::snprintf(text, sizeof text, "%0*llu", width, static_cast<unsigned long long>(v));
    return std::string(text);
  };
  Message header;
  header.mti = "1644";
  header.set(24, "697");
  std::string h48;
  add_pds(&h48, "0105", file_id);
  header.set(48, h48);
  header.set(71, digits(1, 8));
  header.set(73, processing_date);
  if (!add(header)) return false;
  Totals t;
  for (const Message& m : records) {
    Record r;
    r.message = m;
    if (!r.message.has(71)) r.message.set(71, digits(encoded.size() + 1, 8));
    interpret(&r);
    t.checksum += number(m, 4);
    if (r.kind != RecordKind::unknown && r.kind != RecordKind::header &&
        r.kind != RecordKind::trailer && r.kind != RecordKind::position) {
      (is_credit(r) ? t.credits : t.debits) += 1;
      (is_credit(r) ? t.credits_amount : t.debits_amount) += r.reconciliation_amount;
    }
    if (!add(r.message)) return false;
  }
  Message trailer;
  trailer.mti = "1644";
  trailer.set(24, "695");
  std::string t48;
  add_pds(&t48, "0105", file_id);
  add_pds(&t48, "0301", digits(t.checksum, 16));
  add_pds(&t48, "0306", digits(encoded.size() + 1, 8));
  trailer.set(48, t48);
  trailer.set(71, digits(encoded.size() + 1, 8));
  trailer.set(73, processing_date);
  trailer.set(74, digits(t.credits, 10));
  trailer.set(76, digits(t.debits, 10));
  trailer.set(86, digits(t.credits_amount, 16));
  trailer.set(88, digits(t.debits_amount, 16));
  if (!add(trailer)) return false;
  *out = frame(encoded, framing);
  return true;
}

}  // namespace ledger::clearing
