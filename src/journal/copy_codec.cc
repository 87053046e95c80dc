#include "journal/copy_codec.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "ledger/money.h"

namespace ledger::copy {
namespace {

constexpr char signature[] = "PGCOPY\n\377\r\n";  // 11 bytes with the terminating NUL
constexpr std::size_t signature_bytes = 11;

void put_u16(std::uint16_t v, std::string* b) {
  b->push_back(static_cast<char>(v >> 8));
  b->push_back(static_cast<char>(v & 0xFF));
}
void put_u32(std::uint32_t v, std::string* b) {
  for (int shift = 24; shift >= 0; shift -= 8) b->push_back(static_cast<char>((v >> shift) & 0xFF));
}
void put_u64(std::uint64_t v, std::string* b) {
  for (int shift = 56; shift >= 0; shift -= 8) b->push_back(static_cast<char>((v >> shift) & 0xFF));
}

void field_i16(std::int64_t v, std::string* b) {
  put_u32(2, b);
  put_u16(static_cast<std::uint16_t>(v), b);
}
void field_i64(std::uint64_t v, std::string* b) {
  put_u32(8, b);
  put_u64(v, b);
}
void field_uuid(Uint128 v, std::string* b) {
  put_u32(16, b);
  put_u64(v.hi, b);
  put_u64(v.lo, b);
}
void field_null(std::string* b) { put_u32(0xFFFFFFFFu, b); }
void field_currency(Currency c, std::string* b) {
  if (c.code == 0) return field_null(b);
  put_u32(3, b);
  b->append(currency_alpha(c));
}

std::uint64_t get_u64(std::string_view v) {
  std::uint64_t x = 0;
  for (char c : v) x = (x << 8) | static_cast<unsigned char>(c);
  return x;
}

}  // namespace

void begin(std::string* buffer) {
  buffer->append(signature, signature_bytes);
  put_u32(0, buffer);  // flags
  put_u32(0, buffer);  // header extension length
}

void end(std::string* buffer) { put_u16(0xFFFF, buffer); }

void append_transfer(const Transfer& t, std::string* b) {
  put_u16(15, b);
  field_uuid(t.id.value, b);
  field_i64(t.timestamp, b);
  field_uuid(t.debit_account_id.value, b);
  field_uuid(t.credit_account_id.value, b);
  if (t.pending_id.is_zero()) {
    field_null(b);
  } else {
    field_uuid(t.pending_id.value, b);
  }
  field_i64(static_cast<std::uint64_t>(t.amount), b);
  field_i64(static_cast<std::uint64_t>(t.amount_effective), b);
  field_currency(t.currency, b);
  field_i16(t.flags, b);
  field_i16(static_cast<std::int64_t>(t.code), b);
  field_i16(static_cast<std::int64_t>(t.result), b);
  field_i64(t.timeout_s, b);
  field_i64(t.reference_a, b);
  field_i64(t.reference_b, b);
  field_i64(t.reference_32, b);
}

void append_account(const Account& a, std::string* b) {
  put_u16(11, b);
  field_i64(a.timestamp, b);
  field_uuid(a.id.value, b);
  field_uuid(a.holder_id.value, b);
  field_currency(a.currency, b);
  field_i16(static_cast<std::int64_t>(a.kind), b);
  field_i16(a.flags, b);
  field_i64(static_cast<std::uint64_t>(a.overdraft_limit), b);
  field_i64(static_cast<std::uint64_t>(a.overdraft_limit_created), b);
  field_i64(a.reference, b);
  field_i16(static_cast<std::int64_t>(a.status), b);
  field_i64(a.created_timestamp, b);
}

void append_card_message(const CardMessage& m, std::string* b) {
  put_u16(8, b);
  field_i64(m.timestamp, b);
  field_uuid(m.transfer.value, b);
  field_i16(m.mcc, b);
  for (const std::string_view text :
       {std::string_view(m.merchant.name, strnlen(m.merchant.name, sizeof m.merchant.name)),
        std::string_view(m.merchant.city, strnlen(m.merchant.city, sizeof m.merchant.city)),
        std::string_view(m.merchant.country,
                         strnlen(m.merchant.country, sizeof m.merchant.country))}) {
    put_u32(static_cast<std::uint32_t>(text.size()), b);
    b->append(text);
  }
  field_i16(static_cast<std::int64_t>(m.merchant.channel), b);
  field_i64(m.answer_by, b);
}

void append_event(std::uint64_t seq, const EventKey& e, std::int64_t epoch, std::string* b) {
  put_u16(12, b);
  field_i64(seq, b);
  field_i64(e.ts, b);
  field_i16(static_cast<std::int64_t>(e.type), b);
  field_uuid(e.account_a.value, b);
  if (e.account_b.is_zero()) {
    field_null(b);
  } else {
    field_uuid(e.account_b.value, b);
  }
  if (!e.has_amount) {
    field_null(b);
    field_null(b);
  } else {
    field_i64(static_cast<std::uint64_t>(e.amount), b);
    if (e.currency.code == 0) {
      field_null(b);
    } else {
      field_currency(e.currency, b);
    }
  }
  field_i64(static_cast<std::uint64_t>(epoch), b);
  for (const BalanceAfter* after : {&e.after_a, &e.after_b}) {
    if (after->known) {
      field_i64(static_cast<std::uint64_t>(after->posted), b);
      field_i64(static_cast<std::uint64_t>(after->available), b);
    } else {
      field_null(b);
      field_null(b);
    }
  }
}

void append_card(const Card& c, std::string* b) {
  put_u16(15, b);
  field_i64(c.timestamp, b);
  field_uuid(c.id.value, b);
  field_uuid(c.account_id.value, b);
  put_u32(32, b);
  b->append(reinterpret_cast<const char*>(c.pan_hash), 32);
  const std::string_view bin(c.bin, strnlen(c.bin, sizeof c.bin));
  put_u32(static_cast<std::uint32_t>(bin.size()), b);
  b->append(bin);
  put_u32(4, b);
  b->append(c.last4, 4);
  field_i16(c.expiry_yymm, b);
  field_i16(static_cast<std::int64_t>(c.status), b);
  field_i64(static_cast<std::uint64_t>(c.controls.per_authorization_limit), b);
  field_i64(static_cast<std::uint64_t>(c.controls.daily_limit), b);
  field_i64(static_cast<std::uint64_t>(c.controls.monthly_limit), b);
  field_i64(c.controls.daily_count_limit, b);
  field_i16(c.controls.channels, b);
  std::string mccs;
  for (std::uint8_t i = 0; i < c.controls.blocked_mcc_count; ++i) {
    if (!mccs.empty()) mccs += ',';
    char text[8];
    std::snprintf(text, sizeof text, "%04u", c.controls.blocked_mccs[i]);
    mccs += text;
  }
  put_u32(static_cast<std::uint32_t>(mccs.size()), b);
  b->append(mccs);
  field_i64(c.created_timestamp, b);
}

Status Reader::begin(std::string_view data) {
  data_ = data;
  if (data.size() < signature_bytes + 8 ||
      std::memcmp(data.data(), signature, signature_bytes) != 0) {
    return Status::error("binary COPY data has no PGCOPY signature");
  }
  const std::uint64_t extension = get_u64(data.substr(signature_bytes + 4, 4));
  offset_ = signature_bytes + 8 + extension;
  return Status();
}

bool Reader::next_row(int expected_fields, Status* error) {
  if (offset_ == data_.size()) return false;  // this message is done; the next one continues
  if (offset_ + 2 > data_.size()) {
    *error = Status::error("binary COPY data is truncated inside a row header");
    return false;
  }
  const auto count = static_cast<std::int16_t>(get_u64(data_.substr(offset_, 2)));
  offset_ += 2;
  if (count == -1) return false;
  if (count != expected_fields) {
    *error = Status::error("binary COPY row has " + std::to_string(count) + " fields, expected " +
                           std::to_string(expected_fields));
    return false;
  }
  return true;
}

bool Reader::field(std::string_view* value) {
  if (offset_ + 4 > data_.size()) {
    failed_ = true;
    *value = {};
    return false;
  }
  const auto length = static_cast<std::int32_t>(get_u64(data_.substr(offset_, 4)));
  offset_ += 4;
  if (length < 0) {
    *value = {};
    return false;
  }
  if (offset_ + static_cast<std::size_t>(length) > data_.size()) {
    failed_ = true;
    *value = {};
    return false;
  }
  *value = data_.substr(offset_, static_cast<std::size_t>(length));
  offset_ += static_cast<std::size_t>(length);
  return true;
}

namespace {
Uint128 as_uuid(std::string_view v) {
  if (v.size() != 16) return {};
  return Uint128{get_u64(v.substr(0, 8)), get_u64(v.substr(8, 8))};
}
Currency as_currency(std::string_view v) { return currency_from_alpha(v).value_or(Currency{}); }
}  // namespace

bool Reader::next_transfer(Transfer* out, Status* error) {
  if (!next_row(15, error)) return false;
  std::string_view v;
  Transfer t;
  field(&v), t.id.value = as_uuid(v);
  field(&v), t.timestamp = get_u64(v);
  field(&v), t.debit_account_id.value = as_uuid(v);
  field(&v), t.credit_account_id.value = as_uuid(v);
  field(&v), t.pending_id.value = as_uuid(v);
  field(&v), t.amount = static_cast<std::int64_t>(get_u64(v));
  field(&v), t.amount_effective = static_cast<std::int64_t>(get_u64(v));
  field(&v), t.currency = as_currency(v);
  field(&v), t.flags = static_cast<std::uint16_t>(get_u64(v));
  field(&v), t.code = static_cast<TransferCode>(get_u64(v));
  field(&v), t.result = static_cast<TransferResult>(get_u64(v));
  field(&v), t.timeout_s = static_cast<std::uint32_t>(get_u64(v));
  field(&v), t.reference_a = get_u64(v);
  field(&v), t.reference_b = get_u64(v);
  field(&v), t.reference_32 = static_cast<std::uint32_t>(get_u64(v));
  if (failed_) {
    *error = Status::error("binary COPY transfer row is truncated");
    return false;
  }
  *out = t;
  return true;
}

bool Reader::next_account(Account* out, Status* error) {
  if (!next_row(11, error)) return false;
  std::string_view v;
  Account a;
  field(&v), a.timestamp = get_u64(v);
  field(&v), a.id.value = as_uuid(v);
  field(&v), a.holder_id.value = as_uuid(v);
  field(&v), a.currency = as_currency(v);
  field(&v), a.kind = static_cast<AccountKind>(get_u64(v));
  field(&v), a.flags = static_cast<std::uint16_t>(get_u64(v));
  field(&v), a.overdraft_limit = static_cast<std::int64_t>(get_u64(v));
  field(&v), a.overdraft_limit_created = static_cast<std::int64_t>(get_u64(v));
  field(&v), a.reference = get_u64(v);
  field(&v), a.status = static_cast<AccountStatus>(get_u64(v));
  field(&v), a.created_timestamp = get_u64(v);
  if (failed_) {
    *error = Status::error("binary COPY account row is truncated");
    return false;
  }
  *out = a;
  return true;
}

bool Reader::next_card(Card* out, Status* error) {
  if (!next_row(15, error)) return false;
  std::string_view v;
  Card c;
  field(&v), c.timestamp = get_u64(v);
  field(&v), c.id.value = as_uuid(v);
  field(&v), c.account_id.value = as_uuid(v);
  field(&v);
  if (v.size() == 32) std::memcpy(c.pan_hash, v.data(), 32);
  field(&v), std::memcpy(c.bin, v.data(), std::min(v.size(), sizeof c.bin));
  field(&v), std::memcpy(c.last4, v.data(), std::min(v.size(), sizeof c.last4));
  field(&v), c.expiry_yymm = static_cast<std::uint16_t>(get_u64(v));
  field(&v), c.status = static_cast<CardStatus>(get_u64(v));
  field(&v), c.controls.per_authorization_limit = static_cast<std::int64_t>(get_u64(v));
  field(&v), c.controls.daily_limit = static_cast<std::int64_t>(get_u64(v));
  field(&v), c.controls.monthly_limit = static_cast<std::int64_t>(get_u64(v));
  field(&v), c.controls.daily_count_limit = static_cast<std::uint32_t>(get_u64(v));
  field(&v), c.controls.channels = static_cast<std::uint8_t>(get_u64(v));
  field(&v);
  for (std::size_t at = 0; at < v.size() && c.controls.blocked_mcc_count < card_blocked_mccs_max;) {
    std::uint16_t mcc = 0;
    while (at < v.size() && v[at] >= '0' && v[at] <= '9')
      mcc = static_cast<std::uint16_t>(mcc * 10 + (v[at++] - '0'));
    c.controls.blocked_mccs[c.controls.blocked_mcc_count++] = mcc;
    ++at;  // comma
  }
  field(&v), c.created_timestamp = get_u64(v);
  if (failed_) {
    *error = Status::error("binary COPY card row is truncated");
    return false;
  }
  *out = c;
  return true;
}

}  // namespace ledger::copy
