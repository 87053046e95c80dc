// PostgreSQL binary COPY encoding of journal records, and decoding of the rows recovery reads.
// Pure functions (no libpq), unit-tested alone. Format: PostgreSQL docs, "COPY ... Binary
// Format": an 11-byte signature, flags and extension length, then per row a 16-bit field
// count and per field a 32-bit length (-1 for NULL) and the value in network byte order.
#pragma once

#include <string>
#include <string_view>

#include "ledger/events.h"
#include "ledger/status.h"
#include "ledger/types.h"

namespace ledger::copy {

// Column lists, in the order the encoder writes and the decoder reads.
inline constexpr const char* transfer_columns =
    "id, ts, debit_account_id, credit_account_id, pending_id, amount, amount_effective, "
    "currency, flags, code, result, timeout_s, reference_a, reference_b, reference_32";
inline constexpr const char* account_event_columns =
    "ts, account_id, holder_id, currency, kind, flags, overdraft_limit, "
    "overdraft_limit_created, reference, status, created_ts";
inline constexpr const char* account_columns =
    "updated_ts, id, holder_id, currency, kind, flags, overdraft_limit, "
    "overdraft_limit_created, reference, status, created_ts";

inline constexpr const char* card_event_columns =
    "ts, card_id, account_id, pan_hash, bin, last4, expiry_yymm, status, per_authorization_limit, "
    "daily_limit, monthly_limit, daily_count_limit, channels, blocked_mccs, created_ts";
inline constexpr const char* card_columns =
    "updated_ts, id, account_id, pan_hash, bin, last4, expiry_yymm, status, "
    "per_authorization_limit, daily_limit, monthly_limit, daily_count_limit, channels, "
    "blocked_mccs, created_ts";

inline constexpr const char* event_columns =
    "seq, ts, type, account_a, account_b, amount, currency, epoch, a_posted_after, "
    "a_available_after, b_posted_after, b_available_after";
inline constexpr const char* card_message_columns =
    "ts, transfer_id, mcc, merchant_name, merchant_city, country, channel, answer_by";

void begin(std::string* buffer);  // signature, flags, extension
void end(std::string* buffer);    // trailer
void append_transfer(const Transfer& transfer, std::string* buffer);
// An account event row; the same layout decodes an `accounts` row (account_columns).
void append_account(const Account& account, std::string* buffer);
// A card event row; the same layout decodes a `cards` row (card_columns).
void append_card(const Card& card, std::string* buffer);
// A card_messages row (card_message_columns).
void append_card_message(const CardMessage& message, std::string* buffer);
// An events row (event_columns); account_b NULL when zero; epoch: the lease epoch of the
// writer (0: none), so that a check can prove no deposed holder committed after its successor.
void append_event(std::uint64_t seq, const EventKey& event, std::int64_t epoch,
                  std::string* buffer);

// Incremental reader over the bytes of a binary COPY TO STDOUT.
class Reader {
 public:
  // Checks and skips the header at the start of the first CopyData message.
  Status begin(std::string_view data);
  // Continues with the next CopyData message (PostgreSQL sends one row per message).
  void feed(std::string_view data) {
    data_ = data;
    offset_ = 0;
  }
  // Returns false at the trailer. Sets *error on malformed data.
  bool next_transfer(Transfer* out, Status* error);
  bool next_account(Account* out, Status* error);
  bool next_card(Card* out, Status* error);

 private:
  bool next_row(int expected_fields, Status* error);
  bool field(std::string_view* value);  // false for NULL
  std::string_view data_;
  std::size_t offset_ = 0;
  bool failed_ = false;
};

}  // namespace ledger::copy
