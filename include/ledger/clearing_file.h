// Card scheme clearing files (docs/card-clearing.md): ISO 8583:1993 messages framed by record
// descriptor words (RDW), as the schemes' daily clearing files are. Reads a file into its
// records (each checked; a record that cannot be used is set aside with its reason) and checks
// the trailer's totals (a file that does not add up, or whose framing is broken, is refused
// whole); writes files (the outgoing chargebacks, the simulator's presentments). Pure: no I/O,
// no throwing parse, fuzzed.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ledger::clearing {

// One ISO 8583:1993 message: its MTI and the text of each field present (DE2..DE128).
struct Message {
  std::string mti;
  std::bitset<129> present;
  std::array<std::string, 129> fields;
  bool has(int field) const { return present[static_cast<std::size_t>(field)]; }
  const std::string& get(int field) const { return fields[static_cast<std::size_t>(field)]; }
  void set(int field, std::string value) {
    present[static_cast<std::size_t>(field)] = true;
    fields[static_cast<std::size_t>(field)] = std::move(value);
  }
};

// Text of the messages: ASCII, or EBCDIC (code page 037) as mainframes write them. A file is
// read in the character set of its first record's MTI.
enum class Charset : std::uint8_t { ascii, ebcdic };
// The RDW: 4 bytes, the record's length (without the RDW) big-endian (Mastercard's "RDW"
// layout), or the IBM variable-block layout (2 bytes: the length with the RDW, then 2 zero
// bytes). A file is read in the layout of its first RDW.
enum class Framing : std::uint8_t { rdw, ibm_vb };

inline constexpr std::size_t record_bytes_max = 8192;
inline constexpr std::size_t records_max = 1'000'000;

enum class RecordKind : std::uint8_t {
  header,                // 1644 / 697
  trailer,               // 1644 / 695
  position,              // 1644 / 685, 688: the scheme's positions (read, not posted)
  first_presentment,     // 1240 / 200
  second_presentment,    // 1240 / 205 (full), 282 (partial)
  presentment_reversal,  // 1240 / 400, or any 1240 with PDS 0025 "R" (message reversal)
  chargeback,            // 1442 / 450, 451 (full), 453, 454 (partial)
  unknown,               // set aside
};

// One message of a file, as read. Amounts are minor units of their currency (ISO 4217).
struct Record {
  std::uint32_t index = 0;  // 1-based position in the file
  RecordKind kind = RecordKind::unknown;
  std::string mti;
  std::uint16_t function_code = 0;            // DE24
  bool partial = false;                       // 282, 453, 454
  Message message;                            // every field read (DE2 is the PAN: never log it)
  std::string pan;                            // DE2
  bool credit = false;                        // DE3 starts 20: a refund (credit presentment)
  std::uint64_t amount = 0;                   // DE4, transaction
  std::uint16_t currency = 0;                 // DE49 (numeric)
  std::uint64_t reconciliation_amount = 0;    // DE5 (else DE4)
  std::uint16_t reconciliation_currency = 0;  // DE50 (else DE49)
  std::uint64_t billing_amount = 0;           // DE6 (else DE4)
  std::uint16_t billing_currency = 0;         // DE51 (else DE49)
  std::string reconciliation_rate;            // DE9 as sent
  std::string billing_rate;                   // DE10 as sent
  std::string approval_code;                  // DE38
  std::string acquirer_reference;             // DE31
  std::string life_cycle;                     // DE63
  std::uint16_t mcc = 0;                      // DE26
  std::string merchant_name;                  // DE43 (name before the first '\')
  std::string merchant_city;                  // DE43 (the second or third part)
  std::string merchant_country;               // DE43's last part, 3 letters or digits
  std::string local_time;                     // DE12, YYMMDDhhmmss
  std::string processing_date;                // DE73, YYMMDD
  std::string reason_code;                    // DE25
  std::uint64_t original_amount = 0;          // DE30's first 12 digits (partial: the full)
  std::string set_aside;                      // empty: usable; else why the record cannot be used
};

struct Totals {
  bool has_count = false;
  std::uint64_t messages = 0;  // PDS 0306: every message of the file, header and trailer too
  bool has_checksum = false;
  std::uint64_t checksum = 0;  // PDS 0301: the sum of DE4 of every message
  bool has_iso = false;  // any of DE74/76 (counts) and DE86/88 (amounts); each checked if sent
  bool has_credits = false, has_debits = false, has_credits_amount = false,
       has_debits_amount = false;
  std::uint64_t credits = 0, debits = 0, credits_amount = 0, debits_amount = 0;
  // Counted only: the same amounts in transaction amounts (DE4), which a trailer may state
  // instead of reconciliation amounts (DE5).
  std::uint64_t credits_transaction_amount = 0, debits_transaction_amount = 0;
  bool has_net = false;
  std::int64_t net = 0;  // DE97: debits less credits (D: the issuer pays)
};

struct File {
  Charset charset = Charset::ascii;
  Framing framing = Framing::rdw;
  std::string file_id;          // the header's PDS 0105, else DE71 and DE73 of the header
  std::string processing_date;  // the header's DE73 (YYMMDD), else the first record's
  std::uint16_t currency = 0;   // the trailer's (else header's) DE50: the settlement currency
  std::vector<Record> records;  // presentments, reversals, chargebacks (not header/trailer)
  Totals trailer;               // as the trailer states them
  Totals counted;               // as the records add up
  std::string refused;          // non-empty: the whole file is refused, and why
};

// Reads a file. Never throws; a file that cannot be trusted has `refused` set.
File read_file(std::string_view bytes);

// The direction of a record for the totals: true when the issuer receives money (refunds,
// reversals of debit presentments, chargebacks).
bool is_credit(const Record& r);

// Encodes one ISO 8583:1993 message (binary bitmap) in a character set. false with a reason.
bool encode(const Message& message, Charset charset, std::string* out, std::string* error);
// Frames encoded messages into a file.
std::string frame(const std::vector<std::string>& records, Framing framing);

// A whole file: a 1644/697 header (PDS 0105 the file id, DE71 1, DE73 the processing date
// YYMMDD), the records (each numbered in DE71 unless it has one), and a 1644/695 trailer whose
// totals the records add up to (PDS 0306 and 0301, DE74, DE76, DE86, DE88). false with the
// reason when a record does not encode.
bool write_file(const std::string& file_id, const std::string& processing_date,
                const std::vector<Message>& records, Charset charset, Framing framing,
                std::string* out, std::string* error);

// PDS (private data subelements) of DE48: tag (4 digits), length (3 digits), data. Returns
// the data of `tag`, or empty (also when DE48 is malformed).
std::string pds(std::string_view de48, std::string_view tag);
// Appends a PDS to DE48 text.
void add_pds(std::string* de48, std::string_view tag, std::string_view data);

}  // namespace ledger::clearing
